"""Project sync against the Azure Files emulator, next to baselines measured in the same run.

Run: ``.venv/bin/python -m benchmarks.bench_sync``. Starts an in-process emulator (HTTPS, real
storage SDK on the client side) and prints:

1. a no-change re-deploy of a 2,000-file project (after the initial sync): seconds and HTTP
   requests, next to the naive way of deciding what changed (one properties request per file);
2. upload throughput of a 200 MB file through ``sync_project`` (hashing, parallel ranges, temp
   name + rename) as a ratio to a plain single-stream upload of the same bytes to the same
   emulator (the SDK's ``upload_file`` with ``max_concurrency=1``: create + sequential ranges).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
import time
from pathlib import Path

from aitk_inference.core.bounded import run_bounded
from aitk_inference.core.reporting import CancellationToken, NullProgress
from aitk_inference.core.share_client import open_share
from aitk_inference.core.sync import ShareTarget, sync_project

from tests.azure_emulator.server import Emulator, EmulatorThread
from tests.azure_emulator.storage_registry import get_registry

FILES = 2000
FOLDERS = 40
BIG_MIB = 200
ACCOUNT = "benchacct"


def make_project(root: Path) -> None:
    """2,000 small source-like files in 40 folders, last edited an hour ago."""
    past = int((time.time() - 3600) * 1e9)
    for i in range(FILES):
        path = root / f"pkg{i % FOLDERS}" / f"module_{i}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(512 + (i * 37) % 3000))
        os.utime(path, ns=(past, past))


def make_big(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    path = root / "model.safetensors"
    with open(path, "wb") as fh:
        for _ in range(BIG_MIB):
            fh.write(os.urandom(1024 * 1024))
    return path


async def sync(project: Path, target: ShareTarget) -> tuple[float, int, int]:
    started = time.perf_counter()
    result = await sync_project(project, target, progress=NullProgress(), cancel=CancellationToken())
    return time.perf_counter() - started, result.requests, result.bytes_uploaded


async def per_file_check(paths: list[str], target: ShareTarget) -> tuple[float, int]:
    """Baseline: ask the share about every file (what a manifest-less sync would do)."""
    started = time.perf_counter()
    async with open_share(target) as conn:

        async def props(path: str) -> None:
            await conn.share.get_file_client(path).get_file_properties()

        await run_bounded(paths, props, 8)
        return time.perf_counter() - started, conn.requests


async def single_stream_upload(path: Path, size: int, target: ShareTarget) -> float:
    async with open_share(target) as conn:
        client = conn.share.get_file_client("baseline/" + path.name)
        await conn.share.get_directory_client("baseline").create_directory()
        started = time.perf_counter()
        with open(path, "rb") as fh:  # noqa: ASYNC230  # the SDK reads the stream chunk by chunk
            await client.upload_file(fh, length=size, max_concurrency=1)
        return time.perf_counter() - started


def sha256_of(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1024 * 1024):
            sha.update(chunk)
    return sha.hexdigest()


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-sync-") as tmp_name:
        tmp = Path(tmp_name)
        runner = EmulatorThread(Emulator(tmp / "emulator"))
        emulator = runner.start()
        emulator.traffic.enabled = False  # the benchmark measures the client, not the traffic log
        try:
            os.environ["REQUESTS_CA_BUNDLE"] = os.environ["SSL_CERT_FILE"] = str(emulator.ca_path)
            registry = get_registry(emulator)
            key = registry.ensure_account(ACCOUNT)[0]
            url = f"{emulator.file_url}/{ACCOUNT}/"

            registry.ensure_share(ACCOUNT, "project")
            project_target = ShareTarget(url, ACCOUNT, "project", key)
            make_project(tmp / "project")
            first_s, first_req, _ = await sync(tmp / "project", project_target)
            again_s, again_req, again_bytes = await sync(tmp / "project", project_target)
            paths = sorted(p.relative_to(tmp / "project").as_posix() for p in (tmp / "project").rglob("*.py"))
            naive_s, naive_req = await per_file_check(paths, project_target)
            print(f"{FILES}-file project ({FOLDERS} folders)")
            print(f"  initial sync:              {first_s:7.2f} s  {first_req:6d} requests")
            print(
                f"  no-change re-deploy:       {again_s:7.2f} s  {again_req:6d} requests  ({again_bytes} bytes uploaded)"
            )
            print(f"  baseline, 1 request/file:  {naive_s:7.2f} s  {naive_req:6d} requests")
            print(
                f"  re-deploy vs baseline:     {again_s / naive_s:7.2f}x time, {again_req / naive_req:.3f}x requests"
            )

            big = make_big(tmp / "big")
            size_mb = big.stat().st_size / 1e6
            registry.ensure_share(ACCOUNT, "big")
            big_target = ShareTarget(url, ACCOUNT, "big", key)
            base_s = await single_stream_upload(big, big.stat().st_size, big_target)
            sync_s, _, sync_bytes = await sync(tmp / "big", big_target)
            share = registry.share_path(ACCOUNT, "big")
            assert sync_bytes == big.stat().st_size
            assert sha256_of(share / big.name) == sha256_of(big) == sha256_of(share / "baseline" / big.name)
            print(f"{BIG_MIB} MiB file")
            print(f"  single-stream PUT (SDK upload_file, 1 stream): {size_mb / base_s:7.1f} MB/s")
            print(
                f"  sync_project (hash + parallel ranges + rename): {size_mb / sync_s:7.1f} MB/s"
                f"  = {base_s / sync_s:.2f}x the single stream"
            )
        finally:
            runner.stop()


if __name__ == "__main__":
    asyncio.run(main())
