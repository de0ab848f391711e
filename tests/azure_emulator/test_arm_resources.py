"""ARM basics driven by the real, unmodified Azure SDK clients: subscriptions, resource groups, storage."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.identity.aio import AzureCliCredential
from azure.mgmt.resource.resources.aio import ResourceManagementClient
from azure.mgmt.resource.subscriptions.aio import SubscriptionClient
from azure.mgmt.storage.aio import StorageManagementClient

from tests.azure_emulator import tokens
from tests.azure_emulator.server import Emulator
from tests.azure_emulator.storage_registry import get_registry

SUB = "3f2c7a1e-5b8d-4e0f-9a6c-1d2e3f4a5b6c"


@pytest.fixture
async def cred(azure_env: dict[str, str]) -> AsyncIterator[AzureCliCredential]:
    async with AzureCliCredential() as credential:
        yield credential


def sdk_kwargs(emu: Emulator) -> dict[str, Any]:
    """aiohttp builds its default SSL context when first imported (before the test sets SSL_CERT_FILE),
    so in-process async clients are given the CA explicitly; subprocesses use the environment."""
    return {"base_url": emu.arm_url, "connection_verify": str(emu.ca_path)}


def raw(
    emu: Emulator,
    method: str,
    path: str,
    body: Any = None,
    token: str | None = tokens.issue(tokens.HOME_TENANT, tokens.DEFAULT_RESOURCE)[0],
) -> tuple[int, dict[str, str], Any]:
    ctx = ssl.create_default_context(cafile=str(emu.ca_path))
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(emu.arm_url + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, context=ctx) as resp:
            text = resp.read()
            return resp.status, dict(resp.headers), json.loads(text) if text else None
    except urllib.error.HTTPError as err:
        text = err.read()
        return err.code, dict(err.headers), json.loads(text) if text else None


async def test_subscriptions_and_tenants(emulator: Emulator, cred: AzureCliCredential) -> None:
    async with SubscriptionClient(cred, **sdk_kwargs(emulator)) as client:
        subs = [s async for s in client.subscriptions.list()]
        # like ARM: the token's tenant's subscriptions only
        assert [s.subscription_id for s in subs] == [
            s["subscriptionId"]
            for s in emulator.settings.subscriptions
            if s["tenantId"] == emulator.settings.tenant_id
        ]
        assert subs[0].tenant_id == emulator.settings.tenant_id and subs[0].state == "Enabled"
        one = await client.subscriptions.get(SUB)
        assert one.display_name == "Emulated Subscription"
        tenants = [t async for t in client.tenants.list()]
        assert [t.tenant_id for t in tenants] == [
            emulator.settings.tenant_id,
            emulator.settings.guest_tenant_id,
        ]
        with pytest.raises(ResourceNotFoundError) as err:
            await client.subscriptions.get("00000000-0000-0000-0000-000000000000")
        assert err.value.error is not None and err.value.error.code == "SubscriptionNotFound"


async def test_resource_group_crud(emulator: Emulator, cred: AzureCliCredential) -> None:
    async with ResourceManagementClient(cred, SUB, **sdk_kwargs(emulator)) as client:
        assert not await client.resource_groups.check_existence("rg-one")
        created = await client.resource_groups.create_or_update("rg-one", {"location": "eastus"})
        assert created.id == f"/subscriptions/{SUB}/resourceGroups/rg-one"
        assert created.properties.provisioning_state == "Succeeded"
        assert await client.resource_groups.check_existence("RG-ONE")  # names are case-insensitive
        again = await client.resource_groups.create_or_update(
            "rg-one", {"location": "eastus", "tags": {"a": "b"}}
        )
        assert again.id == created.id and again.tags == {"a": "b"}
        names = [g.name async for g in client.resource_groups.list()]
        assert names == ["rg-one"]
        got = await client.resource_groups.get("rg-one")
        assert got.location == "eastus"
        poller = await client.resource_groups.begin_delete("rg-one")
        await poller.result()
        assert not await client.resource_groups.check_existence("rg-one")
        with pytest.raises(ResourceNotFoundError) as err:
            await client.resource_groups.get("rg-one")
        assert err.value.error is not None and err.value.error.code == "ResourceGroupNotFound"


@pytest.mark.no_fidelity(reason="sends a request without api-version on purpose")
def test_arm_headers_and_api_version_required(emulator: Emulator) -> None:
    status, headers, body = raw(emulator, "GET", "/subscriptions")
    assert status == 400 and body["error"]["code"] == "MissingApiVersionParameter"
    status, headers, body = raw(emulator, "GET", "/subscriptions?api-version=2022-12-01")
    assert status == 200
    for name in (
        "x-ms-request-id",
        "x-ms-correlation-request-id",
        "x-ms-ratelimit-remaining-subscription-reads",
    ):
        assert name in headers
    status, headers, body = raw(
        emulator,
        "PUT",
        f"/subscriptions/{SUB}/resourcegroups/g?api-version=2025-04-01",
        {"location": "eastus"},
    )
    assert status == 201 and "x-ms-ratelimit-remaining-subscription-writes" in headers
    status, _, body = raw(
        emulator,
        "GET",
        f"/subscriptions/{SUB}/resourceGroups/nope/providers/Microsoft.Storage/storageAccounts/x?api-version=2026-09-01",
    )
    assert status == 404 and body["error"]["code"] == "ResourceGroupNotFound"
    status, _, body = raw(
        emulator,
        "GET",
        f"/subscriptions/{SUB}/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/x?api-version=2026-09-01",
    )
    assert status == 404 and body["error"]["code"] == "ResourceNotFound"


def test_requests_without_bearer_get_401(emulator: Emulator) -> None:
    status, headers, _body = raw(
        emulator, "GET", f"/subscriptions/{SUB}/resourcegroups?api-version=2025-04-01", token=None
    )
    assert status == 401 and "WWW-Authenticate" in headers


async def test_storage_account_keys_and_share(emulator: Emulator, cred: AzureCliCredential) -> None:
    async with (
        ResourceManagementClient(cred, SUB, **sdk_kwargs(emulator)) as rm,
        StorageManagementClient(cred, SUB, **sdk_kwargs(emulator)) as st,
    ):
        await rm.resource_groups.create_or_update("rg", {"location": "westus3"})
        poller = await st.storage_accounts.begin_create(
            "rg",
            "acct1",
            {
                "sku": {"name": "Standard_LRS"},
                "kind": "StorageV2",
                "location": "westus3",
                "properties": {"largeFileSharesState": "Enabled"},
            },
        )
        account = await poller.result()
        assert account.primary_endpoints.file == f"{emulator.file_url}/acct1/"
        assert account.provisioning_state == "Succeeded" and account.large_file_shares_state == "Enabled"
        created_at = account.system_data.created_at

        keys = (await st.storage_accounts.list_keys("rg", "acct1")).keys_property
        assert [k.key_name for k in keys] == ["key1", "key2"]
        assert [k.value for k in keys] == get_registry(emulator).keys("acct1")
        assert keys[0].permissions == "Full"

        svc = await st.file_services.get_service_properties("rg", "acct1")
        assert svc.name == "default"
        share = await st.file_shares.create("rg", "acct1", "data", {"properties": {"shareQuota": 1024}})
        assert share.share_quota == 1024
        share_dir = get_registry(emulator).share_path("acct1", "data")
        assert share_dir.is_dir()
        (share_dir / "kept.txt").write_text("survives a re-PUT")

        # Re-PUT: the same resources are reused, nothing recreated or wiped.
        again = await (
            await st.storage_accounts.begin_create(
                "rg", "acct1", {"sku": {"name": "Standard_LRS"}, "kind": "StorageV2", "location": "westus3"}
            )
        ).result()
        assert again.id == account.id and again.system_data.created_at == created_at
        assert again.system_data.last_modified_at >= created_at
        assert [k.value for k in (await st.storage_accounts.list_keys("rg", "acct1")).keys_property] == [
            k.value for k in keys
        ]
        await st.file_shares.create("rg", "acct1", "data", {"properties": {}})
        assert (share_dir / "kept.txt").read_text() == "survives a re-PUT"
        shares = [s.name async for s in st.file_shares.list("rg", "acct1")]
        assert shares == ["data"]
        listed = [a.name async for a in st.storage_accounts.list_by_resource_group("rg")]
        assert listed == ["acct1"]

        with pytest.raises(HttpResponseError) as err:
            await (
                await st.storage_accounts.begin_create(
                    "rg",
                    "Bad_Name",
                    {"sku": {"name": "Standard_LRS"}, "kind": "StorageV2", "location": "westus3"},
                )
            ).result()
        assert err.value.error is not None and err.value.error.code == "AccountNameInvalid"


def test_log_analytics_workspace_and_shared_keys(emulator: Emulator) -> None:
    base = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/logs"
    raw(
        emulator,
        "PUT",
        f"/subscriptions/{SUB}/resourcegroups/rg?api-version=2025-04-01",
        {"location": "eastus"},
    )
    status, _, ws = raw(
        emulator,
        "PUT",
        base + "?api-version=2025-07-01",
        {"location": "eastus", "properties": {"sku": {"name": "PerGB2018"}}},
    )
    assert (
        status == 200
        and ws["properties"]["customerId"]
        and ws["properties"]["provisioningState"] == "Succeeded"
    )
    status, _, again = raw(emulator, "PUT", base + "?api-version=2025-07-01", {"location": "eastus"})
    assert status == 200 and again["properties"]["customerId"] == ws["properties"]["customerId"]
    status, _, keys = raw(emulator, "POST", base + "/sharedKeys?api-version=2025-07-01")
    assert status == 200 and set(keys) == {"primarySharedKey", "secondarySharedKey"}


async def test_sdk_retries_injected_429_and_503(emulator: Emulator, cred: AzureCliCredential) -> None:
    emulator.faults.add(
        service="arm",
        method="PUT",
        path="/resourcegroups/rg-f$",
        status=429,
        code="TooManyRequests",
        retry_after=0,
        times=1,
    )
    emulator.faults.add(
        service="arm", method="GET", path="/resourcegroups/rg-f$", status=503, retry_after=0, times=1
    )
    async with ResourceManagementClient(cred, SUB, **sdk_kwargs(emulator)) as client:
        await client.resource_groups.create_or_update("rg-f", {"location": "eastus"})
        got = await client.resource_groups.get("rg-f")
        assert got.name == "rg-f"
    statuses = [
        (x.method, x.status)
        for x in emulator.traffic.snapshot()
        if x.path.lower().endswith("/resourcegroups/rg-f")
    ]
    assert statuses == [("PUT", 429), ("PUT", 201), ("GET", 503), ("GET", 200)]
