"""Live logs of the app, fetched the way ``az containerapp logs show`` and the Container Apps
extension do: a token from the app's ``getAuthtoken`` action, then a streaming GET on the replica
container's ``logStreamEndpoint`` (console log) or the app's ``eventStreamEndpoint`` (system log)
with ``follow``, ``tailLines`` and ``output=text``.

Azure closes a followed stream after a while; the stream is then reopened (fresh token, the
replica found again) until the user stops it. The reopened stream asks for the most history the
API gives, so lines printed while reconnecting are not lost, and skips the lines already shown
(each line starts with its own timestamp, so a line seen again is the same line).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from azure.core.credentials_async import AsyncTokenCredential

from aitk_inference.core.azure.clients import container_apps_client
from aitk_inference.core.azure.cloud import Cloud
from aitk_inference.core.azure.errors import azure_call
from aitk_inference.core.azure.portal import resource_link
from aitk_inference.core.azure.tls import ssl_context
from aitk_inference.core.config import DeployTarget, check_project, require_deploy_target
from aitk_inference.core.errors import AitkError
from aitk_inference.core.operate.target import is_stopped, read_app
from aitk_inference.core.reporting import CancellationToken, Progress

if TYPE_CHECKING:
    from azure.mgmt.appcontainers.aio import ContainerAppsAPIClient

MAX_TAIL = 300  # what the log stream API accepts (az containerapp logs show checks the same bound)
DEFAULT_TAIL = 20
RECONNECT_PAUSE_SECONDS = 1.0
# A stream that closes this many times in a row without a single line is not coming back.
MAX_EMPTY_RECONNECTS = 30


@dataclass(frozen=True)
class LogSource:
    url: str
    description: str  # "console log of replica X (revision Y, container Z)" / "system log of app X"


@dataclass(frozen=True)
class LogsResult:
    app_name: str
    kind: str  # "console" | "system"
    source: str
    lines: int
    connections: int
    portal_url: str


def check_tail(tail: int | None) -> int:
    if tail is None:
        return DEFAULT_TAIL
    if tail < 0 or tail > MAX_TAIL:
        raise AitkError(f"--tail must be between 0 and {MAX_TAIL}, not {tail}.")
    return tail


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # sorts replicas without a creation time last


async def console_source(client: ContainerAppsAPIClient, target: DeployTarget, app: Any) -> LogSource:
    """The first container of the newest replica of the latest active revision (after a restart the
    replica it replaces may still be listed until the new one is ready: its log is the old code's)."""
    if is_stopped(app):
        raise AitkError(
            f"Container app {target.app_name} is stopped: it has no replica to stream logs from.",
            hint="Start it (AI Toolkit: Start Inference App, or `aitk-inference start`), or stream the system log.",
            code="AppStopped",
        )
    props = app.properties
    latest = props.latest_revision_name if props else None
    async with azure_call(f"listing the revisions of container app {target.app_name}"):
        revisions = [
            r
            async for r in client.container_apps_revisions.list_revisions(
                target.resource_group, target.app_name
            )
        ]
    active = [r for r in revisions if r.properties is not None and r.properties.active]
    active.sort(key=lambda r: r.name != latest)  # the latest revision first
    for revision in active:
        name = str(revision.name)
        async with azure_call(f"listing the replicas of revision {name}"):
            replicas = await client.container_apps_revision_replicas.list_replicas(
                target.resource_group, target.app_name, name
            )
        newest_first = sorted(
            replicas.value or [],
            key=lambda r: (r.properties.created_time if r.properties else None) or _EPOCH,
            reverse=True,
        )
        for replica in newest_first:
            for container in (replica.properties.containers if replica.properties else None) or []:
                if container.log_stream_endpoint:
                    return LogSource(
                        container.log_stream_endpoint,
                        f"console log of replica {replica.name} (revision {name}, container {container.name})",
                    )
    raise AitkError(
        f"Container app {target.app_name} has no running replica to stream logs from "
        "(it may have scaled to zero, or its revision is not active).",
        hint="Send it a request (or deploy) to start a replica, then stream again; the system log "
        "(--system, or Stream Inference System Logs) shows why replicas do not start.",
        code="NoReplica",
    )


def system_source(target: DeployTarget, app: Any) -> LogSource:
    url = app.properties.event_stream_endpoint if app.properties else None
    if not url:
        raise AitkError(f"Container app {target.app_name} has no system log stream (eventStreamEndpoint).")
    return LogSource(url, f"system log of container app {target.app_name}")


async def _auth_token(client: ContainerAppsAPIClient, target: DeployTarget) -> str:
    async with azure_call(f"getting a log stream token for container app {target.app_name}"):
        answer = await client.container_apps.get_auth_token(target.resource_group, target.app_name)
    token = answer.properties.token if answer.properties else None
    if not token:
        raise AitkError(f"Azure returned no log stream token for container app {target.app_name}.")
    return token


async def _read_stream(
    url: str, token: str, *, follow: bool, tail: int, emit: Callable[[str], bool], cancel: CancellationToken
) -> int:
    """One connection: emits each line until the server ends the stream or the user cancels;
    returns how many lines ``emit`` took as new."""
    import aiohttp

    params = {"follow": "true" if follow else "false", "tailLines": str(tail), "output": "text"}
    headers = {"Authorization": f"Bearer {token}"}
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=30)
    count = 0
    async with aiohttp.ClientSession(timeout=timeout, trust_env=True) as session:
        try:
            response = await session.get(url, params=params, headers=headers, ssl=ssl_context())
        except (aiohttp.ClientError, OSError) as err:
            raise AitkError(
                f"Could not connect to the log stream ({type(err).__name__}: {err}).",
                hint="Check the network connection (and proxy settings), then try again.",
            ) from None
        async with response:
            if response.status in (401, 403):
                raise AitkError(
                    f"The log stream refused the app's token (HTTP {response.status}).",
                    hint="Check that your account may read this container app (Contributor or Reader on it), then try again.",
                    code="LogStreamUnauthorized",
                )
            if response.status != 200:
                text = (await response.text(errors="replace"))[:300].strip()
                raise AitkError(f"The log stream answered HTTP {response.status}: {text or response.reason}.")
            while True:
                read = asyncio.ensure_future(response.content.readline())
                stopped = asyncio.ensure_future(cancel.wait())
                done, _ = await asyncio.wait({read, stopped}, return_when=asyncio.FIRST_COMPLETED)
                if read not in done:
                    read.cancel()
                    with contextlib.suppress(asyncio.CancelledError, aiohttp.ClientError):
                        await read
                    return count
                stopped.cancel()
                try:
                    raw = read.result()
                except (aiohttp.ClientError, OSError):
                    return count  # the server cut the stream: the caller reconnects if following
                if not raw:
                    return count
                if emit(raw.decode("utf-8", errors="replace").rstrip("\r\n")):
                    count += 1


