"""Incremental, crash-safe sync of a project folder to the root of an Azure file share.

Round trips for a re-deploy: one GET of the manifest plus one listing per folder involved (see
:mod:`share_manifest` for why the listing), whatever the number of files. Order of work, chosen so
an interruption at any point leaves the share consistent and the next sync finishes the job:

1. delete leftovers of interrupted uploads, and our files that are gone locally;
2. if new paths are about to appear, record them as ``pending`` in the manifest first;
3. upload changed files (temporary name + rename, see :mod:`share_upload`);
4. write the final manifest (temporary name + rename too).

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
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)

from aitk_inference.core.azure.advice import TLS_HINT, code_text, is_tls_failure, sentence, server_error_hint
from aitk_inference.core.bounded import run_bounded
from aitk_inference.core.errors import AitkError, AzureOperationError, ConfigError, OperationCancelled
from aitk_inference.core.reporting import CancellationToken, Progress
from aitk_inference.core.sync.manifest import (
    MANIFEST_PATH,
    FileHash,
    Manifest,
    ManifestEntry,
    RemoteDir,
    ancestors,
    cached_hash,
    dirs_to_list,
    hash_file,
    is_reserved,
    next_manifest,
    parent_dir,
    plan_sync,
)
from aitk_inference.core.sync.share import RETRY_BACKOFF, ShareTarget, open_share
from aitk_inference.core.sync.upload import RANGE_SIZE, Source, Uploader
from aitk_inference.core.sync.walk import LocalFile, walk_project

if TYPE_CHECKING:
    from azure.storage.fileshare.aio import ShareClient

# Characters Azure Files rejects in names; the SDK also strips a trailing dot.
_BAD_NAME = re.compile(r'["\\:|<>*?\x00-\x1f]')


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
) -> SyncResult:
    """Make the share root mirror ``project`` (minus ignored files), touching only files this tool
    uploaded. ``concurrency`` bounds requests in flight and, with ``range_size``, memory."""
    progress.report("Scanning project files…")
    warnings: list[str] = []
    local = await asyncio.to_thread(walk_project, project, exclude=is_reserved, warn=warnings.append)
    for warning in warnings:
        progress.log(warning, "warning")
    local = _check_names(local, progress)
    cancel.raise_if_cancelled()
    try:
        async with open_share(target, retry_backoff=retry_backoff) as conn:
            run = _SyncRun(conn.share, local, progress, cancel, concurrency, range_size)
            try:
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
        local: list[LocalFile],
        progress: Progress,
        cancel: CancellationToken,
        concurrency: int,
        range_size: int,
    ) -> None:
        self.share = share
        self.local = local
        self.progress = progress
        self.cancel = cancel
        self.limit = concurrency
        self.range_size = range_size
        self.sizes = {f.path: f.size for f in local}
        self.done: list[str] = []
        self.deleted: list[str] = []
        self.bytes_done = 0
        self.bytes_total = 0
        self._last_pct = -1.0
        self.manifest_dir_exists = False

    async def execute(self) -> tuple[int, int, int, int, int]:
        manifest = await self._read_manifest()
        listed = await run_bounded(dirs_to_list(self.local, manifest), self._list_dir, self.limit)
        remote = dict(listed)
        self.manifest_dir_exists = remote[parent_dir(MANIFEST_PATH)].exists
        self.progress.report("Comparing with the share…")
        hashes = await self._hashes(manifest)
        plan = plan_sync(self.local, hashes, manifest, remote)
        self.cancel.raise_if_cancelled()
        self.progress.log(
            f"{len(plan.upload)} to upload, {len(plan.delete)} to delete, {len(plan.unchanged)} unchanged."
        )
        new_paths: list[str] = []
        try:
            await run_bounded(plan.stale_temps, self._delete_quietly, self.limit)
            await run_bounded(plan.delete, self._delete_ours, self.limit)
            self.deleted.extend(plan.forget)
            await self._remove_empty_dirs(plan.delete)
            for folder in plan.create_dirs:
                with contextlib.suppress(ResourceExistsError):
                    await self.share.get_directory_client(folder).create_directory()
            new_paths = [f.path for f in plan.upload if f.path not in manifest.files]
            if new_paths:
                await self._write_manifest(
                    next_manifest(manifest, hashes, self.sizes, [], self.deleted, new_paths)
                )
            await self._upload_all(plan.upload, hashes)
        except BaseException as err:
            if not isinstance(err, asyncio.CancelledError) and (self.done or self.deleted):
                partial = next_manifest(manifest, hashes, self.sizes, self.done, self.deleted, new_paths)
                with contextlib.suppress(Exception):
                    await self._write_manifest(partial)
            if isinstance(err, OperationCancelled):
                self.progress.log(
                    f"Sync cancelled after {len(self.done)} of {len(plan.upload)} files; "
                    "the share holds complete files only and the next deploy finishes the job.",
                    "warning",
                )
            raise
        final = Manifest(
            {
                f.path: ManifestEntry(hashes[f.path].sha256, f.size, hashes[f.path].mtime_ns)
                for f in self.local
            }
        )
        if final != manifest:
            await self._write_manifest(final)
        uploaded_bytes = sum(f.size for f in plan.upload)
        return len(plan.upload), uploaded_bytes, len(plan.delete), len(plan.unchanged), len(plan.stale_temps)

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
                f"Ignoring unreadable {MANIFEST_PATH} on the share: every file will be uploaded again "
                "and nothing will be deleted.",
                "warning",
            )
            return Manifest()

    async def _list_dir(self, folder: str) -> tuple[str, RemoteDir]:
        listing = RemoteDir(True)
        try:
            async for item in self.share.get_directory_client(folder).list_directories_and_files():
                if getattr(item, "is_directory", False):
                    listing.subdirs.add(item.name)
                else:
                    listing.files[item.name] = int(getattr(item, "size", 0) or 0)
        except ResourceNotFoundError as err:
            if getattr(err, "error_code", None) == "ShareNotFound":
                raise
            return folder, RemoteDir(False)
        return folder, listing

    async def _hashes(self, manifest: Manifest) -> dict[str, FileHash]:
        hashes: dict[str, FileHash] = {}
        todo: list[LocalFile] = []
        for f in self.local:
            entry = manifest.files.get(f.path)
            cached = cached_hash(f, entry)
            if cached is not None:
                hashes[f.path] = cached
            elif f.size > self.range_size and (entry is None or entry.size != f.size):
                continue  # big and certainly changed: hashed while it uploads
            else:
                todo.append(f)
        if todo:
            total = sum(f.size for f in todo)
            self.progress.report(f"Hashing {len(todo)} files ({_mb(total)})…")

            async def one(f: LocalFile) -> FileHash:
                self.cancel.raise_if_cancelled()
                return await asyncio.to_thread(hash_file, f)

            for f, h in zip(todo, await run_bounded(todo, one, min(4, os.cpu_count() or 1)), strict=True):
                hashes[f.path] = h
        return hashes

    # -- changing the share ----------------------------------------------------
    async def _delete_quietly(self, path: str) -> None:
        with contextlib.suppress(ResourceNotFoundError):
            await self.share.get_file_client(path).delete_file()

    async def _delete_ours(self, path: str) -> None:
        self.cancel.raise_if_cancelled()
        await self._delete_quietly(path)
        self.deleted.append(path)
        self.progress.log(f"Deleted {path} (removed locally)")

    async def _remove_empty_dirs(self, deleted: Iterable[str]) -> None:
        """Folders that held deleted files and exist no more locally: removed only if now empty
        (the service refuses to delete a non-empty folder, so user files keep theirs)."""
        local_dirs = {a for f in self.local for a in ancestors(f.path)}
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
        uploader = Uploader(self.share, range_slots=self.limit, cancel=None)
        await uploader.upload(MANIFEST_PATH, Source(len(data), data=data), hashlib.md5(data).digest())

    async def _upload_all(self, files: list[LocalFile], hashes: dict[str, FileHash]) -> None:
        if not files:
            return
        self.bytes_total = sum(f.size for f in files)
        self._report(f"Uploading {len(files)} files ({_mb(self.bytes_total)})…")
        uploader = Uploader(
            self.share,
            range_slots=self.limit,
            cancel=self.cancel,
            on_bytes=self._on_bytes,
            range_size=self.range_size,
        )

        async def one(f: LocalFile) -> None:
            self.cancel.raise_if_cancelled()
            h = hashes.get(f.path)
            if h is not None and h.md5 is None:  # cached, but the share lost the file: need the MD5
                h = hashes[f.path] = await asyncio.to_thread(hash_file, f)
            source = Source(f.size, path=f.abs_path)
            if h is not None and h.md5 is not None:
                await uploader.upload(f.path, source, h.md5, before_commit=lambda: _unchanged_since(f))
                self._uploaded(f)
                return
            hashing = asyncio.ensure_future(asyncio.to_thread(hash_file, f))

            async def md5_when_hashed() -> bytes:
                done = hashes[f.path] = await hashing
                assert done.md5 is not None
                return done.md5

            try:
                await uploader.upload(
                    f.path, source, md5_when_hashed, before_commit=lambda: _unchanged_since(f)
                )
            finally:
                if not hashing.done():
                    hashing.cancel()
                    with contextlib.suppress(BaseException):
                        await hashing
            self._uploaded(f)

        await run_bounded(files, one, self.limit)

    def _uploaded(self, f: LocalFile) -> None:
        self.done.append(f.path)
        self.progress.log(f"Uploaded {f.path} ({_mb(f.size)})")

    def _on_bytes(self, n: int) -> None:
        self.bytes_done += n
        self._report(f"Uploading: {_mb(self.bytes_done)} of {_mb(self.bytes_total)}")

    def _report(self, message: str) -> None:
        pct = 100.0 * self.bytes_done / self.bytes_total if self.bytes_total else 100.0
        if pct - self._last_pct >= 0.5 or pct == 100.0 or self._last_pct < 0:
            self._last_pct = pct
            self.progress.report(message, round(pct, 1))


def _unchanged_since(f: LocalFile) -> None:
    st = f.abs_path.stat()
    if st.st_size != f.size or st.st_mtime_ns != f.mtime_ns:
        raise AitkError(
            f"{f.path} changed while it was being uploaded; the share keeps its previous version.",
            hint="Deploy again once nothing is writing to it.",
        )


def _check_names(files: list[LocalFile], progress: Progress) -> list[LocalFile]:
    bad = [
        f.path
        for f in files
        if any(_BAD_NAME.search(part) or part.endswith((".", " ")) for part in f.path.split("/"))
    ]
    if bad:
        shown = ", ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
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
