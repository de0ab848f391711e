"""Crash-safe upload of one file to a share: write a temporary name beside the target, then rename
it over the target in one step. A file of one range (4 MiB) or less is written by its Create File
(2 requests in all); a bigger one in parallel ranges read from disk as needed.

A replica reading the share therefore sees the old file or the new one, never a half-written one.
The rename's ETag is returned, so the manifest can tell later whether the file is still ours.
Memory is bounded by the range slots shared across all uploads: each slot holds one range read
from disk plus the TLS layer's copies of it while it is sent (about 3x range size per slot).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from azure.storage.fileshare import ContentSettings

from aitk_inference.core.bounded import run_bounded
from aitk_inference.core.errors import AitkError
from aitk_inference.core.reporting import CancellationToken
from aitk_inference.core.sync.lean_share import LeanShare
from aitk_inference.core.sync.local_errors import local_read_error
from aitk_inference.core.sync.manifest import temp_path_for

if TYPE_CHECKING:
    from azure.storage.fileshare.aio import ShareClient

RANGE_SIZE = 4 * 1024 * 1024  # the largest range Azure Files accepts in one Put Range
INLINE_READ = 256 * 1024  # reads up to this size happen on the event loop


class Source:
    """Bytes to upload: a local file read range by range, or an in-memory blob (the manifest)."""

    def __init__(
        self, size: int, *, path: str | Path | None = None, data: bytes | None = None, name: str = ""
    ) -> None:
        self.size = size
        self.path = path
        self.data = data
        self.name = name or str(path)  # the project-relative path, for messages

    async def read(self, offset: int, length: int) -> bytes:
        if self.data is not None:
            return self.data[offset : offset + length]
        assert self.path is not None
        if length <= INLINE_READ:  # a thread hop costs more than a small read
            return _pread(self.path, self.name, offset, length)
        return await asyncio.to_thread(_pread, self.path, self.name, offset, length)


def _pread(path: str | Path, name: str, offset: int, length: int) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))  # no buffered file object
        try:
            data = os.pread(fd, length, offset)
        finally:
            os.close(fd)
    except OSError as err:
        raise local_read_error(name, err) from err
    if len(data) != length:
        raise AitkError(
            f"{name} changed while it was being uploaded (it is now shorter).",
            hint="Deploy again once nothing is writing to it.",
        )
    return data


class UploadAbandoned(Exception):
    """The caller's ``abandon`` check said stop: the temporary file is removed, nothing renamed."""


class Uploader:
    def __init__(
        self,
        share: ShareClient,
        lean: LeanShare,
        *,
        range_slots: int,
        cancel: CancellationToken | None,
        on_bytes: Callable[[int], None] = lambda n: None,
        range_size: int = RANGE_SIZE,
    ) -> None:
        self._share = share
        self._lean = lean
        # Temp names: random per run (concurrent runs never collide), then a counter (cheaper
        # than a uuid per file).
        self._run_token = secrets.token_hex(5) + "-"
        self._uploads = 0
        self._slots = asyncio.Semaphore(range_slots)
        self._range_slots = range_slots
        self._cancel = cancel
        self._on_bytes = on_bytes
        self._range_size = range_size

    def _check(self) -> None:
        if self._cancel is not None:
            self._cancel.raise_if_cancelled()

    async def upload(
        self,
        path: str,
        source: Source,
        md5: bytes | Callable[[], Awaitable[bytes]],
        *,
        before_commit: Callable[[], None] | None = None,
        abandon: Callable[[], bool] | None = None,
    ) -> str | None:
        """Upload ``source`` to ``path`` via a temporary name; ``md5`` becomes its Content-MD5.

        ``md5`` may be a coroutine function, for a hash computed while the ranges go up (a big
        file is then read from disk only once more, in parallel); it is awaited before the rename
        and set with one more request. ``before_commit`` may raise to abandon the upload just
        before the rename (e.g. the local file changed meanwhile). ``abandon`` is asked before
        each range and before the rename; True stops with UploadAbandoned. Returns the target's
        ETag after the rename."""
        self._check()
        self._uploads += 1
        temp_path = temp_path_for(path, f"{self._run_token}{self._uploads:x}")
        if 0 < source.size <= self._range_size and isinstance(md5, bytes):
            # One range's worth: its bytes travel with Create File (2 requests with the rename).
            async with self._slots:
                data = await source.read(0, source.size)
                await self._lean.create_file(temp_path, source.size, md5, data)
            self._on_bytes(source.size)
            ranges: list[tuple[int, int]] = []
        else:
            await self._lean.create_file(temp_path, source.size, md5 if isinstance(md5, bytes) else None)
            ranges = [
                (offset, min(self._range_size, source.size - offset))
                for offset in range(0, source.size, self._range_size)
            ]
        try:

            async def put(span: tuple[int, int]) -> None:
                offset, length = span
                async with self._slots:  # the read happens inside the slot: bounded memory
                    self._check()
                    if abandon is not None and abandon():
                        raise UploadAbandoned
                    data = await source.read(offset, length)
                    await self._lean.put_range(temp_path, offset, data)
                self._on_bytes(length)

            await run_bounded(ranges, put, self._range_slots)
            self._check()
            if not isinstance(md5, bytes):
                digest = await md5()
                if abandon is not None and abandon():
                    raise UploadAbandoned
                await self._share.get_file_client(temp_path).set_http_headers(
                    content_settings=ContentSettings(content_md5=bytearray(digest))
                )
            if before_commit is not None:
                before_commit()
            return await self._lean.rename(temp_path, path)
        except asyncio.CancelledError:
            raise  # the task is going away; the next sync deletes the leftover temp file
        except BaseException:
            with contextlib.suppress(Exception):
                await self._share.get_file_client(temp_path).delete_file()
            raise
