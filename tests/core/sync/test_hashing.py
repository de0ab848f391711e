"""Hashing local files: small ones batched on the loop's thread, big ones on threads (two passes)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from aitk_inference.core.reporting import CancellationToken
from aitk_inference.core.sync.hashing import hash_files
from aitk_inference.core.sync.local_errors import LocalFileVanished
from aitk_inference.core.sync.manifest import PARALLEL_HASH, hash_file
from aitk_inference.core.sync.walk import LocalFile


def local(path: Path, name: str) -> LocalFile:
    st = path.stat()
    return LocalFile(name, str(path), st.st_size, st.st_mtime_ns)


def test_a_big_file_hashed_in_two_passes_gives_both_digests(tmp_path: Path) -> None:
    data = os.urandom(PARALLEL_HASH + 12345)
    (tmp_path / "big.bin").write_bytes(data)
    h = hash_file(local(tmp_path / "big.bin", "big.bin"))
    assert h.sha256 == hashlib.sha256(data).hexdigest()
    assert h.md5 == hashlib.md5(data).digest()


async def test_small_and_big_files_hashed_and_vanished_ones_reported(tmp_path: Path) -> None:
    contents = {f"s{i}.txt": os.urandom(100 + i) for i in range(600)}  # several batches
    contents["big.bin"] = os.urandom(2 * 1024 * 1024)
    files = []
    for name, data in contents.items():
        (tmp_path / name).write_bytes(data)
        files.append(local(tmp_path / name, name))
    (tmp_path / "s7.txt").unlink()
    gone: list[LocalFileVanished] = []
    hashes = await hash_files(files, CancellationToken(), gone.append)
    assert [g.path for g in gone] == ["s7.txt"]
    assert set(hashes) == set(contents) - {"s7.txt"}
    for name, h in hashes.items():
        assert h.sha256 == hashlib.sha256(contents[name]).hexdigest()
        assert h.md5 == hashlib.md5(contents[name]).digest()
