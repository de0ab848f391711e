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
from dataclasses import dataclass, field
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
    # Deploy: replace files on the share that this tool did not write. None: ask the prompter.
    take_over: bool | None = None
    lock_wait: float | None = None  # deploy: seconds to wait for another deploy to the same share
    api_key: str | None = field(default=None, repr=False)  # a key the user supplied (provision, api-key)
    rotate: bool = False  # api-key: set a new key
    assume_yes: bool = False  # down: skip typing the app name
    # logs: where each log line goes (stdout, an output channel); follow until cancelled
    emit: Callable[[str], None] | None = None
    follow: bool = False
    tail: int | None = None
    system: bool = False
    # down: what to delete besides the app (see core.operate.teardown)
    delete: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    lines: list[str]  # for a person, in order; never a secret
    data: dict[str, Any]  # JSON-ready (camelCase keys); never a secret
    # A secret the person asked for (the API key): the CLI prints it alone on stdout, the LSP server
    # returns it to the extension only; neither logs it.
    secret: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Operation:
    name: str
    noun: str  # "Deploy": starts "Deploy failed: …", "Deploy cancelled."
    title: str  # the progress title: "Deploying for inference"
    cancellable: bool
    exclusive: bool  # one at a time per project folder (it writes there or to Azure)
    run: Callable[[OperationInput], Awaitable[Outcome]]


async def _provision(inp: OperationInput) -> Outcome:
    from aitk_inference.core.azure.portal import app_link
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
        api_key=inp.api_key,
    )
    return Outcome(
        lines=[
            f"Provisioning done: wrote {inp.project / 'infra' / INFERENCE_CONFIG}.",
            f"Inference endpoint: https://{config.get('ACA_APP_ENDPOINT')}",
            f"Container app {config.get('ACA_APP_NAME')} in the Azure portal: "
            + await app_link(
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
    if inp.lock_wait is not None:
        options["lock_wait"] = inp.lock_wait
    result = await deploy(
        inp.project,
        inp.credential,
        cloud=inp.cloud,
        progress=inp.progress,
        cancel=inp.cancel,
        prompter=inp.prompter,
        take_over=inp.take_over,
        **options,
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
            "runningStatus": report.running_status,
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


async def _logs(inp: OperationInput) -> Outcome:
    from aitk_inference.core.operate.logs import stream_logs

    result = await stream_logs(
        inp.project,
        inp.credential,
        cloud=inp.cloud,
        progress=inp.progress,
        cancel=inp.cancel,
        emit=inp.emit or (lambda line: inp.progress.log(line)),
        follow=inp.follow,
        tail=inp.tail,
        system=inp.system,
    )
    return Outcome(
        lines=[f"Log stream ended: {result.lines} line(s) from the {result.source}."],
        data={
            "appName": result.app_name,
            "kind": result.kind,
            "source": result.source,
            "lines": result.lines,
            "connections": result.connections,
            "portalUrl": result.portal_url,
        },
    )


async def _set_running(inp: OperationInput, start: bool) -> Outcome:
    from aitk_inference.core.operate.lifecycle import set_running

    result = await set_running(
        inp.project, inp.credential, cloud=inp.cloud, progress=inp.progress, cancel=inp.cancel, start=start
    )
    state = result.running_status or "unknown"
    if not result.changed:
        line = f"Container app {result.app_name} was already {state}; nothing changed."
    else:
        line = f"Container app {result.app_name} is {state}."
    return Outcome(
        lines=[line, f"Azure portal: {result.portal_url}"],
        data={
            "appName": result.app_name,
            "action": result.action,
            "runningStatus": result.running_status,
            "changed": result.changed,
            "portalUrl": result.portal_url,
        },
    )


async def _stop(inp: OperationInput) -> Outcome:
    return await _set_running(inp, start=False)


async def _start(inp: OperationInput) -> Outcome:
    return await _set_running(inp, start=True)


async def _down(inp: OperationInput) -> Outcome:
    from aitk_inference.core.operate.teardown import TeardownOptions, tear_down

    result = await tear_down(
        inp.project,
        inp.credential,
        cloud=inp.cloud,
        progress=inp.progress,
        prompter=inp.prompter,
        cancel=inp.cancel,
        options=TeardownOptions(**inp.delete),
        assume_yes=inp.assume_yes,
    )
    lines = [f"Deleted {d.kind} {d.name}." for d in result.deleted]
    lines += [f"Kept {k}." for k in result.kept]
    if result.removed_keys:
        lines.append(f"Removed {', '.join(result.removed_keys)} from infra/{INFERENCE_CONFIG}.")
    return Outcome(
        lines=lines,
        data={
            "deleted": [
                {"kind": d.kind, "name": d.name, "id": d.resource_id, "portalUrl": result.links.get(d.name)}
                for d in result.deleted
            ],
            "kept": result.kept,
            "removedKeys": result.removed_keys,
        },
    )


async def _api_key(inp: OperationInput) -> Outcome:
    from aitk_inference.core.deploy.api_key import api_key

    key = await api_key(
        inp.project,
        inp.credential,
        cloud=inp.cloud,
        progress=inp.progress,
        prompter=inp.prompter,
        rotate=inp.rotate,
        new_value=inp.api_key,
    )
    where = f"container app {key.app_name} (secret '{key.secret_name}')"
    lines = [f"Set a new API key on {where}." if key.rotated else f"Read the API key of {where}."]
    if key.rotated:
        restarted = ", ".join(key.revisions_restarted) or "none"
        lines.append(f"Revision(s) restarted to read it: {restarted}.")
    return Outcome(
        lines=lines,
        data={
            "appName": key.app_name,
            "resourceGroup": key.resource_group,
            "subscriptionId": key.subscription_id,
            "secretName": key.secret_name,
            "rotated": key.rotated,
            "revisionsRestarted": list(key.revisions_restarted),
        },
        secret=key.value,
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
        Operation("logs", "Logs", "Streaming inference logs", cancellable=True, exclusive=False, run=_logs),
        Operation("stop", "Stop", "Stopping the inference app", cancellable=True, exclusive=True, run=_stop),
        Operation(
            "start", "Start", "Starting the inference app", cancellable=True, exclusive=True, run=_start
        ),
        Operation(
            "down", "Tear down", "Tearing down the inference app", cancellable=True, exclusive=True, run=_down
        ),
        # Exclusive: a rotation restarts revisions, which must not cross a deploy's restart.
        Operation(
            "api-key",
            "API key",
            "Reading the endpoint's API key",
            cancellable=False,
            exclusive=True,
            run=_api_key,
        ),
    )
}
