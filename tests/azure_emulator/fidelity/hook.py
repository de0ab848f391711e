"""The suite-wide check the ``emulator`` fixture runs after every test (see tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

from tests.azure_emulator.fidelity.files_spec import files_mismatches
from tests.azure_emulator.fidelity.validator import arm_validator, report
from tests.azure_emulator.traffic import Exchange

MARKER = "no_fidelity"


def spec_mismatches(exchanges: list[Exchange], reference_root: Path) -> str | None:
    """A readable report of every ARM exchange, and every Azure Files Create File and Put Range
    (:mod:`files_spec`), that differs from the official specs, or None."""
    if not reference_root.is_dir():
        return (
            f"Azure reference data not found at {reference_root}: the emulator's traffic cannot be checked "
            "against the official specs (expected ../shared/azure-reference beside the repository)."
        )
    found = arm_validator(reference_root).validate_all(exchanges)
    files = files_mismatches(exchanges, reference_root)
    if not found and not files:
        return None
    text = "\n".join(([report(found)] if found else []) + files)
    return (
        text + f"\n(Fix the emulator, or mark a test that sends malformed requests on purpose with "
        f"@pytest.mark.{MARKER}(reason=...).)"
    )
