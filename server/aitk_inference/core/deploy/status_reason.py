"""Why a revision is Failed or Unhealthy, in Container Apps' own words: the revision's
``provisioningError`` and its replicas' (and their containers') ``runningStateDetails``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aitk_inference.core.azure.errors import azure_call

if TYPE_CHECKING:
    from azure.mgmt.appcontainers.aio import ContainerAppsAPIClient

# Details that only restate the state: no reason in them.
_UNINFORMATIVE = {"", "running", "activating", "starting", "notrunning", "waiting", "ready"}


def _add(found: list[str], text: Any) -> None:
    value = str(text or "").strip()
    if value.lower().rstrip(".") not in _UNINFORMATIVE and value not in found:
        found.append(value)


async def revision_reason(
    client: ContainerAppsAPIClient, resource_group: str, app_name: str, revision: Any
) -> str | None:
    """The reasons Container Apps gives for ``revision`` (an SDK Revision), joined; None if it gives none."""
    found: list[str] = []
    props = revision.properties
    _add(found, getattr(props, "provisioning_error", None))
    async with azure_call(f"listing the replicas of revision {revision.name}"):
        replicas = await client.container_apps_revision_replicas.list_replicas(
            resource_group, app_name, str(revision.name)
        )
    for replica in replicas.value or []:
        rprops = replica.properties
        _add(found, getattr(rprops, "running_state_details", None))
        for container in getattr(rprops, "containers", None) or []:
            _add(found, getattr(container, "running_state_details", None))
    return "; ".join(found) or None
