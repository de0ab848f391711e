"""The shipped infra template: Bicep and hand-compiled ARM JSON agree, and both are valid."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.infra.bicep_model import HASH_KEY, bicep_sha256, summarize_arm, summarize_bicep
from tests.infra.schema_registry import errors

REPO = Path(__file__).resolve().parents[2]
PROVISION = REPO / "infra" / "provision"
BICEP = PROVISION / "inference.bicep"
ARM = PROVISION / "inference.json"
PARAMS = PROVISION / "inference.parameters.json"
CONFIG = REPO / "infra" / "inference.config.json"
OUTPUTS = [
    "SUBSCRIPTION_ID",
    "RESOURCE_GROUP_NAME",
    "STORAGE_ACCOUNT_NAME",
    "FILE_SHARE_NAME",
    "ACA_APP_NAME",
    "ACA_APP_ENDPOINT",
]
API_KEY_PARAM = "inferenceApiKey"
NAME_PARAMS = [
    "storageAccountName",
    "fileShareName",
    "acaEnvironmentName",
    "acaEnvironmentStorageName",
    "acaAppName",
    "acaLogAnalyticsName",
]


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture
def schema_dir(azure_reference: Path) -> Path:
    path = azure_reference / "azure-resource-manager-schemas" / "schemas"
    if not path.is_dir():
        pytest.fail(f"ARM schemas not found at {path}: fetch the shared azure-reference data")
    return path


@pytest.fixture(scope="module")
def arm() -> dict[str, Any]:
    return _load(ARM)  # type: ignore[no-any-return]


def test_bicep_and_json_declare_the_same_parameters(arm: dict[str, Any]) -> None:
    bicep, compiled = summarize_bicep(BICEP), summarize_arm(arm)
    assert bicep.parameters == compiled.parameters


def test_bicep_and_json_declare_the_same_variables_resources_and_outputs(arm: dict[str, Any]) -> None:
    bicep, compiled = summarize_bicep(BICEP), summarize_arm(arm)
    assert bicep.variables == compiled.variables
    assert bicep.resources == compiled.resources
    assert bicep.outputs == compiled.outputs


def test_recorded_bicep_hash_matches_the_bicep_file(arm: dict[str, Any]) -> None:
    recorded = arm["metadata"].get(HASH_KEY)
    actual = bicep_sha256(BICEP)
    assert recorded == actual, (
        f"{ARM.name} records metadata['{HASH_KEY}'] = {recorded!r} but {BICEP.name} hashes to {actual!r}: "
        f"update {ARM.name} to match the bicep, then set the recorded hash"
    )


def test_template_has_the_contract_the_core_relies_on(arm: dict[str, Any]) -> None:
    assert list(arm["outputs"]) == OUTPUTS
    for name in NAME_PARAMS:
        assert arm["parameters"][name] == {"type": "string", "nullable": True}
    assert "defaultValue" not in arm["parameters"]["defaultCommands"]
    gpu = arm["parameters"]["gpuProfileType"]
    assert gpu["defaultValue"] == "Consumption-GPU-NC24-A100"
    assert set(gpu["allowedValues"]) == {"Consumption-GPU-NC24-A100", "Consumption-GPU-NC8as-T4", "NC24-A100"}
    types = [r["type"] for r in arm["resources"]]
    assert types == [
        "Microsoft.Storage/storageAccounts",
        "Microsoft.Storage/storageAccounts/fileServices",
        "Microsoft.Storage/storageAccounts/fileServices/shares",
        "Microsoft.OperationalInsights/workspaces",
        "Microsoft.App/managedEnvironments",
        "Microsoft.App/managedEnvironments/storages",
        "Microsoft.App/containerApps",
    ]
    app = arm["resources"][-1]["properties"]
    container = app["template"]["containers"][0]
    assert container["command"] == ["/bin/bash", "-c"]
    assert container["volumeMounts"][0]["mountPath"] == "/mount"
    assert {p["type"] for p in container["probes"]} == {"Startup", "Readiness", "Liveness"}
    assert app["configuration"]["ingress"]["external"] is True


def test_the_api_key_is_a_secure_parameter_stored_as_a_secret_and_passed_by_secret_ref(
    arm: dict[str, Any],
) -> None:
    assert arm["parameters"][API_KEY_PARAM]["type"] == "securestring"
    assert "defaultValue" not in arm["parameters"][API_KEY_PARAM]
    app = arm["resources"][-1]["properties"]
    secret_name = arm["variables"]["apiKeySecretName"]
    assert secret_name == "inference-api-key"
    assert app["configuration"]["secrets"] == [
        {"name": "[variables('apiKeySecretName')]", "value": f"[parameters('{API_KEY_PARAM}')]"}
    ]
    env = app["template"]["containers"][0]["env"]
    assert env == [{"name": "INFERENCE_API_KEY", "secretRef": "[variables('apiKeySecretName')]"}]
    # Nothing else may carry the key in clear: no output, no plain env value.
    assert f"parameters('{API_KEY_PARAM}')" not in json.dumps(arm["outputs"])


def test_template_is_valid_against_the_arm_schemas(schema_dir: Path, arm: dict[str, Any]) -> None:
    assert errors(schema_dir, "2019-04-01/deploymentTemplate.json", arm) == []


def test_schema_check_rejects_an_api_version_the_schemas_do_not_know(
    schema_dir: Path, arm: dict[str, Any]
) -> None:
    broken = json.loads(json.dumps(arm))
    broken["resources"][0]["apiVersion"] = "2099-01-01"
    assert errors(schema_dir, "2019-04-01/deploymentTemplate.json", broken) != []


def test_parameters_file_is_valid_and_names_only_template_parameters(
    schema_dir: Path, arm: dict[str, Any]
) -> None:
    params = _load(PARAMS)
    assert errors(schema_dir, "2019-04-01/deploymentParameters.json", params) == []
    assert set(params["parameters"]) <= set(arm["parameters"])
    required = {n for n, p in arm["parameters"].items() if "defaultValue" not in p and not p.get("nullable")}
    # Provisioning supplies the API key; it must never sit in a file of the repository.
    assert required - set(params["parameters"]) == {API_KEY_PARAM}
    assert API_KEY_PARAM not in params["parameters"]


def test_config_file_lists_every_output_unset() -> None:
    assert _load(CONFIG) == dict.fromkeys(OUTPUTS)
