"""Provision: deploy the project's inference template as an ARM deployment, write the config."""

from __future__ import annotations

from pathlib import Path

from azure.core.credentials_async import AsyncTokenCredential

from aitk_inference.core.cloud import Cloud
from aitk_inference.core.reporting import CancellationToken, Progress, Prompter


async def provision(
    project: Path,
    credential: AsyncTokenCredential,
    *,
    cloud: Cloud,
    progress: Progress,
    prompter: Prompter,
    cancel: CancellationToken,
    subscription_id: str | None = None,
    resource_group: str | None = None,
) -> dict[str, str | None]:
    """Returns the ``infra/inference.config.json`` content written on success (six keys and any
    user keys). Raises :class:`~aitk_inference.core.errors.AitkError` on any failure; the config is
    then untouched."""
    raise NotImplementedError
