"""Deploy: sync the project to the share, restart the app's revisions, wait until it answers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from azure.core.credentials_async import AsyncTokenCredential

from aitk_inference.core.cloud import Cloud
from aitk_inference.core.reporting import CancellationToken, Progress


@dataclass(frozen=True)
class DeployResult:
    endpoint_url: str  # https://<ACA_APP_ENDPOINT>
    files_uploaded: int
    bytes_uploaded: int
    files_deleted: int
    revisions_restarted: list[str]


async def deploy(
    project: Path,
    credential: AsyncTokenCredential,
    *,
    cloud: Cloud,
    progress: Progress,
    cancel: CancellationToken,
    readiness_timeout: float = 900.0,
) -> DeployResult:
    """Raises :class:`~aitk_inference.core.errors.AitkError` (or ``OperationCancelled``)."""
    raise NotImplementedError
