"""Deploy: sync the project to the share, restart the app's revisions, wait until it answers."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from azure.core.credentials_async import AsyncTokenCredential

from aitk_inference.core.azure.clients import container_apps_client, storage_client
from aitk_inference.core.azure.cloud import Cloud
from aitk_inference.core.azure.errors import azure_call
from aitk_inference.core.azure.portal import app_link, resource_link
from aitk_inference.core.config import DeployTarget, check_project, require_deploy_target
from aitk_inference.core.deploy.preflight import check_deploy_target
from aitk_inference.core.deploy.readiness import wait_until_ready
from aitk_inference.core.deploy.replicas import list_replicas
from aitk_inference.core.deploy.revisions import active_revisions, restart_active_revisions
from aitk_inference.core.errors import AitkError, first_few
from aitk_inference.core.operate.target import is_stopped, read_app
from aitk_inference.core.progress_scale import ScaledProgress
from aitk_inference.core.reporting import CancellationToken, Progress, Prompter
from aitk_inference.core.sync.share import ShareTarget
from aitk_inference.core.sync.share_lock import DEFAULT_LOCK_TIMING
from aitk_inference.core.sync.sync_project import sync_project

# Slices of the overall progress bar.
_SYNC = (2.0, 70.0)
_RESTART = 72.0
_READY = (75.0, 99.0)


@dataclass(frozen=True)
class DeployResult:
    endpoint_url: str  # https://<ACA_APP_ENDPOINT>
    files_uploaded: int
    bytes_uploaded: int
    files_deleted: int
    revisions_restarted: list[str]
    app_name: str = ""


async def share_target(credential: AsyncTokenCredential, cloud: Cloud, target: DeployTarget) -> ShareTarget:
    """The share's data-plane endpoint (``primaryEndpoints.file``) and an account key, from ARM."""
    async with storage_client(credential, target.subscription_id, cloud) as client:
        async with azure_call(f"reading storage account {target.storage_account}"):
            account = await client.storage_accounts.get_properties(
                target.resource_group, target.storage_account
            )
        endpoints = account.properties.primary_endpoints if account.properties else None
        file_endpoint = endpoints.file if endpoints else None
        if not file_endpoint:
            raise AitkError(
                f"Storage account {target.storage_account} has no file service endpoint.",
                hint="Use a StorageV2 account with Azure Files (set STORAGE_ACCOUNT_NAME), or run Provision again.",
            )
        async with azure_call(f"reading the access keys of storage account {target.storage_account}"):
            keys = await client.storage_accounts.list_keys(target.resource_group, target.storage_account)
        # The model is a Mapping, so its ``keys`` attribute is the dict method: read the REST shape.
        listed = keys.as_dict().get("keys") or []
        key = next((k.get("value") for k in listed if isinstance(k, dict) and k.get("value")), None)
        if not key:
            raise AitkError(
                f"Storage account {target.storage_account} returned no access key.",
                hint="Shared-key access may be disabled on the account; enable it (allowSharedKeyAccess) and retry.",
            )
    return ShareTarget(
        account_url=file_endpoint,
        account_name=target.storage_account,
        share_name=target.file_share,
        account_key=key,
    )


async def check_not_stopped(
    credential: AsyncTokenCredential, cloud: Cloud, target: DeployTarget, progress: Progress
) -> None:
    async with container_apps_client(credential, target.subscription_id, cloud) as client:
        app = await read_app(client, target.resource_group, target.app_name)
    if is_stopped(app):
        raise AitkError(
            f"Container app {target.app_name} is stopped, so nothing was deployed.",
            hint="Start it (AI Toolkit: Start Inference App, or `aitk-inference start`), then deploy again.",
            code="AppStopped",
        )


