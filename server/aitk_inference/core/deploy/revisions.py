"""Restarting a Container App's active revisions (so replicas re-read the share)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aitk_inference.core.azure.errors import azure_call
from aitk_inference.core.errors import AitkError
from aitk_inference.core.reporting import Progress

if TYPE_CHECKING:
    from azure.mgmt.appcontainers.aio import ContainerAppsAPIClient


async def active_revisions(client: ContainerAppsAPIClient, resource_group: str, app: str) -> list[Any]:
    async with azure_call(f"listing the revisions of container app {app}"):
        revisions = [r async for r in client.container_apps_revisions.list_revisions(resource_group, app)]
    return [r for r in revisions if r.properties is not None and r.properties.active]


async def restart_active_revisions(
    client: ContainerAppsAPIClient, resource_group: str, app: str, *, progress: Progress
) -> list[str]:
    """Restarts every active revision; returns their names."""
    revisions = await active_revisions(client, resource_group, app)
    if not revisions:
        raise AitkError(
            f"Container app {app} has no active revision to restart.",
            hint=f"Activate one in the Azure portal (or `az containerapp revision activate -g {resource_group} -n {app}`), or run Provision again.",
        )
    names: list[str] = []
    for revision in revisions:
        name = str(revision.name)
        async with azure_call(f"restarting revision {name}"):
            await client.container_apps_revisions.restart_revision(resource_group, app, name)
        progress.log(f"Restarted revision {name}.")
        names.append(name)
    return names
