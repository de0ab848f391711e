"""Share safety against the emulator: files we did not write, one writer at a time, the local side."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from aitk_inference.core.errors import AitkError, ConfigError, OperationCancelled
from aitk_inference.core.reporting import CancellationToken, RecordingProgress
from aitk_inference.core.sync.manifest import LOCK_PATH, MANIFEST_PATH
from aitk_inference.core.sync.share import ShareTarget
from aitk_inference.core.sync.share_lock import LockTiming
from azure.storage.fileshare.aio import ShareFileClient, ShareLeaseClient

from tests.azure_emulator.server import Emulator
from tests.conftest import REPO, emulator_env
from tests.core.sync.test_sync import make_target, share_dir, share_files, sync, write


@pytest.fixture
def target(emulator: Emulator, azure_env: dict[str, str]) -> ShareTarget:
    return make_target(emulator)


FAST_LOCK = LockTiming(wait=0.6, stale_after=60.0, heartbeat=15.0, poll=0.1)


def file_client(emulator: Emulator, target: ShareTarget, path: str) -> ShareFileClient:
    return ShareFileClient(
        target.account_url,
        target.share_name,
        path,
        credential=target.account_key,
        connection_verify=str(emulator.ca_path),
        retry_total=0,
    )


def put_on_share(emulator: Emulator, path: str, data: bytes) -> None:
    """A file someone else put on the share (the fine-tuning job, the user in the portal)."""
    disk = share_dir(emulator) / path
    disk.parent.mkdir(parents=True, exist_ok=True)
    disk.write_bytes(data)


async def yes(paths: list[str]) -> bool:
    return True


# -- ownership ---------------------------------------------------------------------------------


async def test_a_foreign_file_at_a_project_path_is_kept_listed_then_taken_over_only_when_asked(
    tmp_path: Path, emulator: Emulator, target: ShareTarget
) -> None:
    project = tmp_path / "proj"
    write(project, {"app.py": "print(1)\n", "model/adapter.bin": b"project adapter"})
    put_on_share(emulator, "model/adapter.bin", b"fine-tuning output")

    with pytest.raises(ConfigError) as refused:
        await sync(project, target)
    assert refused.value.message == (
        "The file share already holds 1 file(s) at paths of the project that were not written by this "
        "tool: model/adapter.bin. Nothing was changed."
    )
    assert refused.value.hint == (
        "Move them away on the share, list them in .aitkignore, or take them over "
        "(aitk-inference deploy --take-over) to replace them with the project's files."
    )
    assert share_files(emulator) == {"model/adapter.bin": b"fine-tuning output"}  # not even app.py

    asked: list[list[str]] = []

    async def declined(paths: list[str]) -> bool:
        asked.append(paths)
        return False

    with pytest.raises(ConfigError):
        await sync(project, target, take_over=declined)
    assert asked == [["model/adapter.bin"]]
    assert share_files(emulator) == {"model/adapter.bin": b"fine-tuning output"}

    progress = RecordingProgress()
    await sync(project, target, take_over=yes, progress=progress)
    assert share_files(emulator)["model/adapter.bin"] == b"project adapter"
    assert (
        "Taking over model/adapter.bin: the project's version replaces the one on the share.",
        "info",
    ) in progress.logs
    # Ours from now on: the next deploy neither asks nor uploads it again.
    again = await sync(project, target)
    assert (again.files_uploaded, again.files_unchanged) == (0, 2)


async def test_a_file_on_the_share_where_the_project_has_a_folder_stops_the_deploy_before_any_change(
    tmp_path: Path, emulator: Emulator, target: ShareTarget
) -> None:
    project = tmp_path / "proj"
    write(project, {"app.py": "print(1)\n", "data/train.jsonl": "{}\n"})
    put_on_share(emulator, "data", b"a file named like the project's folder")
    progress = RecordingProgress()
    with pytest.raises(ConfigError) as refused:
        await sync(project, target, progress=progress)
    assert refused.value.message == (
        "The file share holds 1 file(s) where the project has a folder: data. Nothing was changed."
    )
    assert refused.value.hint == (
        "Move or rename them on the share, or rename the project's folder, then deploy again."
    )
    assert [m for m, level in progress.logs if level != "info"] == []
    assert share_files(emulator) == {"data": b"a file named like the project's folder"}  # not even app.py


async def test_a_file_of_ours_replaced_by_a_folder_in_the_project_is_deleted_then_the_folder_made(
    tmp_path: Path, emulator: Emulator, target: ShareTarget
) -> None:
    project = tmp_path / "proj"
    write(project, {"data": "was a file"})
    await sync(project, target)
    (project / "data").unlink()
    write(project, {"data/train.jsonl": "{}\n"})
    result = await sync(project, target)
    assert (result.files_deleted, result.files_uploaded) == (1, 1)
    files = share_files(emulator)
    assert sorted(files) == [MANIFEST_PATH, "data/train.jsonl"] and files["data/train.jsonl"] == b"{}\n"


async def test_a_file_that_becomes_ignored_is_left_on_the_share_and_ours_again_when_it_returns(
    tmp_path: Path, emulator: Emulator, target: ShareTarget
) -> None:
    project = tmp_path / "proj"
    write(project, {"app.py": "x = 1\n", "data/train.jsonl": "rows\n"})
    await sync(project, target)
    (project / ".aitkignore").write_text("data/\n")
    progress = RecordingProgress()
    result = await sync(project, target, progress=progress)
    assert result.files_deleted == 0 and share_files(emulator)["data/train.jsonl"] == b"rows\n"
    assert ("data/train.jsonl is now ignored; left on the share.", "info") in progress.logs
    assert not any("Deleted" in m for m, _ in progress.logs)
    quiet = RecordingProgress()
    await sync(project, target, progress=quiet)  # said once, not on every deploy
    assert not any("train.jsonl" in m for m, _ in quiet.logs)
    (project / ".aitkignore").unlink()
    (project / "data/train.jsonl").write_text("rows v2\n")
    await sync(project, target)  # still ours: no question asked
    assert share_files(emulator)["data/train.jsonl"] == b"rows v2\n"


async def test_a_same_size_remote_edit_is_restored_and_an_edited_file_is_never_deleted(
    tmp_path: Path, emulator: Emulator, target: ShareTarget
) -> None:
    project = tmp_path / "proj"
    write(project, {"app.py": "print('ours')\n", "notes.txt": "our notes\n", "conf.json": '{"a": 1}'})
    await sync(project, target)
    await asyncio.sleep(0.01)  # a later write than ours, on any clock resolution
    (share_dir(emulator) / "conf.json").write_text('{"a": 2}')  # through the mount (a replica over SMB)
    # Edited through the service (the portal, Storage Explorer): same size.
    async with file_client(emulator, target, "app.py") as client:
        await client.upload_file(b"print('them')\n")
    async with file_client(emulator, target, "notes.txt") as client:
        await client.upload_file(b"their notes\n")
    (project / "notes.txt").unlink()

    progress = RecordingProgress()
    result = await sync(project, target, progress=progress)
    assert (result.files_uploaded, result.files_deleted) == (2, 0)
    assert share_files(emulator)["app.py"] == b"print('ours')\n"
    assert share_files(emulator)["conf.json"] == b'{"a": 1}'
    assert share_files(emulator)["notes.txt"] == b"their notes\n"
    assert (
        "app.py was changed on the share since the last deploy; uploading the project's version.",
        "info",
    ) in progress.logs
    assert (
        "notes.txt was deleted locally but changed on the share since the last deploy; left on the share.",
        "warning",
    ) in progress.logs
    manifest = json.loads(share_files(emulator)[MANIFEST_PATH])
    assert set(manifest["files"]) == {"app.py", "conf.json"} and manifest["files"]["app.py"]["etag"]
    assert (await sync(project, target)).files_uploaded == 0  # restored: in step again


class CancelOn(RecordingProgress):
    """Cancels the deploy when a progress report starts with ``text`` (the user presses Cancel)."""

    def __init__(self, token: CancellationToken, text: str) -> None:
        super().__init__()
        self.token = token
        self.text = text

    def report(self, message: str, percentage: float | None = None) -> None:
        super().report(message, percentage)
        if message.startswith(self.text):
            self.token.cancel()


async def test_cancel_before_the_upload_then_a_local_delete_never_deletes_the_users_file(
    tmp_path: Path, emulator: Emulator, target: ShareTarget
) -> None:
    project = tmp_path / "proj"
    write(project, {"app.py": "x = 1\n"})
    await sync(project, target)
    put_on_share(emulator, "data/train.jsonl", b"the user's rows\n")
    write(project, {"data/train.jsonl": "project rows\n", "new.txt": "new\n"})
    token = CancellationToken()
    # Taken over, then cancelled once the paths are recorded as pending and before any upload.
    with pytest.raises(OperationCancelled):
        await sync(project, target, take_over=yes, cancel=token, progress=CancelOn(token, "Uploading"))
    pending = json.loads(share_files(emulator)[MANIFEST_PATH])["pending"]
    assert set(pending) == {"data/train.jsonl", "new.txt"} and pending["new.txt"] is None
    (project / "data/train.jsonl").unlink()

    progress = RecordingProgress()
    result = await sync(project, target, progress=progress)
    assert result.files_deleted == 0
    assert share_files(emulator)["data/train.jsonl"] == b"the user's rows\n"
    assert not any("train.jsonl" in m for m, _ in progress.logs)  # never ours: nothing to say
    assert json.loads(share_files(emulator)[MANIFEST_PATH])["pending"] == {}
    # And it is still not ours: bringing the path back asks again.
    write(project, {"data/train.jsonl": "project rows\n"})
    with pytest.raises(ConfigError, match=r"data/train\.jsonl"):
        await sync(project, target)


# -- one writer --------------------------------------------------------------------------------


async def hold_lock(emulator: Emulator, target: ShareTarget, holder: str, started: str) -> str:
    """Another deploy holding the share: the lease on the lock file, its name in the metadata."""
    async with file_client(emulator, target, LOCK_PATH) as client:
        (share_dir(emulator) / ".aitk").mkdir(parents=True, exist_ok=True)
        await client.create_file(0)
        lease = ShareLeaseClient(client)
        await lease.acquire()
        await client.set_file_metadata({"holder": holder, "started": started}, lease=lease)
        assert lease.id is not None
        return lease.id


async def test_a_second_deploy_waits_then_refuses_naming_the_holder_and_sweeps_nothing(
    tmp_path: Path, emulator: Emulator, target: ShareTarget
) -> None:
    project = tmp_path / "proj"
    write(project, {"app.py": "x = 1\n"})
    await sync(project, target)
    await hold_lock(emulator, target, "ci@build-7 (pid 42)", "2026-12-04 10:00:00 UTC")
    put_on_share(emulator, ".app.py.aitk-upload-0123456789ab", b"the other deploy's upload")
    (project / "app.py").write_text("x = 2\n")
    progress = RecordingProgress()
    with pytest.raises(AitkError) as busy:
        await sync(project, target, progress=progress, lock_timing=FAST_LOCK)
    assert re.fullmatch(
        r"Another deploy is writing to file share 'share': ci@build-7 \(pid 42\), started 2026-12-04 "
        r"10:00:00 UTC, last heartbeat \d+s ago\. Waited 0\.6s for it to finish\.",
        busy.value.message,
    )
    assert busy.value.hint == (
        "Deploy again once it is done. A deploy that crashed lets go of the share 60s after its last heartbeat."
    )
    assert (
        "Waiting up to 0.6s for another deploy to finish writing to file share 'share': ci@build-7 (pid 42), "
        "started 2026-12-04 10:00:00 UTC.",
        "info",
    ) in progress.logs
    files = share_files(emulator)
    assert files[".app.py.aitk-upload-0123456789ab"] == b"the other deploy's upload"  # not swept
    assert files["app.py"] == b"x = 1\n"


async def test_a_lock_left_by_a_crashed_deploy_expires(
    tmp_path: Path, emulator: Emulator, target: ShareTarget
) -> None:
    project = tmp_path / "proj"
    write(project, {"app.py": "x = 1\n"})
    await hold_lock(emulator, target, "dev@laptop (pid 7)", "2026-12-04 09:00:00 UTC")
    put_on_share(emulator, ".app.py.aitk-upload-deadbeef0000", b"left by the crash")
    progress = RecordingProgress()
    timing = LockTiming(wait=10.0, stale_after=0.5, heartbeat=15.0, poll=0.2)
    result = await sync(project, target, progress=progress, lock_timing=timing)
    assert result.files_uploaded == 1 and result.stale_temps_removed == 1
    taken = [m for m, level in progress.logs if level == "warning" and m.startswith("Taking over")]
    assert len(taken) == 1 and re.fullmatch(
        r"Taking over file share 'share' from a deploy that stopped without letting go \(dev@laptop "
        r"\(pid 7\), started 2026-12-04 09:00:00 UTC, silent for \d+s\)\.",
        taken[0],
    )
    assert set(share_files(emulator)) == {"app.py", MANIFEST_PATH}
    async with file_client(emulator, target, LOCK_PATH) as client:
        assert (await client.get_file_properties()).lease.state == "available"  # released at the end


async def test_a_deploy_whose_lock_was_broken_stops_before_writing_more(
    tmp_path: Path, emulator: Emulator, target: ShareTarget
) -> None:
    project = tmp_path / "proj"
    write(project, {"a.txt": "a", "b.txt": "b"})
    # b.txt's first PUT: the Create File that carries its bytes to the temporary name
    emulator.faults.add(kind="delay", service="file", method="PUT", path="b.txt", delay_seconds=1.0)
    timing = LockTiming(wait=5.0, stale_after=60.0, heartbeat=0.2, poll=0.1)
    running = asyncio.create_task(sync(project, target, lock_timing=timing, concurrency=1))
    async with file_client(emulator, target, LOCK_PATH) as client:
        for _ in range(200):
            await asyncio.sleep(0.02)
            if (share_dir(emulator) / "a.txt").is_file():  # a.txt is up: the lock is held
                break
        await ShareLeaseClient(client).break_lease()  # another deploy judged it stale and took over
    with pytest.raises(AitkError) as lost:
        await running
    assert lost.value.message == (
        "Another deploy took over file share 'share' (its lease on the share was broken); this deploy "
        "stopped so that the two never write at once."
    )
    assert lost.value.hint == "Deploy again once the other deploy is done."
    files = share_files(emulator)
    assert "b.txt" not in files
    # Nothing written after the lock was lost: the manifest is still the one recorded before uploading.
    assert json.loads(files[MANIFEST_PATH])["files"] == {}


async def test_two_syncs_at_once_never_interleave(
    tmp_path: Path, emulator: Emulator, target: ShareTarget
) -> None:
    """Two deploys of two versions of one project: one waits for the other; the share ends up
    exactly one of the two, with no file of either lost and no failed upload."""
    first, second = tmp_path / "one", tmp_path / "two"
    write(first, {f"pkg/m{i}.py": f"one = {i}\n" for i in range(30)})
    write(second, {f"pkg/m{i}.py": f"two = {i}\n" for i in range(30)} | {"extra.txt": "two\n"})
    timing = LockTiming(wait=60.0, stale_after=60.0, heartbeat=15.0, poll=0.05)
    progress = [RecordingProgress(), RecordingProgress()]
    results = await asyncio.gather(
        sync(first, target, lock_timing=timing, progress=progress[0], concurrency=2),
        sync(second, target, lock_timing=timing, progress=progress[1], concurrency=2),
    )
    waited = [i for i in (0, 1) if any(m.startswith("Waiting up to 60s") for m, _ in progress[i].logs)]
    assert len(waited) == 1
    last = second if waited == [1] else first
    files = share_files(emulator)
    expected = {p.relative_to(last).as_posix(): p.read_bytes() for p in last.rglob("*") if p.is_file()}
    assert {k: v for k, v in files.items() if k != MANIFEST_PATH} == expected
    assert set(json.loads(files[MANIFEST_PATH])["files"]) == set(expected)
    assert all(r.stale_temps_removed == 0 for r in results)


# -- the local side ------------------------------------------------------------------------------


class DeleteOn(RecordingProgress):
    def __init__(self, victim: Path) -> None:
        super().__init__()
        self.victim = victim

    def report(self, message: str, percentage: float | None = None) -> None:
        super().report(message, percentage)
        if message.startswith("Uploading:") and self.victim.exists():
            self.victim.unlink()  # after the first range of it went up


async def test_a_file_deleted_mid_upload_is_skipped_with_one_line(
    tmp_path: Path, emulator: Emulator, target: ShareTarget
) -> None:
    project = tmp_path / "proj"
    write(project, {"a.txt": "a", "big.bin": os.urandom(1024 * 1024)})
    progress = DeleteOn(project / "big.bin")
    result = await sync(project, target, progress=progress, concurrency=1, range_size=64 * 1024)
    assert result.files_uploaded == 1
    assert ("Skipping big.bin: it was deleted during the deploy.", "warning") in progress.logs
    assert set(share_files(emulator)) == {"a.txt", MANIFEST_PATH}  # no half file, no temp file left
    assert "big.bin" not in json.loads(share_files(emulator)[MANIFEST_PATH])["files"]


async def test_symlink_loops_are_skipped_naming_each_link(
    tmp_path: Path, emulator: Emulator, target: ShareTarget
) -> None:
    project = tmp_path / "proj"
    write(project, {"app.py": "x = 1\n"})
    os.symlink("b", project / "a")
    os.symlink("a", project / "b")
    os.symlink(".", project / "again")
    progress = RecordingProgress()
    result = await sync(project, target, progress=progress)
    assert result.files_uploaded == 1
    warnings = [m for m, level in progress.logs if level == "warning"]
    assert warnings == [
        "Skipping a: it is part of a symbolic link loop.",
        "Skipping b: it is part of a symbolic link loop.",
        "Skipping again/: a link to a folder already synced.",
    ]


async def test_paths_over_azure_limits_are_refused_before_any_request(
    tmp_path: Path, emulator: Emulator, target: ShareTarget
) -> None:
    project = tmp_path / "proj"
    deep = "/".join(["d" * 200] * 11) + "/model.bin"
    write(project, {"app.py": "x = 1\n", deep: "weights"})
    emulator.traffic.clear()
    with pytest.raises(ConfigError) as err:
        await sync(project, target)
    shown = f"{deep[:60]}…{deep[-50:]}"
    assert err.value.message == (
        "Azure Files cannot store paths this long (at most 255 characters per name and 2,048 per path): "
        f"{shown} ({len(deep)} characters). Nothing was uploaded."
    )
    assert err.value.hint == "Shorten them, or list them in .aitkignore to leave them out of the deployment."
    assert not [e for e in emulator.traffic.snapshot() if e.service == "file"]


UNPRIVILEGED_SYNC = """
import asyncio, sys
from pathlib import Path
from aitk_inference.core.errors import AitkError
from aitk_inference.core.reporting import CancellationToken, RecordingProgress
from aitk_inference.core.sync.share import ShareTarget
from aitk_inference.core.sync.sync_project import sync_project

