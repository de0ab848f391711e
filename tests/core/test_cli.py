"""The ``aitk-inference`` CLI as a user runs it: a subprocess, errors as one paragraph, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.azure_emulator import tokens
from tests.azure_emulator.server import Emulator
from tests.core.cli_helpers import provision_cli, run_cli
from tests.core.helpers import REPO, SUBSCRIPTION


def test_bad_parameters_give_one_paragraph_and_exit_1(emulator: Emulator, project: Path) -> None:
    (project / "infra" / "provision" / "inference.parameters.json").write_text(
        '{"parameters": {"acaAppName": {"value": "Bad Name"}}}'
    )
    result = run_cli(
        emulator,
        "provision",
        "--project",
        str(project),
        "--subscription",
        SUBSCRIPTION,
        "--resource-group",
        "rg",
        "--yes",
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "inference.parameters.json" in result.stderr and "acaAppName" in result.stderr
    assert "container app" in result.stderr


def test_debug_shows_the_traceback(emulator: Emulator, project: Path) -> None:
    (project / "infra" / "provision" / "inference.parameters.json").write_text("{oops")
    result = run_cli(
        emulator, "provision", "--project", str(project), "--debug", "--subscription", SUBSCRIPTION
    )
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "line 1, column 2" in result.stderr


def test_deploy_without_config_values_suggests_provision(emulator: Emulator, project: Path) -> None:
    result = run_cli(emulator, "deploy", "--project", str(project))
    assert result.returncode == 1
    assert "SUBSCRIPTION_ID is empty" in result.stderr and "Provision" in result.stderr
    assert "Traceback" not in result.stderr


def test_provision_without_a_terminal_names_the_arguments(emulator: Emulator, project: Path) -> None:
    result = run_cli(emulator, "provision", "--project", str(project))
    assert result.returncode == 1
    assert result.stderr.endswith(
        "aitk-inference provision failed: Select the Azure subscription: nothing given and no terminal to "
        "ask on. Pass --subscription (or set it in infra/finetuning.config.json).\n"
    )


def test_provision_without_a_terminal_names_only_the_missing_argument(
    emulator: Emulator, project: Path
) -> None:
    args = ("--subscription", SUBSCRIPTION, "--resource-group", "rg-new")
    result = run_cli(emulator, "provision", "--project", str(project), *args)
    assert result.returncode == 1
    assert result.stderr.endswith(
        "aitk-inference provision failed: Select the location for the new resource group: nothing given "
        "and no terminal to ask on. Pass --location.\n"
    )


def test_a_timeout_must_be_positive(emulator: Emulator, project: Path) -> None:
    result = run_cli(emulator, "deploy", "--project", str(project), "--timeout", "-5")
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == (
        "aitk-inference deploy: error: argument --timeout: must be a positive number of seconds, not -5"
    )


def test_not_a_project(emulator: Emulator, tmp_path: Path) -> None:
    result = run_cli(emulator, "status", "--project", str(tmp_path))
    assert result.returncode == 1 and "infra/" in result.stderr


def test_usage_error_exit_code() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "aitk_inference", "frobnicate"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO / "server")},
    )
    assert result.returncode == 2 and "invalid choice" in result.stderr


def test_provision_then_deploy_then_status(emulator: Emulator, project: Path) -> None:
    result = provision_cli(emulator, project, "rg-cli")
    assert result.returncode == 0, result.stderr
    config = json.loads((project / "infra" / "inference.config.json").read_text())
    assert f"https://{config['ACA_APP_ENDPOINT']}" in result.stdout
    assert "DeploymentDetailsBlade" in result.stderr
    result = run_cli(emulator, "deploy", "--project", str(project), "--timeout", "60")
    assert result.returncode == 0, result.stderr
    assert f"Inference endpoint: https://{config['ACA_APP_ENDPOINT']}" in result.stdout
    assert "%" in result.stderr  # progress percentages
    result = run_cli(emulator, "status", "--project", str(project))
    assert result.returncode == 0, result.stderr
    assert config["ACA_APP_NAME"] in result.stdout and "answers" in result.stdout


def test_subscription_in_a_guest_tenant_gets_that_tenants_token(emulator: Emulator, project: Path) -> None:
    """azure-identity asks az for a token with --tenant <the subscription's tenant>; ARM answers 401
    InvalidAuthenticationTokenTenant to a token from the user's home tenant."""
    guest = "c4e5f6a7-b8c9-4d0e-8f1a-2b3c4d5e6f70"
    args = ["--project", str(project), "--subscription", guest, "--resource-group", "rg-guest"]
    result = run_cli(emulator, "provision", *args, "--location", "westus3", "--yes", timeout=300)
    assert result.returncode == 0, result.stderr
    to_guest = [
        e for e in emulator.traffic.snapshot() if guest in e.path and "Authorization" in e.request_headers
    ]
    assert to_guest and not [e.path for e in to_guest if e.status == 401]
    issued_in = {(tokens.claims(e.request_headers["Authorization"][7:]) or {}).get("tid") for e in to_guest}
    assert issued_in == {tokens.GUEST_TENANT}
    status = run_cli(emulator, "status", "--project", str(project))
    assert status.returncode == 0, status.stderr


def test_unknown_cloud_and_both_cloud_and_endpoint(emulator: Emulator, project: Path) -> None:
    result = run_cli(emulator, "status", "--project", str(project), "--cloud", "AzureGermanCloud")
    assert result.returncode == 1
    assert result.stderr.strip().endswith(
        "Unknown Azure cloud 'AzureGermanCloud'. Use one of AzureCloud, AzureUSGovernment, AzureChinaCloud, "
        "or set a custom ARM endpoint (Azure Stack Hub)."
    )
    both = run_cli(
        emulator, "status", "--project", str(project), "--cloud", "AzureCloud", "--arm-endpoint", "https://x"
    )
    assert both.returncode == 1
    assert both.stderr.strip().endswith(
        "Both a cloud name and a custom ARM endpoint were given. Give either --cloud or --arm-endpoint."
    )
