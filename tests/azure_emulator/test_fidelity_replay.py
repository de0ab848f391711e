"""Real Azure recordings replayed against the emulator: same status codes, SDK headers and body structure.

Recordings (../shared/azure-reference/azure-sdk-assets, .NET SDK test proxy): template deployment
create with async polling, managed environment + Azure Files storage create, container app create
(and delete with Location polling). See fidelity/replay.py and fidelity/structure.py for the rules.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from tests.azure_emulator.fidelity import recordings
from tests.azure_emulator.fidelity.recordings import Entry
from tests.azure_emulator.fidelity.replay import Replayer, Step, report
from tests.azure_emulator.fidelity.specs import arm_index
from tests.azure_emulator.server import Emulator

# The quickstart template the deployment recording links to (storage-account-create): the machine
# has no network, so it is sent inline with the same parameters, variables and outputs.
STORAGE_ACCOUNT_TEMPLATE: dict[str, Any] = {
    "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
    "contentVersion": "1.0.0.0",
    "parameters": {
        "storageAccountType": {
            "type": "string",
            "defaultValue": "Standard_LRS",
            "allowedValues": ["Premium_LRS", "Premium_ZRS", "Standard_GRS", "Standard_GZRS", "Standard_LRS"],
        },
        "location": {"type": "string", "defaultValue": "[resourceGroup().location]"},
        "storageAccountName": {
            "type": "string",
            "defaultValue": "[format('store{0}', uniqueString(resourceGroup().id))]",
        },
    },
    "resources": [
        {
            "type": "Microsoft.Storage/storageAccounts",
            "apiVersion": "2022-09-01",
            "name": "[parameters('storageAccountName')]",
            "location": "[parameters('location')]",
            "sku": {"name": "[parameters('storageAccountType')]"},
            "kind": "StorageV2",
            "properties": {},
        }
    ],
    "outputs": {
        "storageAccountName": {"type": "string", "value": "[parameters('storageAccountName')]"},
        "storageAccountId": {
            "type": "string",
            "value": "[resourceId('Microsoft.Storage/storageAccounts', parameters('storageAccountName'))]",
        },
    },
}


def inline_template(entry: Entry) -> Entry:
    body = entry.request_body
    if isinstance(body, dict) and "templateLink" in (body.get("properties") or {}):
        props = {k: v for k, v in body["properties"].items() if k != "templateLink"}
        return replace(
            entry, request_body={**body, "properties": {**props, "template": STORAGE_ACCOUNT_TEMPLATE}}
        )
    return entry


def replay(emulator: Emulator, azure_reference: Path, recording: str, **kwargs: Any) -> list[Step]:
    # Long enough that polls see the operation in progress (compared with Azure's Accepted/Running polls).
    emulator.settings.operation_step_delay = 0.1
    emulator.settings.retry_after = 0
    replayer = Replayer(
        emulator.arm_url,
        emulator.ca_path,
        emulator.settings.subscriptions[0]["subscriptionId"],
        arm_index(azure_reference),
        **kwargs,
    )
    return replayer.replay(recordings.load(azure_reference, recording))


def assert_matches(steps: list[Step], ignore: dict[str, str] | None = None) -> None:
    """``ignore``: body pointer → why that key legitimately differs in this replay."""
    for step in steps:
        step.differences = [d for d in step.differences if d.where not in (ignore or {})]
    assert steps and not any(s.differences for s in steps), report(steps)


def test_deployment_create_and_polling_match_recording(emulator: Emulator, azure_reference: Path) -> None:
    steps = replay(emulator, azure_reference, recordings.DEPLOYMENT_CREATE, rewrite=inline_template)
    assert_matches(
        steps,
        ignore={
            "body/properties/templateLink": "the replay sends the linked template inline (no network here)"
        },
    )
    labels = [s.label for s in steps]
    assert any("via Azure-AsyncOperation (in progress)" in label for label in labels), report(steps)
    assert any("final poll via Azure-AsyncOperation" in label for label in labels), report(steps)


def test_managed_environment_storage_create_matches_recording(
    emulator: Emulator, azure_reference: Path
) -> None:
    steps = replay(emulator, azure_reference, recordings.ENVIRONMENT_STORAGE_CREATE)
    assert_matches(steps)
    assert any("final poll via Azure-AsyncOperation" in s.label for s in steps), report(steps)


def test_container_app_create_and_delete_match_recording(emulator: Emulator, azure_reference: Path) -> None:
    steps = replay(emulator, azure_reference, recordings.CONTAINER_APP_CREATE)
    assert_matches(steps)
    assert any("final poll via Location" in s.label for s in steps), report(steps)  # the delete's polling


def test_replay_reports_where_the_emulator_differs(emulator: Emulator, azure_reference: Path) -> None:
    """The replay is able to fail: a recording edited to disagree with the emulator is reported precisely."""
    entries = recordings.load(azure_reference, recordings.DEPLOYMENT_CREATE)
    final_get = entries[-1]
    final_get.response_body["properties"]["onlyInThisRecording"] = "x"
    final_get.response_headers["Location"] = "https://management.azure.com/somewhere"
    polls = [e for e in entries if "/operationStatuses/" in e.path]
    polls[-1].response_body = {"status": "Failed", "error": {"code": "X", "message": "y"}}
    replayer = Replayer(
        emulator.arm_url,
        emulator.ca_path,
        emulator.settings.subscriptions[0]["subscriptionId"],
        arm_index(azure_reference),
        rewrite=inline_template,
    )
    found = {
        (s.label.split(" (")[0].split("/")[-1], str(d))
        for s in replayer.replay(entries)
        for d in s.differences
    }
    assert (
        "deployEx-C-758",
        "body/properties/onlyInThisRecording: in the recording, missing from the emulator",
    ) in found
    assert ("deployEx-C-758", "header Location: present in the recording, missing from the emulator") in found
    assert (
        "  final poll via Azure-AsyncOperation",
        "body/status: operation ended 'Succeeded', Azure's 'Failed'",
    ) in found
