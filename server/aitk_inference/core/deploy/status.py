"""Status: what ``infra/inference.config.json`` points at, and whether it answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from azure.core.credentials_async import AsyncTokenCredential

from aitk_inference.core.azure.clients import container_apps_client
from aitk_inference.core.azure.cloud import Cloud
from aitk_inference.core.azure.errors import azure_call
from aitk_inference.core.config import check_project, endpoint_url, require_deploy_target
from aitk_inference.core.deploy.readiness import enum_text, probe_endpoint
from aitk_inference.core.operate.target import portal_link
from aitk_inference.core.reporting import Progress


@dataclass(frozen=True)
class RevisionStatus:
    name: str
    active: bool
    running_state: str | None
    health_state: str | None
    replicas: int
    traffic_weight: int | None = None


@dataclass(frozen=True)
class StatusReport:
    app_name: str
    resource_group: str
    subscription_id: str
    endpoint_url: str | None
    latest_revision: str | None
    provisioning_state: str | None
    revisions: list[RevisionStatus] = field(default_factory=list)
    endpoint_healthy: bool | None = None
    endpoint_detail: str | None = None  # e.g. "HTTP 503" or "connection refused"
    running_status: str | None = None  # the app's runningStatus: Running, Stopped, …
    portal_url: str | None = None

    def lines(self) -> list[str]:
        """Human-readable lines (the CLI prints them; the LSP server logs them)."""
        out = [
            f"App:            {self.app_name} (resource group {self.resource_group}, subscription {self.subscription_id})",
            f"Provisioning:   {self.provisioning_state or 'unknown'}",
            f"Running status: {self.running_status or 'unknown'}",
            f"Latest revision: {self.latest_revision or 'none'}",
        ]
        for rev in self.revisions:
            flags = "active" if rev.active else "inactive"
            if rev.traffic_weight is not None:
                flags += f", {rev.traffic_weight}% traffic"
            out.append(
                f"  {rev.name}: {rev.running_state or 'unknown'}, health {rev.health_state or 'unknown'}, "
                f"{rev.replicas} replica(s) ({flags})"
            )
        if self.endpoint_url is None:
            out.append("Endpoint:       none (ingress not configured)")
        elif (self.running_status or "").lower() == "stopped":
            out.append(f"Endpoint:       {self.endpoint_url}: stopped (start the app to serve again)")
        else:
            health = {True: "answers", False: "does not answer", None: "not checked"}[self.endpoint_healthy]
            detail = f" ({self.endpoint_detail})" if self.endpoint_detail else ""
            out.append(f"Endpoint:       {self.endpoint_url}: {health}{detail}")
        if self.portal_url:
            out.append(f"Azure portal:   {self.portal_url}")
        return out


async def status(
    project: Path, credential: AsyncTokenCredential, *, cloud: Cloud, progress: Progress
) -> StatusReport:
    paths = check_project(project)
    target = require_deploy_target(paths)
    progress.report(f"Reading container app {target.app_name}", 10)
    async with container_apps_client(credential, target.subscription_id, cloud) as client:
        async with azure_call(f"reading container app {target.app_name}"):
            app = await client.container_apps.get(target.resource_group, target.app_name)
        progress.report("Reading revisions", 40)
        async with azure_call(f"listing the revisions of container app {target.app_name}"):
            revisions = [
                r
                async for r in client.container_apps_revisions.list_revisions(
                    target.resource_group, target.app_name
                )
            ]
    props = app.properties
    ingress = props.configuration.ingress if props and props.configuration else None
    fqdn = (ingress.fqdn if ingress else None) or target.app_endpoint
    if ingress and ingress.fqdn and ingress.fqdn != target.app_endpoint:
        progress.log(
            f"The app's FQDN is {ingress.fqdn}, but {paths.inference_config.name} says {target.app_endpoint}; "
            "run Provision again or update ACA_APP_ENDPOINT.",
            "warning",
        )
    url = endpoint_url(fqdn) if fqdn else None
    healthy: bool | None = None
    detail: str | None = None
    stopped = props is not None and enum_text(props.running_status).lower() == "stopped"
    if url and not stopped:
        progress.report(f"Checking {url}", 70)
        healthy, detail = await probe_endpoint(url)
    progress.report("Status done", 100)
    return StatusReport(
        app_name=target.app_name,
        resource_group=target.resource_group,
        subscription_id=target.subscription_id,
        endpoint_url=url,
        latest_revision=props.latest_revision_name if props else None,
        provisioning_state=(enum_text(props.provisioning_state) or None) if props else None,
        revisions=[
            RevisionStatus(
                name=str(r.name),
                active=bool(r.properties and r.properties.active),
                running_state=(enum_text(r.properties.running_state) or None) if r.properties else None,
                health_state=(enum_text(r.properties.health_state) or None) if r.properties else None,
                replicas=int(r.properties.replicas or 0) if r.properties else 0,
                traffic_weight=r.properties.traffic_weight if r.properties else None,
            )
            for r in revisions
        ],
        endpoint_healthy=healthy,
        endpoint_detail=detail,
        running_status=(enum_text(props.running_status) or None) if props else None,
        portal_url=portal_link(cloud, str(app.id)) if app.id else None,
    )
