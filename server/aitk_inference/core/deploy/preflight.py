"""Before deploy uploads anything: cheap GETs that the subscription, resource group, storage
account, file share and container app named in ``infra/inference.config.json`` exist. A miss names
the key, the file, the value, where it was looked for, and the fix."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

from aitk_inference.core.azure.clients import (
    container_apps_client,
    resource_client,
    storage_client,
    subscription_client,
)
from aitk_inference.core.azure.errors import azure_call
from aitk_inference.core.config import CREATE_PROJECT_FILES, DeployTarget, ProjectPaths
from aitk_inference.core.errors import ConfigError
from aitk_inference.core.reporting import Progress

if TYPE_CHECKING:
    from azure.core.credentials_async import AsyncTokenCredential

    from aitk_inference.core.azure.cloud import Cloud


async def _exists(call: Awaitable[Any], action: str) -> bool:
    """False on a 404; any other failure is the usual plain-words Azure error."""
    from azure.core.exceptions import ResourceNotFoundError

    try:
        async with azure_call(action):
            await call
    except Exception as err:
        if isinstance(err.__cause__, ResourceNotFoundError):
            return False
        raise
    return True


class _Misses:
    """Builds the "not found" errors, all in the same words."""

    def __init__(self, paths: ProjectPaths, target: DeployTarget) -> None:
        self.paths = paths
        self.target = target
        self.file = str(paths.inference_config)

    def error(self, key: str, value: str, what: str, where: str, fix: str) -> ConfigError:
        return ConfigError(
            f"{key} in {self.file} is {value!r}, but no {what} of that name was found in {where}.",
            hint=fix,
            code="NotFoundInAzure",
        )

    def in_group(self) -> str:
        return f"resource group {self.target.resource_group} of subscription {self.target.subscription_id}"

    def provision_or(self, fix: str) -> str:
        """``fix``, plus the way to create the resources that fits the project."""
        if self.paths.has_template:
            return f"{fix}, or run Provision to create the resources."
        return f"{fix}, or run '{CREATE_PROJECT_FILES}' and then Provision to create the resources."


async def _group_elsewhere(
    credential: AsyncTokenCredential, cloud: Cloud, target: DeployTarget
) -> tuple[str, str] | None:
    """(subscription id, display name) of another subscription that has the resource group."""
    async with subscription_client(credential, cloud) as client, azure_call("listing subscriptions"):
        subscriptions = [s async for s in client.subscriptions.list()]
    for sub in subscriptions:
        sub_id = str(sub.subscription_id or "")
        if not sub_id or sub_id.lower() == target.subscription_id.lower():
            continue
        async with resource_client(credential, sub_id, cloud) as client:
            found = await _exists(
                client.resource_groups.get(target.resource_group),
                f"reading resource group {target.resource_group} in subscription {sub_id}",
            )
        if found:
            return sub_id, str(sub.display_name or sub_id)
    return None


async def check_deploy_target(
    credential: AsyncTokenCredential,
    cloud: Cloud,
    paths: ProjectPaths,
    target: DeployTarget,
    progress: Progress,
) -> None:
    """Raises ConfigError(code="NotFoundInAzure") for the first resource that is not there (each
    later one lives inside it, so the first miss is the one to fix). The GETs run concurrently:
    one round trip, not five."""
    miss = _Misses(paths, target)
    sub, group = target.subscription_id, target.resource_group
    account, share, app = target.storage_account, target.file_share, target.app_name
    async with (
        subscription_client(credential, cloud) as subs,
        resource_client(credential, sub, cloud) as resources,
        storage_client(credential, sub, cloud) as storage,
        container_apps_client(credential, sub, cloud) as apps,
    ):
        found = await asyncio.gather(
            _exists(subs.subscriptions.get(sub), f"reading subscription {sub}"),
            _exists(resources.resource_groups.get(group), f"reading resource group {group}"),
            _exists(
                storage.storage_accounts.get_properties(group, account), f"reading storage account {account}"
            ),
            _exists(
                storage.file_shares.get(group, account, share), f"reading file share {share} of {account}"
            ),
            _exists(apps.container_apps.get(group, app), f"reading container app {app}"),
            return_exceptions=True,
        )
    # In containment order: a missing subscription explains every later miss.
    for index, result in enumerate(found):
        if isinstance(result, BaseException):
            raise result
        if not result:
            await _raise_miss(index, credential, cloud, miss)
    progress.log(f"Found {group}, {account}/{share} and {app} in subscription {sub}.", "debug")


async def _raise_miss(index: int, credential: AsyncTokenCredential, cloud: Cloud, miss: _Misses) -> None:
    target = miss.target
    sub, group = target.subscription_id, target.resource_group
    if index == 0:
        raise miss.error(
            "SUBSCRIPTION_ID",
            sub,
            "subscription",
            "the subscriptions your account can see",
            "Set SUBSCRIPTION_ID to a subscription you can use (`az account list` shows them), "
            "or sign in with the account that has access to it.",
        )
    if index == 1:
        elsewhere = await _group_elsewhere(credential, cloud, target)
        if elsewhere is not None:
            other, name = elsewhere
            raise ConfigError(
                f"RESOURCE_GROUP_NAME in {miss.file} is {group!r}, which is not in subscription {sub} "
                f"(SUBSCRIPTION_ID) but in subscription {other} ({name}).",
                hint=f"Set SUBSCRIPTION_ID to {other} in {miss.paths.inference_config.name}.",
                code="WrongSubscription",
            )
        raise miss.error(
            "RESOURCE_GROUP_NAME",
            group,
            "resource group",
            f"subscription {sub}",
            miss.provision_or("Correct RESOURCE_GROUP_NAME (or SUBSCRIPTION_ID)"),
        )
    if index == 2:
        raise miss.error(
            "STORAGE_ACCOUNT_NAME",
            target.storage_account,
            "storage account",
            miss.in_group(),
            miss.provision_or("Correct STORAGE_ACCOUNT_NAME (the account must be in that resource group)"),
        )
    if index == 3:
        raise miss.error(
            "FILE_SHARE_NAME",
            target.file_share,
            "file share",
            f"storage account {target.storage_account} ({miss.in_group()})",
            miss.provision_or("Correct FILE_SHARE_NAME"),
        )
    raise miss.error(
        "ACA_APP_NAME",
        target.app_name,
        "container app",
        miss.in_group(),
        miss.provision_or("Correct ACA_APP_NAME (the app must be in that resource group)"),
    )
