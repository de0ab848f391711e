"""``aitk-inference api-key`` and ``provision --api-key-from-env`` as a user runs them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.azure_emulator.arm import get_arm
from tests.azure_emulator.server import Emulator
from tests.core.cli_helpers import provision_cli, run_cli
from tests.core.helpers import SUBSCRIPTION

GROUP = "rg-cli-key"


def app_key(emulator: Emulator, app: str) -> str:
    handler: Any = get_arm(emulator).handlers["microsoft.app/containerapps"]
    rid = f"/subscriptions/{SUBSCRIPTION}/resourcegroups/{GROUP}/providers/microsoft.app/containerapps/{app}"
    return str(handler.apps[rid.lower()].secrets["inference-api-key"])


def provision(emulator: Emulator, project: Path, *extra: str, **env: str) -> subprocess.CompletedProcess[str]:
    return provision_cli(emulator, project, GROUP, *extra, **env)


def test_provision_with_a_key_from_the_environment_then_print_and_rotate_it(
    emulator: Emulator, project: Path
) -> None:
    chosen = "chosen-by-the-user-0123456789abcdef"
    result = provision(emulator, project, "--api-key-from-env", "MY_INFERENCE_KEY", MY_INFERENCE_KEY=chosen)
    assert result.returncode == 0, result.stderr
    app = json.loads((project / "infra" / "inference.config.json").read_text())["ACA_APP_NAME"]
    assert app_key(emulator, app) == chosen
    assert chosen not in result.stdout + result.stderr

    shown = run_cli(emulator, "api-key", "--project", str(project))
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == chosen + "\n"  # the key alone: KEY=$(aitk-inference api-key)
    assert f"Read the API key of container app {app} (secret 'inference-api-key')." in shown.stderr
    assert chosen not in shown.stderr

    rotated = run_cli(emulator, "api-key", "--rotate", "--yes", "--project", str(project))
    assert rotated.returncode == 0, rotated.stderr
    new = app_key(emulator, app)
    assert new != chosen and rotated.stdout == new + "\n"
    assert f"Set a new API key on container app {app} (secret 'inference-api-key')." in rotated.stderr
    assert "Revision(s) restarted to read it: " in rotated.stderr and new not in rotated.stderr


def test_a_missing_environment_variable_is_named_and_nothing_runs(emulator: Emulator, project: Path) -> None:
    result = provision(emulator, project, "--api-key-from-env", "NOT_SET_ANYWHERE")
    assert result.returncode == 1
    assert result.stderr == (
        "aitk-inference provision failed: --api-key-from-env NOT_SET_ANYWHERE: the environment variable "
        "NOT_SET_ANYWHERE is not set or empty. Set it in this shell without echoing the key (e.g. "
        "`read -rs NOT_SET_ANYWHERE; export NOT_SET_ANYWHERE`), then run again.\n"
    )
    assert not emulator.traffic.snapshot()


def test_a_short_key_is_refused_without_showing_it(emulator: Emulator, project: Path) -> None:
    result = provision(emulator, project, "--api-key-from-env", "SHORT_KEY", SHORT_KEY="tooshort")
    assert result.returncode == 1
    assert result.stderr == (
        "aitk-inference provision failed: The API key in the environment variable SHORT_KEY is too short "
        "(8 characters; at least 16 are needed). Use a long random value, e.g. "
        "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`.\n"
    )


def test_a_key_from_the_environment_needs_rotate(emulator: Emulator, project: Path) -> None:
    result = run_cli(emulator, "api-key", "--api-key-from-env", "X", "--project", str(project))
    assert result.returncode == 1
    assert result.stderr == (
        "aitk-inference api-key failed: --api-key-from-env sets a new key, so it goes with --rotate. Add --rotate.\n"
    )


def test_rotation_without_a_terminal_needs_yes(emulator: Emulator, project: Path) -> None:
    assert provision(emulator, project).returncode == 0
    app = json.loads((project / "infra" / "inference.config.json").read_text())["ACA_APP_NAME"]
    before = app_key(emulator, app)
    result = run_cli(emulator, "api-key", "--rotate", "--project", str(project))
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.endswith(
        f"aitk-inference api-key failed: Replace the API key of container app {app}? Clients still using the "
        "current key get 401 once its revisions restart. No terminal to confirm on. Pass --yes to go ahead.\n"
    )
    assert app_key(emulator, app) == before
