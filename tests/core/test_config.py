"""Config files and parameter validation: every bad input gives a clear error before any Azure call."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aitk_inference.core.config import (
    CONFIG_KEYS,
    ProjectPaths,
    check_project,
    read_finetuning_defaults,
    require_deploy_target,
    write_inference_config,
)
from aitk_inference.core.errors import ConfigError
from aitk_inference.core.naming import CONTAINER_APP, FILE_SHARE, LOG_ANALYTICS, STORAGE_ACCOUNT
from aitk_inference.core.provision.parameters import read_parameter_values, validate_parameters
from aitk_inference.core.provision.template import Template, bicep_sha256, load_template

TEMPLATE: dict[str, Any] = {
    "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
    "contentVersion": "1.0.0.0",
    "parameters": {
        "location": {"type": "string", "defaultValue": "[resourceGroup().location]"},
        "maximumInstanceCount": {"type": "int", "defaultValue": 1, "minValue": 1, "maxValue": 10},
        "minimumInstanceCount": {"type": "int", "defaultValue": 0, "minValue": 0, "maxValue": 10},
        "gpuProfileType": {
            "type": "string",
            "defaultValue": "Consumption-GPU-NC24-A100",
            "allowedValues": ["Consumption-GPU-NC24-A100", "Consumption-GPU-NC8as-T4", "NC24-A100"],
        },
        "storageAccountName": {"type": "string", "nullable": True},
        "fileShareName": {"type": "string", "nullable": True},
        "acaAppName": {"type": "string", "nullable": True},
        "acaLogAnalyticsName": {"type": "string", "nullable": True},
    },
    "resources": [],
}


def make_project(root: Path, params: dict[str, Any] | str | None = None) -> ProjectPaths:
    paths = ProjectPaths(root)
    paths.arm_template.parent.mkdir(parents=True)
    paths.arm_template.write_text(json.dumps(TEMPLATE))
    if params is not None:
        text = (
            params
            if isinstance(params, str)
            else json.dumps({"parameters": {k: {"value": v} for k, v in params.items()}})
        )
        paths.parameters.write_text(text)
    return paths


def validate(paths: ProjectPaths) -> dict[str, Any]:
    return validate_parameters(paths.parameters, read_parameter_values(paths), Template(TEMPLATE, "test"))


def test_malformed_parameters_json_names_file_line_and_column(tmp_path: Path) -> None:
    paths = make_project(tmp_path, '{\n  "parameters": {\n    "acaAppName": {"value": "x",}\n  }\n}\n')
    with pytest.raises(ConfigError) as exc:
        read_parameter_values(paths)
    assert str(paths.parameters) in exc.value.message
    assert "line 3, column" in exc.value.message


def test_unknown_parameter_is_named_with_the_known_ones(tmp_path: Path) -> None:
    paths = make_project(tmp_path, {"acaAppname": "myapp"})
    with pytest.raises(ConfigError) as exc:
        validate(paths)
    assert "'acaAppname'" in exc.value.message
    assert exc.value.hint is not None and "acaAppName" in exc.value.hint


@pytest.mark.parametrize(
    ("name", "value", "expect"),
    [
        ("storageAccountName", "My_Storage", "storage account"),
        ("storageAccountName", "ab", "3-24"),
        ("storageAccountName", "a" * 25, "3-24"),
        ("fileShareName", "share--x", "file share"),
        ("fileShareName", "-share", "file share"),
        ("acaAppName", "1app", "container app"),
        ("acaAppName", "app-", "container app"),
        ("acaAppName", "my--app", "container app"),
        ("acaAppName", "a" * 33, "2-32"),
        ("acaLogAnalyticsName", "abc", "4-63"),
        ("maximumInstanceCount", "3", "type int"),
        ("maximumInstanceCount", 0, "at least 1"),
        ("gpuProfileType", "Consumption-GPU-H100", "one of"),
    ],
)
def test_invalid_parameter_values_are_refused(tmp_path: Path, name: str, value: Any, expect: str) -> None:
    paths = make_project(tmp_path, {name: value})
    with pytest.raises(ConfigError) as exc:
        validate(paths)
    assert f'"{name}"' in exc.value.message and expect in exc.value.message
    assert f'"{name}" = {json.dumps(value)} ' in exc.value.message  # JSON as in the file, not Python


def test_valid_parameters_pass_and_nulls_fall_back_to_defaults(tmp_path: Path) -> None:
    paths = make_project(
        tmp_path, {"acaAppName": "my-app-1", "storageAccountName": None, "maximumInstanceCount": 2}
    )
    assert validate(paths) == {"acaAppName": "my-app-1", "maximumInstanceCount": 2}


def test_parameters_file_without_parameters_object(tmp_path: Path) -> None:
    paths = make_project(tmp_path, '["not", "parameters"]')
    with pytest.raises(ConfigError, match="parameters"):
        read_parameter_values(paths)


def test_name_rules_accept_typical_names() -> None:
    assert STORAGE_ACCOUNT.problem("stabc123def456") is None
    assert FILE_SHARE.problem("share-abc123") is None
    assert CONTAINER_APP.problem("aca-inference-abc") is None
    assert LOG_ANALYTICS.problem("log-Analytics-1") is None


def test_config_write_keeps_user_keys_and_is_complete(tmp_path: Path) -> None:
    paths = make_project(tmp_path)
    paths.inference_config.write_text(json.dumps({"MY_NOTE": "keep me", "ACA_APP_NAME": "old"}))
    outputs: dict[str, str | None] = {key: f"v-{key}" for key in CONFIG_KEYS}
    written = write_inference_config(paths, outputs)
    on_disk = json.loads(paths.inference_config.read_text())
    assert on_disk == written
    assert on_disk["MY_NOTE"] == "keep me"
    assert all(on_disk[key] == f"v-{key}" for key in CONFIG_KEYS)
    assert [p.name for p in paths.infra.iterdir() if p.name.endswith(".tmp")] == []


def test_deploy_config_missing_file_suggests_provision(tmp_path: Path) -> None:
    paths = make_project(tmp_path)
    with pytest.raises(ConfigError) as exc:
        require_deploy_target(paths)
    assert "inference.config.json" in exc.value.message
    assert exc.value.hint is not None and "Provision" in exc.value.hint


@pytest.mark.parametrize("missing", ["ACA_APP_ENDPOINT", "STORAGE_ACCOUNT_NAME"])
def test_deploy_config_null_or_missing_key_is_named(tmp_path: Path, missing: str) -> None:
    paths = make_project(tmp_path)
    data: dict[str, str | None] = {key: "x" for key in CONFIG_KEYS}
    data[missing] = None
    paths.inference_config.write_text(json.dumps(data))
    with pytest.raises(ConfigError) as exc:
        require_deploy_target(paths)
    assert missing in exc.value.message and "empty" in exc.value.message
    del data[missing]
    paths.inference_config.write_text(json.dumps(data))
    with pytest.raises(ConfigError, match=f"{missing} is missing"):
        require_deploy_target(paths)


def test_deploy_config_malformed(tmp_path: Path) -> None:
    paths = make_project(tmp_path)
    paths.inference_config.write_text('{"SUBSCRIPTION_ID": }')
    with pytest.raises(ConfigError, match=r"line 1, column 21"):
        require_deploy_target(paths)


VALID_CONFIG = {
    "SUBSCRIPTION_ID": "3f2c7a1e-5b8d-4e0f-9a6c-1d2e3f4a5b6c",
    "RESOURCE_GROUP_NAME": "rg-inference",
    "STORAGE_ACCOUNT_NAME": "stinference1",
    "FILE_SHARE_NAME": "inference",
    "ACA_APP_NAME": "aca-inference",
    "ACA_APP_ENDPOINT": "aca-inference.example.westus3.azurecontainerapps.io",
}


def test_deploy_config_lists_every_problem_with_its_fix(tmp_path: Path) -> None:
    paths = make_project(tmp_path)
    data = VALID_CONFIG | {
        "SUBSCRIPTION_ID": "my-subscription",
        "STORAGE_ACCOUNT_NAME": "St_Inference",
        "ACA_APP_NAME": "Inference--App",
        "FILE_SHARE_NAME": 7,
    }
    del data["ACA_APP_ENDPOINT"]
    paths.inference_config.write_text(json.dumps(data))
    with pytest.raises(ConfigError) as exc:
        require_deploy_target(paths)
    assert exc.value.message == (
        f"{paths.inference_config} has 5 problems: "
        "(1) SUBSCRIPTION_ID is 'my-subscription', not a subscription ID: set it to the GUID of your "
        "subscription (like 00000000-0000-0000-0000-000000000000; `az account show --query id` prints it); "
        "(2) STORAGE_ACCOUNT_NAME is 'St_Inference', not a valid storage account name: it must be "
        "lowercase letters and digits only; set it to your storage account's name; "
        "(3) FILE_SHARE_NAME must be a string, not int: put the value in double quotes; "
        "(4) ACA_APP_NAME is 'Inference--App', not a valid container app name: it must be lowercase "
        "letters, digits and hyphens, starting with a letter, ending with a letter or digit, without '--'; "
        "set it to your container app's name; "
        "(5) ACA_APP_ENDPOINT is missing."
    )
    assert exc.value.code == "ConfigIncomplete"
    assert exc.value.hint == (
        "Run Provision to create the resources and fill it in, or set the keys by hand to your "
        "existing resources' values."
    )


def test_deploy_config_with_wrong_values_only_asks_to_fix_them(tmp_path: Path) -> None:
    paths = make_project(tmp_path)
    paths.inference_config.write_text(json.dumps(VALID_CONFIG | {"ACA_APP_ENDPOINT": "https://a b/"}))
    with pytest.raises(ConfigError) as exc:
        require_deploy_target(paths)
    assert exc.value.message == (
        f"{paths.inference_config}: ACA_APP_ENDPOINT is 'https://a b/', not a host name: set it to the "
        "app's URL (like myapp.<id>.<region>.azurecontainerapps.io, shown under Application Url in the portal)."
    )
    assert (exc.value.code, exc.value.hint) == (
        "ConfigInvalid",
        "Fix the values in inference.config.json and try again.",
    )


def test_hand_provisioned_project_is_pointed_at_the_project_files(tmp_path: Path) -> None:
    paths = ProjectPaths(tmp_path)
    paths.infra.mkdir()
    paths.inference_config.write_text(json.dumps({"SUBSCRIPTION_ID": VALID_CONFIG["SUBSCRIPTION_ID"]}))
    with pytest.raises(ConfigError) as exc:
        require_deploy_target(paths)
    assert exc.value.message.startswith(
        f"{paths.inference_config} has 5 problems: (1) RESOURCE_GROUP_NAME is missing;"
    )
    assert exc.value.hint == (
        "Set the keys by hand to your existing resources' values, or run "
        "'AI Toolkit: Create inference project files' to add infra/provision/ and then Provision."
    )


def test_deploy_target_endpoint_url(tmp_path: Path) -> None:
    paths = make_project(tmp_path)
    data = VALID_CONFIG | {"ACA_APP_ENDPOINT": "app.example.azurecontainerapps.io"}
    paths.inference_config.write_text(json.dumps(data))
    assert require_deploy_target(paths).endpoint_url == "https://app.example.azurecontainerapps.io"


def test_finetuning_defaults(tmp_path: Path) -> None:
    paths = make_project(tmp_path)
    assert read_finetuning_defaults(paths) == (None, None)
    paths.finetuning_config.write_text(json.dumps({"SUBSCRIPTION_ID": "sub", "RESOURCE_GROUP_NAME": "rg"}))
    assert read_finetuning_defaults(paths) == ("sub", "rg")


def test_project_without_infra_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        check_project(tmp_path)
    assert str(exc.value) == (
        f"{tmp_path} has no infra/ folder. Open the inference project folder, or run "
        "'AI Toolkit: Create inference project files' to add infra/ and inference/ here."
    )


async def test_changed_bicep_without_compiler_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))  # no bicep, no az
    paths = make_project(tmp_path)
    paths.bicep.write_text("param location string = resourceGroup().location\n")
    body = dict(TEMPLATE, metadata={"bicepSha256": bicep_sha256(paths.bicep)})
    paths.arm_template.write_text(json.dumps(body))
    assert (await load_template(paths)).body["metadata"] == body["metadata"]
    paths.bicep.write_text("param location string = 'westus3'\n")
    with pytest.raises(ConfigError) as exc:
        await load_template(paths)
    assert "inference.bicep" in exc.value.message
    assert exc.value.hint is not None and "bicep build" in exc.value.hint


def _write_tool(bin_dir: Path, name: str, script: str) -> None:
    bin_dir.mkdir(exist_ok=True)
    tool = bin_dir / name
    tool.write_text("#!/bin/sh\n" + script)
    tool.chmod(0o755)


async def test_bicep_on_path_compiles_the_users_bicep(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A `bicep` CLI on PATH is used (`bicep build --stdout FILE`); its JSON is what gets deployed,
    even when the shipped inference.json is stale."""
    paths = make_project(tmp_path)
    paths.bicep.write_text("param location string\n")
    compiled = dict(TEMPLATE, metadata={"compiledBy": "test-bicep"})
    (tmp_path / "compiled.json").write_text(json.dumps(compiled))
    _write_tool(
        tmp_path / "bin",
        "bicep",
        f'[ "$1 $2" = "build --stdout" ] && [ "$3" = "{paths.bicep}" ] && /bin/cat "{tmp_path / "compiled.json"}"\n',
    )
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    template = await load_template(paths)
    assert template.body["metadata"] == {"compiledBy": "test-bicep"}
    assert "compiled with bicep" in template.source


