"""Provider metadata: every resource type with api-versions, default, locations, capabilities; authorizations."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from azure.identity.aio import AzureCliCredential
from azure.mgmt.resource.resources.aio import ResourceManagementClient

from tests.azure_emulator.arm.providers import CATALOG
from tests.azure_emulator.fidelity.provider_catalog import derive
from tests.azure_emulator.server import Emulator
from tests.azure_emulator.test_arm_resources import SUB, raw, sdk_kwargs


@pytest.fixture
async def cred(azure_env: dict[str, str]) -> AsyncIterator[AzureCliCredential]:
    async with AzureCliCredential() as credential:
        yield credential


def test_catalog_is_what_the_specs_and_template_schemas_declare(azure_reference: Path) -> None:
    assert derive(azure_reference) == CATALOG


def test_every_provider_the_project_touches_lists_its_types(emulator: Emulator) -> None:
    for namespace in (
        "Microsoft.App",
        "Microsoft.Storage",
        "Microsoft.OperationalInsights",
        "Microsoft.Resources",
    ):
        status, _, body = raw(
            emulator, "GET", f"/subscriptions/{SUB}/providers/{namespace.lower()}?api-version=2025-04-01"
        )
        assert status == 200 and body["namespace"] == namespace
        assert body["authorizations"] and set(body["authorizations"][0]) == {
            "applicationId",
            "roleDefinitionId",
        }
        types = {t["resourceType"]: t for t in body["resourceTypes"]}
        assert set(CATALOG[namespace]) <= set(types)
        for rtype in types.values():
            assert rtype["apiVersions"] and rtype["defaultApiVersion"] in rtype["apiVersions"], rtype
            assert isinstance(rtype["locations"], list) and rtype["capabilities"]
    _, _, app = raw(emulator, "GET", f"/subscriptions/{SUB}/providers/Microsoft.App?api-version=2025-04-01")
    envs = next(t for t in app["resourceTypes"] if t["resourceType"] == "managedEnvironments")
    # The version the SDK sends is the default; the template's (2026-01-01) is listed too.
    assert envs["apiVersions"] == ["2026-07-01", "2026-01-01"] and envs["defaultApiVersion"] == "2026-07-01"
    assert "East US" in envs["locations"] and "SupportsLocation" in envs["capabilities"]
    ops = next(t for t in app["resourceTypes"] if t["resourceType"] == "operations")
    assert ops["locations"] == [] and ops["capabilities"] == "None"
    status, _, err = raw(
        emulator, "GET", f"/subscriptions/{SUB}/providers/Microsoft.Nope?api-version=2025-04-01"
    )
    assert status == 404 and err["error"] == {
        "code": "InvalidResourceNamespace",
        "message": "The resource namespace 'Microsoft.Nope' is invalid.",
    }


async def test_sdk_reads_provider_metadata(emulator: Emulator, cred: AzureCliCredential) -> None:
    async with ResourceManagementClient(cred, SUB, **sdk_kwargs(emulator)) as client:
        provider = await client.providers.get("Microsoft.Storage")
        accounts = next(t for t in provider.resource_types or [] if t.resource_type == "storageAccounts")
        assert accounts.api_versions == ["2026-09-01", "2026-04-01"]
        assert accounts.default_api_version == "2026-09-01"
        names = {p.namespace async for p in client.providers.list()}
        assert names == set(CATALOG)
