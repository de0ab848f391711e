"""Project sync at scale against the Azure emulator in its own process, as ratios to bounds
measured in the same run.

Run: ``.venv/bin/python -m benchmarks.bench_sync [--quick] [--runs N] [--baseline DIR]`` from the
repository root. The emulator runs as ``python -m tests.azure_emulator`` (its own process and GIL);
shares are created through ARM with the real management SDK, and endpoint and key are read as
deploy reads them. Every client operation runs in a fresh process (``benchmarks.sync_worker``),
so each has its own CPU seconds and peak RSS; the emulator's CPU seconds over the same span are
read from /proc. Figures (medians of ``--runs`` where repeated; first deploys run once):

1. per tree (2,000 files in 200 folders, 20,000 in one flat folder, 50,000 in 5,000 folders two
   levels deep): first deploy, no-change re-deploy and one-file-change re-deploy: seconds,
   requests, client and emulator CPU, client CPU per uploaded file vs emulator CPU per request,
   peak RSS; re-deploys as a ratio to the bound "manifest GET + local walk" measured in the same
   run; first deploys as a ratio to the same deploy by ``--baseline`` (a checkout of the tool
   before this work, e.g. ``git worktree add /tmp/base db3230e``), run against the same emulator;
2. the walk with ignore rules vs a plain scandir + stat of the same tree;
3. hashing every file of a tree with the tool vs sequentially on one thread (hashes kept in a dict);
4. a big file (``--big-mib``, 200 by default): sync vs a raw create + parallel 4 MiB Put Range
   upload (16 in flight, no hashing, no rename) of the same bytes, and peak RSS of each. Raw runs
   twice per round: over its last copy (same name, before the sync), and to a new name (after
   the sync; its previous copy is deleted just before the sync). Why: on a VM that hands freed
   memory back to its host, the emulator's kernel spends 0.4-0.9 CPU-s writing 200 MiB into
   fresh page-cache pages, 0.1 into pages just freed (benchmarks/README.md). Raw over its own copy frees and reuses its
   pages at once; the sync writes a new temporary file, so it gets just-freed pages only if
   something was freed just before it (the deleted copy), as raw to a new name gets those the
   sync's rename freed. Without that, the sync alone paid for fresh pages.

``--quick`` shrinks everything (2,000 and 5,000 files, a 32 MiB file, one run) for iteration.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aitk_inference.core.azure.clients import resource_client, storage_client
from aitk_inference.core.azure.cloud import Cloud
from aitk_inference.core.azure.cloud_metadata import resolve_cloud
from aitk_inference.core.config import DeployTarget
from aitk_inference.core.deploy.deploy import share_target
from aitk_inference.core.sync.share import ShareTarget
from azure.core.credentials import AccessToken

REPO = Path(__file__).resolve().parent.parent
SUBSCRIPTION = "3f2c7a1e-5b8d-4e0f-9a6c-1d2e3f4a5b6c"  # the emulator's first subscription
GROUP = "rg-bench"
ACCOUNT = "benchacct"
LOCATION = "eastus"
GITIGNORE = "*.pyc\n__pycache__/\n*.log\nbuild/\n!keep.log\n/dist\n**/tmp/**\n"


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

    async def settings(self, **values: float | bool) -> None:
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


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system, all threads) a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_load() -> str:
    """Load average and CPU pressure: the figures mean little on a machine busy with other work."""
    load = Path("/proc/loadavg").read_text().split()[:3]
    pressure = (
        Path("/proc/pressure/cpu").read_text().split()[1] if Path("/proc/pressure/cpu").exists() else "?"
    )
    return f"load average {' '.join(load)}, CPU pressure {pressure}"


@dataclass(frozen=True)
class Tree:
    name: str
    files: int
    folders: int  # 1: flat; else spread over ``folders`` leaf folders, two levels deep

    def path_of(self, i: int) -> str:
        if self.folders == 1:
            return f"f{i:06d}.py"
        leaf = i % self.folders
        return f"d{leaf // 100:03d}/s{leaf % 100:02d}/f{i:06d}.py"


def make_tree(root: Path, tree: Tree) -> None:
    """Small source-like files (200 B - 3 kB) with a .gitignore, last edited an hour ago."""
    past = int((time.time() - 3600) * 1e9)
    root.mkdir(parents=True)
    (root / ".gitignore").write_text(GITIGNORE)
    made: set[Path] = set()
    for i in range(tree.files):
        path = root / tree.path_of(i)
        if path.parent not in made:
            path.parent.mkdir(parents=True, exist_ok=True)
            made.add(path.parent)
        path.write_bytes(os.urandom(200 + (i * 37) % 2800))
        os.utime(path, ns=(past, past))


class Runner:
    """Runs ``benchmarks.sync_worker`` operations and adds the emulator's CPU over each."""

    def __init__(self, emulator_pid: int, ca: str) -> None:
        self.pid = emulator_pid
        self.env = {**os.environ, "REQUESTS_CA_BUNDLE": ca, "SSL_CERT_FILE": ca}

    def __call__(self, request: dict[str, Any], *, checkout: Path | None = None) -> dict[str, Any]:
        env = dict(self.env)
        if checkout is not None:  # an older version of the tool; the worker itself comes from here
            env["PYTHONPATH"] = f"{checkout / 'server'}{os.pathsep}{REPO}"
        else:
            env["PYTHONPATH"] = f"{REPO / 'server'}{os.pathsep}{REPO}"
        emulator0 = process_cpu(self.pid)
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.sync_worker"],
            input=json.dumps(request),
            capture_output=True,
            text=True,
            cwd=REPO,
            env=env,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"worker {request['op']} failed:\n{done.stderr[-3000:]}")
        out: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        out["emulator_cpu"] = process_cpu(self.pid) - emulator0
        return out