async def test_bicep_compile_errors_are_shown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    paths = make_project(tmp_path)
    paths.bicep.write_text("param location strin\n")
    _write_tool(
        tmp_path / "bin", "bicep", 'echo "inference.bicep(1,16) : Error BCP302: type strin" >&2; exit 1\n'
    )
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    with pytest.raises(ConfigError) as exc:
        await load_template(paths)
    assert "BCP302" in exc.value.message and "inference.bicep" in exc.value.message


async def test_az_without_bicep_support_falls_back_to_the_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An `az` that cannot run `az bicep version` (like the tests' sign-in stand-in) is no compiler."""
    paths = make_project(tmp_path)
    paths.bicep.write_text("param location string\n")
    _write_tool(tmp_path / "bin", "az", "exit 2\n")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    template = await load_template(paths)
    assert template.source == str(paths.arm_template)


async def test_provision_without_a_template_points_at_the_project_files(tmp_path: Path) -> None:
    paths = ProjectPaths(tmp_path)
    paths.infra.mkdir()
    with pytest.raises(ConfigError) as exc:
        await load_template(paths)
    assert str(exc.value) == (
        f"{paths.infra} has no provision/inference.bicep or provision/inference.json to provision from. "
        "Run 'AI Toolkit: Create inference project files' to add them (existing files are kept), then "
        "Provision; or, for resources you made by hand, fill in inference.config.json and Deploy."
    )
    assert exc.value.code == "NoTemplate"


@pytest.mark.parametrize(
    ("params", "low", "high"),
    [({"minimumInstanceCount": 3, "maximumInstanceCount": 2}, 3, 2), ({"minimumInstanceCount": 2}, 2, 1)],
)
def test_more_minimum_than_maximum_replicas_is_refused(
    tmp_path: Path, params: dict[str, Any], low: int, high: int
) -> None:
    paths = make_project(tmp_path, params)
    with pytest.raises(ConfigError) as exc:
        validate(paths)
    assert str(exc.value) == (
        f'{paths.parameters}: "minimumInstanceCount" ({low}) is larger than "maximumInstanceCount" ({high}). '
        "Lower minimumInstanceCount or raise maximumInstanceCount, then try again."
    )


def test_config_shape_errors_say_how_to_fix_them(tmp_path: Path) -> None:
    paths = make_project(tmp_path, '{"parameters": {"acaAppName": "aca-x"}}')
    with pytest.raises(ConfigError) as exc:
        read_parameter_values(paths)
    assert str(exc.value) == (
        f'{paths.parameters}: parameter "acaAppName" must be an object with a "value". '
        'Write it as "acaAppName": {"value": …} (the ARM parameters format), or remove it.'
    )
    paths.inference_config.write_text('["SUBSCRIPTION_ID"]')
    with pytest.raises(ConfigError) as exc:
        require_deploy_target(paths)
    assert str(exc.value) == (
        f"{paths.inference_config} must hold a JSON object ({{...}}), not list. "
        'Wrap the keys in braces, e.g. {"SUBSCRIPTION_ID": "…", "RESOURCE_GROUP_NAME": "…"}.'
    )
