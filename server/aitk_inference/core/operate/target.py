"""What every operate command starts from: the configured app, read from Azure, and portal links."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aitk_inference.core.azure.errors import azure_call
from aitk_inference.core.deploy.readiness import enum_text

if TYPE_CHECKING:
    from azure.mgmt.appcontainers.aio import ContainerAppsAPIClient


def running_status(app: Any) -> str | None:
    """The app's ``runningStatus`` (Running, Stopped, Progressing, …), or None when Azure gives none."""
    props = getattr(app, "properties", None)
    return (enum_text(props.running_status) or None) if props is not None else None


def is_stopped(app: Any) -> bool:
    return (running_status(app) or "").lower() == "stopped"


async def read_app(client: ContainerAppsAPIClient, resource_group: str, app_name: str) -> Any:
    async with azure_call(f"reading container app {app_name}"):
        return await client.container_apps.get(resource_group, app_name)
