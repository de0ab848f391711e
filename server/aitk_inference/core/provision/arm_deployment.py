"""Running one ARM template deployment: start it, report per-resource progress from the deployment
operations while it runs, and explain a failure in plain words."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from aitk_inference.core.azure.clients import deployments_client
from aitk_inference.core.azure.errors import azure_call, describe_arm_error
from aitk_inference.core.errors import AzureOperationError, OperationCancelled
from aitk_inference.core.reporting import CancellationToken, Progress

if TYPE_CHECKING:
    from azure.core.credentials_async import AsyncTokenCredential

    from aitk_inference.core.azure.cloud import Cloud

POLL_SECONDS = 2.0
_DONE_STATES = {"succeeded", "failed", "canceled"}


def deployment_name(now: dt.datetime | None = None) -> str:
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%d-%H%M%S")
    return f"aitk-inference-{stamp}"


async def portal_link(cloud: Cloud, deployment_id: str) -> str:
    """The deployment in the cloud's portal; its ID when the cloud does not say where its portal is."""
    from aitk_inference.core.azure.cloud_metadata import portal_url

    portal = await portal_url(cloud)
    if portal is None:
        return deployment_id
    return (
        f"{portal}/#view/HubsExtension/DeploymentDetailsBlade/~/overview/id/{quote(deployment_id, safe='')}"
    )


def count_template_resources(template: dict[str, Any]) -> int:
    resources = template.get("resources") or []
    items = resources.values() if isinstance(resources, dict) else resources
    return sum(1 for r in items if isinstance(r, dict) and not r.get("existing"))


def _as_dict(model: Any) -> dict[str, Any]:
    if model is None:
        return {}
    if hasattr(model, "as_dict"):
        return dict(model.as_dict())
    return dict(model) if isinstance(model, dict) else {}


class DeploymentRun:
    """One deployment of ``template`` into a resource group, observed until it ends."""

    def __init__(
        self,
        credential: AsyncTokenCredential,
        cloud: Cloud,
        subscription_id: str,
        resource_group: str,
        *,
        progress: Progress,
        cancel: CancellationToken,
        percent_range: tuple[float, float] = (10.0, 95.0),
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self.credential = credential
        self.cloud = cloud
        self.subscription_id = subscription_id
        self.resource_group = resource_group
        self.progress = progress
        self.cancel = cancel
        self.percent_range = percent_range
        self.poll_seconds = poll_seconds
        self.name = deployment_name()
        self._reported: dict[str, str] = {}
        self._last_pct = percent_range[0]

    @property
    def deployment_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.Resources/deployments/{self.name}"
        )

    async def run(self, template: dict[str, Any], parameters: dict[str, Any]) -> dict[str, Any]:
        """Returns the deployment's outputs as ``{name: value}``."""
        total = max(1, count_template_resources(template))
        from azure.mgmt.resource.deployments.models import (
            Deployment,
            DeploymentParameter,
            DeploymentProperties,
        )

        body = Deployment(
            properties=DeploymentProperties(
                mode="Incremental",
                template=template,
                parameters={name: DeploymentParameter(value=value) for name, value in parameters.items()},
            )
        )
        link = await portal_link(self.cloud, self.deployment_id)
        async with deployments_client(self.credential, self.subscription_id, self.cloud) as client:
            self.progress.report(f"Starting deployment {self.name}", self.percent_range[0])
            async with azure_call(f"starting deployment {self.name}"):
                poller = await client.deployments.begin_create_or_update(
                    self.resource_group, self.name, body, polling_interval=self.poll_seconds
                )
            self.progress.log(f"Deployment {self.name} started. Follow it in the Azure portal: {link}")
            waiter = asyncio.ensure_future(poller.result())
            try:
                while not waiter.done():
                    await self._report_operations(client, total)
                    if self.cancel.cancelled:
                        raise OperationCancelled(
                            f"Stopped waiting for deployment {self.name}; it goes on in Azure: {link} "
                            "Run Provision again later to pick up its results."
                        )
                    cancel_wait = asyncio.ensure_future(self.cancel.wait())
                    await asyncio.wait(
                        {waiter, cancel_wait}, timeout=self.poll_seconds, return_when=asyncio.FIRST_COMPLETED
                    )
                    cancel_wait.cancel()
            finally:
                if not waiter.done():
                    waiter.cancel()
            try:
                await waiter
            except Exception:  # the details are read from the deployment itself below
                pass
            await self._report_operations(client, total)
            async with azure_call(f"reading deployment {self.name}"):
                deployment = await client.deployments.get(self.resource_group, self.name)
            props = _as_dict(deployment).get("properties", {})
            state = str(props.get("provisioningState", ""))
            if state.lower() != "succeeded":
                await self._raise_failure(client, props, link)
            outputs = props.get("outputs") or {}
            return {
                key: (value.get("value") if isinstance(value, dict) else value)
                for key, value in outputs.items()
            }

    async def _operations(self, client: Any) -> list[dict[str, Any]]:
        async with azure_call(f"reading the progress of deployment {self.name}"):
            return [
                _as_dict(op) async for op in client.deployment_operations.list(self.resource_group, self.name)
            ]

    async def _report_operations(self, client: Any, total: int) -> None:
        try:
            ops = await self._operations(client)
        except AzureOperationError as err:  # progress is best effort; the outcome is read separately
            self.progress.log(f"Could not read deployment progress: {err.message}", "debug")
            return
        done = 0
        for op in ops:
            props = op.get("properties", {})
            target = props.get("targetResource") or {}
            if not target:
                continue
            label = f"{target.get('resourceType', 'resource')} {target.get('resourceName', '')}".strip()
            state = str(props.get("provisioningState", "Running"))
            if state.lower() in _DONE_STATES:
                done += 1
            if self._reported.get(label) != state:
                self._reported[label] = state
                self.progress.log(f"  {label}: {state}")
        low, high = self.percent_range
        pct = low + (high - low) * min(done, total) / max(total, len(ops), 1)
        self._last_pct = max(self._last_pct, pct)
        self.progress.report(f"Deploying: {done} of {max(total, len(ops))} resources done", self._last_pct)

    async def _raise_failure(self, client: Any, props: dict[str, Any], link: str) -> None:
        error = props.get("error")
        # ARM's top-level error is often just "DeploymentFailed"; the failing operations say why.
        failed_ops: list[str] = []
        for op in await self._operations(client):
            op_props = op.get("properties", {})
            if str(op_props.get("provisioningState", "")).lower() != "failed":
                continue
            target = op_props.get("targetResource") or {}
            status = op_props.get("statusMessage") or {}
            op_error = status.get("error") if isinstance(status, dict) else None
            if op_error:
                message, _hint, _code = describe_arm_error(op_error)
                failed_ops.append(
                    f"{target.get('resourceType', '')} {target.get('resourceName', '')}: {message}"
                )
        message, hint, code = describe_arm_error(error if isinstance(error, dict) else None)
        if failed_ops:  # they name the failing resource as well as the cause
            message = " ".join(failed_ops)
        state = props.get("provisioningState", "Failed")
        raise AzureOperationError(
            f"Deployment {self.name} {str(state).lower()}: {message} Details: {link}",
            hint=hint
            or "Fix the cause named above and run Provision again; resources already created are reused.",
            code=code,
        )
