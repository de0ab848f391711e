"""sync_project: background listings are settled when the local side fails first."""

from __future__ import annotations

import asyncio
import gc
import logging

import pytest
from aitk_inference.core.bounded import run_bounded
from aitk_inference.core.sync.manifest import RemoteDir
from aitk_inference.core.sync.sync_project import _settle


async def test_a_failed_listing_is_not_logged_as_never_retrieved_when_hashing_fails_too(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """execute(): listings start, then hashing raises (an unreadable file) before their result is
    awaited; a listing that already failed (the share refused the key) must not leave "Task
    exception was never retrieved" in the user's log."""

    async def list_dir(folder: str) -> tuple[str, RemoteDir]:
        raise PermissionError("the share refused the listing")

    listing = asyncio.ensure_future(run_bounded(["", "a"], list_dir, 4))
    await asyncio.sleep(0.01)  # the listing ran and failed
    try:
        raise OSError("hashing failed")  # what self._hashes raised
    except OSError:
        pass
    finally:
        await _settle(listing)
    del listing
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        gc.collect()
        await asyncio.sleep(0)
    assert [r.getMessage() for r in caplog.records if "never retrieved" in r.getMessage()] == []
