"""``aitk-inference logs|stop|start|down`` and ``status --json`` as a user runs them (subprocesses)
against the emulator running the app for real (process runtime)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.azure_emulator.runtime_process import ProcessRuntime
from tests.azure_emulator.server import Emulator
from tests.core.cli_helpers import provision_cli, run_cli, start_cli
from tests.core.helpers import REPO, SUBSCRIPTION
from tests.core.operate.talking_app import MARKER
from tests.core.operate.test_operate import HERE


@pytest.fixture
def deployed_cli(emulator: Emulator, project: Path) -> dict[str, str]:
    emulator.services["runtime_factory"] = ProcessRuntime.factory(python=sys.executable)
    shutil.copy(HERE / "talking_app.py", project / "inference" / "talking_app.py")
    (project / "inference" / "start.sh").write_text(
        '#!/usr/bin/env bash\nhere="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"\n'
        'exec "$AITK_PYTHON" "$here/talking_app.py"\n'
    )
    args = ["--project", str(project)]
    assert provision_cli(emulator, project, "rg-cli-op").returncode == 0
    deployed = run_cli(emulator, "deploy", *args, "--timeout", "60")
    assert deployed.returncode == 0, deployed.stderr
    config: dict[str, str] = json.loads((project / "infra" / "inference.config.json").read_text())
    return config


def test_logs_and_follow(emulator: Emulator, project: Path, deployed_cli: dict[str, str]) -> None:
    shown = run_cli(emulator, "logs", "--project", str(project), "--tail", "50")
    assert shown.returncode == 0, shown.stderr
    assert MARKER in shown.stdout
    assert "Log stream ended:" in shown.stderr and "Log stream ended" not in shown.stdout

    follow = start_cli(emulator, "logs", "--project", str(project), "--follow")
    try:
        assert follow.stdout is not None
        deadline = time.monotonic() + 30
        seen = ""
        while MARKER not in seen:
            assert time.monotonic() < deadline, seen
            seen += follow.stdout.readline()
        follow.send_signal(signal.SIGINT)  # Ctrl-C ends a followed stream: a normal end
        _out, err = follow.communicate(timeout=30)
    finally:
        if follow.poll() is None:
            follow.kill()
    assert follow.returncode == 0, err
    assert "warning: Stopping the log stream…" in err and "Log stream ended:" in err

    bad = run_cli(emulator, "logs", "--project", str(project), "--tail", "301")
    assert bad.returncode == 1
    assert (
        bad.stderr.strip().splitlines()[-1]
        == "aitk-inference logs failed: --tail must be between 0 and 300, not 301."
    )


def test_status_json_stop_start(emulator: Emulator, project: Path, deployed_cli: dict[str, str]) -> None:
    args = ["--project", str(project)]
    status = run_cli(emulator, "status", *args, "--json")
    assert status.returncode == 0, status.stderr
    data = json.loads(status.stdout)  # one JSON object, nothing else on stdout
    assert data["appName"] == deployed_cli["ACA_APP_NAME"] and data["runningStatus"] == "Running"
    assert data["portalUrl"].startswith("https://portal.azure.com/#@/resource/subscriptions/")

    stopped = run_cli(emulator, "stop", *args)
    assert stopped.returncode == 0, stopped.stderr
    assert stopped.stdout.splitlines()[0] == f"Container app {deployed_cli['ACA_APP_NAME']} is Stopped."
    assert json.loads(run_cli(emulator, "status", *args, "--json").stdout)["runningStatus"] == "Stopped"
    deploy = run_cli(emulator, "deploy", *args)
    assert deploy.returncode == 1
    assert deploy.stderr.strip().splitlines()[-1] == (
        f"aitk-inference deploy failed: Container app {deployed_cli['ACA_APP_NAME']} is stopped, so nothing was "
        "deployed. Start it (AI Toolkit: Start Inference App, or `aitk-inference start`), then deploy again."
    )
    started = run_cli(emulator, "start", *args)
    assert started.returncode == 0, started.stderr
    assert started.stdout.splitlines()[0] == f"Container app {deployed_cli['ACA_APP_NAME']} is Running."


def test_down_needs_yes_without_a_terminal(
    emulator: Emulator, project: Path, deployed_cli: dict[str, str]
) -> None:
    app = deployed_cli["ACA_APP_NAME"]
    refused = run_cli(emulator, "down", "--project", str(project))
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines()[-1] == (
        f"aitk-inference down failed: Delete container app {app}? Type the app name {app} to confirm: "
        "no terminal to type it on. Pass --yes to delete without typing it."
    )
    assert f"  - container app {app}: https://portal.azure.com/#@/resource/" in refused.stderr  # listed first
    done = run_cli(emulator, "down", "--project", str(project), "--yes")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"Deleted container app {app}.",
        f"Kept storage account {deployed_cli['STORAGE_ACCOUNT_NAME']} and file share "
        f"{deployed_cli['FILE_SHARE_NAME']} (they hold the fine-tuning outputs; name them to delete them).",
        "Removed ACA_APP_NAME, ACA_APP_ENDPOINT from infra/inference.config.json.",
    ]


def test_standalone_emulator_runs_the_app_for_real(tmp_path: Path, project: Path) -> None:
    """``python -m tests.azure_emulator --runtime process``: the CLI, by hand, against a running app."""
    shutil.copy(HERE / "talking_app.py", project / "inference" / "talking_app.py")
    (project / "inference" / "start.sh").write_text(
        '#!/usr/bin/env bash\nhere="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"\n'
        'exec "$AITK_PYTHON" "$here/talking_app.py"\n'
    )
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.azure_emulator",
            "--data",
            str(tmp_path / "emu"),
            "--runtime",
            "process",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        info = json.loads(server.stdout.readline())
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("AZURE_CLIENT", "AZURE_TENANT", "MSI_"))
        }
        env.update(
            {
                "AZURE_RESOURCE_MANAGER_ENDPOINT": info["arm"],
                "REQUESTS_CA_BUNDLE": info["ca"],
                "SSL_CERT_FILE": info["ca"],
                "AZURE_TOKEN_CREDENTIALS": "AzureCliCredential",
                "PATH": f"{REPO / 'tests' / 'azure_emulator' / 'fake_az'}{os.pathsep}{os.environ.get('PATH', '')}",
                "PYTHONPATH": str(REPO / "server"),
            }
        )

        def cli(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "aitk_inference", *args, "--project", str(project)],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
                stdin=subprocess.DEVNULL,
            )

        provision = ("--subscription", SUBSCRIPTION, "--resource-group", "rg-hand", "--location", "westus3")
        assert cli("provision", *provision, "--yes").returncode == 0
        deployed = cli("deploy", "--timeout", "60")
        assert deployed.returncode == 0, deployed.stderr
        logs = cli("logs")
        assert logs.returncode == 0, logs.stderr
        assert MARKER in logs.stdout  # printed by the app's real process
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
