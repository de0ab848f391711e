"""Incremental, crash-safe sync of a project folder to the root of an Azure file share.

Round trips for a re-deploy: the lock (see :mod:`share_lock`: acquire, write the holder, release:
3 requests, plus one heartbeat every 15 s), one GET of the manifest plus one listing per folder
involved that the share holds (see :mod:`manifest` for why the listing), whatever the number of
files. An upload costs what :mod:`upload` says (a small file: create with its bytes, rename; a big
one: create, ranges, one more to set the MD5 computed meanwhile, rename): the ownership checks add
no request per file, they read the ETags the listings already return.
Order of work, chosen so an interruption at any point leaves the share consistent and the next
sync finishes the job:

0. take the share's lock (one writer at a time), and refuse to overwrite files we did not write
   unless the user takes them over;
1. delete leftovers of interrupted uploads, and our files that are gone locally and unchanged
   on the share since we wrote them;
2. if paths not yet ours are about to be written, record them as ``pending`` (with the ETag the
   share holds before) in the manifest first;
3. upload changed files (temporary name + rename, see :mod:`upload`);
4. write the final manifest (temporary name + rename too), with the ETag of every file.

On cancellation or failure the manifest is rewritten with what did complete (best effort); if
even that is impossible the old manifest still describes files that are old or new versions,
and differing hashes make the next sync upload them again.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)

from aitk_inference.core.azure.advice import TLS_HINT, code_text, is_tls_failure, sentence, server_error_hint
from aitk_inference.core.bounded import run_bounded, run_bounded_tree
from aitk_inference.core.errors import (
    AitkError,
    AzureOperationError,
    ConfigError,
    OperationCancelled,
    first_few,
)
from aitk_inference.core.gc_passes import fewer_gc_passes
from aitk_inference.core.reporting import CancellationToken, Progress
from aitk_inference.core.sync.hashing import hash_files, hash_local
from aitk_inference.core.sync.lean_share import LeanShare
from aitk_inference.core.sync.local_errors import LocalFileVanished, local_read_error
from aitk_inference.core.sync.manifest import (
    MANIFEST_PATH,
    FileHash,
    Manifest,
    RemoteDir,
    RemoteFile,
    SyncPlan,
    ancestors,
    cached_hash,
    dirs_to_list,
    is_reserved,
    next_manifest,
    parent_dir,
    plan_sync,
)
from aitk_inference.core.sync.share import RETRY_BACKOFF, ShareTarget, open_share
from aitk_inference.core.sync.share_lock import DEFAULT_LOCK_TIMING, LockTiming, ShareLock, hold_share_lock
from aitk_inference.core.sync.upload import RANGE_SIZE, Source, UploadAbandoned, Uploader
from aitk_inference.core.sync.walk import LocalFile, walk_project

if TYPE_CHECKING:
    from azure.storage.fileshare.aio import ShareClient

# Characters Azure Files rejects in names; the SDK also strips a trailing dot.
_BAD_NAME = re.compile(r'["\\:|<>*?\x00-\x1f]')
_BAD_END = re.compile(r"[. ](?:/|$)")  # a name ending with a dot or a space
# Azure Files' length limits, in characters.
MAX_NAME = 255
MAX_PATH = 2048

# Ranges in flight per request slot (``concurrency``): 2 x 8 x 4 MiB, as many as a plain
# parallel upload keeps in flight (memory: about 3x range size per range in flight).
RANGES_PER_SLOT = 2
# Small files uploading (and folders listed) at once per request slot (``concurrency``).
FILES_PER_SLOT = 4

# Asked before overwriting files on the share that this tool did not write: True takes them over.
TakeOver = Callable[[list[str]], Awaitable[bool]]


@dataclass(frozen=True)
class SyncResult:
    files_uploaded: int
    bytes_uploaded: int
    files_deleted: int
    files_unchanged: int
    requests: int  # HTTP requests made (for the benchmark's round-trip count)
    stale_temps_removed: int = 0


async def sync_project(
    project: Path,
    target: ShareTarget,
    *,
    progress: Progress,
    cancel: CancellationToken,
    concurrency: int = 8,
    range_size: int = RANGE_SIZE,
    retry_backoff: float = RETRY_BACKOFF,
    take_over: TakeOver | None = None,
    lock_timing: LockTiming = DEFAULT_LOCK_TIMING,
) -> SyncResult:
    """Make the share root mirror ``project`` (minus ignored files), touching only files this tool
    uploaded. ``concurrency`` bounds requests in flight and, with ``range_size``, memory.
    ``take_over`` is asked about paths the share holds that this tool did not write; without it
    (or when it answers False) the sync stops before changing anything, listing them."""
    with fewer_gc_passes():
        return await _sync_project(
            project, target, progress, cancel, concurrency, range_size, retry_backoff, take_over, lock_timing
        )


async def _sync_project(
    project: Path,
    target: ShareTarget,
    progress: Progress,
    cancel: CancellationToken,
    concurrency: int,
    range_size: int,
    retry_backoff: float,
    take_over: TakeOver | None,
    lock_timing: LockTiming,
) -> SyncResult:
    progress.report("Scanning project files…")
    warnings: list[str] = []
    # Walked and checked before the share is contacted: a project the share cannot hold is
    # refused without a request.
    local = await asyncio.to_thread(walk_project, project, exclude=is_reserved, warn=warnings.append)
    for warning in warnings:
        progress.log(warning, "warning")
    local = _check_names(local, progress)
    cancel.raise_if_cancelled()
    try:
        async with open_share(target, retry_backoff=retry_backoff) as conn:
            try:
                async with hold_share_lock(
                    conn.share, target.share_name, progress=progress, cancel=cancel, timing=lock_timing
                ) as lock:
                    run = _SyncRun(
                        conn.share,
                        conn.lean,
                        project,
                        local,
                        progress,
                        cancel,
                        concurrency,
                        range_size,
                        lock,
                        take_over,
                    )
                    counts = await run.execute()
            finally:
                requests = conn.requests
    except (ClientAuthenticationError, HttpResponseError, ServiceRequestError, ServiceResponseError) as err:
        raise _explain(err, target) from err
    progress.log(
        f"Sync done: {counts[0]} uploaded ({_mb(counts[1])}), {counts[2]} deleted, "
        f"{counts[3]} unchanged, {requests} requests."
    )
    return SyncResult(counts[0], counts[1], counts[2], counts[3], requests, counts[4])


class _SyncRun:
    def __init__(
        self,
        share: ShareClient,
        lean: LeanShare,
        project: Path,
        local: list[LocalFile],
        progress: Progress,
        cancel: CancellationToken,
        concurrency: int,
        range_size: int,
        lock: ShareLock,
        take_over: TakeOver | None,
    ) -> None:
        self.share = share
        self.lean = lean
        self.project = project
        self.local = local
        self.progress = progress
        self.cancel = cancel
        self.limit = concurrency
        self.range_size = range_size
        self.lock = lock
        self.take_over = take_over
        self.sizes = {f.path: f.size for f in local}
        self.done: dict[str, str | None] = {}  # uploaded path -> its ETag after the rename
        # Big files of ours with a new mtime but their old size: maybe only touched. Uploaded
        # while they are hashed (not hashed first); abandoned if the hash turns out the same.
        self.maybe_same: dict[str, str] = {}  # path -> SHA-256 recorded
        self.same_after_all: dict[str, FileHash] = {}
        self.deleted: list[str] = []
        self.vanished: list[str] = []
        self.bytes_done = 0
        self.bytes_total = 0
        self._last_pct = -1.0
        self.manifest_dir_exists = False

    def _step(self) -> None:
        """Before each change to the share: still ours to write, and not cancelled."""
        self.lock.check()
        self.cancel.raise_if_cancelled()

    async def execute(self) -> tuple[int, int, int, int, int]:
        # Listings are small requests: many in flight, so round trips overlap on big trees. The
        # project's folders are listed while the manifest is read and the local hashes are looked
        # up (or computed); then any folder only the manifest names (files deleted locally).
        lanes = self.limit * FILES_PER_SLOT
        local_dirs = dirs_to_list(self.local, Manifest())
        listing = asyncio.ensure_future(list_folders(self.lean, local_dirs, lanes))
        try:
            manifest = await self._read_manifest()
            self.progress.report("Comparing with the share…")
            hashes = await self._hashes(manifest)
            remote = await listing
        finally:
            await _settle(listing)
        all_dirs = dirs_to_list((), manifest, local_dirs)
        if len(all_dirs) > len(local_dirs):
            remote = await list_folders(self.lean, all_dirs, lanes, known=remote)
        self.manifest_dir_exists = remote[parent_dir(MANIFEST_PATH)].exists
        plan = plan_sync(self.local, hashes, manifest, remote, self._now_ignored(manifest))
        self._step()
        _refuse_files_in_the_way(plan, remote)
        if plan.foreign:
            await self._confirm_take_over(plan.foreign)
        self._only_if_still_ours(manifest, remote)
        self._explain(plan)
        self.progress.log(
            f"{len(plan.upload)} to upload, {len(plan.delete)} to delete, {len(plan.unchanged)} unchanged."
        )
        recorded = manifest
        try:
            await run_bounded(plan.stale_temps, self._delete_quietly, self.limit)
            await run_bounded(plan.delete, self._delete_ours, self.limit)
            await self._remove_empty_dirs(plan.delete)
            await self._create_dirs(plan.create_dirs)
            if plan.pending:
                recorded = next_manifest(manifest, plan, hashes, self.sizes, {}, self.deleted)
                await self._write_manifest(recorded)
            await self._upload_all(plan.upload, hashes)
        except BaseException as err:
            # Record what did complete, unless another deploy holds the share now.
            if (
                not isinstance(err, asyncio.CancelledError)
                and (self.done or self.deleted)
                and not self.lock.lost
            ):
                partial = next_manifest(manifest, plan, hashes, self.sizes, self.done, self.deleted)
                with contextlib.suppress(Exception):
                    await self._write_manifest(partial)
            if isinstance(err, OperationCancelled):
                self.progress.log(
                    f"Sync cancelled after {len(self.done)} of {len(plan.upload)} files; "
                    "the share holds complete files only and the next deploy finishes the job.",
                    "warning",
                )
            raise
        final = next_manifest(manifest, plan, hashes, self.sizes, self.done, self.deleted)
        for path, h in self.same_after_all.items():  # unchanged after all: only the mtime is new
            entry = final.files.get(path)
            if entry is not None and entry.sha256 == h.sha256:
                final.files[path] = entry._replace(mtime_ns=h.mtime_ns)
        if final != recorded:
            self.lock.check()
            await self._write_manifest(final)
        uploaded_bytes = sum(self.sizes[p] for p in self.done)
        unchanged = len(plan.unchanged) + len(self.same_after_all)
        return len(self.done), uploaded_bytes, len(plan.delete), unchanged, len(plan.stale_temps)

    def _only_if_still_ours(self, manifest: Manifest, remote: dict[str, RemoteDir]) -> None:
        """An upload may stop when the hash shows the recorded content only if the share still
        holds that version: under this very name, with the ETag and size we recorded. A file the
        share lost, holds under another case, or that was edited there is uploaded whatever the
        hash (and an entry without an ETag proves nothing)."""
        owned = {**manifest.left, **manifest.files}

        def holds_ours(path: str) -> bool:
            entry = owned.get(path)
            folder_path, _, name = path.rpartition("/")
            folder = remote.get(folder_path)
            found = folder.files.get(name) if folder is not None else None
            return (
                entry is not None
                and entry.etag is not None
                and found is not None
                and found.etag == entry.etag
                and found.size == entry.size
            )

        self.maybe_same = {p: sha for p, sha in self.maybe_same.items() if holds_ours(p)}

    def _now_ignored(self, manifest: Manifest) -> set[str]:
        """Files of ours that are not synced now but still exist locally: excluded, not deleted."""
        synced = {f.path for f in self.local}
        return {
            p for p in [*manifest.files, *manifest.left] if p not in synced and (self.project / p).is_file()
        }

    async def _confirm_take_over(self, foreign: list[str]) -> None:
        shown = first_few(foreign)
        question = (
            f"The file share already holds {len(foreign)} file(s) at paths of the project that were not "
            f"written by this tool: {shown}."
        )
        if self.take_over is not None and await self.take_over(foreign):
            for path in foreign:
                self.progress.log(f"Taking over {path}: the project's version replaces the one on the share.")
            return
        raise ConfigError(
            f"{question} Nothing was changed.",
            hint="Move them away on the share, list them in .aitkignore, or take them over "
            "(aitk-inference deploy --take-over) to replace them with the project's files.",
            code="ForeignFiles",
        )

    def _explain(self, plan: SyncPlan) -> None:
        for path in plan.restore:
            self.progress.log(
                f"{path} was changed on the share since the last deploy; uploading the project's version."
            )
        for path in plan.now_ignored:
            self.progress.log(f"{path} is now ignored; left on the share.")
        for path in plan.kept_edited:
            self.progress.log(
                f"{path} was deleted locally but changed on the share since the last deploy; left on the share.",
                "warning",
            )
        for path in plan.kept_pending:
            self.progress.log(
                f"{path} may have been uploaded by an interrupted deploy; left on the share.", "warning"
            )

    # -- reading the share ------------------------------------------------------
    async def _read_manifest(self) -> Manifest:
        try:
            downloader = await self.share.get_file_client(MANIFEST_PATH).download_file()
            data = await downloader.readall()
        except ResourceNotFoundError as err:
            if getattr(err, "error_code", None) == "ShareNotFound":
                raise
            return Manifest()
        try:
            return Manifest.from_json(data)
        except (ValueError, KeyError, TypeError, AttributeError):
            self.progress.log(
                f"Ignoring unreadable {MANIFEST_PATH} on the share: files already there are treated as "
                "not ours (nothing is overwritten or deleted without asking).",
                "warning",
            )
            return Manifest()

    async def _hashes(self, manifest: Manifest) -> dict[str, FileHash]:
        hashes: dict[str, FileHash] = {}
        todo: list[LocalFile] = []
        owned = {**manifest.left, **manifest.files}
        for f in self.local:
            entry = owned.get(f.path)
            cached = cached_hash(f, entry)
            if cached is not None:
                hashes[f.path] = cached
            elif f.size > self.range_size:  # big: hashed while it uploads
                if entry is not None and entry.size == f.size:
                    self.maybe_same[f.path] = entry.sha256
                continue
            else:
                todo.append(f)
        if todo:
            total = sum(f.size for f in todo)
            self.progress.report(f"Hashing {len(todo)} files ({_mb(total)})…")

            hashes.update(await hash_files(todo, self.cancel, self._vanished))
        if self.vanished:  # gone before anything was sent: as if deleted before the deploy
            gone = set(self.vanished)
            self.local = [f for f in self.local if f.path not in gone]
        return hashes

    def _vanished(self, gone: LocalFileVanished) -> None:
        self.vanished.append(gone.path)
        self.progress.log(gone.message, "warning")

    # -- changing the share ----------------------------------------------------
    async def _delete_quietly(self, path: str) -> None:
        self._step()
        with contextlib.suppress(ResourceNotFoundError):
            await self.share.get_file_client(path).delete_file()

    async def _delete_ours(self, path: str) -> None:
        await self._delete_quietly(path)
        self.deleted.append(path)
        self.progress.log(f"Deleted {path} (removed locally)")

    async def _create_dirs(self, folders: list[str]) -> None:
        """Folders the uploads need, parents first: one depth at a time, each depth's folders
        concurrently (a project of 5,000 folders would otherwise wait 5,000 round trips)."""

        async def create(folder: str) -> None:
            self._step()
            with contextlib.suppress(ResourceExistsError):
                await self.lean.create_directory(folder)

        by_depth: dict[int, list[str]] = {}
        for folder in folders:
            by_depth.setdefault(folder.count("/"), []).append(folder)
        for depth in sorted(by_depth):
            await run_bounded(by_depth[depth], create, self.limit * FILES_PER_SLOT)

    async def _remove_empty_dirs(self, deleted: Iterable[str]) -> None:
        """Folders that held deleted files and exist no more locally: removed only if now empty
        (the service refuses to delete a non-empty folder, so user files keep theirs)."""
        deleted = list(deleted)
        if not deleted:
            return
        local_dirs = set(dirs_to_list(self.local, Manifest()))
        candidates = {a for p in deleted for a in ancestors(p) if a and a not in local_dirs}
        for folder in sorted(candidates, key=lambda d: -d.count("/")):
            with contextlib.suppress(HttpResponseError):
                await self.share.get_directory_client(folder).delete_directory()

    async def _write_manifest(self, manifest: Manifest) -> None:
        data = manifest.to_json()
        if not self.manifest_dir_exists:
            with contextlib.suppress(ResourceExistsError):
                await self.share.get_directory_client(parent_dir(MANIFEST_PATH)).create_directory()
            self.manifest_dir_exists = True
        uploader = Uploader(self.share, self.lean, range_slots=self.limit, cancel=None)
        await uploader.upload(MANIFEST_PATH, Source(len(data), data=data), hashlib.md5(data).digest())

    async def _upload_all(self, files: list[LocalFile], hashes: dict[str, FileHash]) -> None:
        if not files:
            return
        self.bytes_total = sum(f.size for f in files)
        self._last_pct = 0.0 if self.bytes_total else 100.0
        self.progress.report(f"Uploading {len(files)} files ({_mb(self.bytes_total)})…", self._last_pct)
        uploader = Uploader(
            self.share,
            self.lean,
            range_slots=self.limit * RANGES_PER_SLOT,
            cancel=self.cancel,
            on_bytes=self._on_bytes,
            range_size=self.range_size,
        )

        def before_commit(f: LocalFile) -> None:
            self.lock.check()
            _unchanged_since(f)

        async def one(f: LocalFile) -> None:
            if f.size <= self.range_size:
                await upload_counted(f)
                return
            async with big_lanes:  # big files few at a time, so some finish early (resumable)
                await upload_counted(f)

        async def upload_counted(f: LocalFile) -> None:
            self._step()
            try:
                self.done[f.path] = await upload_one(f)
            except LocalFileVanished as gone:
                self._vanished(gone)  # the share keeps what it had; the next deploy deletes it
                return
            except UploadAbandoned:
                return  # the same content after all (see upload_one); the share keeps it
            self.progress.log(f"Uploaded {f.path} ({_mb(f.size)})")

        async def upload_one(f: LocalFile) -> str | None:
            h = hashes.get(f.path)
            if h is not None and h.md5 is None:  # cached, but the share lost the file: need the MD5
                h = hashes[f.path] = await asyncio.to_thread(hash_local, f)
            source = Source(f.size, path=f.abs_path, name=f.path)
            if h is not None and h.md5 is not None:
                return await uploader.upload(f.path, source, h.md5, before_commit=lambda: before_commit(f))
            hashing = asyncio.ensure_future(hash_big(f))
            recorded = self.maybe_same.get(f.path)

            async def md5_when_hashed() -> bytes:
                done = hashes[f.path] = await hashing
                assert done.md5 is not None
                return done.md5

            def same_after_all() -> bool:
                """Hashed, and the content the share holds from us: stop uploading it."""
                if recorded is None or not hashing.done() or hashing.cancelled() or hashing.exception():
                    return False
                h = hashing.result()
                if h.sha256 != recorded:
                    return False
                self.same_after_all[f.path] = h
                return True

            try:
                return await uploader.upload(
                    f.path,
                    source,
                    md5_when_hashed,
                    before_commit=lambda: before_commit(f),
                    abandon=same_after_all,
                )
            finally:
                if not hashing.done():
                    hashing.cancel()
                    with contextlib.suppress(BaseException):
                        await hashing

        async def hash_big(f: LocalFile) -> FileHash:
            async with hash_slots:
                return await asyncio.to_thread(hash_local, f)

        # Many small files in flight, so they keep the connections busy (a small file is three
        # short requests); memory stays bounded by the uploader's range slots. Big files go
        # ``concurrency`` at a time, hashed while they upload at most ``hash_slots`` at a time.
        big_lanes = asyncio.Semaphore(self.limit)
        hash_slots = asyncio.Semaphore(min(4, os.cpu_count() or 1))
        await run_bounded(files, one, self.limit * FILES_PER_SLOT)

    def _on_bytes(self, n: int) -> None:
        self.bytes_done += n
        pct = 100.0 * self.bytes_done / self.bytes_total if self.bytes_total else 100.0
        if pct - self._last_pct >= 0.5 or pct == 100.0 or self._last_pct < 0:  # formatted only then
            self._last_pct = pct
            self.progress.report(
                f"Uploading: {_mb(self.bytes_done)} of {_mb(self.bytes_total)}", round(pct, 1)
            )


async def list_folders(
    lean: LeanShare, folders: list[str], limit: int, known: dict[str, RemoteDir] | None = None
) -> dict[str, RemoteDir]:
    """The share's listing of each of ``folders`` (the root and every ancestor included), each
    listed once its parent's listing shows it: a folder the share lacks holds nothing, so neither
    it nor anything below it costs a request (a first deploy of 5,000 folders lists the root).
    Folders in ``known`` (an earlier answer) are not asked again."""
    known = known or {}
    below: dict[str, list[str]] = {}
    for folder in folders:
        if folder:
            below.setdefault(parent_dir(folder), []).append(folder)
    remote: dict[str, RemoteDir] = {}

    async def visit(folder: str) -> list[str]:
        listing = known.get(folder)
        if listing is None:
            listing = await _list_folder(lean, folder)
        remote[folder] = listing
        return [sub for sub in below.get(folder, ()) if listing.has_subdir(sub.rpartition("/")[2])]

    await run_bounded_tree([""], visit, limit)
    absent = RemoteDir(False)
    return {folder: remote.get(folder, absent) for folder in folders}


async def _list_folder(lean: LeanShare, folder: str) -> RemoteDir:
    listing = RemoteDir(True)
    try:
        for item in await lean.list_dir(folder):
            if item.is_directory:
                listing.subdirs.add(item.name)
            else:
                listing.files[item.name] = RemoteFile(item.size, item.etag)
    except ResourceNotFoundError as err:
        if getattr(err, "error_code", None) == "ShareNotFound":
            raise
        return RemoteDir(False)
    return listing


def _refuse_files_in_the_way(plan: SyncPlan, remote: dict[str, RemoteDir]) -> None:
    """Folders the uploads need where the share holds a file (not one of ours being deleted
    first): creating the folder would fail half-way, so stop before changing anything."""
    going = {p.casefold() for p in plan.delete}
    blocked: list[str] = []
    for folder in plan.create_dirs:
        parent, _, name = folder.rpartition("/")
        listing = remote.get(parent)
        found = listing.file(name) if listing is not None else None
        if found is not None:
            path = f"{parent}/{found[0]}" if parent else found[0]
            if path.casefold() not in going:
                blocked.append(path)
    if blocked:
        shown = first_few(blocked)
        raise ConfigError(
            f"The file share holds {len(blocked)} file(s) where the project has a folder: {shown}. "
            "Nothing was changed.",
            hint="Move or rename them on the share, or rename the project's folder, then deploy again.",
            code="FileInTheWay",
        )


async def _settle(task: asyncio.Future[Any]) -> None:
    """Cancel ``task`` if it still runs, and retrieve its outcome whatever it was (a failure while
    the caller failed elsewhere would otherwise be logged as "Task exception was never retrieved")."""
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def _unchanged_since(f: LocalFile) -> None:
    try:
        st = os.stat(f.abs_path)
    except OSError as err:
        raise local_read_error(f.path, err) from err
    if st.st_size != f.size or st.st_mtime_ns != f.mtime_ns:
        raise AitkError(
            f"{f.path} changed while it was being uploaded; the share keeps its previous version.",
            hint="Deploy again once nothing is writing to it.",
        )


def _too_long(path: str) -> str | None:
    if len(path) > MAX_PATH:
        return f"{_shorten(path)} ({len(path)} characters)"
    long_name = next((part for part in path.split("/") if len(part) > MAX_NAME), None)
    if long_name is not None:
        return f"{_shorten(path)} (a name of {len(long_name)} characters)"
    return None


def _shorten(path: str) -> str:
    return path if len(path) <= 120 else f"{path[:60]}…{path[-50:]}"


def _check_names(files: list[LocalFile], progress: Progress) -> list[LocalFile]:
    # Per-part checks only where the whole path hints at a problem (this runs once per file).
    too_long = [reason for f in files if len(f.path) > MAX_NAME and (reason := _too_long(f.path)) is not None]
    if too_long:
        shown = first_few(too_long, 5, "; ", "; ")
        raise ConfigError(
            f"Azure Files cannot store paths this long (at most {MAX_NAME} characters per name and "
            f"{MAX_PATH:,} per path): {shown}. Nothing was uploaded.",
            hint="Shorten them, or list them in .aitkignore to leave them out of the deployment.",
        )
    bad = [
        f.path for f in files if _BAD_NAME.search(f.path) is not None or _BAD_END.search(f.path) is not None
    ]
    if bad:
        shown = first_few(bad, 5)
        raise ConfigError(
            f'Azure Files cannot store these names: {shown}. Names may not contain " \\ : | < > * ? '
            "or control characters, nor end with a dot or a space.",
            hint="Rename them, or list them in .aitkignore to leave them out of the deployment.",
        )
    # The share is case-insensitive: of two local paths differing only by case, one would
    # overwrite the other. Keep the first and say so.
    seen: dict[str, str] = {}
    kept: list[LocalFile] = []
    for f in files:
        key = f.path.casefold()
        if key in seen:
            progress.log(
                f"Skipping {f.path}: the share is case-insensitive and {seen[key]} has the same name.",
                "warning",
            )
            continue
        seen[key] = f.path
        kept.append(f)
    return kept


def _explain(err: Exception, target: ShareTarget) -> AitkError:
    where = f"file share '{target.share_name}' of storage account '{target.account_name}'"
    code = code_text(getattr(err, "error_code", None))
    if code == "ShareNotFound":
        return ConfigError(
            f"The {where} does not exist.",
            hint="Run Provision, or correct FILE_SHARE_NAME in infra/inference.config.json.",
        )
    if isinstance(err, ClientAuthenticationError) or code in ("AuthenticationFailed", "AuthorizationFailure"):
        return AzureOperationError(
            f"The storage account '{target.account_name}' refused the request ({code or 'authentication failed'}).",
            hint="Check that the account key is current (keys may have been rotated) and that your "
            "network is allowed by the account's firewall.",
        )
    if isinstance(err, (ServiceRequestError, ServiceResponseError)) and is_tls_failure(err):
        return AzureOperationError(
            f"Cannot reach the {where} at {target.account_url}: its TLS certificate was not trusted.",
            hint=TLS_HINT,
            code="TlsUntrusted",
        )
    if isinstance(err, (ServiceRequestError, ServiceResponseError)):
        return AzureOperationError(
            sentence(f"Cannot reach the {where} at {target.account_url} after several retries: {err}"),
            hint="Check your network or proxy, and REQUESTS_CA_BUNDLE/SSL_CERT_FILE if a proxy re-signs TLS.",
        )
    message = getattr(err, "message", None) or str(err)
    status = getattr(err, "status_code", None)
    again = "Deploy again; only what did not finish is uploaded."
    advice = server_error_hint(status) if isinstance(status, int) else None
    return AzureOperationError(
        sentence(f"Syncing to the {where} failed: {message.splitlines()[0] if message else code}"),
        hint=f"{advice} {again}" if advice else again,
    )


def _mb(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB" if n >= 100_000 else f"{n / 1000:.1f} kB"
