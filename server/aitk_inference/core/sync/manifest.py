"""The sync manifest and the pure decision of what to upload, delete and clean up.

The manifest (``.aitk/sync-manifest.json`` on the share) lists exactly the files this tool
uploaded, with their SHA-256, size and the ETag the share gave each one when it was renamed into
place, so a re-deploy costs one GET instead of one request per file. It is trusted only as far as
the share confirms it: every folder involved is listed once with ETags (bounded by the number of
folders, not files). Ownership follows from that listing:

- a path the share holds that the manifest does not list is not ours: it is never overwritten
  unless the user says so (``foreign``), and never deleted;
- a file of ours whose ETag changed was edited on the share: its project version is uploaded
  again, and if it is gone locally it is left alone rather than deleted;
- ``pending`` maps paths an interrupted sync may have renamed into place before it could record
  them to the ETag the share held before (None: absent). A pending path whose ETag is still that
  one was never replaced, so it is not ours; a pending path is never deleted (no ETag of ours);
- ``left`` keeps files of ours that became ignored: left on the share, still ours if they return.

Local hashing is cached by (size, mtime_ns) as git caches its index: an entry records the mtime
only when the file was older than two seconds at hashing time, so an edit within the same
timestamp tick is never mistaken for "unchanged".
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from aitk_inference.core.sync.walk import LocalFile

MANIFEST_DIR = ".aitk"
MANIFEST_PATH = f"{MANIFEST_DIR}/sync-manifest.json"
LOCK_PATH = f"{MANIFEST_DIR}/deploy.lock"
MANIFEST_VERSION = 2
READABLE_VERSIONS = (1, 2)
TEMP_MARKER = ".aitk-upload-"
RACY_WINDOW_NS = 2_000_000_000
HASH_CHUNK = 1024 * 1024
PARALLEL_HASH = 16 * 1024 * 1024


def temp_path_for(path: str, token: str) -> str:
    """Upload name beside the final one (same folder, so the rename is a metadata-only swap)."""
    folder, _, name = path.rpartition("/")
    temp = f".{name}{TEMP_MARKER}{token}"
    return f"{folder}/{temp}" if folder else temp


def is_temp_name(name: str) -> bool:
    return name.startswith(".") and TEMP_MARKER in name


def is_reserved(path: str) -> bool:
    """Local paths the sync never uploads: its own manifest, lock and upload temp names (all
    hidden paths: the walk asks only about those)."""
    return path in (MANIFEST_PATH, LOCK_PATH) or is_temp_name(path.rpartition("/")[2])


def parent_dir(path: str) -> str:
    return path.rpartition("/")[0]


def ancestors(path: str) -> list[str]:
    """Folders containing ``path``, root ("") first: "a/b/c.txt" -> ["", "a", "a/b"]."""
    parts = path.split("/")[:-1]
    return ["", *("/".join(parts[: i + 1]) for i in range(len(parts)))]


# ManifestEntry, FileHash and RemoteFile are tuples: a big tree has tens of thousands of each,
# and tuples of strings and numbers drop out of the garbage collector's tracking, where dataclass
# instances (an object plus its __dict__) pile up and trigger full collections of the process.
class ManifestEntry(NamedTuple):
    sha256: str
    size: int
    mtime_ns: int | None = None  # local mtime when hashed; None when too recent to trust
    etag: str | None = None  # the share's ETag after our rename; None in manifests of version 1


def _entry_json(e: ManifestEntry) -> dict[str, Any]:
    return {"sha256": e.sha256, "size": e.size, "mtime_ns": e.mtime_ns, "etag": e.etag}


def _entry(e: dict[str, Any]) -> ManifestEntry:
    mtime, tag = e.get("mtime_ns"), e.get("etag")
    return ManifestEntry(
        str(e["sha256"]), int(e["size"]), int(mtime) if mtime is not None else None, str(tag) if tag else None
    )


@dataclass
class Manifest:
    files: dict[str, ManifestEntry] = field(default_factory=dict)
    pending: dict[str, str | None] = field(default_factory=dict)  # path -> ETag before (None: absent)
    left: dict[str, ManifestEntry] = field(default_factory=dict)  # ours, now ignored, left on the share

    def to_json(self) -> bytes:
        doc: dict[str, Any] = {
            "version": MANIFEST_VERSION,
            "generator": "aitk-inference",
            "files": {p: _entry_json(e) for p, e in sorted(self.files.items())},
            "pending": dict(sorted(self.pending.items())),
            "left": {p: _entry_json(e) for p, e in sorted(self.left.items())},
        }
        # Compact: with ``indent`` json falls back to its pure-Python encoder (4x slower on a
        # manifest of 50,000 files, written after every deploy that changes something).
        return json.dumps(doc, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        """Parse; raises ValueError for anything that is not a manifest this tool wrote."""
        doc = json.loads(data)
        if not isinstance(doc, dict) or doc.get("version") not in READABLE_VERSIONS:
            raise ValueError("unknown manifest version")
        files = {str(p): _entry(e) for p, e in dict(doc.get("files") or {}).items()}
        raw_pending = doc.get("pending") or {}
        if isinstance(raw_pending, list):  # version 1: a list, before-ETags unknown
            raw_pending = dict.fromkeys(raw_pending)
        pending = {str(p): str(t) if t else None for p, t in dict(raw_pending).items()}
        left = {str(p): _entry(e) for p, e in dict(doc.get("left") or {}).items()}
        return cls(files, pending, left)


_new_tuple = tuple.__new__


class FileHash(NamedTuple):
    sha256: str
    md5: bytes | None  # None when taken from the cache (computed again only if uploaded)
    mtime_ns: int | None  # mtime worth caching, see module docstring


def _digest(path: str | os.PathLike[str], into: Any) -> None:
    with open(path, "rb") as fh:
        while chunk := fh.read(HASH_CHUNK):
            into.update(chunk)


def hash_file(file: LocalFile) -> FileHash:
    """SHA-256 (change detection) and MD5 (Azure's Content-MD5) in one streaming pass."""
    started = time.time_ns()
    sha, md5 = hashlib.sha256(), hashlib.md5()
    if file.size >= PARALLEL_HASH:
        # Two passes on two threads (hashlib releases the GIL for big inputs; the second read
        # comes from the page cache): a big file is hashed in max(SHA-256, MD5), not the sum.
        with ThreadPoolExecutor(1) as pool:
            md5_done = pool.submit(_digest, file.abs_path, md5)
            _digest(file.abs_path, sha)
            md5_done.result()
        st = os.stat(file.abs_path)
    else:
        # A plain descriptor and a first read of the expected size (plus one byte, to see growth):
        # no buffered file object and no 1 MiB buffer per small file (1.5x faster on 50,000).
        fd = os.open(file.abs_path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        try:
            want = min(file.size + 1, HASH_CHUNK)  # memory: at most one chunk per read
            while chunk := os.read(fd, want):
                sha.update(chunk)
                md5.update(chunk)
                want = HASH_CHUNK
            st = os.fstat(fd)  # a file replaced meanwhile fails the check before its rename
        finally:
            os.close(fd)
    stable = st.st_mtime_ns == file.mtime_ns and st.st_size == file.size
    cacheable = file.mtime_ns if stable and file.mtime_ns < started - RACY_WINDOW_NS else None
    return FileHash(sha.hexdigest(), md5.digest(), cacheable)


def cached_hash(file: LocalFile, entry: ManifestEntry | None) -> FileHash | None:
    if entry and entry.mtime_ns is not None and entry.mtime_ns == file.mtime_ns and entry.size == file.size:
        return _new_tuple(FileHash, (entry.sha256, None, entry.mtime_ns))  # once per file: no __new__
    return None


class RemoteFile(NamedTuple):
    size: int
    etag: str | None


@dataclass
class RemoteDir:
    """One folder's listing. ``exists`` False when the share has no such folder."""

    exists: bool
    files: dict[str, RemoteFile] = field(default_factory=dict)  # name -> size and ETag
    subdirs: set[str] = field(default_factory=set)
    _folded: dict[str, str] | None = field(default=None, repr=False, compare=False)
    _folded_dirs: set[str] | None = field(default=None, repr=False, compare=False)

    def file(self, name: str) -> tuple[str, RemoteFile] | None:
        """The file the share would open for ``name``: names are case-insensitive there."""
        if name in self.files:
            return name, self.files[name]
        if self._folded is None:
            self._folded = {n.casefold(): n for n in self.files}
        actual = self._folded.get(name.casefold())
        return (actual, self.files[actual]) if actual is not None else None

    def has_subdir(self, name: str) -> bool:
        """Whether the share may open a folder ``name`` here (case-insensitively). A "no" skips
        listing it, so its files would look absent: folded both ways (casefold, upper-case, as
        for the dotless i), a "yes" too many costs one listing, a "no" too many an overwrite."""
        if name in self.subdirs:
            return True
        if self._folded_dirs is None:
            self._folded_dirs = {k for n in self.subdirs for k in (n.casefold(), n.upper())}
        return name.casefold() in self._folded_dirs or name.upper() in self._folded_dirs


@dataclass
class SyncPlan:
    upload: list[LocalFile]  # includes ``foreign`` (uploaded only when the user takes them over)
    unchanged: list[LocalFile]
    delete: list[str]  # our files gone locally, still on the share as we wrote them
    stale_temps: list[str]  # leftovers of interrupted uploads
    create_dirs: list[str]  # parents first
    forget: list[str]  # manifest paths to drop without a request (already gone, or replaced)
    foreign: list[str] = field(default_factory=list)  # on the share, not written by us
    restore: list[str] = field(default_factory=list)  # ours, edited on the share: uploaded again
    now_ignored: list[str] = field(default_factory=list)  # ours, ignored now: left on the share
    kept_edited: list[str] = field(default_factory=list)  # ours, gone locally, edited on the share
    kept_pending: list[str] = field(default_factory=list)  # maybe ours, gone locally: left
    etags: dict[str, str | None] = field(default_factory=dict)  # share ETag of each path listed
    pending: dict[str, str | None] = field(default_factory=dict)  # uploads not yet ours: ETag before


def dirs_to_list(local: Iterable[LocalFile], manifest: Manifest, known: Iterable[str] = ()) -> list[str]:
    """The folders holding ``local`` files and the manifest's paths, with their ancestors, the
    root and the manifest's folder, sorted; plus ``known`` (an earlier answer, not recomputed)."""
    dirs: set[str] = {"", MANIFEST_DIR, *known}
    parents = {
        parent_dir(p) for p in [*(f.path for f in local), *manifest.files, *manifest.pending, *manifest.left]
    }
    for folder in parents:  # ancestors per folder, not per file (10x fewer on big trees)
        if folder and folder not in dirs:
            dirs.update(ancestors(folder + "/-"))
    return sorted(dirs)


def plan_sync(
    local: list[LocalFile],
    hashes: dict[str, FileHash],
    manifest: Manifest,
    remote: dict[str, RemoteDir],
    ignored: set[str] | frozenset[str] = frozenset(),
) -> SyncPlan:
    """Decide the work. ``remote`` must hold every folder from :func:`dirs_to_list`; ``hashes``
    may lack files that changed for sure (new, or another size), which are then uploaded.
    ``ignored``: paths of the manifest that exist locally but are excluded now."""

    def on_share(path: str) -> tuple[str, RemoteFile] | None:
        folder_path, _, name = path.rpartition("/")
        folder = remote.get(folder_path)
        if folder is None:
            return None
        exact = folder.files.get(name)
        if exact is not None:  # the usual case: no casefolding, no new string
            return path, exact
        found = folder.file(name)
        if found is None:
            return None
        return (f"{folder_path}/{found[0]}" if folder_path else found[0]), found[1]

    owned = {**manifest.left, **manifest.files}
    folded: dict[str, str] | None = None
    plan = SyncPlan([], [], [], [], [], [])
    for f in local:
        found = on_share(f.path)
        if found is None:  # new, or the share lost it
            plan.upload.append(f)
            if f.path not in owned:
                plan.pending[f.path] = None
            continue
        remote_path, r = found
        plan.etags[f.path] = r.etag
        entry = owned.get(f.path)
        owner_path: str | None = f.path
        if entry is None:  # ours under another case? (the share is case-insensitive)
            if folded is None:
                folded = {p.casefold(): p for p in owned}
            owner_path = folded.get(f.path.casefold())
            entry = owned.get(owner_path) if owner_path is not None else None
        if entry is not None and owner_path == remote_path:
            if entry.etag is not None and r.etag != entry.etag:
                plan.restore.append(f.path)  # edited on the share: put the project's version back
                plan.upload.append(f)
                continue
            h = hashes.get(f.path)  # absent: certainly changed, hashed while uploading
            same = h is not None and entry.sha256 == h.sha256 and entry.size == f.size == r.size
            (plan.unchanged if same and f.path == owner_path else plan.upload).append(f)
            continue
        before = manifest.pending.get(f.path, "unknown")
        if f.path in manifest.pending and (before is None or before != r.etag):
            plan.upload.append(f)  # an interrupted sync of ours renamed it into place
            continue
        plan.foreign.append(f.path)
        plan.upload.append(f)
        plan.pending[f.path] = r.etag

    local_paths = {f.path for f in local}
    gone = sorted(p for p in owned if p not in local_paths)  # usually none: no sort of every path
    local_keys = {p.casefold() for p in local_paths} if gone else set()
    for path in gone:
        entry = owned[path]
        found = on_share(path)
        if path.casefold() in local_keys or found is None or found[0] != path:
            plan.forget.append(path)  # gone already, or replaced by a local file differing by case
        elif path in manifest.left:
            continue  # still ignored (or ignored, then deleted locally): stays left
        elif path in ignored:
            plan.now_ignored.append(path)
            plan.etags[path] = found[1].etag
        elif entry.etag is not None and found[1].etag != entry.etag:
            plan.kept_edited.append(path)
        else:
            plan.delete.append(path)
    for path, before in sorted(manifest.pending.items()):
        if path in local_paths or path in owned:
            continue
        found = on_share(path)
        if found is None or (before is not None and found[1].etag == before):
            plan.forget.append(path)  # absent, or still the file we found there: never ours
        else:
            plan.kept_pending.append(path)  # maybe ours, but with no ETag of ours: never deleted

    plan.stale_temps = sorted(
        f"{d}/{name}" if d else name
        for d, listing in remote.items()
        for name in listing.files
        if name[:1] == "." and is_temp_name(name)  # the test inlined first: one per file on the share
    )
    needed: set[str] = set()
    for f in plan.upload:
        needed.update(a for a in ancestors(f.path) if a)
    plan.create_dirs = sorted(
        (d for d in needed if not remote.get(d, RemoteDir(False)).exists),
        key=lambda d: (d.count("/"), d),
    )
    return plan


def next_manifest(
    old: Manifest,
    plan: SyncPlan,
    hashes: dict[str, FileHash],
    sizes: dict[str, int],
    done: dict[str, str | None],
    deleted: Iterable[str],
    *,
    pending: bool = True,
) -> Manifest:
    """The manifest after uploading ``done`` (path -> ETag after the rename) and deleting
    ``deleted``. Files not yet uploaded keep their old entry (the share still holds that version);
    with ``pending`` the plan's uploads that are not ours yet stay listed as pending."""
    files = dict(old.files)
    left = dict(old.left)
    gone = {*deleted, *plan.forget, *plan.kept_edited}
    for path in gone:
        files.pop(path, None)
        left.pop(path, None)
    for path in plan.now_ignored:
        entry = files.pop(path, None) or left.get(path)
        if entry is not None:
            left[path] = entry
    for f in plan.unchanged:  # refresh the hash cache; adopt the listed ETag if none was recorded
        entry = files.get(f.path) or left.pop(f.path, None)
        if entry is not None:
            h = hashes.get(f.path)
            mtime = h.mtime_ns if h is not None else entry.mtime_ns
            tag = entry.etag or plan.etags.get(f.path)
            if mtime != entry.mtime_ns or tag != entry.etag:  # else the same entry: no copy
                entry = ManifestEntry(entry.sha256, entry.size, mtime, tag)
            files[f.path] = entry
    for path, tag in done.items():
        h = hashes[path]
        files[path] = ManifestEntry(h.sha256, sizes[path], h.mtime_ns, tag)
        left.pop(path, None)
    waiting = {**old.pending, **plan.pending} if pending else {}
    for path in [*done, *gone, *plan.kept_pending]:
        waiting.pop(path, None)
    for path in files:
        waiting.pop(path, None)
    return Manifest(files, waiting, left)
