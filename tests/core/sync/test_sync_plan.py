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
    m = Manifest({"a/b.txt": ManifestEntry("ab" * 32, 3, 123), "c": ManifestEntry("cd" * 32, 0)}, {"p"})
    assert Manifest.from_json(m.to_json()) == m
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


def test_plan_uploads_new_and_changed_keeps_unchanged_and_lists_bounded_dirs() -> None:
    files = [local("a.txt", b"same"), local("d/b.txt", b"new content"), local("d/e/c.txt", b"c")]
    manifest = Manifest(
        {"a.txt": ManifestEntry(sha(b"same"), 4), "d/b.txt": ManifestEntry(sha(b"old content"), 11)}
    )
    assert dirs_to_list(files, manifest) == ["", ".aitk", "d", "d/e"]
    remote = {
        "": RemoteDir(True, {"a.txt": 4, "user-output.bin": 99}, {"d"}),
        ".aitk": RemoteDir(True, {"sync-manifest.json": 10}),
        "d": RemoteDir(True, {"b.txt": 11, ".b.txt.aitk-upload-dead": 5}),
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
    remote = {"": RemoteDir(True, {"b.txt": 2}), ".aitk": RemoteDir(False)}  # a deleted, b truncated
    plan = plan_sync(files, hashes_for(("a.txt", b"aaaa"), ("b.txt", b"bbbb")), manifest, remote)
    assert [f.path for f in plan.upload] == ["a.txt", "b.txt"]


def test_plan_deletes_only_our_files_gone_locally_and_never_case_twins() -> None:
    files = [local("model.bin")]
    manifest = Manifest(
        {
            "old.py": ManifestEntry(sha(b"o"), 1),
            "Model.bin": ManifestEntry(sha(b"x"), 1),  # renamed locally only by case
            "gone-already.txt": ManifestEntry(sha(b"g"), 1),
        },
        pending={"half.bin"},
    )
    remote = {
        "": RemoteDir(True, {"old.py": 1, "Model.bin": 1, "half.bin": 3, "finetune-output.safetensors": 9}),
        ".aitk": RemoteDir(True),
    }
    plan = plan_sync(files, hashes_for(("model.bin", b"x")), manifest, remote)
    assert plan.delete == ["half.bin", "old.py"]
    assert sorted(plan.forget) == ["Model.bin", "gone-already.txt"]
    assert [f.path for f in plan.upload] == ["model.bin"]


def test_next_manifest_keeps_old_entries_for_unfinished_uploads() -> None:
    old = Manifest(
        {"a": ManifestEntry("old-a", 1), "b": ManifestEntry("old-b", 1), "gone": ManifestEntry("g", 1)}
    )
    hashes = {
        "a": FileHash("new-a", None, 5),
        "b": FileHash("new-b", None, None),
        "c": FileHash("c", None, 1),
    }
    partial = next_manifest(
        old, hashes, {"a": 2, "b": 2, "c": 1}, done=["a"], deleted=["gone"], pending=["c"]
    )
    assert partial.files == {"a": ManifestEntry("new-a", 2, 5), "b": ManifestEntry("old-b", 1)}
    assert partial.pending == {"c"}
    final = next_manifest(partial, hashes, {"a": 2, "b": 2, "c": 1}, done=["a", "b", "c"], deleted=[])
    assert set(final.files) == {"a", "b", "c"} and final.pending == set()
