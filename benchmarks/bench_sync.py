"""Project sync against the Azure emulator in its own process, next to baselines measured in the same run.

Run: ``.venv/bin/python -m benchmarks.bench_sync [--runs N] [--big-mib M] [--latency-ms 0,20]`` from
the repository root. It starts ``python -m tests.azure_emulator`` as a separate process (so the
emulator and the client do not share one GIL), creates a resource group, storage account and shares
through ARM with the real management SDK, reads the endpoint and key the way deploy does
(``primaryEndpoints.file`` + listKeys), and prints medians of ``--runs`` runs:

1. a 2,000-file project: the initial sync, then a no-change re-deploy (seconds and HTTP requests),
   next to the naive way of deciding what changed (one properties request per file);
2. upload throughput of a 200 MiB file through ``sync_project`` (hashing, parallel ranges, temp
   name + rename) as a ratio to a plain single-stream upload of the same bytes to the same emulator
   (the SDK's ``upload_file`` with ``max_concurrency=1``: create + sequential 4 MiB range PUTs, the
   closest Azure Files has to one PUT of the whole file), with the CPU seconds each side used.

Figures 1 (re-deploy) and 2 are taken at each ``--latency-ms``: the emulator's file service waits
that long before answering each request (``settings.file_latency``), standing in for the round trip
to a region; at 0 ms loopback has no latency for parallel requests to hide.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
from aitk_inference.core.azure.clients import resource_client, storage_client
from aitk_inference.core.azure.cloud import Cloud
from aitk_inference.core.azure.cloud_metadata import resolve_cloud
from aitk_inference.core.bounded import run_bounded
from aitk_inference.core.config import DeployTarget
from aitk_inference.core.deploy.deploy import share_target
from aitk_inference.core.reporting import CancellationToken, NullProgress
from aitk_inference.core.sync.share import ShareTarget, open_share
from aitk_inference.core.sync.sync_project import sync_project
from azure.core.credentials import AccessToken

REPO = Path(__file__).resolve().parent.parent
FILES = 2000
FOLDERS = 40
SUBSCRIPTION = "3f2c7a1e-5b8d-4e0f-9a6c-1d2e3f4a5b6c"  # the emulator's first subscription
GROUP = "rg-bench"
ACCOUNT = "benchacct"
LOCATION = "eastus"


class StaticToken:
    """A token the emulator's ARM accepts (it reads the claims, not the signature)."""

    async def get_token(self, *scopes: str, tenant_id: str | None = None, **kwargs: Any) -> AccessToken:
        from tests.azure_emulator import tokens

        token, expires_on = tokens.issue(
            tenant_id or tokens.HOME_TENANT, tokens.resource_from_scope(scopes[0])
        )
        return AccessToken(token, expires_on)

    async def close(self) -> None:
        return None

    async def __aenter__(self) -> StaticToken:
        return self

    async def __aexit__(self, *args: object) -> None:
        return None


class EmulatorProcess:
    """``python -m tests.azure_emulator --data DIR`` in a child process; its JSON line is its address."""

    def __init__(self, data: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.azure_emulator", "--data", str(data)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the emulator exited with {self.proc.wait()} before printing its address")
        info = json.loads(line)
        self.arm: str = info["arm"]
        self.ca: str = info["ca"]
        self.data = Path(info["data"])

    async def settings(self, **values: float) -> None:
        """POST /_emulator/settings (the emulator's control route; any bearer token)."""
        context = ssl.create_default_context(cafile=self.ca)
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                f"{self.arm}/_emulator/settings",
                json=values,
                headers={"Authorization": "Bearer bench-token"},
                ssl=context,
            ) as resp,
        ):
            resp.raise_for_status()

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)  # KeyboardInterrupt: the emulator's stop hooks run
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


