"""Resource Manager answers as Azure gives them: long-running creates and deletes, completed bodies,
type-specific not-found errors (raw HTTP, so the wire is what is asserted; the fidelity hook validates
every exchange against the specs at teardown)."""

from __future__ import annotations

import time
from typing import Any

from tests.azure_emulator.server import Emulator
from tests.azure_emulator.test_arm_resources import SUB, raw

RG = f"/subscriptions/{SUB}/resourceGroups/rg"
ACCOUNT = f"{RG}/providers/Microsoft.Storage/storageAccounts/acct1"
ENV = f"{RG}/providers/Microsoft.App/managedEnvironments/env"
STORAGE_API = "?api-version=2026-09-01"
APP_API = "?api-version=2026-07-01"


def make_group(emulator: Emulator) -> None:
    status, _, _ = raw(
        emulator,
        "PUT",
        f"/subscriptions/{SUB}/resourcegroups/rg?api-version=2025-04-01",
        {"location": "eastus"},
    )
    assert status == 201


def poll_location(emulator: Emulator, url: str) -> tuple[list[int], Any]:
    """Follow a Location URL as an SDK poller does: 202 until done; the statuses seen and the final body."""
    statuses: list[int] = []
    for _ in range(200):
        status, headers, body = raw(emulator, "GET", url.removeprefix(emulator.arm_url))
        statuses.append(status)
        if status != 202:
            return statuses, body
        assert headers["Retry-After"].isdigit()
        url = headers["Location"]
        time.sleep(0.02)
    raise AssertionError(f"{url} never finished")


def test_storage_account_create_is_accepted_then_polled_to_the_account(emulator: Emulator) -> None:
    emulator.settings.operation_step_delay = 0.3  # long enough to see the operation in progress
    make_group(emulator)
    request = {
        "location": "eastus",
        "sku": {"name": "Standard_LRS"},
        "kind": "StorageV2",
        "properties": {"encryption": {"services": {"blob": {}}, "keySource": "Microsoft.Storage"}},
    }
    status, headers, body = raw(emulator, "PUT", ACCOUNT + STORAGE_API, request)
    assert (status, body) == (202, None)
    location = headers["Location"]
    assert "/providers/Microsoft.Storage/locations/eastus/asyncoperations/" in location
    statuses, account = poll_location(emulator, location)
    assert statuses[0] == 202 and statuses[-1] == 200
    props = account["properties"]
    assert props["provisioningState"] == "Succeeded" and props["privateEndpointConnections"] == []
    services = props["encryption"]["services"]
    assert set(services) == {"blob", "file"}
    for svc in services.values():
        assert svc["enabled"] is True and svc["keyType"] == "Account" and svc["lastEnabledTime"]
    # An update is synchronous, and keeps when encryption was enabled.
    status, _, again = raw(emulator, "PUT", ACCOUNT + STORAGE_API, request)
    assert status == 200 and again["properties"]["encryption"]["services"] == services


def test_workspace_create_answers_201_creating_and_is_polled(emulator: Emulator) -> None:
    make_group(emulator)
    ws = f"{RG}/providers/Microsoft.OperationalInsights/workspaces/logs?api-version=2025-07-01"
    status, headers, body = raw(emulator, "PUT", ws, {"location": "eastus"})
    assert status == 201 and body["properties"]["provisioningState"] == "Creating"
    assert headers["Azure-AsyncOperation"] and headers["Retry-After"].isdigit()
    assert body["properties"]["sku"]["lastSkuUpdate"]
    capping = body["properties"]["workspaceCapping"]
    assert capping["dailyQuotaGb"] == -1 and capping["dataIngestionStatus"] == "RespectQuota"
    assert capping["quotaNextResetTime"].endswith("T00:00:00.0000000Z")


