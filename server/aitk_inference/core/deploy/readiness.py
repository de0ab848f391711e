"""Waiting until a restarted app serves the new code: revision state, then a replica created by the
restart (see :mod:`replicas`: the old one keeps answering until then), then the HTTPS endpoint."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aitk_inference.core.azure.errors import azure_call
from aitk_inference.core.azure.tls import ssl_context  # the same trust as the Azure clients
from aitk_inference.core.deploy.replicas import list_replicas, replacement
from aitk_inference.core.errors import AitkError, AzureOperationError
from aitk_inference.core.reporting import CancellationToken, Progress

if TYPE_CHECKING:
    from azure.mgmt.appcontainers.aio import ContainerAppsAPIClient

# Still coming up: keep waiting. Anything else but "Failed" lets us try the endpoint (a scaled-to-zero
# revision wakes up on the first request).
_STARTING = {"activating", "provisioning", "processing", "unknown", ""}
_FAILED = {"failed"}


@dataclass
class RevisionState:
    name: str
    running_state: str
    health_state: str
    replicas: int
    provisioning_error: str | None

    def describe(self) -> str:
        text = f"revision {self.name} is {self.running_state or 'in an unknown state'}"
        health = self.health_state if self.health_state not in ("", "None") else "not reported yet"
        text += f" (health: {health}, replicas: {self.replicas})"
        if self.provisioning_error:
            text += f", error: {self.provisioning_error}"
        return text


def enum_text(value: Any) -> str:
    """SDK enums print as ``RevisionRunningState.RUNNING``; users need the wire value ``Running``."""
    if value is None:
        return ""
    return str(getattr(value, "value", value))


def _state(revision: Any) -> RevisionState:
    props = revision.properties
    return RevisionState(
        name=str(revision.name),
        running_state=enum_text(getattr(props, "running_state", None)),
        health_state=enum_text(getattr(props, "health_state", None)),
        replicas=int(getattr(props, "replicas", 0) or 0),
        provisioning_error=getattr(props, "provisioning_error", None),
    )


async def probe_endpoint(
    url: str, health_path: str = "/health", request_seconds: float = 10.0
) -> tuple[bool, str]:
    """(answers?, what it said). A 404 on the health path counts when ``/`` answers 2xx (an app
    without a health route)."""
    import aiohttp

    client_timeout = aiohttp.ClientTimeout(total=request_seconds)
    try:
        async with aiohttp.ClientSession(timeout=client_timeout, trust_env=True) as session:
            async with session.get(url + health_path, ssl=ssl_context(), allow_redirects=True) as resp:
                status = resp.status
            if status == 404 and health_path != "/":
                async with session.get(url + "/", ssl=ssl_context()) as resp:
                    status = resp.status
    except (aiohttp.ClientError, OSError, TimeoutError) as err:
        return False, f"no answer ({type(err).__name__}: {err})" if str(
            err
        ) else f"no answer ({type(err).__name__})"
    return 200 <= status < 300, f"HTTP {status}"


async def wait_until_ready(
    client: ContainerAppsAPIClient,
    resource_group: str,
    app: str,
    revisions: list[str],
    endpoint_url: str,
    *,
    ready_within: float,
    progress: Progress,
    cancel: CancellationToken,
    poll_seconds: float = 3.0,
    health_path: str = "/health",
    replicas_before: dict[str, set[str]] | None = None,
) -> None:
    """``replicas_before``: each restarted revision's replica names before the restart. With it,
    a revision counts only once a replica the restart created is ready and none from before still
    runs, so the endpoint's answer comes from the new code."""
    started = time.monotonic()
    timeout = ready_within
    deadline = started + timeout
    states: dict[str, RevisionState] = {}
    replaced: dict[str, str] = {}  # revision -> where its replacement stands, for people
    endpoint_said = "not checked yet"

    def pct() -> float:
        return min(99.0, 100.0 * (time.monotonic() - started) / max(timeout, 0.001))

    async def pause() -> None:
        cancel.raise_if_cancelled()
        waiter = asyncio.ensure_future(cancel.wait())
        try:
            await asyncio.wait({waiter}, timeout=max(0.0, min(poll_seconds, deadline - time.monotonic())))
        finally:
            waiter.cancel()
        cancel.raise_if_cancelled()

    # 1. The restarted revisions leave Activating.
    pending = list(revisions)
    while pending:
        for name in list(pending):
            async with azure_call(f"reading revision {name}"):
                revision = await client.container_apps_revisions.get_revision(resource_group, app, name)
            state = _state(revision)
            if states.get(name) != state:
                progress.log(
                    f"Revision {name}: {state.running_state or 'unknown'} ({state.replicas} replicas)"
                )
            states[name] = state
            if state.running_state.lower() in _FAILED:
                raise AzureOperationError(
                    f"The app did not start: {state.describe()}.",
                    hint=_logs_hint(resource_group, app, name),
                    code="RevisionFailed",
                )
            if state.running_state.lower() in _STARTING:
                continue
            if replicas_before is None:
                pending.remove(name)
                continue
            before = replicas_before.get(name, set())
            now = await list_replicas(client, resource_group, app, name)
            step = replacement(before, now)
            if replaced.get(name) != step.describe():
                replaced[name] = step.describe()
                progress.log(f"Revision {name}: {replaced[name]}")
            # No replica at all (scaled to zero): the old ones are gone, and the replica the first
            # request starts is necessarily new.
            if step.done or not now:
                pending.remove(name)
        if not pending:
            break
        if time.monotonic() >= deadline:
            raise _timeout_error(timeout, states, endpoint_said, resource_group, app, replaced)
        waiting_for = pending[0]
        if waiting_for in replaced:
            progress.report(f"Waiting for a new replica of {waiting_for}: {replaced[waiting_for]}", pct())
        else:
            progress.report(f"Waiting for the revision to start: {states[waiting_for].describe()}", pct())
        await pause()

    # 2. The endpoint answers.
    while True:
        ok, endpoint_said = await probe_endpoint(endpoint_url, health_path)
        if ok:
            progress.log(f"{endpoint_url} answers ({endpoint_said}).")
            return
        if time.monotonic() >= deadline:
            for name in revisions:  # the freshest state for the report
                async with azure_call(f"reading revision {name}"):
                    states[name] = _state(
                        await client.container_apps_revisions.get_revision(resource_group, app, name)
                    )
            raise _timeout_error(timeout, states, endpoint_said, resource_group, app, replaced)
        progress.report(f"Waiting for {endpoint_url} to answer (last: {endpoint_said})", pct())
        await pause()


def _logs_hint(resource_group: str, app: str, revision: str) -> str:
    return (
        "The container may be failing its startup probe (e.g. start.sh fails, or loading the model takes "
        "longer than the probe allows). Look at its logs: AI Toolkit: Stream Inference Logs, "
        "`aitk-inference logs --follow` (add --system for Container Apps' own events) or "
        f"`az containerapp logs show -g {resource_group} -n {app} --revision {revision} --follow`; "
        "fix the cause, then deploy again."
    )


def _timeout_error(
    timeout: float,
    states: dict[str, RevisionState],
    endpoint_said: str,
    resource_group: str,
    app: str,
    replaced: dict[str, str] | None = None,
) -> AitkError:
    described = "; ".join(
        s.describe() + (f", {replaced[n]}" if replaced and n in replaced else "") for n, s in states.items()
    )
    described = described or "no revision state was read"
    first = next(iter(states), "<revision>")
    return AitkError(
        f"The app did not become ready within {timeout:g} seconds: {described}. Endpoint: {endpoint_said}.",
        hint=_logs_hint(resource_group, app, first),
        code="ReadinessTimeout",
    )
