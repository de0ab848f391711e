"""first_few: messages naming many paths name the first few, then how many more."""

from __future__ import annotations

from aitk_inference.core.errors import first_few


def test_up_to_the_limit_all_are_named_and_past_it_the_rest_are_counted() -> None:
    assert first_few(["a", "b"], 2) == "a, b"
    assert first_few(["a", "b", "c"], 2) == "a, b and 1 more"
    assert first_few(["a", "b", "c"], 2, "; ", "; ") == "a; b; and 1 more"
