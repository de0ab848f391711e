"""Stop and start the app with Container Apps' own ``stop`` / ``start`` actions.

The pinned API version (azure-mgmt-appcontainers 5.1.0, api-version 2026-07-01) has both
(``POST …/containerApps/{name}/stop|start``, long-running). A stopped app runs no replica, so a
GPU bills nothing, and keeps its configuration, revisions and FQDN; ``start`` brings the active
revision back. Setting min replicas to 0 would only scale to zero once idle (and a request wakes
it), and deactivating revisions loses which one was serving, so the actions are used instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from azure.core.credentials_async import AsyncTokenCredential

from aitk_inference.core.azure.clients import container_apps_client
from aitk_inference.core.azure.cloud import Cloud
from aitk_inference.core.azure.errors import azure_call
from aitk_inference.core.azure.portal import resource_link
from aitk_inference.core.config import check_project, require_deploy_target
from aitk_inference.core.operate.target import read_app, running_status
from aitk_inference.core.reporting import CancellationToken, Progress


@dataclass(frozen=True)
class LifecycleResult:
    app_name: str
    action: str  # "stop" | "start"
    running_status: str | None  # after the action
    changed: bool  # False when it already was in that state
    portal_url: str


async def set_running(
    project: Path,
    credential: AsyncTokenCredential,
    *,
    cloud: Cloud,
    progress: Progress,
    cancel: CancellationToken,
    start: bool,
) -> LifecycleResult:
    target = require_deploy_target(check_project(project))
    action = "start" if start else "stop"
    wanted = "running" if start else "stopped"
    async with container_apps_client(credential, target.subscription_id, cloud) as client:
        progress.report(f"Reading container app {target.app_name}", 5)
        app = await read_app(client, target.resource_group, target.app_name)
        link = await resource_link(cloud, str(app.id))
        progress.log(f"Container app {target.app_name} in the Azure portal: {link}")
        before = running_status(app)
        if (before or "").lower() == wanted:
            progress.log(f"Container app {target.app_name} is already {before}.")
            return LifecycleResult(target.app_name, action, before, False, link)
        cancel.raise_if_cancelled()
        verb = "Starting" if start else "Stopping"
        progress.report(f"{verb} container app {target.app_name}", 20)
        async with azure_call(f"{verb.lower()} container app {target.app_name}"):
            operations = client.container_apps
            poller = await (
                operations.begin_start(target.resource_group, target.app_name)
                if start
                else operations.begin_stop(target.resource_group, target.app_name)
            )
            await poller.result()
        app = await read_app(client, target.resource_group, target.app_name)
    after = running_status(app)
    progress.log(f"Container app {target.app_name}: {before or 'unknown'} → {after or 'unknown'}.")
    progress.report(f"{'Start' if start else 'Stop'} done", 100)
    return LifecycleResult(target.app_name, action, after, True, link)