url, account, share, key, project = sys.argv[1:]
try:
    asyncio.run(sync_project(Path(project), ShareTarget(url, account, share, key),
                             progress=RecordingProgress(), cancel=CancellationToken()))
except AitkError as err:
    print(err.message); print(err.hint); sys.exit(1)
"""


def test_an_unreadable_file_stops_the_deploy_naming_it(
    tmp_path: Path, emulator: Emulator, target: ShareTarget
) -> None:
    """Run as root without CAP_DAC_OVERRIDE (and DAC_READ_SEARCH): permissions apply as to a user."""
    project = tmp_path / "proj"
    write(project, {"app.py": "x = 1\n", "model/weights.bin": "secret"})
    (project / "model/weights.bin").chmod(0)
    emulator.traffic.clear()
    env = {**os.environ, **emulator_env(emulator), "PYTHONPATH": str(REPO / "server")}
    done = subprocess.run(
        [
            "setpriv",
            "--bounding-set=-dac_override,-dac_read_search",
            "--inh-caps=-dac_override,-dac_read_search",
            sys.executable,
            "-c",
            UNPRIVILEGED_SYNC,
            target.account_url,
            target.account_name,
            target.share_name,
            target.account_key,
            str(project),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert done.stdout.splitlines() == [
        "Cannot read this file of the project: model/weights.bin (permission denied). Nothing was uploaded.",
        "Fix their permissions, or list them in .aitkignore to leave them out of the deployment.",
    ]
    assert not [e for e in emulator.traffic.snapshot() if e.service == "file"]
