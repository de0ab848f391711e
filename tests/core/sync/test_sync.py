"""sync_project against the emulator's Azure Files data plane, through the real storage SDK."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from aitk_inference.core.errors import AitkError, ConfigError, OperationCancelled
from aitk_inference.core.reporting import CancellationToken, RecordingProgress
from aitk_inference.core.sync.manifest import LOCK_PATH, MANIFEST_PATH
from aitk_inference.core.sync.share import ShareTarget
from aitk_inference.core.sync.sync_project import SyncResult, sync_project

from tests.azure_emulator.server import Emulator
from tests.azure_emulator.storage_registry import get_registry
from tests.conftest import emulator_env

ACCOUNT = "acct"
FAST_RETRY = 0.01  # backoff base for tests; Retry-After from the service still wins


def make_target(emulator: Emulator, share: str = "share") -> ShareTarget:
    registry = get_registry(emulator)
    key = registry.ensure_account(ACCOUNT)[0]
    registry.ensure_share(ACCOUNT, share)
    return ShareTarget(f"{emulator.file_url}/{ACCOUNT}/", ACCOUNT, share, key)


def share_dir(emulator: Emulator, share: str = "share") -> Path:
    return get_registry(emulator).share_path(ACCOUNT, share)


def write(root: Path, files: dict[str, bytes | str]) -> None:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, str):
            data = data.encode()
        path.write_bytes(data)


def age(root: Path, seconds: float = 3600) -> None:
    """Backdate every file, as for a project not edited in the last moments (the hash cache
    trusts mtimes only once they are a few seconds old)."""
    past = int((time.time() - seconds) * 1e9)
    for path in root.rglob("*"):
        if path.is_file():
            os.utime(path, ns=(past, past))


def write_random(path: Path, mib: int) -> str:
    """Write ``mib`` MiB of random bytes chunk by chunk; returns their SHA-256."""
    sha = hashlib.sha256()
    with open(path, "wb") as fh:
        for _ in range(mib):
            chunk = os.urandom(1024 * 1024)
            sha.update(chunk)
            fh.write(chunk)
    return sha.hexdigest()


def sha256_of(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1024 * 1024):
            sha.update(chunk)
    return sha.hexdigest()


def share_files(emulator: Emulator, share: str = "share") -> dict[str, bytes]:
    """Every file on the share but the deploy lock (which stays, released, between deploys)."""
    root = share_dir(emulator, share)
    files = {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
    files.pop(LOCK_PATH, None)
    return files


async def sync(project: Path, target: ShareTarget, **kwargs: object) -> SyncResult:
    progress = kwargs.pop("progress", None) or RecordingProgress()
    cancel = kwargs.pop("cancel", None) or CancellationToken()
    return await sync_project(
        project,
        target,
        progress=progress,  # type: ignore[arg-type]
        cancel=cancel,  # type: ignore[arg-type]
        retry_backoff=FAST_RETRY,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture
def target(emulator: Emulator, azure_env: dict[str, str]) -> ShareTarget:
    """The share, reached with the CA bundle a user configures (REQUESTS_CA_BUNDLE/SSL_CERT_FILE)."""
    return make_target(emulator)


PROJECT = {
    "inference/app.py": "print('hi')\n",
    "inference/requirements.txt": "fastapi\n",
    "inference/model/config.json": "{}",
    "inference/model/weights.bin": os.urandom(5 * 1024 * 1024 + 3),
    "README.md": "# demo\n",
    "empty.txt": b"",
}


async def test_first_sync_uploads_everything_byte_identical_with_content_md5(
    tmp_path: Path, emulator: Emulator, target: ShareTarget
) -> None:
    project = tmp_path / "proj"
    write(project, PROJECT)
    progress = RecordingProgress()
    result = await sync(project, target, progress=progress)

    on_share = share_files(emulator)
    expected = {k: v.encode() if isinstance(v, str) else v for k, v in PROJECT.items()}
    assert {k: v for k, v in on_share.items() if k != MANIFEST_PATH} == expected
    assert result.files_uploaded == len(PROJECT) and result.files_unchanged == 0
    assert result.bytes_uploaded == sum(len(v) for v in expected.values())
    manifest = json.loads(on_share[MANIFEST_PATH])
    assert (
        manifest["files"]["inference/app.py"]["sha256"]
        == hashlib.sha256(expected["inference/app.py"]).hexdigest()
    )
    assert manifest["pending"] == {} and manifest["version"] == 2

    from azure.storage.fileshare.aio import ShareFileClient

    async with ShareFileClient(
        target.account_url,
        target.share_name,
        "inference/model/weights.bin",
        credential=target.account_key,
        connection_verify=str(emulator.ca_path),
        retry_total=0,
    ) as client:
        props = await client.get_file_properties()
    assert (
        bytes(props.content_settings.content_md5)
        == hashlib.md5(expected["inference/model/weights.bin"]).digest()
    )

    percentages = [p for _, p in progress.reports if p is not None]
    assert percentages == sorted(percentages) and percentages[-1] == 100.0
    assert any("Uploaded inference/model/weights.bin" in m for m, _ in progress.logs)
    assert all(target.account_key not in m for m, _ in [*progress.logs, *progress.reports])
    assert target.account_key not in repr(target)


async def test_no_change_resync_uploads_nothing_in_requests_independent_of_file_count(
    tmp_path: Path, emulator: Emulator, azure_env: dict[str, str]
) -> None:
    counts = {}
    for n in (20, 200):
        project = tmp_path / f"p{n}"
        write(project, {f"pkg{i % 4}/sub/f{i}.py": f"x = {i}\n" for i in range(n)})
        age(project)
        target = make_target(emulator, share=f"s{n}")
        await sync(project, target)
        again = await sync(project, target)
        assert (again.files_uploaded, again.bytes_uploaded, again.files_deleted) == (0, 0, 0)
        assert again.files_unchanged == n
        counts[n] = again.requests
    # one GET of the manifest + one listing per folder (root, .aitk, 4 pkg, 4 pkg/sub), and the
    # share's lock: acquire the lease, name the holder, release
    assert counts[20] == counts[200] == 1 + 10 + 3


async def test_editing_one_file_uploads_only_it(
    tmp_path: Path, emulator: Emulator, target: ShareTarget
) -> None:
    project = tmp_path / "proj"
    write(project, PROJECT)
    await sync(project, target)
    (project / "inference/app.py").write_text("print('changed')\n")
    emulator.traffic.clear()
    result = await sync(project, target)
    assert (result.files_uploaded, result.bytes_uploaded) == (1, len("print('changed')\n"))
    assert result.files_unchanged == len(PROJECT) - 1
    assert share_files(emulator)["inference/app.py"] == b"print('changed')\n"
    # A file lands by its rename. (weights.bin, written within the last two seconds before the
    # first deploy, has no trusted mtime: it may start uploading while it is hashed, then stop.)
    renamed = [
        e.path.split("/share/", 1)[1]
        for e in emulator.traffic.snapshot()
        if e.method == "PUT" and e.query.get("comp") == "rename"
    ]
    assert sorted(renamed) == [MANIFEST_PATH, "inference/app.py"]


async def test_touch_without_content_change_uploads_nothing(
    tmp_path: Path, emulator: Emulator, target: ShareTarget
) -> None:
    project = tmp_path / "proj"
    write(project, {"a.txt": "same"})
    await sync(project, target)
    os.utime(project / "a.txt", ns=(1, 1))
    assert (await sync(project, target)).bytes_uploaded == 0


async def test_a_touched_big_file_is_not_uploaded_again_and_its_new_mtime_is_recorded(
    tmp_path: Path, emulator: Emulator, target: ShareTarget
) -> None:
    """A big file with its old size but a new mtime starts uploading while it is hashed; the hash
    shows the same content, so the upload stops, its temporary file goes, the share keeps the file
    (same ETag) and the manifest records the new mtime (the next deploy neither hashes nor sends)."""
    project = tmp_path / "proj"
    project.mkdir()
    write_random(project / "model.bin", 3)
    age(project)
    await sync(project, target, range_size=64 * 1024, concurrency=1)
    before = json.loads(share_files(emulator)[MANIFEST_PATH])["files"]["model.bin"]
    touched = int((time.time() - 600) * 1e9)
    os.utime(project / "model.bin", ns=(touched, touched))
    emulator.traffic.clear()
    result = await sync(project, target, range_size=64 * 1024, concurrency=1)
    assert (result.files_uploaded, result.bytes_uploaded, result.files_unchanged) == (0, 0, 1)
    files = share_files(emulator)
    assert sorted(files) == [MANIFEST_PATH, "model.bin"]  # no temporary file left
    after = json.loads(files[MANIFEST_PATH])["files"]["model.bin"]
    assert after == {**before, "mtime_ns": touched}
    traffic = emulator.traffic.snapshot()
    # It did start uploading (not hashed first), and cleaned up after itself. (A range already
    # sent when the upload stopped may still land after the delete: the service refuses it, 404.)
    temp = [e for e in traffic if ".model.bin.aitk-upload-" in e.path]
    methods = [e.method for e in temp]
    assert methods[:1] == ["PUT"] and methods.count("DELETE") == 1
    after_delete = temp[methods.index("DELETE") + 1 :]
    assert [(e.method, e.status) for e in after_delete] == [("PUT", 404)] * len(after_delete)
    renames = [e for e in traffic if e.query.get("comp") == "rename"]
    assert [e.path.rpartition("/")[2] for e in renames] == ["sync-manifest.json"]
    emulator.traffic.clear()
    again = await sync(project, target, range_size=64 * 1024, concurrency=1)
    assert (again.files_uploaded, again.files_unchanged) == (0, 1)
    assert not [e for e in emulator.traffic.snapshot() if e.method == "PUT" and "model.bin" in e.path]


async def test_a_big_file_changed_in_place_at_the_same_size_is_uploaded_while_hashed(
    tmp_path: Path, emulator: Emulator, target: ShareTarget
) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    write_random(project / "model.bin", 3)
    age(project)
    await sync(project, target, range_size=64 * 1024, concurrency=1)
    data = (project / "model.bin").read_bytes()
    (project / "model.bin").write_bytes(b"new first bytes" + data[15:])  # same size
    age(project)
    result = await sync(project, target, range_size=64 * 1024, concurrency=1)
    assert (result.files_uploaded, result.bytes_uploaded) == (1, 3 * 1024 * 1024)
    files = share_files(emulator)
    assert files["model.bin"] == (project / "model.bin").read_bytes()
    entry = json.loads(files[MANIFEST_PATH])["files"]["model.bin"]
    assert entry["sha256"] == sha256_of(project / "model.bin")


async def test_local_deletion_removes_only_our_files_and_user_files_survive(
    tmp_path: Path, emulator: Emulator, target: ShareTarget
) -> None:
    project = tmp_path / "proj"
    write(project, {"keep.py": "k", "old/gone.py": "g", "old/also.py": "a", "mixed/ours.txt": "o"})
    await sync(project, target)
    # Things the tool never uploaded: fine-tuning outputs, a model cache, a file in our folder.
    write(
        share_dir(emulator),
        {"finetune/adapter.safetensors": b"\x01" * 10, "cache/hf/model.bin": b"m", "mixed/user.log": "u"},
    )
    for rel in ("old/gone.py", "old/also.py", "mixed/ours.txt"):
        (project / rel).unlink()
    result = await sync(project, target)
    assert result.files_deleted == 3
    remaining = set(share_files(emulator))
    assert remaining == {
        "keep.py",
        "finetune/adapter.safetensors",
        "cache/hf/model.bin",
        "mixed/user.log",
        MANIFEST_PATH,
    }
    assert not (share_dir(emulator) / "old").exists()  # emptied folder of ours is removed
    assert (await sync(project, target)).files_deleted == 0


async def test_share_files_changed_behind_the_manifest_are_repaired(
    tmp_path: Path, emulator: Emulator, target: ShareTarget
) -> None:
    project = tmp_path / "proj"
    write(project, {"a.txt": "aaaa", "d/b.txt": "bbbb", "c.txt": "cccc"})
    await sync(project, target)
    (share_dir(emulator) / "a.txt").unlink()  # someone deleted it on the share
    (share_dir(emulator) / "d/b.txt").write_bytes(b"b")  # or truncated it
    result = await sync(project, target)
    assert result.files_uploaded == 2
    assert share_files(emulator)["a.txt"] == b"aaaa" and share_files(emulator)["d/b.txt"] == b"bbbb"


async def test_gitignore_and_aitkignore_are_respected(
    tmp_path: Path, emulator: Emulator, target: ShareTarget
) -> None:
    project = tmp_path / "proj"
    write(
        project,
        {
            ".gitignore": "*.log\noutputs/\n",
            ".aitkignore": "datasets/\n",
            "inference/.gitignore": "!debug.log\n",
            "inference/debug.log": "d",
            "inference/app.py": "a",
            "run.log": "r",
            "outputs/ckpt.bin": "c",
            "datasets/train.jsonl": "t",
            ".git/HEAD": "ref",
            ".venv/pyvenv.cfg": "",
            "node_modules/x/index.js": "",
        },
    )
    await sync(project, target)
    assert set(share_files(emulator)) == {
        ".gitignore",
        ".aitkignore",
        "inference/.gitignore",
        "inference/debug.log",
        "inference/app.py",
        MANIFEST_PATH,
    }


async def test_transient_503_429_and_dropped_connection_are_retried_byte_identical(
    tmp_path: Path, emulator: Emulator, target: ShareTarget
) -> None:
    data = os.urandom(9 * 1024 * 1024 + 11)
    project = tmp_path / "proj"
    write(project, {"big.bin": data, "small.txt": "s"})
    emulator.faults.add(service="file", method="PUT", query="comp=range", status=503, retry_after=0, times=2)
    emulator.faults.add(
        service="file", method="PUT", query="comp=range", status=429, code="TooManyRequests", retry_after=1
    )
    emulator.faults.add(
        service="file", kind="drop", method="PUT", query="comp=range", after_bytes=100000, skip=2
    )
    emulator.faults.add(service="file", method="PUT", query="comp=rename", status=500, code="InternalError")
    result = await sync(project, target)
    assert all(rule.fired == rule.times for rule in emulator.faults.rules)
    assert share_files(emulator)["big.bin"] == data
    assert share_files(emulator)["small.txt"] == b"s"
    assert result.files_uploaded == 2
    assert not [n for n in share_files(emulator) if "aitk-upload" in n]


async def test_persistent_failure_is_a_clear_error_and_keeps_the_old_version(
    tmp_path: Path, emulator: Emulator, target: ShareTarget
) -> None:
    project = tmp_path / "proj"
    write(project, {"a.txt": "old"})
    await sync(project, target)
    (project / "a.txt").write_text("new")
    # Every write of a.txt's bytes fails (its Create File, which carries them)
    emulator.faults.add(service="file", method="PUT", path=".a.txt.aitk-upload-", status=503, times=-1)
    with pytest.raises(AitkError, match="Syncing to the file share 'share'") as err:
        await sync(project, target)
    assert err.value.hint and "Deploy again" in err.value.hint
    assert share_files(emulator)["a.txt"] == b"old"
    emulator.faults.clear()
    assert (await sync(project, target)).files_uploaded == 1
    assert share_files(emulator)["a.txt"] == b"new"


class _ShareWatcher:
    """Polls the share's folder while a sync runs: every final-named file must always hold
    either its old or its new content (never a partial write)."""

    def __init__(self, root: Path, allowed: dict[str, set[str]]) -> None:
        self.root, self.allowed = root, allowed
        self.violations: list[str] = []
        self.checks = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for rel, ok in self.allowed.items():
                try:
                    digest = hashlib.sha256((self.root / rel).read_bytes()).hexdigest()
                except FileNotFoundError:
                    digest = "missing"
                if digest not in ok:
                    self.violations.append(rel)
            self.checks += 1

    def __enter__(self) -> _ShareWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


class _CancelAfter(RecordingProgress):
    def __init__(self, token: CancellationToken, percentage: float) -> None:
        super().__init__()
        self.token, self.at = token, percentage

    def report(self, message: str, percentage: float | None = None) -> None:
        super().report(message, percentage)
        if percentage is not None and percentage >= self.at and message.startswith("Uploading:"):
            self.token.cancel()


async def test_cancel_mid_sync_leaves_old_or_new_files_and_next_sync_finishes(
    tmp_path: Path, emulator: Emulator, target: ShareTarget
) -> None:
    project = tmp_path / "proj"
    names = [f"m/part{i}.bin" for i in range(6)]
    old = {n: os.urandom(2 * 1024 * 1024) for n in names}
    write(project, old)
    await sync(project, target)
    new = {n: os.urandom(2 * 1024 * 1024 + 5) for n in names}
    new["m/brand-new.bin"] = os.urandom(3 * 1024 * 1024)
    write(project, new)

    digest = lambda b: hashlib.sha256(b).hexdigest()  # noqa: E731
    allowed = {n: {digest(old[n]), digest(new[n])} for n in names}
    allowed["m/brand-new.bin"] = {"missing", digest(new["m/brand-new.bin"])}
    token = CancellationToken()
    progress = _CancelAfter(token, 35.0)
    with _ShareWatcher(share_dir(emulator), allowed) as watcher:
        with pytest.raises(OperationCancelled):
            await sync(project, target, cancel=token, progress=progress, range_size=512 * 1024, concurrency=2)
    assert watcher.checks > 0 and watcher.violations == []
    midway = share_files(emulator)
    assert any(midway[n] == old[n] for n in names)  # it really stopped part-way
    assert any("cancelled" in m for m, _ in progress.logs)

    result = await sync(project, target)
    final = share_files(emulator)
    assert {n: final[n] for n in new} == new
    assert result.files_uploaded < len(new)  # what finished before the cancel is not redone
    assert not [n for n in final if "aitk-upload" in n]
    assert (await sync(project, target)).bytes_uploaded == 0


async def test_task_cancelled_mid_upload_then_next_sync_cleans_temp_files(
    tmp_path: Path, emulator: Emulator, target: ShareTarget
) -> None:
    project = tmp_path / "proj"
    data = os.urandom(6 * 1024 * 1024)
    write(project, {"big.bin": data, "new/x.txt": "x"})
    started = asyncio.Event()

    class Signal(RecordingProgress):
        def report(self, message: str, percentage: float | None = None) -> None:
            super().report(message, percentage)
            if message.startswith("Uploading:"):
                started.set()

    task = asyncio.create_task(sync(project, target, progress=Signal(), range_size=256 * 1024, concurrency=1))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert share_files(emulator).get("big.bin") is None  # never visible half-written
    leftovers = [n for n in share_files(emulator) if "aitk-upload" in n]
    assert leftovers  # the interrupted upload's temp file is still there…

    result = await sync(project, target)
    assert result.stale_temps_removed >= 1  # …and the next sync removes it and finishes
    final = share_files(emulator)
    assert final["big.bin"] == data and final["new/x.txt"] == b"x"
    assert not [n for n in final if "aitk-upload" in n]


async def test_pending_file_of_an_interrupted_sync_is_ours_while_local_and_never_deleted(
    tmp_path: Path, emulator: Emulator, target: ShareTarget
) -> None:
    project = tmp_path / "proj"
    write(project, {"a.txt": "a"})
    await sync(project, target)
    write(project, {"b.txt": "b"})
    # The manifest write at the end fails for good: b.txt is on the share, listed only as pending
    # (no ETag of ours recorded).
    emulator.faults.add(
        service="file", method="PUT", path="sync-manifest", query="comp=rename", status=503, times=-1, skip=1
    )
    with pytest.raises(AitkError):
        await sync(project, target)
    emulator.faults.clear()
    assert json.loads(share_files(emulator)[MANIFEST_PATH])["pending"] == {"b.txt": None}
    # Still in the project: ours (its ETag is no longer the one before), synced without asking.
    again = await sync(project, target)
    assert again.files_uploaded == 1
    assert json.loads(share_files(emulator)[MANIFEST_PATH])["pending"] == {}

    write(project, {"c.txt": "c"})
    emulator.faults.add(
        service="file", method="PUT", path="sync-manifest", query="comp=rename", status=503, times=-1, skip=1
    )
    with pytest.raises(AitkError):
        await sync(project, target)
    emulator.faults.clear()
    # Deleted locally before a deploy could record it: no ETag of ours, so never deleted.
    (project / "c.txt").unlink()
    progress = RecordingProgress()
    result = await sync(project, target, progress=progress)
    assert result.files_deleted == 0 and share_files(emulator)["c.txt"] == b"c"
    assert ("c.txt may have been uploaded by an interrupted deploy; left on the share.", "warning") in (
        progress.logs
    )
    assert json.loads(share_files(emulator)[MANIFEST_PATH])["pending"] == {}


async def test_missing_share_and_wrong_key_are_clear_errors(
    tmp_path: Path, emulator: Emulator, target: ShareTarget
) -> None:
    project = tmp_path / "proj"
    write(project, {"a.txt": "a"})
    missing = ShareTarget(target.account_url, ACCOUNT, "nosuchshare", target.account_key)
    with pytest.raises(ConfigError, match="'nosuchshare' of storage account 'acct' does not exist") as err:
        await sync(project, missing)
    assert err.value.hint and "Provision" in err.value.hint
    import base64

    wrong_key = base64.b64encode(b"k" * 64).decode()
    bad = ShareTarget(target.account_url, ACCOUNT, "share", wrong_key)
    with pytest.raises(AitkError, match="refused") as err2:
        await sync(project, bad)
    assert wrong_key not in str(err2.value)


async def test_names_azure_files_cannot_store_are_reported_before_any_request(
    tmp_path: Path, emulator: Emulator, target: ShareTarget
) -> None:
    project = tmp_path / "proj"
    write(project, {"ok.txt": "o", "what?.txt": "w", "sub/trailing.": "t"})
    emulator.traffic.clear()
    with pytest.raises(ConfigError, match=r"what\?\.txt") as err:
        await sync(project, target)
    assert "sub/trailing." in str(err.value) and ".aitkignore" in (err.value.hint or "")
    assert not [e for e in emulator.traffic.snapshot() if e.service == "file"]


_CHILD_SYNC = """
import asyncio, os, sys
from pathlib import Path
from aitk_inference.core.reporting import CancellationToken, NullProgress
from aitk_inference.core.sync.share import ShareTarget
from aitk_inference.core.sync.sync_project import sync_project
target = ShareTarget(sys.argv[2], sys.argv[3], sys.argv[4], os.environ["AITK_TEST_ACCOUNT_KEY"])
limits = {"concurrency": int(sys.argv[5]), "range_size": int(sys.argv[6])}
result = asyncio.run(
    sync_project(Path(sys.argv[1]), target, progress=NullProgress(), cancel=CancellationToken(), **limits)
)
# VmHWM: this process's peak RSS (unlike ru_maxrss it does not inherit the parent's from fork)
hwm = next(l for l in open("/proc/self/status") if l.startswith("VmHWM:")).split()[1]
print(result.bytes_uploaded, int(hwm) * 1024)
"""


def sync_in_child(
    project: Path, target: ShareTarget, emulator: Emulator, concurrency: int, range_size: int
) -> tuple[int, int]:
    """Run a sync in a fresh process (the emulator stays in this one, so its buffers do not
    count); returns the bytes uploaded and the child's peak resident memory (kernel's figure)."""
    env = {**os.environ, **emulator_env(emulator), "AITK_TEST_ACCOUNT_KEY": target.account_key}
    argv = [sys.executable, "-c", _CHILD_SYNC, str(project), target.account_url, ACCOUNT, target.share_name]
    argv += [str(concurrency), str(range_size)]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    uploaded, rss = done.stdout.split()
    return int(uploaded), int(rss)


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="peak RSS read from /proc (Linux)")
def test_200_mb_file_uploads_byte_identical_with_bounded_memory(
    tmp_path: Path, emulator: Emulator, target: ShareTarget
) -> None:
    small = tmp_path / "small"
    small.mkdir()
    (small / "a.txt").write_text("a")
    big = tmp_path / "big"
    big.mkdir()
    expected = write_random(big / "model.safetensors", 200)

    limits = (4, 1024 * 1024)  # 4 ranges of 1 MiB in flight
    _, baseline_rss = sync_in_child(small, make_target(emulator, "baseline"), emulator, *limits)
    uploaded, big_rss = sync_in_child(big, target, emulator, *limits)

    assert uploaded == 200 * 1024 * 1024
    assert sha256_of(share_dir(emulator) / "model.safetensors") == expected
    # Ranges are read from disk as needed: the process grows by a few times (slots x range size)
    # over a trivial sync, not by anything near the file's 200 MB.
    growth = big_rss - baseline_rss
    print(f"peak RSS: trivial sync {baseline_rss / 1e6:.0f} MB, 200 MB file {big_rss / 1e6:.0f} MB")
    assert growth < 50 * 1024 * 1024, f"client grew by {growth / 1e6:.0f} MB for a 200 MB file"


async def test_a_touched_big_file_the_share_lost_is_uploaded_again(
    tmp_path: Path, emulator: Emulator, target: ShareTarget
) -> None:
    """The share lost a big file of ours, and the local copy was only touched (same size, same
    bytes, new mtime: a git checkout, a copy). Its upload must not stop when the hash matches the
    manifest: the share has nothing to keep."""
    project = tmp_path / "proj"
    project.mkdir()
    write_random(project / "model.bin", 3)
    age(project)
    await sync(project, target, range_size=64 * 1024, concurrency=1)
    (share_dir(emulator) / "model.bin").unlink()  # someone deleted it on the share
    touched = int((time.time() - 600) * 1e9)
    os.utime(project / "model.bin", ns=(touched, touched))
    result = await sync(project, target, range_size=64 * 1024, concurrency=1)
    assert result.files_uploaded == 1
    assert share_files(emulator).get("model.bin") == (project / "model.bin").read_bytes()