def median(rows: list[dict[str, Any]], key: str) -> float:
    return statistics.median(float(r[key]) for r in rows)


def runs_of(rows: list[dict[str, Any]]) -> str:
    return ", ".join(f"{r['wall']:.2f}" for r in rows)


def deploy_line(label: str, rows: list[dict[str, Any]], bound: float | None = None) -> str:
    wall, req = median(rows, "wall"), int(median(rows, "requests"))
    client, emulator = median(rows, "cpu"), median(rows, "emulator_cpu")
    uploaded = int(median(rows, "uploaded"))
    text = (
        f"  {label:<22} {wall:7.2f} s {req:7d} req  CPU s client {client:6.2f} emulator {emulator:6.2f}"
        f"  RSS {median(rows, 'rss_mib'):5.0f} MiB"
    )
    if uploaded > 1 and req:  # a first deploy: the per-file cost of uploading
        text += (
            f"  client ms/file {1000 * client / uploaded:.2f} vs emulator ms/req {1000 * emulator / req:.2f}"
        )
    if bound:
        text += f"  = {wall / bound:.2f}x bound"
    if len(rows) > 1:
        text += f"  (runs: {runs_of(rows)})"
    return text


def bench_tree(
    tree: Tree, tmp: Path, run: Runner, targets: dict[str, ShareTarget], runs: int, baseline: Path | None
) -> None:
    project = tmp / tree.name
    make_tree(project, tree)
    target = vars(targets[tree.name])
    print(f"{tree.files:,} files in {tree.folders:,} folder(s) [{tree.name}]")
    first = run({"op": "sync", "project": str(project), "target": target})
    assert first["uploaded"] == tree.files + 1, first  # and the .gitignore
    print(deploy_line("first deploy:", [first]))
    if baseline is not None:
        old = run(
            {"op": "sync", "project": str(project), "target": vars(targets[tree.name + "-base"])},
            checkout=baseline,
        )
        print(deploy_line("  baseline first:", [old]))
        print(
            f"  first deploy vs baseline: {old['wall'] / first['wall']:.2f}x faster, client CPU {old['cpu'] / first['cpu']:.2f}x less"
        )
    bounds = [run({"op": "bound", "project": str(project), "target": target}) for _ in range(runs)]
    bound = median(bounds, "wall")
    print(f"  bound (manifest GET + walk): {bound:.2f} s (runs: {runs_of(bounds)})")
    again = [run({"op": "sync", "project": str(project), "target": target}) for _ in range(runs)]
    assert all(a["uploaded"] == 0 for a in again), again
    print(deploy_line("no-change re-deploy:", again, bound))
    changed = []
    for r in range(runs):
        path = project / tree.path_of((r * 7919) % tree.files)
        path.write_bytes(os.urandom(512))
        changed.append(run({"op": "sync", "project": str(project), "target": target}))
    assert all(c["uploaded"] == 1 for c in changed), changed
    print(deploy_line("one-change re-deploy:", changed, bound))
    # Interleaved, so a drift of the machine (caches, other load) falls on both sides.
    walks, floors, tool, one = [], [], [], []
    for _ in range(runs):
        walks.append(run({"op": "walk", "project": str(project)}))
        floors.append(run({"op": "scandir", "project": str(project)}))
    walk, floor = median(walks, "wall"), median(floors, "wall")
    print(f"  walk with ignore rules: {walk:.3f} s vs scandir + stat {floor:.3f} s = {walk / floor:.2f}x")
    for _ in range(runs):
        tool.append(run({"op": "hash_tool", "project": str(project)}))
        one.append(run({"op": "hash_one_thread", "project": str(project)}))
    h_tool, h_one = median(tool, "hash_wall"), median(one, "hash_wall")
    print(f"  hashing all files: tool {h_tool:.2f} s vs one thread {h_one:.2f} s = {h_tool / h_one:.2f}x")


