"""The behaviour rules (fidelity/rules.py) fail on each class of difference, shown on seeded exchanges."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tests.azure_emulator.fidelity import recordings
from tests.azure_emulator.fidelity.validator import Mismatch, TrafficValidator, arm_validator
from tests.azure_emulator.test_fidelity_validator import SUB, exchange, recorded
from tests.azure_emulator.traffic import Exchange

ACCOUNT = f"{SUB}/resourceGroups/rg1/providers/Microsoft.Storage/storageAccounts/acct1"
APP = f"{SUB}/resourceGroups/rg1/providers/Microsoft.App/containerApps/app1"
STORAGE_VERSION = "2026-09-01"
SYNC_CREATE = (
    "a create answered 200 synchronously, but the spec declares a long-running operation "
    "(x-ms-long-running-operation) whose create answers 202 and is polled"
)
SYNC_DELETE = (
    "the delete of an existing resource answered 204 synchronously, but the spec declares a long-running "
    "operation (x-ms-long-running-operation) that answers 202 and is polled"
)
READ_ONLY_ABSENT = (
    "read-only property declared by the spec is missing (Azure computes and sends it; null if unset)"
)


@pytest.fixture
def validator(azure_reference: Path) -> TrafficValidator:
    return arm_validator(azure_reference)


def account_body() -> dict[str, Any]:
    return {
        "id": ACCOUNT,
        "name": "acct1",
        "type": "Microsoft.Storage/storageAccounts",
        "location": "eastus",
        "sku": {"name": "Standard_LRS"},
        "kind": "StorageV2",
        "properties": {"provisioningState": "Succeeded"},
    }


def account_put(status: int, body: Any = None, headers: dict[str, str] | None = None) -> Exchange:
    request = {"location": "eastus", "sku": {"name": "Standard_LRS"}, "kind": "StorageV2"}
    return exchange(
        "PUT", ACCOUNT, status, body, api_version=STORAGE_VERSION, request_body=request, headers=headers
    )


def at(found: list[Mismatch], pointer: str) -> list[str]:
    return [m.reason for m in found if m.pointer == pointer]


def test_create_answered_synchronously_where_azure_runs_an_lro_fails(validator: TrafficValidator) -> None:
    found = validator.validate_all([account_put(200, account_body())])
    assert at(found, "response status") == [SYNC_CREATE]
    # Azure's answer: 202 + Location, polled.
    accepted = account_put(202, headers={"Location": "https://127.0.0.1/x", "Retry-After": "1"})
    assert at(validator.validate_all([accepted]), "response status") == []
    # An update of an account the traffic has shown to exist is synchronous (200) in Azure too.
    shown = exchange("GET", ACCOUNT, 200, account_body(), api_version=STORAGE_VERSION)
    assert at(validator.validate_all([shown, account_put(200, account_body())]), "response status") == []


def test_delete_of_an_existing_resource_answered_synchronously_fails(
    validator: TrafficValidator, azure_reference: Path
) -> None:
    entries = recordings.load(azure_reference, recordings.CONTAINER_APP_CREATE)
    create = recorded(next(e for e in entries if e.method == "PUT" and "/containerApps/" in e.path))
    path = create.path
    sync_delete = exchange("DELETE", path, 204)
    found = validator.validate_all([create, sync_delete])
    assert [(m.operation, m.reason) for m in found if m.pointer == "response status"] == [
        ("ContainerApps_Delete", SYNC_DELETE)
    ]
    # 204 for a resource that does not exist is ARM's answer (nothing to delete).
    assert validator.validate_all([sync_delete]) == []


def test_declared_read_only_property_missing_fails(
    validator: TrafficValidator, azure_reference: Path
) -> None:
    entries = recordings.load(azure_reference, recordings.ENVIRONMENT_STORAGE_CREATE)
    env_put = next(e for e in entries if e.method == "PUT" and e.path.endswith("env1651"))
    assert validator.validate(recorded(env_put)) == []  # real Azure passes
    body = copy.deepcopy(env_put.response_body)
    del body["properties"]["staticIp"]
    del body["properties"]["customDomainConfiguration"]["customDomainVerificationId"]
    found = validator.validate(recorded(env_put, response_body=json.dumps(body).encode()))
    assert [(m.operation, m.pointer, m.reason) for m in found] == [
        (
            "ManagedEnvironments_CreateOrUpdate",
            "response/properties/customDomainConfiguration/customDomainVerificationId",
            READ_ONLY_ABSENT,
        ),
        ("ManagedEnvironments_CreateOrUpdate", "response/properties/staticIp", READ_ONLY_ABSENT),
    ]
    body["properties"]["staticIp"] = None  # null counts as sent, as Azure sends unset values
    body["properties"]["customDomainConfiguration"]["customDomainVerificationId"] = None
    assert validator.validate(recorded(env_put, response_body=json.dumps(body).encode())) == []


def test_output_resources_missing_once_the_deployment_ended_fails(
    validator: TrafficValidator, azure_reference: Path
) -> None:
    entries = recordings.load(azure_reference, recordings.DEPLOYMENT_CREATE)
    started = next(e for e in entries if e.method == "PUT" and "/deployments/" in e.path)
    assert "outputResources" not in started.response_body["properties"]  # Accepted: Azure leaves it out
    assert validator.validate(recorded(started)) == []
    final = entries[-1]
    body = copy.deepcopy(final.response_body)
    assert body["properties"]["provisioningState"] == "Succeeded"
    del body["properties"]["outputResources"]
    found = validator.validate(recorded(final, response_body=json.dumps(body).encode()))
    assert [(m.operation, m.pointer, m.reason) for m in found] == [
        ("Deployments_Get", "response/properties/outputResources", READ_ONLY_ABSENT)
    ]


def test_empty_api_versions_in_provider_metadata_fail(validator: TrafficValidator) -> None:
    path = f"{SUB}/providers/Microsoft.App"
    provider = {
        "id": path,
        "namespace": "Microsoft.App",
        "resourceTypes": [
            {"resourceType": "containerApps", "locations": ["East US"], "apiVersions": []},
            {
                "resourceType": "managedEnvironments",
                "locations": ["East US"],
                "apiVersions": ["2026-07-01"],
                "defaultApiVersion": "2020-01-01",
            },
        ],
    }
    found = validator.validate(exchange("GET", path, 200, provider, api_version="2025-04-01"))
    assert [(m.operation, m.pointer, m.reason) for m in found] == [
        (
            "Providers_Get",
            "response/resourceTypes/0/apiVersions",
            "resource type 'containerApps' lists no api-versions (Azure lists them all)",
        ),
        (
            "Providers_Get",
            "response/resourceTypes/1/defaultApiVersion",
            "'2020-01-01' of resource type 'managedEnvironments' is not one of its apiVersions",
        ),
    ]
