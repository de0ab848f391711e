"""Status: what ``infra/inference.config.json`` points at, and whether it answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from azure.core.credentials_async import AsyncTokenCredential

from aitk_inference.core.azure.advice import sentence
from aitk_inference.core.azure.clients import container_apps_client
from aitk_inference.core.azure.cloud import Cloud
from aitk_inference.core.azure.errors import azure_call
from aitk_inference.core.azure.portal import resource_link
from aitk_inference.core.config import check_project, endpoint_url, require_deploy_target
from aitk_inference.core.deploy.readiness import enum_text, probe_endpoint
from aitk_inference.core.deploy.status_reason import revision_reason
from aitk_inference.core.reporting import Progress


def health_text(value: object) -> str | None:
    """Container Apps reports ``None`` (the string) until the first probe: that is no health yet."""
    text = enum_text(value)
    return None if text in ("", "None") else text


@dataclass(frozen=True)
class RevisionStatus:
    name: str
    active: bool
    running_state: str | None
    health_state: str | None
    replicas: int
    traffic_weight: int | None = None
    reason: str | None = None  # Container Apps' words, for a Failed or Unhealthy revision

    @property
    def failing(self) -> bool:
        return (self.running_state or "").lower() == "failed" or (
            self.health_state or ""
        ).lower() == "unhealthy"


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
                f"  {rev.name}: {rev.running_state or 'unknown'}, health {rev.health_state or 'not reported yet'}, "
                f"{rev.replicas} replica(s) ({flags})"
            )
            if rev.failing:
                out.append(f"    reason: {rev.reason or 'Container Apps gives none; the app logs may tell'}")
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

    def summary(self) -> str:
        """One sentence for a notification: the app, its latest revision's state (and why, when it
        fails), and whether the endpoint answers."""
        text = f"{self.app_name}: "
        if (self.running_status or "").lower() == "stopped":
            return text + "stopped; no replica runs (start the app to serve again)."
        latest = next((r for r in self.revisions if r.name == self.latest_revision), None)
        if latest is None:
            text += "no revision yet."
        else:
            text += f"revision {latest.name} is {latest.running_state or 'in an unknown state'}"
            text += f" ({latest.health_state or 'health not reported yet'})"
            text += f": {sentence(latest.reason)}" if latest.failing and latest.reason else "."
        if self.endpoint_url is None:
            return text + " No endpoint (ingress is not configured)."
        if self.endpoint_healthy:
            return text + f" {self.endpoint_url} answers."
        detail = f" ({self.endpoint_detail})" if self.endpoint_detail else ""
        return text + f" {self.endpoint_url} does not answer{detail}."


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
        reasons: dict[str, str | None] = {}
        for r in revisions:
            running, health = (
                (enum_text(r.properties.running_state), enum_text(r.properties.health_state))
                if r.properties
                else ("", "")
            )
            if running.lower() == "failed" or health.lower() == "unhealthy":
                reasons[str(r.name)] = await revision_reason(
                    client, target.resource_group, target.app_name, r
                )
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
                health_state=health_text(r.properties.health_state) if r.properties else None,
                replicas=int(r.properties.replicas or 0) if r.properties else 0,
                traffic_weight=r.properties.traffic_weight if r.properties else None,
                reason=reasons.get(str(r.name)),
            )
            for r in revisions
        ],
        endpoint_healthy=healthy,
        endpoint_detail=detail,
        running_status=(enum_text(props.running_status) or None) if props else None,
        portal_url=await resource_link(cloud, str(app.id)) if app.id else None,
    )
