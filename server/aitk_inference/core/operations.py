"""The one table of operations that both front ends expose: the CLI (``aitk-inference NAME``) and
the LSP server (``aitk.inference.server.NAME``).

An entry says what the operation is called, how its progress is titled, whether it can be
cancelled and whether it needs the project folder to itself, and runs the core coroutine, turning
its result into an :class:`Outcome`: lines for a person (the CLI prints them, the server logs them
to the output panel) and a JSON object (the CLI's machine output, the LSP command's result).
Adding an operation is one entry here plus thin glue in each front end.

The core modules are imported inside each runner, so importing this table stays cheap (the LSP
server imports it at start-up, before any Azure SDK is needed).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aitk_inference.core.config import INFERENCE_CONFIG
from aitk_inference.core.reporting import CancellationToken, Progress, Prompter

if TYPE_CHECKING:
    from azure.core.credentials_async import AsyncTokenCredential

    from aitk_inference.core.azure.cloud import Cloud


@dataclass(frozen=True)
class OperationInput:
    """What every operation gets from its front end; options an operation does not use are ignored."""

    project: Path
    credential: AsyncTokenCredential
    cloud: Cloud
    progress: Progress
    prompter: Prompter
    cancel: CancellationToken
    subscription_id: str | None = None
    resource_group: str | None = None
    location: str | None = None
    readiness_timeout: float | None = None


@dataclass(frozen=True)
class Outcome:
    lines: list[str]  # for a person, in order
    data: dict[str, Any]  # JSON-ready (camelCase keys)


@dataclass(frozen=True)
class Operation:
    name: str
    noun: str  # "Deploy": starts "Deploy failed: …", "Deploy cancelled."
    title: str  # the progress title: "Deploying for inference"
    cancellable: bool
    exclusive: bool  # one at a time per project folder (it writes there or to Azure)
    run: Callable[[OperationInput], Awaitable[Outcome]]


async def _provision(inp: OperationInput) -> Outcome:
    from aitk_inference.core.deploy.preflight import app_portal_link
    from aitk_inference.core.provision.provision import provision

    config = await provision(
        inp.project,
        inp.credential,
        cloud=inp.cloud,
        progress=inp.progress,
        prompter=inp.prompter,
        cancel=inp.cancel,
        subscription_id=inp.subscription_id,
        resource_group=inp.resource_group,
        location=inp.location,
    )
    return Outcome(
        lines=[
            f"Provisioning done: wrote {inp.project / 'infra' / INFERENCE_CONFIG}.",
            f"Inference endpoint: https://{config.get('ACA_APP_ENDPOINT')}",
            f"Container app {config.get('ACA_APP_NAME')} in the Azure portal: "
            + app_portal_link(
                inp.cloud,
                str(config.get("SUBSCRIPTION_ID")),
                str(config.get("RESOURCE_GROUP_NAME")),
                str(config.get("ACA_APP_NAME")),
            ),
        ],
        data=dict(config),
    )


async def _deploy(inp: OperationInput) -> Outcome:
    from aitk_inference.core.deploy.deploy import deploy

    options: dict[str, Any] = {}
    if inp.readiness_timeout is not None:
        options["readiness_timeout"] = inp.readiness_timeout
    result = await deploy(
        inp.project, inp.credential, cloud=inp.cloud, progress=inp.progress, cancel=inp.cancel, **options
    )
    restarted = ", ".join(result.revisions_restarted) or "none"
    return Outcome(
        lines=[
            f"Deployment done: {result.files_uploaded} file(s) uploaded ({result.bytes_uploaded} bytes), "
            f"{result.files_deleted} deleted, revision(s) restarted: {restarted}.",
            f"Inference endpoint: {result.endpoint_url}",
        ],
        data={
            "endpointUrl": result.endpoint_url,
            "filesUploaded": result.files_uploaded,
            "bytesUploaded": result.bytes_uploaded,
            "filesDeleted": result.files_deleted,
            "revisionsRestarted": list(result.revisions_restarted),
            "appName": result.app_name,
        },
    )


async def _status(inp: OperationInput) -> Outcome:
    from aitk_inference.core.deploy.status import status

    report = await status(inp.project, inp.credential, cloud=inp.cloud, progress=inp.progress)
    lines = report.lines()
    return Outcome(
        lines=lines,
        data={
            "lines": lines,
            "appName": report.app_name,
            "resourceGroup": report.resource_group,
            "subscriptionId": report.subscription_id,
            "endpointUrl": report.endpoint_url,
            "latestRevision": report.latest_revision,
            "provisioningState": report.provisioning_state,
            "endpointHealthy": report.endpoint_healthy,
            "endpointDetail": report.endpoint_detail,
            "summary": report.summary(),
            "portalUrl": report.portal_url,
            "revisions": [
                {
                    "name": r.name,
                    "active": r.active,
                    "runningState": r.running_state,
                    "healthState": r.health_state,
                    "replicas": r.replicas,
                    "trafficWeight": r.traffic_weight,
                    "reason": r.reason,
                }
                for r in report.revisions
            ],
        },
    )


OPERATIONS: dict[str, Operation] = {
    op.name: op
    for op in (
        Operation(
            "provision",
            "Provision",
            "Provisioning Azure Container Apps for inference",
            cancellable=True,
            exclusive=True,
            run=_provision,
        ),
        Operation(
            "deploy", "Deploy", "Deploying for inference", cancellable=True, exclusive=True, run=_deploy
        ),
        Operation(
            "status", "Status", "Checking inference status", cancellable=False, exclusive=False, run=_status
        ),
    )
}
