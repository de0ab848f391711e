"""fewer_gc_passes: rarer collector passes while a sync runs, the previous thresholds after."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from aitk_inference.core import gc_passes
from aitk_inference.core.errors import AitkError
from aitk_inference.core.gc_passes import THRESHOLDS, fewer_gc_passes
from aitk_inference.core.reporting import CancellationToken, RecordingProgress
from aitk_inference.core.sync.share import ShareTarget
from aitk_inference.core.sync.sync_project import sync_project


@pytest.fixture(autouse=True)
def own_thresholds() -> Iterator[tuple[int, int, int]]:
    before = gc.get_threshold()
    gc.set_threshold(901, 11, 12)  # not CPython's defaults: they must come back, not the defaults
    yield (901, 11, 12)
    gc.set_threshold(*before)


def test_nested_uses_restore_the_thresholds_only_when_the_last_ends(
    own_thresholds: tuple[int, int, int],
) -> None:
    with fewer_gc_passes():
        assert gc.get_threshold() == THRESHOLDS
        with fewer_gc_passes():
            assert gc.get_threshold() == THRESHOLDS
        assert gc.get_threshold() == THRESHOLDS  # the outer one still runs
    assert gc.get_threshold() == own_thresholds
    with pytest.raises(RuntimeError), fewer_gc_passes():
        raise RuntimeError("failed")
    assert gc.get_threshold() == own_thresholds


def test_two_threads_entering_at_once_restore_the_thresholds(
    own_thresholds: tuple[int, int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The language server runs each operation on its own thread: deploys of two folders may
    enter at once. One must not save the other's raised thresholds as the ones to restore."""
    entered, leave = threading.Event(), threading.Event()

    def other_deploy() -> None:
        with fewer_gc_passes():
            entered.set()
            leave.wait(5)

    other = threading.Thread(target=other_deploy)
    real = gc.get_threshold
    first = True

    def get_threshold() -> tuple[int, int, int]:
        nonlocal first
        if first:  # this thread is between its depth check and its read: the other enters now
            first = False
            other.start()
            entered.wait(0.5)
        return real()

    monkeypatch.setattr(gc_passes.gc, "get_threshold", get_threshold)
    with fewer_gc_passes():
        leave.set()
    other.join(5)
    assert gc.get_threshold() == own_thresholds


async def test_a_sync_runs_with_fewer_passes_and_restores_them_even_when_it_fails(
    tmp_path: Path, own_thresholds: tuple[int, int, int]
) -> None:
    seen: list[tuple[int, int, int]] = []

    class Progress(RecordingProgress):
        def report(self, message: str, percent: float | None = None) -> None:
            seen.append(gc.get_threshold())
            super().report(message, percent)

    # Nothing listens there: the sync fails after its walk, having reported progress meanwhile.
    target = ShareTarget("https://127.0.0.1:9/acct/", "acct", "share", "a2V5")
    (tmp_path / "a.txt").write_text("a")
    with pytest.raises(AitkError):
        await sync_project(tmp_path, target, progress=Progress(), cancel=CancellationToken(), retry_backoff=0)
    assert seen and set(seen) == {THRESHOLDS}
    assert gc.get_threshold() == own_thresholds
