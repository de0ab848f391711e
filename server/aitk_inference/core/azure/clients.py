"""Azure SDK client factories: the cloud's ARM endpoint and token scope, the subscription's
tenant for its tokens, the user's CA bundle, and retry settings for transient failures (429/5xx/dropped connections, honouring Retry-After)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aitk_inference.core.azure.cloud import Cloud
from aitk_inference.core.azure.tenants import TenantCredential

if TYPE_CHECKING:
    from azure.core.credentials_async import AsyncTokenCredential
    from azure.mgmt.appcontainers.aio import ContainerAppsAPIClient
    from azure.mgmt.resource.deployments.aio import DeploymentsMgmtClient
    from azure.mgmt.resource.resources.aio import ResourceManagementClient
    from azure.mgmt.resource.subscriptions.aio import SubscriptionClient
    from azure.mgmt.storage.aio import StorageManagementClient

# azure-core's RetryPolicy retries 408/429/500/502/503/504 and connection errors, and waits what
# Retry-After says; these bound the total wait to a couple of minutes rather than the default ten tries.
RETRY_SETTINGS: dict[str, Any] = {
    "retry_total": 6,
    "retry_backoff_factor": 0.8,
    "retry_backoff_max": 30,
}


def _mgmt_kwargs(cloud: Cloud) -> dict[str, Any]:
    # Imported here: azure-core and aiohttp stay off the LSP server's start-up path.
    from aitk_inference.core.azure.transport import PooledAioHttpTransport

    return {
        "base_url": cloud.arm_endpoint,
        "credential_scopes": [cloud.arm_scope],
        "transport": PooledAioHttpTransport(),
        **RETRY_SETTINGS,
    }


def _for_subscription(
    credential: AsyncTokenCredential, subscription_id: str, cloud: Cloud
) -> TenantCredential:
    return TenantCredential(credential, cloud=cloud, subscription_id=subscription_id)


def subscription_client(
    credential: AsyncTokenCredential,
    cloud: Cloud,
    *,
    tenant_id: str | None = None,
    subscription_id: str | None = None,
) -> SubscriptionClient:
    """Tokens for ``tenant_id`` (listing its subscriptions), for ``subscription_id``'s tenant
    (its locations), else for the credential's default tenant (listing tenants)."""
    from azure.mgmt.resource.subscriptions.aio import SubscriptionClient

    cred: AsyncTokenCredential | TenantCredential = credential
    if tenant_id is not None:
        cred = TenantCredential(credential, tenant_id=tenant_id)
    elif subscription_id is not None:
        cred = _for_subscription(credential, subscription_id, cloud)
    return SubscriptionClient(cred, **_mgmt_kwargs(cloud))


def resource_client(
    credential: AsyncTokenCredential, subscription_id: str, cloud: Cloud
) -> ResourceManagementClient:
    from azure.mgmt.resource.resources.aio import ResourceManagementClient

    return ResourceManagementClient(
        _for_subscription(credential, subscription_id, cloud), subscription_id, **_mgmt_kwargs(cloud)
    )


def deployments_client(
    credential: AsyncTokenCredential, subscription_id: str, cloud: Cloud
) -> DeploymentsMgmtClient:
    from azure.mgmt.resource.deployments.aio import DeploymentsMgmtClient

    return DeploymentsMgmtClient(
        _for_subscription(credential, subscription_id, cloud), subscription_id, **_mgmt_kwargs(cloud)
    )


def container_apps_client(
    credential: AsyncTokenCredential, subscription_id: str, cloud: Cloud
) -> ContainerAppsAPIClient:
    from azure.mgmt.appcontainers.aio import ContainerAppsAPIClient

    return ContainerAppsAPIClient(
        _for_subscription(credential, subscription_id, cloud), subscription_id, **_mgmt_kwargs(cloud)
    )


def storage_client(
    credential: AsyncTokenCredential, subscription_id: str, cloud: Cloud
) -> StorageManagementClient:
    from azure.mgmt.storage.aio import StorageManagementClient

    return StorageManagementClient(
        _for_subscription(credential, subscription_id, cloud), subscription_id, **_mgmt_kwargs(cloud)
    )


def default_credential(cloud: Cloud | None = None) -> AsyncTokenCredential:
    """``DefaultAzureCredential`` (honours AZURE_TOKEN_CREDENTIALS, e.g. ``AzureCliCredential``),
    signing in at the cloud's authority unless AZURE_AUTHORITY_HOST names one."""
    import os

    from azure.identity.aio import DefaultAzureCredential

    if cloud is not None and cloud.authority_host and not os.environ.get("AZURE_AUTHORITY_HOST"):
        return DefaultAzureCredential(authority=cloud.authority_host)
    return DefaultAzureCredential()
