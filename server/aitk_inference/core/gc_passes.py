"""Fewer garbage-collector passes while big tables are built (a sync of tens of thousands of files).

A sync holds hundreds of thousands of live objects (paths, hashes, listings, the manifest) and
allocates many more; with CPython's default thresholds the collector walks the live ones again
every few thousand allocations, about 0.25 s of CPU in a 2 s re-deploy of 50,000 files. The
collector stays on, only its passes are rarer; the thresholds in force before come back when the
last such piece of work ends.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

# Young objects before a pass (CPython's default: 700), and passes of each younger generation
# before an older one (default: 10 and 10). Memory: at most ~50,000 young objects more.
THRESHOLDS = (50_000, 50, 50)

_depth = 0
_saved: tuple[int, int, int] = gc.get_threshold()
# The language server runs each operation on its own thread and event loop: two deploys may
# enter or leave at once, and the thresholds are the process's.
_lock = threading.Lock()


@contextlib.contextmanager
def fewer_gc_passes() -> Iterator[None]:
    """Nests (two deploys at once, on one thread or several): the first to enter sets the
    thresholds, the last to leave restores them."""
    global _depth, _saved
    with _lock:
        if _depth == 0:
            _saved = gc.get_threshold()
            gc.set_threshold(*THRESHOLDS)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                gc.set_threshold(*_saved)
