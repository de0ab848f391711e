"""Running the ``aitk-inference`` CLI as a user does: a subprocess against the emulator, with no
Azure identity variables from the developer's shell."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.azure_emulator.server import Emulator
from tests.conftest import emulator_env
from tests.core.helpers import REPO, SUBSCRIPTION


def cli_env(emulator: Emulator, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_CLIENT", "AZURE_TENANT", "MSI_"))}
    env.update(emulator_env(emulator))
    env["PYTHONPATH"] = str(REPO / "server")
    env.update(extra)
    return env


def run_cli(
    emulator: Emulator, *args: str, timeout: float = 120, **extra_env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aitk_inference", *args],
        env=cli_env(emulator, **extra_env),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def start_cli(emulator: Emulator, *args: str) -> subprocess.Popen[str]:
    """The CLI left running (a deploy that holds the share, a followed log stream)."""
    return subprocess.Popen(
        [sys.executable, "-m", "aitk_inference", *args],
        env=cli_env(emulator),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )


def provision_cli(
    emulator: Emulator, project: Path, group: str, *extra: str, timeout: float = 120, **extra_env: str
) -> subprocess.CompletedProcess[str]:
    """``aitk-inference provision`` into ``group`` in westus3, answering yes."""
    return run_cli(
        emulator,
        "provision",
        "--project",
        str(project),
        "--subscription",
        SUBSCRIPTION,
        "--resource-group",
        group,
        "--location",
        "westus3",
        "--yes",
        *extra,
        timeout=timeout,
        **extra_env,
    )