async def create_shares(cloud: Cloud, shares: list[str]) -> dict[str, ShareTarget]:
    """Resource group, storage account and shares through ARM; endpoint and key as deploy reads them."""
    from azure.mgmt.storage.models import FileShare, Sku, StorageAccountCreateParameters

    credential: Any = StaticToken()
    async with resource_client(credential, SUBSCRIPTION, cloud) as resources:
        await resources.resource_groups.create_or_update(GROUP, {"location": LOCATION})
    async with storage_client(credential, SUBSCRIPTION, cloud) as storage:
        params = StorageAccountCreateParameters(
            sku=Sku(name="Standard_LRS"), kind="StorageV2", location=LOCATION
        )
        poller = await storage.storage_accounts.begin_create(GROUP, ACCOUNT, params)
        await poller.result()
        for share in shares:
            await storage.file_shares.create(GROUP, ACCOUNT, share, FileShare())
    targets = {}
    for share in shares:
        deploy_target = DeployTarget(SUBSCRIPTION, GROUP, ACCOUNT, share, "unused", "unused")
        targets[share] = await share_target(credential, cloud, deploy_target)
    return targets


def make_project(root: Path) -> list[str]:
    """2,000 small source-like files in 40 folders, last edited an hour ago."""
    past = int((time.time() - 3600) * 1e9)
    paths = []
    for i in range(FILES):
        path = root / f"pkg{i % FOLDERS}" / f"module_{i}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(512 + (i * 37) % 3000))
        os.utime(path, ns=(past, past))
        paths.append(path.relative_to(root).as_posix())
    return paths


def make_big(root: Path, mib: int) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    path = root / "model.safetensors"
    with open(path, "wb") as fh:
        for _ in range(mib):
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
        await conn.share.get_directory_client("baseline").create_directory()
        client = conn.share.get_file_client("baseline/" + path.name)
        started = time.perf_counter()
        with open(path, "rb") as fh:  # noqa: ASYNC230  # the SDK reads the stream chunk by chunk
            await client.upload_file(fh, length=size, max_concurrency=1)
        elapsed = time.perf_counter() - started
        await conn.share.get_directory_client("baseline").get_file_client(path.name).delete_file()
        await conn.share.get_directory_client("baseline").delete_directory()
        return elapsed


def sha256_of(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1024 * 1024):
            sha.update(chunk)
    return sha.hexdigest()


async def median_of(runs: int, measure: Callable[[], Awaitable[float]]) -> tuple[float, list[float]]:
    times = [await measure() for _ in range(runs)]
    return statistics.median(times), times


def fmt(times: list[float]) -> str:
    return ", ".join(f"{t:.2f}" for t in times)


async def initial_sync(tmp: Path, target: ShareTarget) -> list[str]:
    project = tmp / "project"
    paths = make_project(project)
    first_s, first_req, first_bytes = await sync(project, target)
    print(f"{FILES}-file project ({FOLDERS} folders)")
    print(f"  initial sync:              {first_s:7.2f} s  {first_req:6d} requests  ({first_bytes} bytes)")
    return paths


async def bench_redeploy(tmp: Path, paths: list[str], target: ShareTarget, runs: int) -> None:
    again: list[tuple[float, int, int]] = [await sync(tmp / "project", target) for _ in range(runs)]
    naive = [await per_file_check(paths, target) for _ in range(runs)]
    again_s = statistics.median(a[0] for a in again)
    naive_s = statistics.median(n[0] for n in naive)
    again_req, naive_req = again[-1][1], naive[-1][1]
    assert all(a[2] == 0 for a in again), "a no-change re-deploy uploaded bytes"
    print(
        f"  no-change re-deploy:       {again_s:7.2f} s  {again_req:6d} requests  (0 bytes; runs: {fmt([a[0] for a in again])} s)"
    )
    print(f"  baseline, 1 request/file:  {naive_s:7.2f} s  {naive_req:6d} requests")
    print(
        f"  re-deploy vs baseline:     {again_s / naive_s:7.2f}x time, {again_req / naive_req:.3f}x requests"
    )


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system, all threads) a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Cost:
    """Wall seconds and CPU seconds of this process and the emulator process over one upload."""

    def __init__(self, emulator_pid: int) -> None:
        self.pid = emulator_pid
        self.wall: list[float] = []
        self.client_cpu: list[float] = []
        self.emulator_cpu: list[float] = []

    async def measure(self, upload: Awaitable[float], *, record: bool = True) -> None:
        client0, emulator0 = time.process_time(), process_cpu(self.pid)
        wall = await upload
        if record:
            self.wall.append(wall)
            self.client_cpu.append(time.process_time() - client0)
            self.emulator_cpu.append(process_cpu(self.pid) - emulator0)

    def line(self, name: str, size_mb: float) -> str:
        wall = statistics.median(self.wall)
        client, emulator = statistics.median(self.client_cpu), statistics.median(self.emulator_cpu)
        return (
            f"  {name:<47} {size_mb / wall:7.1f} MB/s  (runs: {fmt(self.wall)} s; CPU s client {client:.2f},"
            f" emulator {emulator:.2f}, {(client + emulator) / wall:.1f} cores busy)"
        )