async def stream_logs(
    project: Path,
    credential: AsyncTokenCredential,
    *,
    cloud: Cloud,
    progress: Progress,
    cancel: CancellationToken,
    emit: Callable[[str], None],
    follow: bool = False,
    tail: int | None = None,
    system: bool = False,
) -> LogsResult:
    """Emits the log's lines; with ``follow`` it runs until ``cancel`` (reconnecting as needed)."""
    lines_wanted = check_tail(tail)
    target = require_deploy_target(check_project(project))
    kind = "system" if system else "console"
    total = connections = empty = 0
    source: LogSource | None = None
    shown: deque[str] = deque(maxlen=4 * MAX_TAIL)  # the last lines shown, to skip them when replayed
    shown_set: set[str] = set()

    def emit_new(line: str) -> bool:
        if line in shown_set:
            return False
        if len(shown) == shown.maxlen:
            shown_set.discard(shown[0])
        shown.append(line)
        shown_set.add(line)
        emit(line)
        return True

    async with container_apps_client(credential, target.subscription_id, cloud) as client:
        app = await read_app(client, target.resource_group, target.app_name)
        link = await resource_link(cloud, str(app.id))
        progress.log(f"Container app {target.app_name} in the Azure portal: {link}")
        while True:
            try:
                source = system_source(target, app) if system else await console_source(client, target, app)
            except AitkError as err:
                # Mid-follow, a restart (a deploy) replaces the replica: wait for the new one.
                if not (follow and connections and err.code == "NoReplica"):
                    raise
                empty += 1
                if empty >= MAX_EMPTY_RECONNECTS:
                    raise
                progress.report("Waiting for a replica of the app to stream from")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(cancel.wait(), RECONNECT_PAUSE_SECONDS)
                if cancel.cancelled:
                    break
                app = await read_app(client, target.resource_group, target.app_name)
                continue
            token = await _auth_token(client, target)
            if connections == 0:
                progress.log(
                    f"Streaming the {source.description}{' (Ctrl-C / Cancel stops)' if follow else ''}."
                )
            progress.report(f"Streaming the {source.description}")
            connections += 1
            got = await _read_stream(
                source.url,
                token,
                follow=follow,
                tail=lines_wanted if connections == 1 else MAX_TAIL,
                emit=emit_new,
                cancel=cancel,
            )
            total += got
            empty = 0 if got else empty + 1
            if not follow or cancel.cancelled:
                break
            if empty >= MAX_EMPTY_RECONNECTS:
                raise AitkError(
                    f"The log stream of container app {target.app_name} kept closing without any output.",
                    hint="Check the app in the Azure portal, then try again.",
                )
            progress.log("The log stream closed; reconnecting…", "debug")
            if empty:  # a stream that closes at once: do not hammer the service
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(cancel.wait(), RECONNECT_PAUSE_SECONDS)
            if cancel.cancelled:
                break
            app = await read_app(client, target.resource_group, target.app_name)
    return LogsResult(
        app_name=target.app_name,
        kind=kind,
        source=source.description if source else "no replica",
        lines=total,
        connections=connections,
        portal_url=link,
    )
