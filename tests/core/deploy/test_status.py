"""Status: what the config points at, its revisions and whether the endpoint answers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aitk_inference.core.azure.cloud import Cloud
from aitk_inference.core.deploy.status import RevisionStatus, StatusReport, status
from aitk_inference.core.reporting import RecordingProgress

from tests.azure_emulator.server import Emulator
from tests.core.deploy.test_deploy import provisioned, run_deploy


def test_lines_show_app_revisions_and_endpoint() -> None:
    report = StatusReport(
        app_name="aca-app",
        resource_group="rg",
        subscription_id="sub",
        endpoint_url="https://aca-app.example.io",
        latest_revision="aca-app--r1",
        provisioning_state="Succeeded",
        revisions=[RevisionStatus("aca-app--r1", True, "Running", "Healthy", 1, 100)],
        endpoint_healthy=False,
        endpoint_detail="HTTP 503",
    )
    text = "\n".join(report.lines())
    assert "aca-app (resource group rg" in text
    assert "aca-app--r1: Running, health Healthy, 1 replica(s) (active, 100% traffic)" in text
    assert "https://aca-app.example.io: does not answer (HTTP 503)" in text


async def test_status_after_deploy(emulator: Emulator, credential: Any, cloud: Cloud, project: Path) -> None:
    config = await provisioned(project, credential, cloud)
    await run_deploy(project, credential, cloud)
    report = await status(project, credential, cloud=cloud, progress=RecordingProgress())
    assert report.app_name == config["ACA_APP_NAME"]
    assert report.endpoint_url == f"https://{config['ACA_APP_ENDPOINT']}"
    assert report.latest_revision and any(
        r.name == report.latest_revision and r.active for r in report.revisions
    )
    assert report.endpoint_healthy is True
    assert report.provisioning_state == "Succeeded"
    # Wire values, not SDK enum reprs.
    assert {r.running_state for r in report.revisions if r.active} == {"Running"}
    assert any(config["ACA_APP_NAME"] in line for line in report.lines())


async def test_status_of_an_app_that_does_not_answer(
    emulator: Emulator, credential: Any, cloud: Cloud, project: Path
) -> None:
    # Never healthy, from the first replica on (after a restart, a replica that was healthy would
    # keep serving while its replacement fails its probes, as in Container Apps).
    emulator.settings.revision_becomes_healthy = False
    await provisioned(project, credential, cloud)
    from aitk_inference.core.errors import AitkError

    try:
        await run_deploy(project, credential, cloud, readiness_timeout=0.5)
    except AitkError:
        pass
    report = await status(project, credential, cloud=cloud, progress=RecordingProgress())
    assert report.endpoint_healthy is False
    assert report.endpoint_detail and report.endpoint_detail != "HTTP 200"
