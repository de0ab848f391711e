"""Links to the Azure portal: the page of a resource, in the cloud the user works in.

The portal's URL is not in the Azure SDK's cloud definitions; it comes from the cloud's metadata
document (read once per process, see ``cloud_metadata.portal_url``). When it cannot be read, a
link falls back to the resource's ARM id, which the portal's search also finds.
"""

from __future__ import annotations

from urllib.parse import quote

from aitk_inference.core.azure.cloud import Cloud


def app_resource_id(subscription_id: str, resource_group: str, app_name: str) -> str:
    return (
        f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}"
        f"/providers/Microsoft.App/containerApps/{app_name}"
    )


async def resource_link(cloud: Cloud, resource_id: str) -> str:
    """The resource's page in the portal (``#@/resource`` + its ARM id), else its ARM id."""
    from aitk_inference.core.azure.cloud_metadata import portal_url

    portal = await portal_url(cloud)
    if not portal:
        return resource_id
    return f"{portal}/#@/resource{quote(resource_id, safe='/')}"


async def app_link(cloud: Cloud, subscription_id: str, resource_group: str, app_name: str) -> str:
    return await resource_link(cloud, app_resource_id(subscription_id, resource_group, app_name))
