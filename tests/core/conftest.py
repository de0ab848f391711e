"""Fixtures for core tests: a credential through the real azure-identity path, a template project."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aitk_inference.core.azure.clients import default_credential
from aitk_inference.core.azure.cloud import Cloud
from aitk_inference.core.azure.cloud_metadata import resolve_cloud

from tests.core.helpers import make_template_project


@pytest.fixture
async def credential(azure_env: dict[str, str]) -> AsyncIterator[object]:
    """DefaultAzureCredential limited by AZURE_TOKEN_CREDENTIALS to AzureCliCredential (the az stand-in)."""
    cred = default_credential()
    try:
        yield cred
    finally:
        await cred.close()


@pytest.fixture
async def cloud(azure_env: dict[str, str]) -> Cloud:
    return await resolve_cloud()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_template_project(tmp_path / "project")
