"""sync_project's listings: one per folder the share holds, visited down the tree as parents
answer, and settled when the local side fails first."""

from __future__ import annotations

import asyncio
import gc
import logging
import shutil
from pathlib import Path

import pytest
from aitk_inference.core.bounded import run_bounded, run_bounded_tree
from aitk_inference.core.sync.lean_share import ListedEntry
from aitk_inference.core.sync.manifest import RemoteDir, RemoteFile
from aitk_inference.core.sync.sync_project import _settle, list_folders

from tests.azure_emulator.server import Emulator
from tests.core.sync.test_sync import age, make_target, share_dir, share_files, sync, write


async def test_a_failed_listing_is_not_logged_as_never_retrieved_when_hashing_fails_too(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """execute(): listings start, then hashing raises (an unreadable file) before their result is
    awaited; a listing that already failed (the share refused the key) must not leave "Task
    exception was never retrieved" in the user's log."""

    async def list_dir(folder: str) -> RemoteDir:
        raise PermissionError("the share refused the listing")

    listing = asyncio.ensure_future(run_bounded(["", "a"], list_dir, 4))
    await asyncio.sleep(0.01)  # the listing ran and failed
    try:
        raise OSError("hashing failed")  # what self._hashes raised
    except OSError:
        pass
    finally:
        await _settle(listing)
    del listing
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        gc.collect()
        await asyncio.sleep(0)
    assert [r.getMessage() for r in caplog.records if "never retrieved" in r.getMessage()] == []


def _listed(emulator: Emulator) -> list[str]:
    """Folders listed since the traffic was cleared, in order ("" for the root)."""
    return [
        e.path.split("/", 3)[3] if e.path.count("/") >= 3 else ""
        for e in emulator.traffic.snapshot()
        if e.service == "file" and e.method == "GET" and e.query.get("comp") == "list"
    ]


async def test_a_first_deploy_lists_only_the_root_and_a_redeploy_every_folder(
    tmp_path: Path, emulator: Emulator, azure_env: dict[str, str]
) -> None:
    """A folder the share lacks holds nothing: on a first deploy the listings of the root and of
    .aitk (made by the lock) answer for every folder. Once they exist, each is listed (its ETags
    show remote edits)."""
    target = make_target(emulator)
    project = tmp_path / "p"
    write(project, {f"d{i}/s{j}/f.txt": f"{i}{j}" for i in range(3) for j in range(2)})
    age(project)
    emulator.traffic.clear()
    first = await sync(project, target)
    assert first.files_uploaded == 6
    assert sorted(_listed(emulator)) == ["", ".aitk"]
    emulator.traffic.clear()
    again = await sync(project, target)
    assert (again.files_uploaded, again.files_unchanged) == (0, 6)
    folders = ["", ".aitk", "d0", "d1", "d2", "d0/s0", "d0/s1", "d1/s0", "d1/s1", "d2/s0", "d2/s1"]
    assert sorted(_listed(emulator)) == sorted(folders)
    assert _listed(emulator)[0] == ""  # parents before their children


async def test_a_folder_the_share_lost_is_not_listed_and_its_files_go_up_again(
    tmp_path: Path, emulator: Emulator, azure_env: dict[str, str]
) -> None:
    target = make_target(emulator)
    project = tmp_path / "p"
    write(project, {"keep/a.txt": "a", "lost/sub/b.txt": "b"})
    age(project)
    await sync(project, target)
    shutil.rmtree(share_dir(emulator) / "lost")  # someone removed it on the share
    emulator.traffic.clear()
    result = await sync(project, target)
    assert "lost" not in _listed(emulator) and "lost/sub" not in _listed(emulator)
    assert (result.files_uploaded, result.files_unchanged) == (1, 1)
    assert share_files(emulator)["lost/sub/b.txt"] == b"b"


async def test_a_folder_the_share_holds_under_another_case_is_listed_under_the_local_name() -> None:
    """Names are case-insensitive on the share: the local "Data" opens the share's "data", whose
    files must be seen (to refuse overwriting what the tool did not write)."""
    share = {"": [ListedEntry("data", True, 0, '"d"')], "Data": [ListedEntry("x.txt", False, 6, '"x"')]}
    asked: list[str] = []

    class Share:
        async def list_dir(self, folder: str) -> list[ListedEntry]:
            asked.append(folder)
            return share[folder]

    remote = await list_folders(Share(), ["", "Data", "Data/sub", "new"], 4)  # type: ignore[arg-type]
    assert sorted(asked) == ["", "Data"]
    assert remote["Data"].files == {"x.txt": RemoteFile(6, '"x"')}
    assert (remote["Data/sub"].exists, remote["new"].exists) == (False, False)


def test_a_folder_is_taken_as_absent_only_when_no_case_rule_could_open_it() -> None:
    """A folder taken as absent is not listed, so its files look absent and would be replaced
    by a rename: when in doubt the folder is listed (the service answers 404 if it has none).
    casefold() alone misses pairs that upper-casing joins, as the dotless i: "fıles"/"FILES"."""
    listing = RemoteDir(True, subdirs={"FILES", "Data"})
    assert listing.has_subdir("fıles") and listing.has_subdir("files") and listing.has_subdir("data")
    assert not listing.has_subdir("other")


async def test_the_tree_walk_visits_children_as_their_parent_returns_within_the_limit() -> None:
    tree = {"": ["a", "b"], "a": ["a/1", "a/2"], "b": ["b/1"], "a/1": [], "a/2": [], "b/1": []}
    slow = {"b": 0.2}  # "a"'s children must not wait for "b"
    started: list[str] = []
    running = peak = 0

    async def visit(node: str) -> list[str]:
        nonlocal running, peak
        started.append(node)
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(slow.get(node, 0.001))
        running -= 1
        started.append(f"{node} done")
        return tree[node]

    await run_bounded_tree([""], visit, 2)
    assert sorted(n for n in started if not n.endswith(" done")) == sorted(tree)
    # "a"'s children start while "b" still runs (a level-at-a-time walk would start them after)
    assert started.index("a/2") < started.index("b done") < started.index("b/1")
    assert peak == 2


async def test_the_tree_walk_reraises_the_first_failure_as_itself_and_stops_the_rest() -> None:
    cancelled: list[str] = []

    async def visit(node: str) -> list[str]:
        if node == "bad":
            raise PermissionError("the share refused the listing")
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.append(node)
            raise
        return []

    async def root(node: str) -> list[str]:
        return ["slow", "bad"] if node == "" else await visit(node)

    with pytest.raises(PermissionError, match="the share refused the listing"):
        await asyncio.wait_for(run_bounded_tree([""], root, 4), 5)
    assert cancelled == ["slow"]


async def test_a_folder_only_the_manifest_names_is_listed_after_it_and_its_files_deleted(
    tmp_path: Path, emulator: Emulator, azure_env: dict[str, str]
) -> None:
    """The project's folders are listed while the manifest is read; a folder the project lost
    (named only by the manifest) is listed once the manifest is known, so its files are seen."""
    target = make_target(emulator)
    project = tmp_path / "p"
    write(project, {"keep/a.txt": "a", "gone/sub/b.txt": "b"})
    age(project)
    await sync(project, target)
    shutil.rmtree(project / "gone")
    emulator.traffic.clear()
    result = await sync(project, target)
    assert (result.files_deleted, result.files_unchanged) == (1, 1)
    listed = _listed(emulator)
    assert sorted(listed) == ["", ".aitk", "gone", "gone/sub", "keep"]
    assert listed.index("gone/sub") > listed.index("keep")  # after the project's own folders
    assert "gone/sub/b.txt" not in share_files(emulator)
