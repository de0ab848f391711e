"""One measured client operation of ``bench_sync``, in a process of its own.

A fresh process per operation gives each its own CPU time and peak RSS, and lets the benchmark
run an older checkout of the tool (``PYTHONPATH=<checkout>/server``) against the same emulator.
Reads one JSON request on stdin (the account key travels there, never on the command line),
prints one JSON line: ``wall`` seconds, ``cpu`` seconds of this process, ``rss_mib`` peak
resident memory, and what the operation reports.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

RAW_IN_FLIGHT = 16
RAW_RANGE = 4 * 1024 * 1024


def scandir_stat(root: Path) -> int:
    """The floor for any walk: every folder listed once, every file stat'ed once."""
    count, stack = 0, [str(root)]
    while stack:
        for entry in os.scandir(stack.pop()):
            if entry.is_dir():
                stack.append(entry.path)
            else:
                entry.stat()
                count += 1
    return count


async def run(request: dict[str, Any]) -> dict[str, Any]:
    from aitk_inference.core.sync.share import ShareTarget

    op = request["op"]
    project = Path(request.get("project", "."))
    target = ShareTarget(**request["target"]) if "target" in request else None
    if op == "sync":
        from aitk_inference.core.reporting import CancellationToken, NullProgress
        from aitk_inference.core.sync.sync_project import sync_project

        assert target is not None
        result = await sync_project(project, target, progress=NullProgress(), cancel=CancellationToken())
        return {
            "requests": result.requests,
            "uploaded": result.files_uploaded,
            "bytes": result.bytes_uploaded,
        }
    if op == "bound":  # what any re-deploy must do: read the manifest, walk the project
        from aitk_inference.core.sync.manifest import MANIFEST_PATH, Manifest, is_reserved
        from aitk_inference.core.sync.share import open_share
        from aitk_inference.core.sync.walk import walk_project

        assert target is not None
        files = walk_project(project, exclude=is_reserved)
        async with open_share(target) as conn:
            downloader = await conn.share.get_file_client(MANIFEST_PATH).download_file()
            manifest = Manifest.from_json(await downloader.readall())
        return {"files": len(files), "manifest_files": len(manifest.files)}
    if op == "scandir":
        return {"files": scandir_stat(project)}
    if op == "walk":
        from aitk_inference.core.sync.manifest import is_reserved
        from aitk_inference.core.sync.walk import walk_project

        return {"files": len(walk_project(project, exclude=is_reserved))}
    if op in ("hash_one_thread", "hash_tool"):
        from aitk_inference.core.sync.walk import walk_project

        files = walk_project(project)
        started = time.perf_counter()
        if op == "hash_one_thread":
            from aitk_inference.core.sync.manifest import hash_file

            # Kept, as any hasher must return its hashes (storing 50,000 of them costs ~5 %:
            # allocations that a loop discarding each hash reuses instead).
            kept = {f.path: hash_file(f) for f in files}
            assert len(kept) == len(files)
        else:
            from aitk_inference.core.reporting import CancellationToken
            from aitk_inference.core.sync.hashing import hash_files

            await hash_files(files, CancellationToken(), lambda gone: None)
        return {"files": len(files), "hash_wall": time.perf_counter() - started}
    if op == "raw_put":
        return await raw_put(project, request["name"], target)
    if op == "delete_file":
        from aitk_inference.core.sync.share import open_share

        assert target is not None
        async with open_share(target) as conn:
            await conn.share.get_file_client(request["name"]).delete_file()
        return {}
    raise ValueError(f"unknown op {op}")


async def raw_put(path: Path, name: str, target: Any) -> dict[str, Any]:
    """The floor for one big file: create, then 4 MiB Put Ranges read from disk, 16 in flight
    (no hashing, no temporary name, no rename)."""
    from aitk_inference.core.bounded import run_bounded
    from aitk_inference.core.sync.share import open_share

    size = os.stat(path).st_size  # one stat before any request
    async with open_share(target) as conn:
        client = conn.share.get_file_client(name)
        await client.create_file(size)

        async def put(offset: int) -> None:
            length = min(RAW_RANGE, size - offset)
            data = await asyncio.to_thread(_pread, path, offset, length)
            await client.upload_range(data, offset=offset, length=length)

        await run_bounded(range(0, size, RAW_RANGE), put, RAW_IN_FLIGHT)
        return {"requests": conn.requests, "bytes": size}


def _pread(path: Path, offset: int, length: int) -> bytes:
    with open(path, "rb") as fh:
        return os.pread(fh.fileno(), length, offset)


def main() -> None:
    request = json.loads(sys.stdin.read())
    # Imports before the clock starts: the figures are the operation's, not Python's start-up.
    import aitk_inference.core.sync.share
    import aitk_inference.core.sync.sync_project
    import azure.storage.fileshare.aio  # noqa: F401

    try:
        import aitk_inference.core.sync.hashing  # noqa: F401  # absent from older checkouts
    except ImportError:
        pass
    # Every operation (bounds, walks, hashing, the raw upload) runs under the collector
    # thresholds a sync sets for itself, so the ratios compare like with like.
    passes: contextlib.AbstractContextManager[None]
    try:
        from aitk_inference.core.gc_passes import fewer_gc_passes

        passes = fewer_gc_passes()
    except ImportError:  # an older checkout: CPython's defaults, as it ran
        passes = contextlib.nullcontext()
    with passes:
        cpu0, wall0 = time.process_time(), time.perf_counter()
        out = asyncio.run(run(request))
        out["wall"] = time.perf_counter() - wall0
        out["cpu"] = time.process_time() - cpu0
    out["rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


if __name__ == "__main__":
    main()
