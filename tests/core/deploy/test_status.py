"""Status: what the config points at, its revisions and whether the endpoint answers."""

from __future__ import annotations

import asyncio
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


async def test_a_revision_that_never_gets_healthy_shows_container_apps_reason(
    emulator: Emulator, credential: Any, cloud: Cloud, project: Path
) -> None:
    emulator.settings.revision_becomes_healthy = False
    config = await provisioned(project, credential, cloud)
    app = config["ACA_APP_NAME"]
    for _ in range(50):  # the first probe fails after the activation delay
        report = await status(project, credential, cloud=cloud, progress=RecordingProgress())
        if report.revisions[0].health_state == "Unhealthy":
            break
        await asyncio.sleep(0.1)
    reason = (
        "Startup probe failed: the container did not respond on port 7860 (connection refused). "
        "The revision stays Activating until its probes pass."
    )
    (revision,) = report.revisions
    assert (revision.running_state, revision.health_state, revision.reason) == (
        "Activating",
        "Unhealthy",
        reason,
    )
    assert f"    reason: {reason}" in report.lines()
    assert report.summary() == (
        f"{app}: revision {revision.name} is Activating (Unhealthy): {reason} "
        f"https://{config['ACA_APP_ENDPOINT']} does not answer (HTTP 503)."
    )


async def test_status_text_has_no_python_reprs(
    emulator: Emulator, credential: Any, cloud: Cloud, project: Path
) -> None:
    """Right after provisioning, Container Apps reports health "None": say it in words."""
    emulator.settings.revision_activation_delay = 30
    config = await provisioned(project, credential, cloud)
    progress = RecordingProgress()
    report = await status(project, credential, cloud=cloud, progress=progress)
    (revision,) = report.revisions
    text = "\n".join([*report.lines(), report.summary(), *(m for m, _ in progress.reports)])
    assert "None" not in text and "RevisionHealthState" not in text, text
    assert (
        f"  {revision.name}: Activating, health not reported yet, 1 replica(s) (active, 100% traffic)" in text
    )
    assert report.summary().startswith(
        f"{config['ACA_APP_NAME']}: revision {revision.name} is Activating (health not reported yet)."
    )
