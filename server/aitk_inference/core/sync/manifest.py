"""The sync manifest and the pure decision of what to upload, delete and clean up.

The manifest (``.aitk/sync-manifest.json`` on the share) lists exactly the files this tool
uploaded, with their SHA-256 and size, so a re-deploy costs one GET instead of one request per
file. It is trusted only as far as the share confirms it: every folder involved is listed once
(bounded by the number of folders, not files), and a file the manifest lists but the share lacks,
or holds at another size, is uploaded again. ``pending`` holds paths an interrupted sync may have
created before it could record them, so they are still ours to delete later.

Local hashing is cached by (size, mtime_ns) as git caches its index: an entry records the mtime
only when the file was older than two seconds at hashing time, so an edit within the same
timestamp tick is never mistaken for "unchanged".
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aitk_inference.core.sync.walk import LocalFile

MANIFEST_DIR = ".aitk"
MANIFEST_PATH = f"{MANIFEST_DIR}/sync-manifest.json"
MANIFEST_VERSION = 1
TEMP_MARKER = ".aitk-upload-"
RACY_WINDOW_NS = 2_000_000_000
HASH_CHUNK = 1024 * 1024


def temp_path_for(path: str, token: str) -> str:
    """Upload name beside the final one (same folder, so the rename is a metadata-only swap)."""
    folder, _, name = path.rpartition("/")
    temp = f".{name}{TEMP_MARKER}{token}"
    return f"{folder}/{temp}" if folder else temp


def is_temp_name(name: str) -> bool:
    return name.startswith(".") and TEMP_MARKER in name


def is_reserved(path: str) -> bool:
    """Local paths the sync never uploads: its own manifest and upload temp names."""
    return path == MANIFEST_PATH or is_temp_name(path.rpartition("/")[2])


def parent_dir(path: str) -> str:
    return path.rpartition("/")[0]


def ancestors(path: str) -> list[str]:
    """Folders containing ``path``, root ("") first: "a/b/c.txt" -> ["", "a", "a/b"]."""
    parts = path.split("/")[:-1]
    return ["", *("/".join(parts[: i + 1]) for i in range(len(parts)))]


@dataclass(frozen=True)
class ManifestEntry:
    sha256: str
    size: int
    mtime_ns: int | None = None  # local mtime when hashed; None when too recent to trust


@dataclass
class Manifest:
    files: dict[str, ManifestEntry] = field(default_factory=dict)
    pending: set[str] = field(default_factory=set)

    def to_json(self) -> bytes:
        doc: dict[str, Any] = {
            "version": MANIFEST_VERSION,
            "generator": "aitk-inference",
            "files": {
                p: {"sha256": e.sha256, "size": e.size, "mtime_ns": e.mtime_ns}
                for p, e in sorted(self.files.items())
            },
            "pending": sorted(self.pending),
        }
        return json.dumps(doc, indent=1).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        """Parse; raises ValueError for anything that is not a manifest this tool wrote."""
        doc = json.loads(data)
        if not isinstance(doc, dict) or doc.get("version") != MANIFEST_VERSION:
            raise ValueError("unknown manifest version")
        files: dict[str, ManifestEntry] = {}
        for path, e in dict(doc.get("files") or {}).items():
            mtime = e.get("mtime_ns")
            files[str(path)] = ManifestEntry(
                str(e["sha256"]), int(e["size"]), int(mtime) if mtime is not None else None
            )
        return cls(files, {str(p) for p in doc.get("pending") or []})


@dataclass(frozen=True)
class FileHash:
    sha256: str
    md5: bytes | None  # None when taken from the cache (computed again only if uploaded)
    mtime_ns: int | None  # mtime worth caching, see module docstring


def hash_file(file: LocalFile) -> FileHash:
    """SHA-256 (change detection) and MD5 (Azure's Content-MD5) in one streaming pass."""
    started = time.time_ns()
    sha, md5 = hashlib.sha256(), hashlib.md5()
    with open(file.abs_path, "rb") as fh:
        while chunk := fh.read(HASH_CHUNK):
            sha.update(chunk)
            md5.update(chunk)
    st = Path(file.abs_path).stat()
    stable = st.st_mtime_ns == file.mtime_ns and st.st_size == file.size
    cacheable = file.mtime_ns if stable and file.mtime_ns < started - RACY_WINDOW_NS else None
    return FileHash(sha.hexdigest(), md5.digest(), cacheable)


def cached_hash(file: LocalFile, entry: ManifestEntry | None) -> FileHash | None:
    if entry and entry.mtime_ns is not None and entry.mtime_ns == file.mtime_ns and entry.size == file.size:
        return FileHash(entry.sha256, None, entry.mtime_ns)
    return None


@dataclass
class RemoteDir:
    """One folder's listing. ``exists`` False when the share has no such folder."""

    exists: bool
    files: dict[str, int] = field(default_factory=dict)  # name -> size
    subdirs: set[str] = field(default_factory=set)


@dataclass
class SyncPlan:
    upload: list[LocalFile]
    unchanged: list[LocalFile]
    delete: list[str]  # our files gone locally and still on the share
    stale_temps: list[str]  # leftovers of interrupted uploads
    create_dirs: list[str]  # parents first
    forget: list[str]  # manifest paths to drop without a request (already gone, or replaced)


def dirs_to_list(local: Iterable[LocalFile], manifest: Manifest) -> list[str]:
    dirs: set[str] = {"", MANIFEST_DIR}
    for path in [*(f.path for f in local), *manifest.files, *manifest.pending]:
        dirs.update(ancestors(path))
    return sorted(dirs)


def plan_sync(
    local: list[LocalFile],
    hashes: dict[str, FileHash],
    manifest: Manifest,
    remote: dict[str, RemoteDir],
) -> SyncPlan:
    """Decide the work. ``remote`` must hold every folder from :func:`dirs_to_list`; ``hashes``
    may lack files that changed for sure (new, or another size), which are then uploaded."""

    def remote_size(path: str) -> int | None:
        folder = remote.get(parent_dir(path))
        return folder.files.get(path.rpartition("/")[2]) if folder else None

    upload: list[LocalFile] = []
    unchanged: list[LocalFile] = []
    for f in local:
        entry = manifest.files.get(f.path)
        h = hashes.get(f.path)  # absent: certainly changed, hashed while uploading
        same = entry is not None and h is not None and entry.sha256 == h.sha256 and entry.size == f.size
        if same and remote_size(f.path) == f.size:
            unchanged.append(f)
        else:
            upload.append(f)

    # Azure Files names are case-insensitive: a path that differs from a local one only by case
    # is replaced by that upload, and deleting it would delete the new file.
    local_paths = {f.path for f in local}
    local_keys = {p.casefold() for p in local_paths}
    delete: list[str] = []
    forget: list[str] = []
    for path in sorted(set(manifest.files) | manifest.pending):
        if path in local_paths:
            continue
        if path.casefold() in local_keys or remote_size(path) is None:
            forget.append(path)
        else:
            delete.append(path)

    stale = sorted(
        f"{d}/{name}" if d else name
        for d, listing in remote.items()
        for name in listing.files
        if is_temp_name(name)
    )
    needed: set[str] = set()
    for f in upload:
        needed.update(a for a in ancestors(f.path) if a)
    create = sorted(
        (d for d in needed if not remote.get(d, RemoteDir(False)).exists),
        key=lambda d: (d.count("/"), d),
    )
    return SyncPlan(upload, unchanged, delete, stale, create, forget)


def next_manifest(
    old: Manifest,
    hashes: dict[str, FileHash],
    sizes: dict[str, int],
    done: Iterable[str],
    deleted: Iterable[str],
    pending: Iterable[str] = (),
) -> Manifest:
    """The manifest after uploading ``done`` and deleting ``deleted``; files not yet uploaded keep
    their old entry (the share still holds that version) and ``pending`` stays listed."""
    files = dict(old.files)
    for path in deleted:
        files.pop(path, None)
    for path in done:
        h = hashes[path]
        files[path] = ManifestEntry(h.sha256, sizes[path], h.mtime_ns)
    gone = set(deleted)
    return Manifest(files, (old.pending | set(pending)) - gone - set(files))
