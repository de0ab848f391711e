"""The pure half of sync: manifest round trip, hash cache, and what a plan uploads/deletes/cleans."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest
from aitk_inference.core.sync.manifest import (
    FileHash,
    Manifest,
    ManifestEntry,
    RemoteDir,
    RemoteFile,
    ancestors,
    cached_hash,
    dirs_to_list,
    hash_file,
    is_temp_name,
    next_manifest,
    plan_sync,
    temp_path_for,
)
from aitk_inference.core.sync.walk import LocalFile


def local(path: str, data: bytes = b"x") -> LocalFile:
    return LocalFile(path, Path("/nonexistent") / path, len(data), 1)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def hashes_for(*files: tuple[str, bytes]) -> dict[str, FileHash]:
    return {p: FileHash(sha(d), None, None) for p, d in files}


def test_manifest_round_trip_and_rejects_foreign_json() -> None:
    m = Manifest(
        {"a/b.txt": ManifestEntry("ab" * 32, 3, 123, '"0x1"'), "c": ManifestEntry("cd" * 32, 0)},
        {"p": None, "q": '"0x2"'},
        {"ignored.bin": ManifestEntry("ef" * 32, 9, None, '"0x3"')},
    )
    assert Manifest.from_json(m.to_json()) == m
    v1 = b'{"version": 1, "files": {"a": {"sha256": "aa", "size": 1, "mtime_ns": null}}, "pending": ["p"]}'
    assert Manifest.from_json(v1) == Manifest({"a": ManifestEntry("aa", 1)}, {"p": None})
    with pytest.raises(ValueError):
        Manifest.from_json(b'{"version": 99}')
    with pytest.raises(ValueError):
        Manifest.from_json(b"not json")


def test_temp_names_live_beside_the_final_file() -> None:
    assert temp_path_for("a/b/model.bin", "42") == "a/b/.model.bin.aitk-upload-42"
    assert temp_path_for("x.py", "7") == ".x.py.aitk-upload-7"
    assert is_temp_name(".model.bin.aitk-upload-42")
    assert not is_temp_name("model.bin")
    assert ancestors("a/b/c.txt") == ["", "a", "a/b"]


def test_hash_file_streams_sha256_and_md5_and_only_caches_old_mtimes(tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    p = tmp_path / "f.bin"
    p.write_bytes(data)
    fresh = LocalFile("f.bin", p, len(data), p.stat().st_mtime_ns)
    h = hash_file(fresh)
    assert h.sha256 == sha(data) and h.md5 == hashlib.md5(data).digest()
    assert h.mtime_ns is None  # just written: could change again within the same tick
    old = time.time_ns() - 60_000_000_000
    os.utime(p, ns=(old, old))
    settled = LocalFile("f.bin", p, len(data), old)
    assert hash_file(settled).mtime_ns == old
    entry = ManifestEntry(h.sha256, len(data), old)
    assert cached_hash(settled, entry) is not None
    assert cached_hash(LocalFile("f.bin", p, len(data), old + 1), entry) is None
    assert cached_hash(settled, ManifestEntry(h.sha256, len(data), None)) is None


def rf(size: int, etag: str | None = None) -> RemoteFile:
    return RemoteFile(size, etag)


def test_plan_uploads_new_and_changed_keeps_unchanged_and_lists_bounded_dirs() -> None:
    files = [local("a.txt", b"same"), local("d/b.txt", b"new content"), local("d/e/c.txt", b"c")]
    manifest = Manifest(
        {"a.txt": ManifestEntry(sha(b"same"), 4), "d/b.txt": ManifestEntry(sha(b"old content"), 11)}
    )
    assert dirs_to_list(files, manifest) == ["", ".aitk", "d", "d/e"]
    remote = {
        "": RemoteDir(True, {"a.txt": rf(4), "user-output.bin": rf(99)}, {"d"}),
        ".aitk": RemoteDir(True, {"sync-manifest.json": rf(10)}),
        "d": RemoteDir(True, {"b.txt": rf(11), ".b.txt.aitk-upload-dead": rf(5)}),
        "d/e": RemoteDir(False),
    }
    hashes = hashes_for(("a.txt", b"same"), ("d/b.txt", b"new content"), ("d/e/c.txt", b"c"))
    plan = plan_sync(files, hashes, manifest, remote)
    assert [f.path for f in plan.upload] == ["d/b.txt", "d/e/c.txt"]
    assert [f.path for f in plan.unchanged] == ["a.txt"]
    assert plan.delete == [] and plan.forget == []
    assert plan.stale_temps == ["d/.b.txt.aitk-upload-dead"]
    assert plan.create_dirs == ["d/e"]


def test_plan_reuploads_what_the_share_lost_despite_the_manifest() -> None:
    files = [local("a.txt", b"aaaa"), local("b.txt", b"bbbb")]
    manifest = Manifest({"a.txt": ManifestEntry(sha(b"aaaa"), 4), "b.txt": ManifestEntry(sha(b"bbbb"), 4)})
    remote = {"": RemoteDir(True, {"b.txt": rf(2)}), ".aitk": RemoteDir(False)}  # a deleted, b truncated
    plan = plan_sync(files, hashes_for(("a.txt", b"aaaa"), ("b.txt", b"bbbb")), manifest, remote)
    assert [f.path for f in plan.upload] == ["a.txt", "b.txt"]


def test_plan_deletes_only_our_unchanged_files_gone_locally_and_never_case_twins() -> None:
    files = [local("model.bin")]
    manifest = Manifest(
        {
            "old.py": ManifestEntry(sha(b"o"), 1, None, '"0x1"'),
            "edited.py": ManifestEntry(sha(b"e"), 1, None, '"0x2"'),
            "ignored.bin": ManifestEntry(sha(b"i"), 1, None, '"0x3"'),
            "Model.bin": ManifestEntry(sha(b"x"), 1),  # renamed locally only by case
            "gone-already.txt": ManifestEntry(sha(b"g"), 1),
        },
        pending={"half.bin": None},
    )
    remote = {
        "": RemoteDir(
            True,
            {
                "old.py": rf(1, '"0x1"'),
                "edited.py": rf(1, '"0x9"'),  # same size, another ETag: edited on the share
                "ignored.bin": rf(1, '"0x3"'),
                "Model.bin": rf(1),
                "half.bin": rf(3),
                "finetune-output.safetensors": rf(9),
            },
        ),
        ".aitk": RemoteDir(True),
    }
    plan = plan_sync(files, hashes_for(("model.bin", b"x")), manifest, remote, {"ignored.bin"})
    assert plan.delete == ["old.py"]
    assert plan.kept_edited == ["edited.py"] and plan.now_ignored == ["ignored.bin"]
    assert plan.kept_pending == ["half.bin"]
    assert sorted(plan.forget) == ["Model.bin", "gone-already.txt"]
    assert [f.path for f in plan.upload] == ["model.bin"] and plan.foreign == []


def test_plan_finds_foreign_files_and_remote_edits_by_etag() -> None:
    files = [local("mine.py", b"m"), local("theirs.bin", b"t"), local("Data.JSONL", b"d"), local("new.txt")]
    manifest = Manifest({"mine.py": ManifestEntry(sha(b"m"), 1, None, '"0x1"')})
    remote = {
        "": RemoteDir(
            True, {"mine.py": rf(1, '"0x5"'), "theirs.bin": rf(1, '"0x2"'), "data.jsonl": rf(1, '"0x3"')}
        ),
        ".aitk": RemoteDir(True),
    }
    plan = plan_sync(
        files, hashes_for(("mine.py", b"m"), ("theirs.bin", b"t"), ("Data.JSONL", b"d")), manifest, remote
    )
    assert plan.restore == ["mine.py"]  # same size and content hash, but the share's copy changed
    assert plan.foreign == ["theirs.bin", "Data.JSONL"]  # the share's names are case-insensitive
    assert plan.pending == {"theirs.bin": '"0x2"', "Data.JSONL": '"0x3"', "new.txt": None}
    assert sorted(f.path for f in plan.upload) == ["Data.JSONL", "mine.py", "new.txt", "theirs.bin"]
    # An interrupted sync recorded theirs.bin as pending with the ETag it had: still not ours.
    again = plan_sync(
        files[1:2], hashes_for(("theirs.bin", b"t")), Manifest({}, {"theirs.bin": '"0x2"'}), remote
    )
    assert again.foreign == ["theirs.bin"]
    replaced = plan_sync(
        files[1:2], hashes_for(("theirs.bin", b"t")), Manifest({}, {"theirs.bin": None}), remote
    )
    assert replaced.foreign == []  # it appeared after we recorded it absent: our rename landed


def test_next_manifest_keeps_old_entries_for_unfinished_uploads() -> None:
    files = [local("a", b"aa"), local("b", b"bb"), local("c", b"c")]
    old = Manifest(
        {
            "a": ManifestEntry("old-a", 1, None, '"0x1"'),
            "b": ManifestEntry("old-b", 1, None, '"0x2"'),
            "gone": ManifestEntry("g", 1, None, '"0x3"'),
        }
    )
    remote = {
        "": RemoteDir(True, {"a": rf(1, '"0x1"'), "b": rf(1, '"0x2"'), "gone": rf(1, '"0x3"')}),
        ".aitk": RemoteDir(True),
    }
    hashes = {
        "a": FileHash("new-a", None, 5),
        "b": FileHash("new-b", None, None),
        "c": FileHash("c", None, 1),
    }
    plan = plan_sync(files, hashes, old, remote)
    assert plan.delete == ["gone"] and plan.pending == {"c": None}
    sizes = {"a": 2, "b": 2, "c": 1}
    partial = next_manifest(old, plan, hashes, sizes, {"a": '"0x7"'}, ["gone"])
    assert partial.files == {
        "a": ManifestEntry("new-a", 2, 5, '"0x7"'),
        "b": ManifestEntry("old-b", 1, None, '"0x2"'),
    }
    assert partial.pending == {"c": None}
    final = next_manifest(old, plan, hashes, sizes, {"a": '"0x7"', "b": '"0x8"', "c": '"0x9"'}, ["gone"])
    assert set(final.files) == {"a", "b", "c"} and final.pending == {}
    assert final.files["c"].etag == '"0x9"'


def test_local_read_errors_name_the_file() -> None:
    import errno

    from aitk_inference.core.sync.local_errors import LocalFileVanished, local_read_error

    gone = local_read_error("a/b.bin", FileNotFoundError(errno.ENOENT, "No such file or directory"))
    assert (
        isinstance(gone, LocalFileVanished)
        and gone.message == "Skipping a/b.bin: it was deleted during the deploy."
    )
    denied = local_read_error("a/b.bin", PermissionError(errno.EACCES, "Permission denied"))
    assert (denied.message, denied.hint) == (
        "Cannot read a/b.bin: Permission denied.",
        "Fix it, or list it in .aitkignore to leave it out of the deployment.",
    )
    loop = local_read_error("a/b.bin", OSError(errno.ELOOP, "Too many levels of symbolic links"))
    assert loop.message == "Cannot read a/b.bin: it is part of a symbolic link loop."
