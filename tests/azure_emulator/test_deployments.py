"""Template deployments through the real azure-mgmt-resource-deployments client: the emulator plans the
template, applies each resource through the same handlers as a direct PUT, and reports per-resource
operations, outputs and ARM-shaped failures (template errors, missing existing resources, GPU quota)."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.identity.aio import AzureCliCredential
from azure.mgmt.resource.deployments.aio import DeploymentsMgmtClient
from azure.mgmt.resource.resources.aio import ResourceManagementClient

from tests.azure_emulator.arm import get_arm
from tests.azure_emulator.server import Emulator
from tests.azure_emulator.storage_registry import get_registry
from tests.azure_emulator.test_arm_resources import SUB, sdk_kwargs
from tests.azure_emulator.test_containerapps import http_get, wait_for
from tests.conftest import REPO

RG = "rg-dep"

TEMPLATE: dict[str, Any] = {
    "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
    "contentVersion": "1.0.0.0",
    "parameters": {
        "location": {"type": "string", "defaultValue": "[resourceGroup().location]"},
        "gpuProfileType": {"type": "string", "defaultValue": "Consumption-GPU-NC8as-T4"},
        "shareName": {"type": "string", "defaultValue": "share"},
    },
    "variables": {
        "suffix": "[uniqueString(resourceGroup().id)]",
        "storageName": "[toLower(format('st{0}', variables('suffix')))]",
        "envName": "[concat('env-', variables('suffix'))]",
        "appName": "[concat('app-', variables('suffix'))]",
    },
    "resources": [
        {
            "type": "Microsoft.Storage/storageAccounts",
            "apiVersion": "2026-09-01",
            "name": "[variables('storageName')]",
            "location": "[parameters('location')]",
            "sku": {"name": "Standard_LRS"},
            "kind": "StorageV2",
            "properties": {"largeFileSharesState": "Enabled"},
        },
        {
            "type": "Microsoft.Storage/storageAccounts/fileServices/shares",
            "apiVersion": "2026-09-01",
            "name": "[format('{0}/default/{1}', variables('storageName'), parameters('shareName'))]",
            "properties": {"shareQuota": 1024},
            "dependsOn": ["[resourceId('Microsoft.Storage/storageAccounts', variables('storageName'))]"],
        },
        {
            "type": "Microsoft.App/managedEnvironments",
            "apiVersion": "2026-07-01",
            "name": "[variables('envName')]",
            "location": "[parameters('location')]",
            "properties": {
                "workloadProfiles": [
                    {"name": "Consumption", "workloadProfileType": "Consumption"},
                    {"name": "GPU", "workloadProfileType": "[parameters('gpuProfileType')]"},
                ]
            },
        },
        {
            "type": "Microsoft.App/managedEnvironments/storages",
            "apiVersion": "2026-07-01",
            "name": "[format('{0}/files', variables('envName'))]",
            "properties": {
                "azureFile": {
                    "accountName": "[variables('storageName')]",
                    "accountKey": "[listKeys(resourceId('Microsoft.Storage/storageAccounts', variables('storageName')), '2026-09-01').keys[0].value]",
                    "shareName": "[parameters('shareName')]",
                    "accessMode": "ReadWrite",
                }
            },
            "dependsOn": [
                "[resourceId('Microsoft.App/managedEnvironments', variables('envName'))]",
                "[resourceId('Microsoft.Storage/storageAccounts/fileServices/shares', variables('storageName'), 'default', parameters('shareName'))]",
            ],
        },
        {
            "type": "Microsoft.App/containerApps",
            "apiVersion": "2026-07-01",
            "name": "[variables('appName')]",
            "location": "[parameters('location')]",
            "properties": {
                "managedEnvironmentId": "[resourceId('Microsoft.App/managedEnvironments', variables('envName'))]",
                "workloadProfileName": "GPU",
                "configuration": {"ingress": {"external": True, "targetPort": 7860}},
                "template": {
                    "containers": [
                        {
                            "name": "app",
                            "image": "mcr.microsoft.com/k8se/quickstart:latest",
                            "volumeMounts": [{"volumeName": "share", "mountPath": "/mount"}],
                        }
                    ],
                    "volumes": [{"name": "share", "storageType": "AzureFile", "storageName": "files"}],
                    "scale": {"minReplicas": 0, "maxReplicas": 1},
                },
            },
            "dependsOn": [
                "[resourceId('Microsoft.App/managedEnvironments/storages', variables('envName'), 'files')]"
            ],
        },
    ],
    "outputs": {
        "STORAGE_ACCOUNT_NAME": {"type": "string", "value": "[variables('storageName')]"},
        "ACA_APP_NAME": {"type": "string", "value": "[variables('appName')]"},
        "ACA_APP_ENDPOINT": {
            "type": "string",
            "value": "[reference(resourceId('Microsoft.App/containerApps', variables('appName')), '2026-07-01').configuration.ingress.fqdn]",
        },
    },
}


@pytest.fixture
async def cred(azure_env: dict[str, str]) -> AsyncIterator[AzureCliCredential]:
    async with AzureCliCredential() as credential:
        yield credential


@pytest.fixture
async def client(emulator: Emulator, cred: AzureCliCredential) -> AsyncIterator[DeploymentsMgmtClient]:
    async with ResourceManagementClient(cred, SUB, **sdk_kwargs(emulator)) as rm:
        await rm.resource_groups.create_or_update(RG, {"location": "westus3"})
    async with DeploymentsMgmtClient(cred, SUB, **sdk_kwargs(emulator)) as c:
        yield c


async def deploy(
    client: DeploymentsMgmtClient,
    template: dict[str, Any],
    params: dict[str, Any] | None = None,
    name: str = "inference",
) -> Any:
    poller = await client.deployments.begin_create_or_update(
        RG, name, {"properties": {"mode": "Incremental", "template": template, "parameters": params or {}}}
    )
    return await poller.result()


async def test_deploy_template_end_to_end(emulator: Emulator, client: DeploymentsMgmtClient) -> None:
    result = await deploy(client, TEMPLATE, {"shareName": {"value": "models"}})
    props = result.properties
    assert props.provisioning_state == "Succeeded"
    outputs = {k: v["value"] for k, v in props.outputs.items()}
    account, app = outputs["STORAGE_ACCOUNT_NAME"], outputs["ACA_APP_NAME"]
    assert account.startswith("st") and len(account) == 15 and app == "app-" + account[2:]
    assert outputs["ACA_APP_ENDPOINT"].startswith("127.0.0.1:")
    assert props.parameters["shareName"] == {"type": "String", "value": "models"}
    assert len(props.output_resources) == 5
    assert get_registry(emulator).share_exists(account, "models")

    ops = [op async for op in client.deployment_operations.list(RG, "inference")]
    states = {op.properties.target_resource.resource_type: op.properties.provisioning_state for op in ops}
    assert states == {
        "Microsoft.Storage/storageAccounts": "Succeeded",
        "Microsoft.Storage/storageAccounts/fileServices/shares": "Succeeded",
        "Microsoft.App/managedEnvironments": "Succeeded",
        "Microsoft.App/managedEnvironments/storages": "Succeeded",
        "Microsoft.App/containerApps": "Succeeded",
    }

    # The deployed app is a real emulated app: its ingress answers once its revision is running.
    async def serving() -> bool:
        return (await http_get(emulator, outputs["ACA_APP_ENDPOINT"]))[0] == 200

    await wait_for(serving)

    # Re-deploying reuses everything: same ids, createdAt kept, share contents kept, statusCode OK.
    share_dir = get_registry(emulator).share_path(account, "models")
    (share_dir / "weights.bin").write_bytes(b"\x00" * 16)
    app_id = next(
        op.properties.target_resource.id
        for op in ops
        if op.properties.target_resource.resource_type == "Microsoft.App/containerApps"
    )
    created_at = get_arm(emulator).get(app_id)["systemData"]["createdAt"]  # type: ignore[index]
    again = await deploy(client, TEMPLATE, {"shareName": {"value": "models"}})
    assert again.properties.outputs == props.outputs
    assert (share_dir / "weights.bin").read_bytes() == b"\x00" * 16
    assert get_arm(emulator).get(app_id)["systemData"]["createdAt"] == created_at  # type: ignore[index]
    codes = {op.properties.status_code async for op in client.deployment_operations.list(RG, "inference")}
    assert codes == {"OK"}
    names = [d.name async for d in client.deployments.list_by_resource_group(RG)]
    assert names == ["inference"]


async def test_invalid_template_is_rejected_with_arm_error(client: DeploymentsMgmtClient) -> None:
    bad = copy.deepcopy(TEMPLATE)
    bad["outputs"]["ACA_APP_NAME"]["value"] = "[variables('nope')]"
    bad["resources"][0]["name"] = "[notAFunction()]"
    with pytest.raises(HttpResponseError) as err:
        await deploy(client, bad)
    assert err.value.status_code == 400
    assert err.value.error is not None and err.value.error.code == "InvalidTemplate"


async def test_validate(client: DeploymentsMgmtClient) -> None:
    poller = await client.deployments.begin_validate(
        RG, "check", {"properties": {"mode": "Incremental", "template": TEMPLATE}}
    )
    result = await poller.result()
    assert result.properties.provisioning_state == "Succeeded"
    assert len(result.properties.validated_resources) == 5


async def test_quota_failure_fails_deployment_with_details(
    emulator: Emulator, client: DeploymentsMgmtClient
) -> None:
    emulator.settings.gpu_quota = {"*": 0}
    with pytest.raises(HttpResponseError) as err:
        await deploy(client, TEMPLATE)
    error = err.value.error
    assert error is not None and error.code == "DeploymentFailed"
    assert [d.code for d in error.details] == ["MaxRegionalQuotaExceeded"]
    dep = await client.deployments.get(RG, "inference")
    assert dep.properties.provisioning_state == "Failed"
    assert dep.properties.error.details[0].code == "MaxRegionalQuotaExceeded"
    ops = {
        op.properties.target_resource.resource_type: op
        async for op in client.deployment_operations.list(RG, "inference")
    }
    failed = ops["Microsoft.App/managedEnvironments"].properties
    assert (
        failed.provisioning_state == "Failed"
        and failed.status_message.error.code == "MaxRegionalQuotaExceeded"
    )
    assert ops["Microsoft.Storage/storageAccounts"].properties.provisioning_state == "Succeeded"


async def test_existing_resource_must_exist(client: DeploymentsMgmtClient) -> None:
    template = {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "languageVersion": "2.0",
        "contentVersion": "1.0.0.0",
        "resources": {
            "acct": {
                "type": "Microsoft.Storage/storageAccounts",
                "apiVersion": "2026-09-01",
                "name": "missing1",
                "existing": True,
            }
        },
        "outputs": {
            "id": {"type": "string", "value": "[resourceId('Microsoft.Storage/storageAccounts', 'missing1')]"}
        },
    }
    with pytest.raises(HttpResponseError) as err:
        await deploy(client, template, name="uses-existing")
    assert err.value.error is not None and err.value.error.code == "DeploymentFailed"
    assert err.value.error.details[0].code == "ResourceNotFound"


async def test_project_template_deploys(emulator: Emulator, client: DeploymentsMgmtClient) -> None:
    """The template this project ships (infra/provision/inference.json) deploys end to end."""
    template = json.loads((REPO / "infra" / "provision" / "inference.json").read_text())
    params = json.loads((REPO / "infra" / "provision" / "inference.parameters.json").read_text())[
        "parameters"
    ]
    key = "project-template-api-key-0123456789"
    result = await deploy(client, template, {**params, "inferenceApiKey": {"value": key}})
    outputs = {k: v.get("value") for k, v in result.properties.outputs.items()}
    assert outputs["SUBSCRIPTION_ID"] == SUB and outputs["RESOURCE_GROUP_NAME"] == RG
    assert outputs["ACA_APP_ENDPOINT"].startswith("127.0.0.1:")
    assert get_registry(emulator).share_exists(outputs["STORAGE_ACCOUNT_NAME"], outputs["FILE_SHARE_NAME"])
    ops = [op async for op in client.deployment_operations.list(RG, "inference")]
    assert ops and all(op.properties.provisioning_state == "Succeeded" for op in ops)
    # The secure parameter is echoed by type only, and the app keeps it as a write-only secret.
    assert result.properties.parameters["inferenceApiKey"] == {"type": "SecureString"}
    app = outputs["ACA_APP_NAME"]
    stored = get_arm(emulator).get(
        f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.App/containerApps/{app}"
    )
    assert stored is not None and stored["properties"]["configuration"]["secrets"] == [
        {"name": "inference-api-key"}
    ]
    reads = [x for x in emulator.traffic.snapshot() if x.method in ("GET", "HEAD")]
    assert reads and not any(key.encode() in (x.response_body or b"") for x in reads)


async def test_polling_survives_injected_faults(emulator: Emulator, client: DeploymentsMgmtClient) -> None:
    """429/503 on the status poll and on the final GET are retried by the SDK; the result is intact."""
    emulator.faults.add(
        service="arm",
        method="GET",
        path="/operationStatuses/",
        status=429,
        code="TooManyRequests",
        retry_after=0,
    )
    emulator.faults.add(
        service="arm", method="GET", path="/deployments/inference$", status=503, retry_after=0
    )
    result = await deploy(client, TEMPLATE)
    assert result.properties.provisioning_state == "Succeeded"
    statuses = [
        x.status
        for x in emulator.traffic.snapshot()
        if x.method == "GET" and "/deployments/inference" in x.path
    ]
    assert 429 in statuses and 503 in statuses and statuses[-1] == 200


async def test_cancel_running_deployment(emulator: Emulator, client: DeploymentsMgmtClient) -> None:
    emulator.settings.operation_step_delay = 0.5
    poller = await client.deployments.begin_create_or_update(
        RG, "slow", {"properties": {"mode": "Incremental", "template": TEMPLATE}}
    )
    await client.deployments.cancel(RG, "slow")
    with pytest.raises(HttpResponseError):
        await poller.result()
    dep = await client.deployments.get(RG, "slow")
    assert dep.properties.provisioning_state == "Canceled"