def test_resource_group_and_deployment_deletes_are_accepted_and_polled(emulator: Emulator) -> None:
    make_group(emulator)
    dep = f"{RG}/providers/Microsoft.Resources/deployments/empty?api-version=2026-06-01"
    template = {"$schema": "x", "contentVersion": "1.0.0.0", "resources": []}
    assert raw(emulator, "PUT", dep, {"properties": {"template": template, "mode": "Incremental"}})[0] == 201
    for _ in range(100):
        _, _, got = raw(emulator, "GET", dep)
        if got["properties"]["provisioningState"] == "Succeeded":
            break
        time.sleep(0.02)
    # Nothing deployed: Azure still sends the (empty) list once the deployment ended.
    assert got["properties"]["outputResources"] == []
    status, headers, _ = raw(emulator, "DELETE", dep)
    assert status == 202 and "/operationresults/" in headers["Location"]
    assert poll_location(emulator, headers["Location"])[0][-1] == 204
    assert raw(emulator, "DELETE", dep)[0] == 204  # already gone: nothing to do
    status, headers, _ = raw(
        emulator, "DELETE", f"/subscriptions/{SUB}/resourcegroups/rg?api-version=2025-04-01"
    )
    assert status == 202 and poll_location(emulator, headers["Location"])[0][-1] == 204
    assert raw(emulator, "GET", f"/subscriptions/{SUB}/resourcegroups/rg?api-version=2025-04-01")[0] == 404


def test_managed_environment_body_is_completed_like_azure(emulator: Emulator) -> None:
    make_group(emulator)
    status, _, env = raw(emulator, "PUT", ENV + APP_API, {"location": "eastus", "properties": {}})
    assert status == 201 and env["location"] == "East US"
    props = env["properties"]
    for key in (
        "infrastructureResourceGroup",
        "daprAIConnectionString",
        "daprAIInstrumentationKey",
        "vnetConfiguration",
    ):
        assert key in props and props[key] is None, key
    assert props["appLogsConfiguration"] == {"destination": None, "logAnalyticsConfiguration": None}
    domain = props["customDomainConfiguration"]
    assert domain["customDomainVerificationId"]
    for key in (
        "dnsSuffix",
        "certificateValue",
        "certificatePassword",
        "thumbprint",
        "subjectName",
        "expirationDate",
    ):
        assert key in domain and domain[key] is None, key


def test_missing_resources_answer_with_the_provider_specific_code(emulator: Emulator) -> None:
    make_group(emulator)
    storage = f"{ENV}/storages/nope{APP_API}"
    status, _, err = raw(emulator, "GET", f"{RG}/providers/Microsoft.App/containerApps/nope{APP_API}")
    assert status == 404 and err["error"] == {
        "code": "ContainerAppNotFound",
        "message": "ContainerApp 'nope' was not found.",
    }
    status, _, err = raw(emulator, "GET", ENV + APP_API)
    assert status == 404 and err["error"] == {
        "code": "ManagedEnvironmentNotFound",
        "message": "ManagedEnvironment 'env' was not found.",
    }
    # A child of a missing environment reports the environment.
    status, _, err = raw(emulator, "GET", storage)
    assert status == 404 and err["error"]["code"] == "ManagedEnvironmentNotFound"
    assert raw(emulator, "PUT", ENV + APP_API, {"location": "eastus"})[0] == 201
    status, _, err = raw(emulator, "GET", storage)
    assert status == 404 and err["error"] == {
        "code": "ManagedEnvironmentStorageNotFound",
        "message": "Storage nope not found under managed environment",
    }
    raw(
        emulator,
        "PUT",
        ACCOUNT + STORAGE_API,
        {"location": "eastus", "sku": {"name": "Standard_LRS"}, "kind": "StorageV2"},
    )
    status, _, err = raw(emulator, "GET", f"{ACCOUNT}/fileServices/default/shares/nope{STORAGE_API}")
    assert status == 404 and err["error"] == {
        "code": "ShareNotFound",
        "message": "The specified share does not exist.",
    }
    # Storage accounts themselves are Resource Manager's generic not-found.
    status, _, err = raw(
        emulator, "GET", f"{RG}/providers/Microsoft.Storage/storageAccounts/other{STORAGE_API}"
    )
    assert status == 404 and err["error"]["code"] == "ResourceNotFound"