def bench_big(tmp: Path, run: Runner, targets: dict[str, ShareTarget], runs: int, mib: int) -> None:
    folder = tmp / "big"
    folder.mkdir()
    big = folder / "model.safetensors"
    with open(big, "wb") as fh:
        for _ in range(mib):
            fh.write(os.urandom(1024 * 1024))
    raw_rows, new_rows, sync_rows = [], [], []
    target = vars(targets["big"])
    for r in range(runs + 1):  # interleaved; the first round only warms up
        with open(big, "r+b") as fh:  # new content: the sync uploads it all again
            fh.write(os.urandom(16))
        raw = run({"op": "raw_put", "project": str(big), "name": "raw.bin", "target": target})
        # The same upload to a new name (see the docstring): its last copy goes just before the
        # sync (not timed), as the sync's rename frees the old file just before the next upload.
        if r:
            run({"op": "delete_file", "name": f"raw-new-{r - 1}.bin", "target": target})
        synced = run({"op": "sync", "project": str(folder), "target": target})
        fresh = run({"op": "raw_put", "project": str(big), "name": f"raw-new-{r}.bin", "target": target})
        assert synced["bytes"] == big.stat().st_size
        if r:
            raw_rows.append(raw)
            new_rows.append(fresh)
            sync_rows.append(synced)
    mb = big.stat().st_size / 1e6
    raw_s, new_s, sync_s = median(raw_rows, "wall"), median(new_rows, "wall"), median(sync_rows, "wall")
    raw_rss, sync_rss = median(raw_rows, "rss_mib"), median(sync_rows, "rss_mib")
    print(f"{mib} MiB file")
    for label, rows in (
        ("raw parallel Put Range, same name:     ", raw_rows),
        ("raw parallel Put Range, new name:      ", new_rows),
        ("sync (hash + ranges + rename):         ", sync_rows),
    ):
        print(
            f"  {label}{mb / median(rows, 'wall'):7.1f} MB/s  CPU s client {median(rows, 'cpu'):.2f}"
            f" emulator {median(rows, 'emulator_cpu'):.2f}  peak RSS {median(rows, 'rss_mib'):.0f} MiB"
            f"  (runs: {runs_of(rows)})"
        )
    cpu = {
        k: median(rows, "cpu") + median(rows, "emulator_cpu")
        for k, rows in (("raw", raw_rows), ("sync", sync_rows))
    }
    print(
        f"  sync vs raw: {raw_s / sync_s:.2f}x throughput (same name), {new_s / sync_s:.2f}x (new name);"
        f" peak RSS {sync_rss - raw_rss:+.0f} MiB"
    )
    print(
        f"  CPU s client + emulator: raw {cpu['raw']:.2f}, sync {cpu['sync']:.2f} ="
        f" {cpu['raw'] / cpu['sync']:.2f}x (on {os.cpu_count()} cores, the most the sync can reach"
        " where both are CPU-bound)"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_sync", description=__doc__)
    parser.add_argument(
        "--runs", type=int, default=3, help="runs per repeated figure (the median is printed)"
    )
    parser.add_argument("--big-mib", type=int, default=200, help="size of the big file")
    parser.add_argument("--quick", action="store_true", help="small trees, a 32 MiB file, one run")
    parser.add_argument("--baseline", type=Path, help="a checkout of the tool to compare first deploys with")
    parser.add_argument("--trees", help="comma-separated subset of: small,flat,deep")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="emulated latency per file request")
    args = parser.parse_args()
    trees = {
        "small": Tree("small", 2000, 200),
        "flat": Tree("flat", 20000, 1),
        "deep": Tree("deep", 50000, 5000),
    }
    if args.quick:
        trees = {"small": Tree("small", 2000, 200), "flat": Tree("flat", 5000, 1)}
        args.runs, args.big_mib = 1, 32
    if args.trees:
        trees = {k: v for k, v in trees.items() if k in args.trees.split(",")}
    with tempfile.TemporaryDirectory(prefix="bench-sync-") as tmp_name:
        tmp = Path(tmp_name)
        emulator = EmulatorProcess(tmp / "emulator")
        try:
            os.environ["REQUESTS_CA_BUNDLE"] = os.environ["SSL_CERT_FILE"] = emulator.ca
            shares = [*trees, *(f"{t}-base" for t in trees), "big"]
            targets = await create_shares(await resolve_cloud(arm_endpoint=emulator.arm), shares)
            await emulator.settings(file_latency=args.latency_ms / 1000, record_traffic=False)
            print(
                f"emulator: separate process (pid {emulator.proc.pid}); {os.cpu_count()} CPUs, {machine_load()};"
                f" file latency {args.latency_ms:g} ms; baseline {args.baseline or 'none'}"
            )
            run = Runner(emulator.proc.pid, emulator.ca)
            for tree in trees.values():
                bench_tree(tree, tmp, run, targets, args.runs, args.baseline)
                print(f"  ({machine_load()})")
            bench_big(tmp, run, targets, args.runs, args.big_mib)
            print(f"done; {machine_load()}")
        finally:
            emulator.stop()


if __name__ == "__main__":
    asyncio.run(main())