async def deploy(
    project: Path,
    credential: AsyncTokenCredential,
    *,
    cloud: Cloud,
    progress: Progress,
    cancel: CancellationToken,
    readiness_timeout: float = 900.0,
    poll_seconds: float = 3.0,
    health_path: str = "/health",
    prompter: Prompter | None = None,
    take_over: bool | None = None,
    lock_wait: float | None = None,
) -> DeployResult:
    """Raises :class:`~aitk_inference.core.errors.AitkError` (or ``OperationCancelled``).

    Files on the share at project paths that this tool did not write are replaced only when
    ``take_over`` is True, or, when it is None, when ``prompter`` confirms."""
    paths = check_project(project)
    target = require_deploy_target(paths)
    progress.log(
        f"Deploying {paths.root} to container app {target.app_name} "
        f"(resource group {target.resource_group}, share {target.storage_account}/{target.file_share})."
    )

    # 0. Everything the config names exists, before the first byte is uploaded.
    progress.report(f"Checking the resources named in {paths.inference_config.name}", 0)
    await check_deploy_target(credential, cloud, paths, target, progress)
    link = await app_link(cloud, target.subscription_id, target.resource_group, target.app_name)
    progress.log(f"Container app {target.app_name} in the Azure portal: {link}")
    cancel.raise_if_cancelled()
    # 0. A stopped app runs no replica: restarting it would fail after a whole upload.
    await check_not_stopped(credential, cloud, target, progress)

    # 1. Sync the project folder to the share root (the app sees it under /mount).
    progress.report("Finding the file share", 1)
    share = await share_target(credential, cloud, target)
    storage_id = (
        f"/subscriptions/{target.subscription_id}/resourceGroups/{target.resource_group}"
        f"/providers/Microsoft.Storage/storageAccounts/{target.storage_account}"
    )
    progress.log(
        f"Storage account {target.storage_account} in the Azure portal: {await resource_link(cloud, storage_id)}"
    )
    cancel.raise_if_cancelled()

    async def confirm_take_over(foreign: list[str]) -> bool:
        if take_over is not None or prompter is None:
            return bool(take_over)
        shown = first_few(foreign)
        return await prompter.confirm(
            f"The file share already holds {len(foreign)} file(s) at paths of the project that were not "
            f"written by this tool: {shown}. Replace them with the project's files?"
        )

    # (sync_project logs its own "Sync done" line)
    synced = await sync_project(
        paths.root,
        share,
        progress=ScaledProgress(progress, *_SYNC),
        cancel=cancel,
        take_over=confirm_take_over,
        lock_timing=replace(DEFAULT_LOCK_TIMING, wait=lock_wait)
        if lock_wait is not None
        else DEFAULT_LOCK_TIMING,
    )
    cancel.raise_if_cancelled()

    async with container_apps_client(credential, target.subscription_id, cloud) as client:
        # 2. Restart, so the replicas load what was just uploaded. The replicas running now keep
        #    serving until their replacements are ready: remember them, to wait for new ones.
        progress.report(f"Restarting {target.app_name}", _RESTART)
        before: dict[str, set[str]] = {}
        for revision in await active_revisions(client, target.resource_group, target.app_name):
            name = str(revision.name)
            replicas = await list_replicas(client, target.resource_group, target.app_name, name)
            before[name] = {r.name for r in replicas}
        restarted = await restart_active_revisions(
            client, target.resource_group, target.app_name, progress=progress
        )
        cancel.raise_if_cancelled()

        # 3. Wait until it answers.
        progress.log(f"Waiting up to {readiness_timeout:g}s for {target.endpoint_url} to answer…")
        await wait_until_ready(
            client,
            target.resource_group,
            target.app_name,
            restarted,
            target.endpoint_url,
            ready_within=readiness_timeout,
            progress=ScaledProgress(progress, *_READY),
            cancel=cancel,
            poll_seconds=poll_seconds,
            health_path=health_path,
            replicas_before=before,
        )
    progress.report("Deployment done", 100)
    return DeployResult(
        endpoint_url=target.endpoint_url,
        files_uploaded=synced.files_uploaded,
        bytes_uploaded=synced.bytes_uploaded,
        files_deleted=synced.files_deleted,
        revisions_restarted=restarted,
        app_name=target.app_name,
    )
