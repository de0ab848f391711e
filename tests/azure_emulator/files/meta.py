"""Sidecar store for what Azure Files keeps beside the bytes: ids, times, ETags, metadata, content settings.

The bytes live in the share folder (real files and folders); this store lives under
``emulator.root / "files-meta"`` as one JSON snapshot plus an append-only journal per share, so the share folder holds only what
a client uploaded. Entries for paths that appear on disk without one (written by a test or the local
runtime directly) are synthesised from the file system on first sight.
"""

from __future__ import annotations

import json
import os
import stat
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

# FILETIME epoch: Azure's ETags and file times count 100 ns ticks since 1601-01-01.
_EPOCH_1601 = datetime(1601, 1, 1, tzinfo=UTC)
_TICKS_TO_UNIX = 116444736000000000

FILE_PERMISSION_KEY = "4010187179898695473*11459378189709739967"
DIR_PERMISSION_KEY = "17860367565182308406*11459378189709739967"

# A journal is folded into the snapshot once it has this many lines and 4x as many as entries.
_COMPACT_MIN_LINES = 10_000


class Clock:
    """Strictly increasing FILETIME ticks, so every change gets a new ETag even within one tick."""

    def __init__(self) -> None:
        self._last = 0
        self._lock = threading.Lock()

    def now(self) -> int:
        with self._lock:
            self._last = max(self._last + 1, time.time_ns() // 100 + _TICKS_TO_UNIX)
            return self._last


def ticks_from_unix(seconds: float) -> int:
    return int(seconds * 10_000_000) + _TICKS_TO_UNIX


def iso_time(ticks: int) -> str:
    """``2025-08-11T07:54:02.6158710Z``: seven fractional digits, as Azure Files reports times."""
    dt = _EPOCH_1601 + timedelta(microseconds=ticks // 10)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ticks % 10_000_000:07d}Z"


def http_date(ticks: int) -> str:
    dt = _EPOCH_1601 + timedelta(microseconds=ticks // 10)
    return dt.strftime("%a, %d %b %Y %H:%M:%S GMT")


def etag(ticks: int) -> str:
    return f'"0x{ticks:X}"'


@dataclass
class ContentSettings:
    content_type: str = "application/octet-stream"
    content_encoding: str | None = None
    content_language: str | None = None
    cache_control: str | None = None
    content_disposition: str | None = None
    content_md5: str | None = None  # base64, as sent in x-ms-content-md5


@dataclass
class Entry:
    """One file or directory (``kind`` is "file" or "dir")."""

    kind: str
    file_id: str
    created: int
    last_write: int
    changed: int
    modified: int  # drives ETag and Last-Modified
    metadata: dict[str, str] = field(default_factory=dict)
    content: ContentSettings = field(default_factory=ContentSettings)
    lease_id: str | None = None  # an infinite file lease (see files/leases.py)

    @property
    def attributes(self) -> str:
        return "Directory" if self.kind == "dir" else "Archive"

    @property
    def permission_key(self) -> str:
        return DIR_PERMISSION_KEY if self.kind == "dir" else FILE_PERMISSION_KEY

    def to_json(self) -> dict[str, Any]:
        """What ``asdict`` gives, without its deep copy (serialized at once; ~5x cheaper)."""
        return {**vars(self), "content": vars(self.content)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Entry:
        data = dict(data)
        data["content"] = ContentSettings(**data.get("content", {}))
        return cls(**data)


@dataclass
class ShareProps:
    created: int
    modified: int
    quota: int = 102400
    metadata: dict[str, str] = field(default_factory=dict)


class ShareMeta:
    """Entries of one share keyed by relative POSIX path ("" is the root directory).

    The entries live in memory; each change appends one JSON line to ``<share>.journal`` (O(1) per
    change, where rewriting the whole document made a 2,000-file sync quadratic). Loading replays
    the journal over the ``<share>.json`` snapshot and compacts the two; so do :meth:`close` (at
    emulator stop) and a journal grown well past the number of entries. A torn last line (a kill
    mid-write) is ignored: every complete line before it is a whole change.
    """

    def __init__(self, path: Path, root_dir: Path, clock: Clock, ids: IdSource) -> None:
        self.path = path
        self.journal_path = path.with_suffix(".journal")
        self.root_dir = root_dir
        self.root_path = self._root = str(root_dir)
        self.clock = clock
        self.ids = ids
        self.entries: dict[str, Entry] = {}
        self.props: ShareProps | None = None
        self._lock = threading.Lock()
        self._journal: IO[str] | None = None
        self._journal_lines = 0
        if path.is_file():
            raw = json.loads(path.read_text())
            self.entries = {k: Entry.from_json(v) for k, v in raw.get("entries", {}).items()}
            if raw.get("share"):
                self.props = ShareProps(**raw["share"])
        if self.journal_path.is_file():
            for line in self.journal_path.read_text().splitlines():
                try:
                    change = json.loads(line)
                except json.JSONDecodeError:
                    break  # torn tail
                self._apply(change)
            self.compact()

    # -- queries and changes ----------------------------------------------------
    def share_props(self) -> ShareProps:
        if self.props is None:
            now = self.clock.now()
            self.props = ShareProps(created=now, modified=now)
            self.save()
        return self.props

    def get(self, rel: str, st: os.stat_result | None = None) -> Entry | None:
        """The entry for ``rel`` if the path exists on disk (creating a missing sidecar entry).
        ``st``: the path's stat, when the caller has just taken it (a listing).

        A file written on disk after the service last changed it (through the mount, as a replica
        writes over SMB) gets a new Last-Modified and ETag, as Azure gives a file written over SMB."""
        try:
            if st is None:
                st = os.stat(os.path.join(self._root, rel) if rel else self._root)  # no Path: hot
        except OSError:
            if rel in self.entries:
                self.remove(rel)
            return None
        kind = "dir" if stat.S_ISDIR(st.st_mode) else "file"
        entry = self.entries.get(rel)
        if entry is None or entry.kind != kind:
            ticks = st.st_mtime_ns // 100 + _TICKS_TO_UNIX
            entry = Entry(kind, "0" if rel == "" else self.ids.next(), ticks, ticks, ticks, ticks)
            self.put(rel, entry)
        elif kind == "file" and (written := st.st_mtime_ns // 100 + _TICKS_TO_UNIX) > entry.modified:
            entry.last_write = entry.changed = entry.modified = written
            self.put(rel, entry)
        return entry

    def put(self, rel: str, entry: Entry) -> None:
        """Store ``entry`` (also after changing it in place: that is what gets it persisted)."""
        self.entries[rel] = entry
        self._record({"op": "put", "path": rel, "entry": entry.to_json()})

    def new_entry(self, kind: str) -> Entry:
        now = self.clock.now()
        return Entry(kind, self.ids.next(), now, now, now, now)

    def remove(self, rel: str) -> None:
        change = {"op": "remove", "path": rel}
        self._apply(change)
        self._record(change)

    def move(self, src: str, dst: str) -> None:
        change = {"op": "move", "src": src, "dst": dst}
        self._apply(change)
        self._record(change)

    def save(self) -> None:
        """Persist the share's own properties after a change to them."""
        self._record({"op": "share", "props": asdict(self.props) if self.props else None})

    # -- persistence ------------------------------------------------------------
    def _subtree(self, rel: str) -> list[str]:
        entry = self.entries.get(rel)
        if entry is not None and entry.kind == "file":
            return [rel]  # a file has no children: no need to scan every entry
        if rel == "":
            return list(self.entries)
        return [k for k in self.entries if k == rel or k.startswith(rel + "/")]

    def _apply(self, change: dict[str, Any]) -> None:
        op = change["op"]
        if op == "put":
            self.entries[change["path"]] = Entry.from_json(change["entry"])
        elif op == "remove":
            for key in self._subtree(change["path"]):
                self.entries.pop(key, None)
        elif op == "move":
            src, dst = change["src"], change["dst"]
            for key in self._subtree(src):
                self.entries[dst + key[len(src) :]] = self.entries.pop(key)
        elif op == "share":
            self.props = ShareProps(**change["props"]) if change["props"] else None

    def _record(self, change: dict[str, Any]) -> None:
        line = json.dumps(change) + "\n"
        with self._lock:
            if self._journal is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._journal = open(self.journal_path, "a", encoding="utf-8")  # kept open
            self._journal.write(line)
            self._journal.flush()  # in the OS after each change, so a killed emulator loses nothing
            self._journal_lines += 1
            if self._journal_lines > max(_COMPACT_MIN_LINES, 4 * len(self.entries)):
                self._compact_locked()

    def compact(self) -> None:
        """Write the snapshot and empty the journal."""
        with self._lock:
            self._compact_locked()

    def close(self) -> None:
        self.compact()

    def _compact_locked(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        doc = {
            "share": asdict(self.props) if self.props else None,
            "entries": {k: v.to_json() for k, v in self.entries.items()},
        }
        tmp = self.path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps(doc))
        tmp.replace(self.path)  # the snapshot now holds every change: the journal can go
        if self._journal is not None:
            self._journal.close()
            self._journal = None
        self.journal_path.unlink(missing_ok=True)
        self._journal_lines = 0

    def discard(self) -> None:
        """Forget the share (deleted): close the journal, remove both files."""
        with self._lock:
            if self._journal is not None:
                self._journal.close()
                self._journal = None
            self.path.unlink(missing_ok=True)
            self.journal_path.unlink(missing_ok=True)


class IdSource:
    """64-bit file ids shaped like Azure's (large decimal numbers), unique per emulator."""

    def __init__(self) -> None:
        self._next = 13835128424026341376
        self._lock = threading.Lock()

    def next(self) -> str:
        with self._lock:
            self._next += 1 << 20
            return str(self._next)


class MetaStore:
    def __init__(self, meta_dir: Path) -> None:
        self.meta_dir = meta_dir
        self.clock = Clock()
        self.ids = IdSource()
        self._shares: dict[tuple[str, str], ShareMeta] = {}
        self._lock = threading.Lock()

    def share(self, account: str, share: str, root_dir: Path) -> ShareMeta:
        with self._lock:
            key = (account, share)
            if key not in self._shares:
                path = self.meta_dir / account / f"{share}.json"
                self._shares[key] = ShareMeta(path, root_dir, self.clock, self.ids)
            return self._shares[key]

    def loaded(self, account: str, share: str) -> ShareMeta | None:
        """The share's store if already loaded (no Path built: this runs once per request)."""
        with self._lock:
            return self._shares.get((account, share))

    def drop_share(self, account: str, share: str) -> None:
        with self._lock:
            meta = self._shares.pop((account, share), None)
            if meta is not None:
                meta.discard()
            snapshot = self.meta_dir / account / f"{share}.json"
            snapshot.unlink(missing_ok=True)
            snapshot.with_suffix(".journal").unlink(missing_ok=True)

    def close(self) -> None:
        """Compact every open share's journal into its snapshot (emulator stop)."""
        with self._lock:
            for meta in self._shares.values():
                meta.close()
