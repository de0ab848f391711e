"""Deploy against the emulator: share discovery, sync, restart, readiness, and bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aitk_inference.core.azure.cloud import Cloud
from aitk_inference.core.config import CONFIG_KEYS
from aitk_inference.core.deploy.deploy import DeployResult, deploy
from aitk_inference.core.errors import AitkError, ConfigError, OperationCancelled
from aitk_inference.core.provision.provision import provision
from aitk_inference.core.reporting import CancellationToken, RecordingProgress

from tests.azure_emulator.server import Emulator
from tests.core.helpers import SUBSCRIPTION, ScriptedPrompter


async def provisioned(
    project: Path, credential: Any, cloud: Cloud, group: str = "rg-deploy"
) -> dict[str, Any]:
    return await provision(
        project,
        credential,
        cloud=cloud,
        progress=RecordingProgress(),
        prompter=ScriptedPrompter(),
        cancel=CancellationToken(),
        subscription_id=SUBSCRIPTION,
        resource_group=group,
        location="westus3",
        poll_seconds=0.05,
    )


async def run_deploy(
    project: Path, credential: Any, cloud: Cloud, progress: RecordingProgress | None = None, **kwargs: Any
) -> DeployResult:
    return await deploy(
        project,
        credential,
        cloud=cloud,
        progress=progress or RecordingProgress(),
        cancel=kwargs.pop("cancel", CancellationToken()),
        poll_seconds=0.05,
        **{"readiness_timeout": 30.0, **kwargs},
    )


def share_dir(emulator: Emulator, config: dict[str, Any]) -> Path:
    return emulator.data_dir / config["STORAGE_ACCOUNT_NAME"] / config["FILE_SHARE_NAME"]


def restarts(emulator: Emulator) -> list[str]:
    return [
        e.path
        for e in emulator.traffic.snapshot()
        if e.method == "POST" and e.path.lower().endswith("/restart")
    ]


async def test_manual_config_then_deploy(
    emulator: Emulator, credential: Any, cloud: Cloud, project: Path
) -> None:
    config = await provisioned(project, credential, cloud)
    # The user writes the config by hand (another order, a scheme on the endpoint, a note of their own).
    by_hand = {key: config[key] for key in reversed(CONFIG_KEYS)}
    by_hand["ACA_APP_ENDPOINT"] = f"https://{config['ACA_APP_ENDPOINT']}/"
    by_hand["NOTE"] = "written by hand"
    (project / "infra" / "inference.config.json").write_text(json.dumps(by_hand))
    (share_dir(emulator, config) / "model-cache").mkdir(parents=True, exist_ok=True)
    (share_dir(emulator, config) / "model-cache" / "weights.bin").write_bytes(b"not ours")
    emulator.traffic.clear()
    progress = RecordingProgress()
    result = await run_deploy(project, credential, cloud, progress)
    assert result.endpoint_url == f"https://{config['ACA_APP_ENDPOINT']}"
    assert result.files_uploaded > 0 and result.bytes_uploaded > 0
    assert result.revisions_restarted and len(restarts(emulator)) == len(result.revisions_restarted)
    landed = share_dir(emulator, config)
    for local in (project / "infra").rglob("*"):
        if local.is_file():
            assert (landed / local.relative_to(project)).read_bytes() == local.read_bytes()
    assert (landed / "model-cache" / "weights.bin").read_bytes() == b"not ours"
    percentages = [p for _m, p in progress.reports if p is not None]
    assert percentages == sorted(percentages) and percentages[-1] == 100
    logs = "\n".join(m for m, _l in progress.logs)
    assert result.endpoint_url in logs
    portal = "in the Azure portal: https://portal.azure.com/#@/resource/subscriptions/"
    assert f"Container app {config['ACA_APP_NAME']} {portal}" in logs
    assert f"Storage account {config['STORAGE_ACCOUNT_NAME']} {portal}" in logs
    # The account key is a secret: it never reaches the progress/log stream.
    from tests.azure_emulator.storage_registry import get_registry

    for key in get_registry(emulator).keys(config["STORAGE_ACCOUNT_NAME"]) or []:
        assert key not in logs and all(key not in m for m, _p in progress.reports)


async def test_redeploy_without_changes_uploads_nothing(
    emulator: Emulator, credential: Any, cloud: Cloud, project: Path
) -> None:
    await provisioned(project, credential, cloud)
    await run_deploy(project, credential, cloud)
    again = await run_deploy(project, credential, cloud)
    assert (again.files_uploaded, again.bytes_uploaded, again.files_deleted) == (0, 0, 0)
    assert again.revisions_restarted


async def test_readiness_waits_while_the_revision_activates(
    emulator: Emulator, credential: Any, cloud: Cloud, project: Path
) -> None:
    await provisioned(project, credential, cloud)
    emulator.settings.revision_activation_delay = 0.6
    progress = RecordingProgress()
    result = await run_deploy(project, credential, cloud, progress)
    assert result.revisions_restarted
    assert any(m.startswith("Waiting for") for m, _p in progress.reports)
    assert any("answers" in m for m, _l in progress.logs)


async def test_readiness_timeout_reports_revision_state_and_logs_hint(
    emulator: Emulator, credential: Any, cloud: Cloud, project: Path
) -> None:
    config = await provisioned(project, credential, cloud)
    emulator.settings.revision_becomes_healthy = False
    with pytest.raises(AitkError) as exc:
        await run_deploy(project, credential, cloud, readiness_timeout=1.0)
    assert exc.value.code == "ReadinessTimeout"
    assert "within 1 seconds" in exc.value.message and "revision" in exc.value.message
    assert exc.value.hint is not None
    assert f"az containerapp logs show -g rg-deploy -n {config['ACA_APP_NAME']}" in exc.value.hint
    assert "AI Toolkit: Stream Inference Logs, `aitk-inference logs --follow`" in exc.value.hint


async def test_transient_arm_errors_are_retried(
    emulator: Emulator, credential: Any, cloud: Cloud, project: Path
) -> None:
    await provisioned(project, credential, cloud)
    emulator.faults.add(service="arm", method="POST", path="/listKeys", status=503)
    emulator.faults.add(service="arm", method="POST", path="/restart", status=429, retry_after=1)
    emulator.faults.add(service="arm", method="GET", path="/revisions/", status=500)
    result = await run_deploy(project, credential, cloud)
    assert result.revisions_restarted
    assert [rule.fired for rule in emulator.faults.rules] == [1, 1, 1]


async def test_cancelled_deploy_then_a_second_deploy_finishes(
    emulator: Emulator, credential: Any, cloud: Cloud, project: Path
) -> None:
    config = await provisioned(project, credential, cloud)
    for i in range(40):
        (project / "data" / f"part{i:02d}.txt").parent.mkdir(exist_ok=True)
        (project / "data" / f"part{i:02d}.txt").write_text(f"chunk {i}\n" * 1000)
    cancel = CancellationToken()

    class CancelDuringUpload(RecordingProgress):
        def report(self, message: str, percentage: float | None = None) -> None:
            super().report(message, percentage)
            if message.startswith("Uploading"):
                cancel.cancel()

    emulator.traffic.clear()
    with pytest.raises(OperationCancelled):
        await run_deploy(project, credential, cloud, CancelDuringUpload(), cancel=cancel)
    assert restarts(emulator) == []  # cancelled before the restart
    result = await run_deploy(project, credential, cloud)
    assert result.revisions_restarted
    for i in range(40):
        name = f"part{i:02d}.txt"
        assert (share_dir(emulator, config) / "data" / name).read_bytes() == (
            project / "data" / name
        ).read_bytes()


@pytest.mark.parametrize(
    ("content", "expect"),
    [
        (None, "does not exist"),
        ("{not json", "line 1, column 2"),
        (json.dumps({"SUBSCRIPTION_ID": "s"}), "RESOURCE_GROUP_NAME is missing"),
        (
            json.dumps(dict.fromkeys(CONFIG_KEYS, "x") | {"ACA_APP_ENDPOINT": None}),
            "ACA_APP_ENDPOINT is empty",
        ),
        (json.dumps(dict.fromkeys(CONFIG_KEYS, "x") | {"ACA_APP_NAME": 5}), "ACA_APP_NAME must be a string"),
    ],
)
async def test_bad_config_fails_before_any_azure_call(
    emulator: Emulator, credential: Any, cloud: Cloud, project: Path, content: str | None, expect: str
) -> None:
    path = project / "infra" / "inference.config.json"
    if content is None:
        path.unlink()
    else:
        path.write_text(content)
    emulator.traffic.clear()
    with pytest.raises(ConfigError) as exc:
        await run_deploy(project, credential, cloud)
    assert expect in exc.value.message and "inference.config.json" in exc.value.message
    assert [e for e in emulator.traffic.snapshot() if not e.path.startswith("/_emulator")] == []
