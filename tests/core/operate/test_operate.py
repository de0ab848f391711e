"""Operating a deployed app against the emulator with the process runtime: live logs, stop/start,
tear down. The app is ``talking_app.py`` (a real process printing to stdout/stderr)."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aitk_inference.core.azure.cloud import Cloud
from aitk_inference.core.azure.tls import ssl_context
from aitk_inference.core.deploy.readiness import probe_endpoint
from aitk_inference.core.deploy.status import status
from aitk_inference.core.errors import AitkError, OperationCancelled
from aitk_inference.core.operate.lifecycle import set_running
from aitk_inference.core.operate.logs import stream_logs
from aitk_inference.core.operate.teardown import TeardownOptions, tear_down
from aitk_inference.core.reporting import CancellationToken, RecordingProgress

from tests.azure_emulator.arm import get_arm
from tests.azure_emulator.arm.containerapps import ContainerApps
from tests.azure_emulator.runtime_process import ProcessRuntime
from tests.azure_emulator.server import Emulator
from tests.core.deploy.test_deploy import provisioned, run_deploy, share_dir
from tests.core.helpers import ScriptedPrompter
from tests.core.operate.talking_app import MARKER

HERE = Path(__file__).parent


@pytest.fixture
async def deployed(emulator: Emulator, credential: Any, cloud: Cloud, project: Path) -> dict[str, Any]:
    """The template project with talking_app.py as its app, provisioned and deployed for real."""
    emulator.services["runtime_factory"] = ProcessRuntime.factory(python=sys.executable)
    inference = project / "inference"
    shutil.copy(HERE / "talking_app.py", inference / "talking_app.py")
    (inference / "start.sh").write_text(
        '#!/usr/bin/env bash\nhere="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"\n'
        'exec "$AITK_PYTHON" "$here/talking_app.py"\n'
    )
    config = await provisioned(project, credential, cloud, group="rg-operate")
    await run_deploy(project, credential, cloud)
    return config


def app_runtimes(emulator: Emulator) -> list[Any]:
    apps = get_arm(emulator).handlers[ContainerApps.type_name.lower()]
    assert isinstance(apps, ContainerApps)
    return [rev.runtime for state in apps.apps.values() for rev in state.revisions.values() if rev.active]


async def say(config: dict[str, Any], text: str) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(
            f"https://{config['ACA_APP_ENDPOINT']}/say", params={"text": text}, ssl=ssl_context()
        ) as resp:
            assert resp.status == 200


async def wait_for(lines: list[str], text: str, seconds: float = 10.0) -> float:
    started = time.monotonic()
    while not any(text in line for line in lines):
        assert time.monotonic() - started < seconds, f"{text!r} not streamed within {seconds}s: {lines}"
        await asyncio.sleep(0.05)
    return time.monotonic() - started


def following(
    project: Path, credential: Any, cloud: Cloud, lines: list[str], cancel: CancellationToken
) -> asyncio.Future[Any]:
    """``logs --follow`` running in the background, its lines collected into ``lines``."""
    return asyncio.ensure_future(
        stream_logs(
            project,
            credential,
            cloud=cloud,
            progress=RecordingProgress(),
            cancel=cancel,
            emit=lines.append,
            follow=True,
        )
    )


async def test_logs_show_what_the_app_printed(
    emulator: Emulator, credential: Any, cloud: Cloud, project: Path, deployed: dict[str, Any]
) -> None:
    lines: list[str] = []
    progress = RecordingProgress()
    started = time.monotonic()
    result = await stream_logs(
        project,
        credential,
        cloud=cloud,
        progress=progress,
        cancel=CancellationToken(),
        emit=lines.append,
        tail=50,
    )
    assert time.monotonic() - started < 5
    assert any(line.endswith(MARKER) for line in lines)
    assert any(line.endswith("talking-app: to stderr too") for line in lines)
    assert result.kind == "console" and result.lines == len(lines) and result.connections == 1
    app_id = f"/subscriptions/{deployed['SUBSCRIPTION_ID']}/resourceGroups/rg-operate/providers/Microsoft.App/containerApps/{deployed['ACA_APP_NAME']}"
    assert (
        f"Container app {deployed['ACA_APP_NAME']} in the Azure portal: https://portal.azure.com/#@/resource{app_id}",
        "info",
    ) in progress.logs
    # The requests the core made are the ones az containerapp logs show makes.
    sent = [e for e in emulator.traffic.snapshot() if e.service == "logstream"]
    assert sent and sent[-1].query == {"follow": "false", "tailLines": "50", "output": "text"}
    assert sent[-1].path.endswith("/containers/inference/logstream")


async def test_follow_streams_new_lines_and_reconnects_when_the_stream_times_out(
    emulator: Emulator, credential: Any, cloud: Cloud, project: Path, deployed: dict[str, Any]
) -> None:
    emulator.settings.log_stream_max_seconds = 1.0
    lines: list[str] = []
    cancel = CancellationToken()
    task = following(project, credential, cloud, lines, cancel)
    await wait_for(lines, MARKER)
    await say(deployed, "first")
    assert await wait_for(lines, "said: first") < 3
    await asyncio.sleep(1.5)  # past the stream's lifetime: the emulator closes it, the core reconnects
    await say(deployed, "second")
    await wait_for(lines, "said: second")
    cancel.cancel()
    result = await asyncio.wait_for(task, 5)
    assert result.connections >= 2
    # A reconnect asks for no history, so nothing is shown twice.
    assert sum("said: first" in line for line in lines) == 1
    assert sum(line.endswith(MARKER) for line in lines) == 1


async def test_a_wrong_token_is_refused(
    emulator: Emulator, credential: Any, cloud: Cloud, project: Path, deployed: dict[str, Any]
) -> None:
    await stream_logs(
        project,
        credential,
        cloud=cloud,
        progress=RecordingProgress(),
        cancel=CancellationToken(),
        emit=lambda _l: None,
    )
    url = next(e.url for e in emulator.traffic.snapshot() if e.service == "logstream").split("?")[0]
    async with aiohttp.ClientSession() as session:
        for headers in ({"Authorization": "Bearer not-a-token"}, {}):
            async with session.get(url, headers=headers, ssl=ssl_context()) as resp:
                assert resp.status == 401
                body = await resp.json()
                assert (
                    body["error"]["message"]
                    == "The token is missing, expired or not valid for this container app."
                )
    # The core says so in plain words when the stream refuses its token.
    emulator.faults.add(service="logstream", path="/logstream", status=401, code="Unauthorized", message="no")
    with pytest.raises(AitkError) as err:
        await stream_logs(
            project,
            credential,
            cloud=cloud,
            progress=RecordingProgress(),
            cancel=CancellationToken(),
            emit=lambda _l: None,
        )
    assert str(err.value) == (
        "The log stream refused the app's token (HTTP 401). Check that your account may read this container "
        "app (Contributor or Reader on it), then try again."
    )


async def test_system_log_shows_revision_states(
    emulator: Emulator, credential: Any, cloud: Cloud, project: Path, deployed: dict[str, Any]
) -> None:
    lines: list[str] = []
    result = await stream_logs(
        project,
        credential,
        cloud=cloud,
        progress=RecordingProgress(),
        cancel=CancellationToken(),
        emit=lines.append,
        system=True,
    )
    assert result.kind == "system"
    records = [json.loads(line) for line in lines]
    assert any(r["Msg"].endswith("Running, health Healthy") for r in records)


async def test_stop_ends_the_process_and_start_brings_it_back(
    emulator: Emulator, credential: Any, cloud: Cloud, project: Path, deployed: dict[str, Any]
) -> None:
    [runtime] = app_runtimes(emulator)
    process = runtime.process
    assert process is not None and process.returncode is None
    stopped = await set_running(
        project,
        credential,
        cloud=cloud,
        progress=RecordingProgress(),
        cancel=CancellationToken(),
        start=False,
    )
    assert (stopped.running_status, stopped.changed) == ("Stopped", True)
    assert process.returncode is not None  # the app's process really ended
    assert app_runtimes(emulator) == [None]
    report = await status(project, credential, cloud=cloud, progress=RecordingProgress())
    assert report.running_status == "Stopped"
    assert "Running status: Stopped" in report.lines()
    assert [r.replicas for r in report.revisions if r.active] == [0]

    with pytest.raises(AitkError) as err:
        await run_deploy(project, credential, cloud)
    assert err.value.code == "AppStopped"
    assert str(err.value) == (
        f"Container app {deployed['ACA_APP_NAME']} is stopped, so nothing was deployed. Start it (AI Toolkit: "
        "Start Inference App, or `aitk-inference start`), then deploy again."
    )
    with pytest.raises(AitkError) as err:
        await stream_logs(
            project,
            credential,
            cloud=cloud,
            progress=RecordingProgress(),
            cancel=CancellationToken(),
            emit=lambda _l: None,
        )
    assert err.value.code == "AppStopped"
    again = await set_running(
        project,
        credential,
        cloud=cloud,
        progress=RecordingProgress(),
        cancel=CancellationToken(),
        start=False,
    )
    assert again.changed is False

    started = await set_running(
        project, credential, cloud=cloud, progress=RecordingProgress(), cancel=CancellationToken(), start=True
    )
    assert (started.running_status, started.changed) == ("Running", True)
    deadline = time.monotonic() + 15
    while not (await probe_endpoint(f"https://{deployed['ACA_APP_ENDPOINT']}"))[0]:
        assert time.monotonic() < deadline, "the app did not answer after start"
        await asyncio.sleep(0.1)
    [runtime] = app_runtimes(emulator)
    assert runtime.process is not None and runtime.process.pid != process.pid


async def test_down_deletes_the_app_and_keeps_the_storage(
    emulator: Emulator, credential: Any, cloud: Cloud, project: Path, deployed: dict[str, Any]
) -> None:
    config_path = project / "infra" / "inference.config.json"
    config = json.loads(config_path.read_text())
    config["NOTE"] = "mine"
    config_path.write_text(json.dumps(config))
    share = share_dir(emulator, deployed)
    files_before = sorted(p.relative_to(share) for p in share.rglob("*"))
    progress = RecordingProgress()
    prompter = ScriptedPrompter(answers=[deployed["ACA_APP_NAME"]])
    result = await tear_down(
        project,
        credential,
        cloud=cloud,
        progress=progress,
        prompter=prompter,
        cancel=CancellationToken(),
        options=TeardownOptions(),
    )
    app = deployed["ACA_APP_NAME"]
    assert prompter.asked == [(f"Delete container app {app}? Type the app name {app} to confirm", [])]
    assert [(d.kind, d.name) for d in result.deleted] == [("container app", app)]
    logs = [m for m, _l in progress.logs]
    assert logs[0] == "Tear down will delete, in this order:"
    assert logs[1].startswith(f"  - container app {app}: https://portal.azure.com/#@/resource/subscriptions/")
    assert logs[2] == (
        f"It keeps the storage account {deployed['STORAGE_ACCOUNT_NAME']} and file share "
        f"{deployed['FILE_SHARE_NAME']} (they hold the fine-tuning outputs; name them to delete them)."
    )
    arm = get_arm(emulator)
    assert not [
        r for _k, r in arm.store.under("/subscriptions") if r.get("type") == "Microsoft.App/containerApps"
    ]
    assert [
        r
        for _k, r in arm.store.under("/subscriptions")
        if r.get("type") == "Microsoft.Storage/storageAccounts"
    ]
    assert sorted(p.relative_to(share) for p in share.rglob("*")) == files_before and files_before
    after = json.loads(config_path.read_text())
    assert "ACA_APP_NAME" not in after and "ACA_APP_ENDPOINT" not in after
    assert after["NOTE"] == "mine" and after["STORAGE_ACCOUNT_NAME"] == deployed["STORAGE_ACCOUNT_NAME"]
    assert result.removed_keys == ["ACA_APP_NAME", "ACA_APP_ENDPOINT"]


async def test_down_with_the_environment_and_its_workspace(
    emulator: Emulator, credential: Any, cloud: Cloud, project: Path, deployed: dict[str, Any]
) -> None:
    result = await tear_down(
        project,
        credential,
        cloud=cloud,
        progress=RecordingProgress(),
        prompter=ScriptedPrompter(),
        cancel=CancellationToken(),
        options=TeardownOptions(environment=True, log_analytics=True),
        assume_yes=True,
    )
    assert [d.kind for d in result.deleted] == [
        "container app",
        "Container Apps environment",
        "Log Analytics workspace",
    ]
    types = {r.get("type") for _k, r in get_arm(emulator).store.under("/subscriptions")}
    assert "Microsoft.App/managedEnvironments" not in types
    assert "Microsoft.OperationalInsights/workspaces" not in types
    assert "Microsoft.Storage/storageAccounts" in types


async def test_down_deletes_nothing_unless_the_app_name_is_typed(
    emulator: Emulator, credential: Any, cloud: Cloud, project: Path, deployed: dict[str, Any]
) -> None:
    before = (project / "infra" / "inference.config.json").read_text()
    with pytest.raises(OperationCancelled) as err:
        await tear_down(
            project,
            credential,
            cloud=cloud,
            progress=RecordingProgress(),
            prompter=ScriptedPrompter(answers=["something-else"]),
            cancel=CancellationToken(),
            options=TeardownOptions(),
        )
    assert err.value.message == (
        f"Nothing was deleted: 'something-else' is not the app name {deployed['ACA_APP_NAME']}."
    )
    with pytest.raises(AitkError) as named:
        await tear_down(
            project,
            credential,
            cloud=cloud,
            progress=RecordingProgress(),
            prompter=ScriptedPrompter(),
            cancel=CancellationToken(),
            options=TeardownOptions(storage_account="someoneelses"),
            assume_yes=True,
        )
    assert named.value.message == (
        f"The storage account named (someoneelses) is not the one in {project}/infra/inference.config.json "
        f"(STORAGE_ACCOUNT_NAME: {deployed['STORAGE_ACCOUNT_NAME']}); nothing was deleted."
    )
    assert (project / "infra" / "inference.config.json").read_text() == before
    assert [
        r
        for _k, r in get_arm(emulator).store.under("/subscriptions")
        if r.get("type") == "Microsoft.App/containerApps"
    ]


async def test_follow_carries_on_across_a_deploy_restart(
    emulator: Emulator, credential: Any, cloud: Cloud, project: Path, deployed: dict[str, Any]
) -> None:
    lines: list[str] = []
    cancel = CancellationToken()
    task = following(project, credential, cloud, lines, cancel)
    await wait_for(lines, MARKER)
    await run_deploy(project, credential, cloud)  # restarts the revision: a new process prints again
    started = time.monotonic()
    while sum(line.endswith(MARKER) for line in lines) < 2:
        assert time.monotonic() - started < 15, lines
        await asyncio.sleep(0.05)
    await say(deployed, "after the restart")
    await wait_for(lines, "said: after the restart")
    cancel.cancel()
    result = await asyncio.wait_for(task, 5)
    assert result.connections >= 2


async def test_down_of_an_app_deleted_already_says_what_to_do(
    emulator: Emulator, credential: Any, cloud: Cloud, project: Path, deployed: dict[str, Any]
) -> None:
    await tear_down(
        project,
        credential,
        cloud=cloud,
        progress=RecordingProgress(),
        prompter=ScriptedPrompter(),
        cancel=CancellationToken(),
        options=TeardownOptions(),
        assume_yes=True,
    )
    config = project / "infra" / "inference.config.json"
    restored = {
        **json.loads(config.read_text()),
        "ACA_APP_NAME": deployed["ACA_APP_NAME"],
        "ACA_APP_ENDPOINT": "x",
    }
    config.write_text(json.dumps(restored))
    with pytest.raises(AitkError) as err:
        await tear_down(
            project,
            credential,
            cloud=cloud,
            progress=RecordingProgress(),
            prompter=ScriptedPrompter(),
            cancel=CancellationToken(),
            options=TeardownOptions(),
            assume_yes=True,
        )
    assert str(err.value) == (
        f"Container app {deployed['ACA_APP_NAME']} does not exist in resource group rg-operate; nothing was "
        f"deleted. If it was deleted already, remove ACA_APP_NAME and ACA_APP_ENDPOINT from {config} (or run "
        "Provision to create it again)."
    )
