"""Status: what ``infra/inference.config.json`` points at, and whether it answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from azure.core.credentials_async import AsyncTokenCredential

from aitk_inference.core.cloud import Cloud
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

    def lines(self) -> list[str]:
        """Human-readable lines (the CLI prints them; the LSP server logs them)."""
        raise NotImplementedError


async def status(
    project: Path, credential: AsyncTokenCredential, *, cloud: Cloud, progress: Progress
) -> StatusReport:
    raise NotImplementedError