async def bench_big(
    tmp: Path, target: ShareTarget, share_dir: Path, runs: int, mib: int, emulator_pid: int
) -> None:
    big = make_big(tmp / "big", mib)
    size_mb = big.stat().st_size / 1e6
    base, synced = Cost(emulator_pid), Cost(emulator_pid)

    async def sync_big() -> float:
        sync_s, _, sync_bytes = await sync(tmp / "big", target)
        assert sync_bytes == big.stat().st_size
        return sync_s

    # Interleaved, so drift in machine load hits both alike; the first round only warms up (both
    # processes' allocators and page cache: first runs were up to 2x slower).
    for run in range(runs + 1):
        with open(big, "r+b") as fh:  # noqa: ASYNC230  # new content: the next sync uploads it all again
            fh.write(os.urandom(16))
        await base.measure(single_stream_upload(big, big.stat().st_size, target), record=run > 0)
        await synced.measure(sync_big(), record=run > 0)
    assert sha256_of(share_dir / big.name) == sha256_of(big)
    print(f"  {mib} MiB file:")
    print(base.line("single-stream PUT (SDK upload_file, 1 stream):", size_mb))
    print(synced.line("sync_project (hash + parallel ranges + rename):", size_mb))
    ratio = statistics.median(base.wall) / statistics.median(synced.wall)
    print(f"  sync_project vs single stream:                  {ratio:7.2f}x")


def machine_load() -> str:
    """Load average and CPU pressure: the figures mean little on a machine busy with other work."""
    load = Path("/proc/loadavg").read_text().split()[:3]
    pressure = (
        Path("/proc/pressure/cpu").read_text().split()[1] if Path("/proc/pressure/cpu").exists() else "?"
    )
    return f"load average {' '.join(load)}, CPU pressure {pressure}"


async def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_sync", description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (the median is printed)")
    parser.add_argument("--big-mib", type=int, default=200, help="size of the big file")
    parser.add_argument(
        "--latency-ms",
        default="0,20",
        help="emulated per-request latencies of the file service to measure at (comma-separated)",
    )
    parser.add_argument("--skip-project", action="store_true", help="only the big-file upload")
    args = parser.parse_args()
    latencies = [float(ms) for ms in args.latency_ms.split(",")]
    with tempfile.TemporaryDirectory(prefix="bench-sync-") as tmp_name:
        tmp = Path(tmp_name)
        emulator = EmulatorProcess(tmp / "emulator")
        try:
            os.environ["REQUESTS_CA_BUNDLE"] = os.environ["SSL_CERT_FILE"] = emulator.ca
            targets = await create_shares(await resolve_cloud(arm_endpoint=emulator.arm), ["project", "big"])
            print(
                f"emulator: separate process (pid {emulator.proc.pid}); {os.cpu_count()} CPUs, {machine_load()}"
            )
            paths = [] if args.skip_project else await initial_sync(tmp, targets["project"])
            for ms in latencies:
                await emulator.settings(file_latency=ms / 1000)
                print(f"-- file service latency {ms:g} ms per request; medians of {args.runs} runs")
                if paths:
                    await bench_redeploy(tmp, paths, targets["project"], args.runs)
                big_share = emulator.data / ACCOUNT / "big"
                await bench_big(tmp, targets["big"], big_share, args.runs, args.big_mib, emulator.proc.pid)
            print(f"done; {machine_load()}")
        finally:
            emulator.stop()


if __name__ == "__main__":
    asyncio.run(main())
