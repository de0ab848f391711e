"""Tear down: delete the container app (and, when asked, its environment and that environment's Log
Analytics workspace), after listing exactly what goes and having the user type the app's name.

The storage account and the file share hold the fine-tuning outputs: they are deleted only when
the user names them (and the name matches ``infra/inference.config.json``). Each delete is waited
for (long-running operations); only the config keys of what was deleted are removed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from azure.core.credentials_async import AsyncTokenCredential

from aitk_inference.core.azure.clients import container_apps_client, resource_client, storage_client
from aitk_inference.core.azure.cloud import Cloud
from aitk_inference.core.azure.errors import azure_call
from aitk_inference.core.azure.portal import resource_link
from aitk_inference.core.config import (
    DeployTarget,
    ProjectPaths,
    check_project,
    read_inference_config,
    require_deploy_target,
)
from aitk_inference.core.errors import AitkError, OperationCancelled
from aitk_inference.core.jsonfile import write_json_atomic
from aitk_inference.core.operate.target import read_app
from aitk_inference.core.reporting import CancellationToken, Progress, Prompter

API_LOG_ANALYTICS = "2025-07-01"  # Microsoft.OperationalInsights/workspaces, as the template uses
# The template derives both names from one suffix: aienv<suffix> and ailog<suffix>.
ENV_PREFIX, LOG_PREFIX = "aienv", "ailog"


@dataclass(frozen=True)
class Doomed:
    kind: str  # "container app", "Container Apps environment", …
    name: str
    resource_id: str
    config_keys: tuple[str, ...] = ()  # removed from infra/inference.config.json once deleted


@dataclass(frozen=True)
class TeardownOptions:
    environment: bool = False
    log_analytics: bool = False
    storage_account: str | None = None  # named by the user: deleted with its shares
    file_share: str | None = None  # named by the user: deleted (the account stays)


@dataclass
class TeardownResult:
    deleted: list[Doomed] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    removed_keys: list[str] = field(default_factory=list)
    links: dict[str, str] = field(default_factory=dict)


def _storage_id(target: DeployTarget) -> str:
    return (
        f"/subscriptions/{target.subscription_id}/resourceGroups/{target.resource_group}"
        f"/providers/Microsoft.Storage/storageAccounts/{target.storage_account}"
    )


def _named(given: str, actual: str, what: str, key: str, paths: ProjectPaths) -> None:
    if given.strip().lower() != actual.lower():
        raise AitkError(
            f"The {what} named ({given}) is not the one in {paths.inference_config} ({key}: {actual}); nothing was deleted.",
            hint=f"Name {actual} to delete it, or leave it out to keep it.",
        )


async def _environment(client: Any, target: DeployTarget, app: Any) -> tuple[Doomed, Any]:
    env_id = (
        (app.properties.managed_environment_id or app.properties.environment_id) if app.properties else None
    )
    if not env_id:
        raise AitkError(f"Container app {target.app_name} names no environment; nothing was deleted.")
    env_rg, env_name = env_id.split("/")[4], env_id.rstrip("/").split("/")[-1]
    async with azure_call(f"reading Container Apps environment {env_name}"):
        env = await client.managed_environments.get(env_rg, env_name)
    async with azure_call("listing the container apps of the subscription"):
        others = [
            str(a.name)
            async for a in client.container_apps.list_by_subscription()
            if a.properties is not None
            and (a.properties.managed_environment_id or "").lower() == env_id.lower()
            and str(a.name).lower() != target.app_name.lower()
        ]
    if others:
        raise AitkError(
            f"Container Apps environment {env_name} also hosts {', '.join(sorted(others))}; nothing was deleted.",
            hint="Tear down without the environment, or delete those apps first.",
        )
    return Doomed("Container Apps environment", env_name, str(env.id)), env


async def _workspace(
    credential: AsyncTokenCredential, cloud: Cloud, target: DeployTarget, env: Any
) -> Doomed:
    """The workspace the template created for this environment: ``ailog<suffix>`` beside
    ``aienv<suffix>``, and only if its customer id is the one the environment sends logs to."""
    logs = env.properties.app_logs_configuration if env.properties else None
    analytics = logs.log_analytics_configuration if logs else None
    customer_id = analytics.customer_id if analytics else None
    env_name = str(env.name)
    env_rg = str(env.id).split("/")[4]
    unknown = AitkError(
        f"Could not tell which Log Analytics workspace environment {env_name} sends its logs to; nothing was deleted.",
        hint="Tear down without the Log Analytics workspace and delete it in the Azure portal.",
    )
    if not customer_id or not env_name.lower().startswith(ENV_PREFIX):
        raise unknown
    name = LOG_PREFIX + env_name[len(ENV_PREFIX) :]
    workspace_id = (
        f"/subscriptions/{target.subscription_id}/resourceGroups/{env_rg}"
        f"/providers/Microsoft.OperationalInsights/workspaces/{name}"
    )
    from azure.core.exceptions import ResourceNotFoundError

    async with resource_client(credential, target.subscription_id, cloud) as client:
        try:
            found = await client.resources.get_by_id(workspace_id, api_version=API_LOG_ANALYTICS)
        except ResourceNotFoundError:
            raise unknown from None
    if str((found.properties or {}).get("customerId", "")).lower() != str(customer_id).lower():
        raise unknown
    return Doomed("Log Analytics workspace", name, str(found.id))


async def plan(
    credential: AsyncTokenCredential, cloud: Cloud, paths: ProjectPaths, options: TeardownOptions
) -> tuple[DeployTarget, list[Doomed], list[str]]:
    """What will be deleted (in order) and what is kept."""
    target = require_deploy_target(paths)
    doomed: list[Doomed] = []
    async with container_apps_client(credential, target.subscription_id, cloud) as client:
        try:
            app = await read_app(client, target.resource_group, target.app_name)
        except AitkError as err:
            if err.code not in ("ResourceNotFound", "ContainerAppNotFound"):
                raise
            raise AitkError(
                f"Container app {target.app_name} does not exist in resource group {target.resource_group}; "
                "nothing was deleted.",
                hint=f"If it was deleted already, remove ACA_APP_NAME and ACA_APP_ENDPOINT from {paths.inference_config} "
                "(or run Provision to create it again).",
                code="AppNotFound",
            ) from None
        doomed.append(
            Doomed("container app", target.app_name, str(app.id), ("ACA_APP_NAME", "ACA_APP_ENDPOINT"))
        )
        env = None
        if options.environment or options.log_analytics:
            env_doomed, env = await _environment(client, target, app)
            if options.environment:
                doomed.append(env_doomed)
    if options.log_analytics:
        if not options.environment:
            raise AitkError(
                "The Log Analytics workspace can only go with its environment; nothing was deleted.",
                hint="Add the environment to what you delete, or keep both.",
            )
        doomed.append(await _workspace(credential, cloud, target, env))
    kept: list[str] = []
    storage_id = _storage_id(target)
    if options.storage_account:
        _named(
            options.storage_account, target.storage_account, "storage account", "STORAGE_ACCOUNT_NAME", paths
        )
        doomed.append(
            Doomed(
                "storage account (with every file share in it)",
                target.storage_account,
                storage_id,
                ("STORAGE_ACCOUNT_NAME", "FILE_SHARE_NAME"),
            )
        )
    elif options.file_share:
        _named(options.file_share, target.file_share, "file share", "FILE_SHARE_NAME", paths)
        doomed.append(
            Doomed(
                "file share",
                target.file_share,
                f"{storage_id}/fileServices/default/shares/{target.file_share}",
                ("FILE_SHARE_NAME",),
            )
        )
        kept.append(f"storage account {target.storage_account}")
    else:
        kept.append(
            f"storage account {target.storage_account} and file share {target.file_share} "
            "(they hold the fine-tuning outputs; name them to delete them)"
        )
    return target, doomed, kept


async def tear_down(
    project: Path,
    credential: AsyncTokenCredential,
    *,
    cloud: Cloud,
    progress: Progress,
    prompter: Prompter,
    cancel: CancellationToken,
    options: TeardownOptions,
    assume_yes: bool = False,
) -> TeardownResult:
    paths = check_project(project)
    progress.report("Finding what to delete", 5)
    target, doomed, kept = await plan(credential, cloud, paths, options)
    result = TeardownResult(kept=kept)
    progress.log("Tear down will delete, in this order:")
    for item in doomed:
        link = await resource_link(cloud, item.resource_id)
        result.links[item.name] = link
        progress.log(f"  - {item.kind} {item.name}: {link}")
    for kept_item in kept:
        progress.log(f"It keeps the {kept_item}.")
    cancel.raise_if_cancelled()
    if not assume_yes:
        names = ", ".join(f"{d.kind} {d.name}" for d in doomed)
        answer = await prompter.input(
            f"Delete {names}? Type the app name {target.app_name} to confirm",
            placeholder=target.app_name,
        )
        if answer is None or answer.strip() != target.app_name:
            raise OperationCancelled(
                "Nothing was deleted (the app name was not typed)."
                if not answer
                else f"Nothing was deleted: {answer.strip()!r} is not the app name {target.app_name}."
            )
    cancel.raise_if_cancelled()
    done = 10.0
    step = 85.0 / len(doomed)
    for item in doomed:
        progress.report(f"Deleting {item.kind} {item.name}", done)
        await _delete(credential, cloud, target, item)
        done += step
        result.deleted.append(item)
        progress.log(f"Deleted {item.kind} {item.name}.")
        result.removed_keys += _forget(paths, item.config_keys)
    if result.removed_keys:
        progress.log(f"Removed {', '.join(result.removed_keys)} from {paths.inference_config}.")
    progress.report("Tear down done", 100)
    return result


def _forget(paths: ProjectPaths, keys: tuple[str, ...]) -> list[str]:
    """Removes ``keys`` from the config right after their resource is gone (other keys stay)."""
    data = read_inference_config(paths)
    removed = [k for k in keys if k in data]
    if removed:
        for key in removed:
            del data[key]
        write_json_atomic(paths.inference_config, data)
    return removed


async def _delete(credential: AsyncTokenCredential, cloud: Cloud, target: DeployTarget, item: Doomed) -> None:
    rg = item.resource_id.split("/")[4]
    what = f"deleting {item.kind} {item.name}"
    if item.kind == "container app":
        async with container_apps_client(credential, target.subscription_id, cloud) as client:
            async with azure_call(what):
                await (await client.container_apps.begin_delete(rg, item.name)).result()
    elif item.kind == "Container Apps environment":
        async with container_apps_client(credential, target.subscription_id, cloud) as client:
            async with azure_call(what):
                await (await client.managed_environments.begin_delete(rg, item.name)).result()
    elif item.kind == "Log Analytics workspace":
        async with resource_client(credential, target.subscription_id, cloud) as resources:
            async with azure_call(what):
                await (
                    await resources.resources.begin_delete_by_id(
                        item.resource_id, api_version=API_LOG_ANALYTICS
                    )
                ).result()
    elif item.kind == "file share":
        async with storage_client(credential, target.subscription_id, cloud) as storage:
            async with azure_call(what):
                await storage.file_shares.delete(rg, target.storage_account, item.name)
    else:
        async with storage_client(credential, target.subscription_id, cloud) as storage:
            async with azure_call(what):
                await storage.storage_accounts.delete(rg, item.name)
