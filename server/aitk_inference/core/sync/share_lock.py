"""One writer per share: a lock held on the share itself for the whole sync, by the CLI and VS Code alike.

The lock is an infinite lease on ``.aitk/deploy.lock`` (Azure Files file leases never expire, so
the service itself enforces one holder at a time). The file's metadata names the holder and when it
started, and is written again every ``heartbeat`` seconds (one request each). A deploy that finds the
lease taken waits up to ``wait`` seconds, then refuses, naming the holder. A crashed deploy leaves
its lease behind: once the file has not been touched for ``stale_after`` seconds, the next deploy
breaks that lease and takes over. Staleness is judged on the service's clock alone (the response's
``Date`` minus the file's ``Last-Modified``), so the two machines' clocks never matter.

A holder whose heartbeat is refused because its lease was broken knows another deploy took over:
:meth:`ShareLock.check` then stops its sync at the next step.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import os
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError

from aitk_inference.core.errors import AitkError
from aitk_inference.core.reporting import CancellationToken, Progress
from aitk_inference.core.sync.manifest import LOCK_PATH, MANIFEST_DIR

if TYPE_CHECKING:
    from azure.storage.fileshare.aio import ShareClient, ShareFileClient, ShareLeaseClient


@dataclass(frozen=True)
class LockTiming:
    wait: float = 120.0  # how long a second deploy waits for the first
    stale_after: float = 90.0  # no heartbeat for this long: the holder is gone
    heartbeat: float = 15.0
    poll: float = 2.0


DEFAULT_LOCK_TIMING = LockTiming()


@dataclass(frozen=True)
class Holder:
    who: str  # user@host (pid N)
    started: str  # ISO time, the holder's clock (for people only)

    def describe(self) -> str:
        return f"{self.who}, started {self.started}"

    def metadata(self) -> dict[str, str]:
        # Metadata values travel as HTTP headers: ASCII only.
        return {"holder": quote(self.who), "started": quote(self.started), "tool": "aitk-inference"}

    @classmethod
    def from_metadata(cls, metadata: dict[str, str]) -> Holder:
        if "holder" not in metadata:
            return cls("a deploy that has not written its name yet", "just now")
        return cls(unquote(metadata["holder"]), unquote(metadata.get("started", "at an unknown time")))


class ShareLock:
    """The held lock. :meth:`check` raises once another deploy took it over."""

    def __init__(self, share_name: str) -> None:
        self.share_name = share_name
        self.lost: str | None = None

    def check(self) -> None:
        if self.lost is not None:
            raise AitkError(
                f"Another deploy took over file share '{self.share_name}' ({self.lost}); this deploy "
                "stopped so that the two never write at once.",
                hint="Deploy again once the other deploy is done.",
                code="ShareLockLost",
            )


def _me() -> Holder:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (e.g. an arbitrary container uid)
        user = "unknown user"
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return Holder(f"{user}@{socket.gethostname()} (pid {os.getpid()})", started)


def _error_code(err: Exception) -> str | None:
    return getattr(err, "error_code", None)


@contextlib.asynccontextmanager
async def hold_share_lock(
    share: ShareClient,
    share_name: str,
    *,
    progress: Progress,
    cancel: CancellationToken,
    timing: LockTiming = DEFAULT_LOCK_TIMING,
) -> AsyncIterator[ShareLock]:
    from azure.storage.fileshare.aio import ShareLeaseClient

    file = share.get_file_client(LOCK_PATH)
    lease = ShareLeaseClient(file)
    me = _me()
    await _acquire(share, file, lease, share_name, progress=progress, cancel=cancel, timing=timing)
    lock = ShareLock(share_name)
    try:
        await file.set_file_metadata(me.metadata(), lease=lease)
        beating = asyncio.ensure_future(_heartbeat(file, lease, lock, me, timing.heartbeat, progress))
        try:
            yield lock
        finally:
            beating.cancel()
            with contextlib.suppress(BaseException):
                await beating
    finally:
        if lock.lost is None:
            with contextlib.suppress(Exception):  # else it expires stale_after seconds from now
                await lease.release()


async def _acquire(
    share: ShareClient,
    file: ShareFileClient,
    lease: ShareLeaseClient,
    share_name: str,
    *,
    progress: Progress,
    cancel: CancellationToken,
    timing: LockTiming,
) -> None:
    from azure.storage.fileshare.aio import ShareLeaseClient

    deadline = time.monotonic() + timing.wait
    announced = False
    stale_etag: str | None = None
    while True:
        cancel.raise_if_cancelled()
        try:
            await lease.acquire(lease_duration=-1)
            return
        except ResourceNotFoundError as err:
            if _error_code(err) == "ShareNotFound":
                raise
            await _create_lock_file(share, file)
            continue
        except HttpResponseError as err:
            if _error_code(err) != "LeaseAlreadyPresent":
                raise
        found = await _read_holder(file)
        if found is None:
            continue  # released and deleted meanwhile: try again at once
        holder, idle, etag = found
        # Stale on two looks at the same version: a holder that has just acquired the lease on an
        # old lock file has not written its name yet, and must not lose the lease for it.
        if idle >= timing.stale_after and stale_etag != etag:
            stale_etag = etag
        elif idle >= timing.stale_after:
            progress.log(
                f"Taking over file share '{share_name}' from a deploy that stopped without letting go "
                f"({holder.describe()}, silent for {idle:.0f}s).",
                "warning",
            )
            with contextlib.suppress(HttpResponseError):
                await ShareLeaseClient(file).break_lease()
            continue
        else:
            stale_etag = None
        left = deadline - time.monotonic()
        if left <= 0:
            raise AitkError(
                f"Another deploy is writing to file share '{share_name}': {holder.describe()}, last "
                f"heartbeat {idle:.0f}s ago. Waited {timing.wait:g}s for it to finish.",
                hint="Deploy again once it is done. A deploy that crashed lets go of the share "
                f"{timing.stale_after:g}s after its last heartbeat.",
                code="ShareBusy",
            )
        if not announced:
            progress.log(
                f"Waiting up to {timing.wait:g}s for another deploy to finish writing to file share "
                f"'{share_name}': {holder.describe()}."
            )
            announced = True
        await _pause(cancel, min(timing.poll, left))


async def _create_lock_file(share: ShareClient, file: ShareFileClient) -> None:
    with contextlib.suppress(ResourceExistsError):
        await share.get_directory_client(MANIFEST_DIR).create_directory()
    try:
        await file.create_file(0)
    except HttpResponseError as err:
        if _error_code(err) not in ("LeaseIdMissing", "ResourceAlreadyExists"):
            raise  # someone else created and leased it first: acquiring says so next


async def _read_holder(file: ShareFileClient) -> tuple[Holder, float, str] | None:
    """Who holds the lock, for how long the file has not been touched (service clock), its ETag."""
    seen: dict[str, str] = {}

    def keep_date(response: Any) -> None:
        seen["date"] = response.http_response.headers.get("Date", "")

    try:
        props = await file.get_file_properties(raw_response_hook=keep_date)
    except ResourceNotFoundError:
        return None
    holder = Holder.from_metadata(dict(props.metadata or {}))
    modified = props.last_modified
    try:
        now = parsedate_to_datetime(seen["date"])
    except (KeyError, TypeError, ValueError):
        now = datetime.now(UTC)
    if modified.tzinfo is None:
        modified = modified.replace(tzinfo=UTC)
    return holder, max(0.0, (now - modified).total_seconds()), str(props.etag)


async def _heartbeat(
    file: ShareFileClient,
    lease: ShareLeaseClient,
    lock: ShareLock,
    me: Holder,
    every: float,
    progress: Progress,
) -> None:
    while True:
        await asyncio.sleep(every)
        try:
            await file.set_file_metadata(me.metadata(), lease=lease)
        except HttpResponseError as err:
            if _error_code(err) in (
                "LeaseIdMismatchWithFileOperation",
                "LeaseNotPresentWithFileOperation",
                "LeaseIdMissing",
            ):
                lock.lost = "its lease on the share was broken"
                return
            progress.log(
                f"Could not refresh the deploy lock on the share ({_error_code(err)}); retrying.", "debug"
            )


async def _pause(cancel: CancellationToken, seconds: float) -> None:
    waiter = asyncio.ensure_future(cancel.wait())
    try:
        await asyncio.wait({waiter}, timeout=max(0.0, seconds))
    finally:
        waiter.cancel()
    cancel.raise_if_cancelled()
