"""The main job against the embedded local default: start the local Azure emulator in this process,
provision the template into it and deploy a project made from the template, using the real CLI
(``aitk-inference provision`` / ``deploy``) exactly as a sovereign-cloud user would: ARM endpoint and
CA bundle from the environment, sign-in through Azure CLI credentials (here the emulator's ``az``
stand-in). Prints each step and the endpoint, then checks the endpoint answers."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.azure_emulator.server import Emulator, EmulatorThread  # noqa: E402
from tests.conftest import emulator_env  # noqa: E402

SUBSCRIPTION = "3f2c7a1e-5b8d-4e0f-9a6c-1d2e3f4a5b6c"


def step(text: str) -> None:
    print(f"\n==> {text}", flush=True)


def make_project(dest: Path) -> Path:
    shutil.copytree(REPO / "infra", dest / "infra")
    if (REPO / "inference").is_dir():
        shutil.copytree(
            REPO / "inference", dest / "inference", ignore=shutil.ignore_patterns("__pycache__", ".venv")
        )
    return dest


def cli(env: dict[str, str], *args: str) -> None:
    cmd = [sys.executable, "-m", "aitk_inference", *args]
    print("$ aitk-inference " + " ".join(args), flush=True)
    subprocess.run(cmd, env=env, check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--resource-group", default="rg-aitk-inference-demo")
    parser.add_argument("--location", default="westus3")
    parser.add_argument("--timeout", default="600", help="seconds deploy waits for the app to answer")
    parser.add_argument("--keep", action="store_true", help="keep the temporary project and emulator data")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="aitk-inference-demo-"))
    step("Starting the local Azure emulator (ARM, Container Apps, Azure Files over HTTPS)")
    runner = EmulatorThread(Emulator(work / "emulator"))
    emu = runner.start()
    print(f"ARM endpoint: {emu.arm_url}\nCA bundle:    {emu.ca_path}")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AZURE_CLIENT", "AZURE_TENANT", "MSI_", "IDENTITY_"))
    }
    env.update(emulator_env(emu))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO / "server"), env.get("PYTHONPATH")) if p)
    try:
        step("Creating a project from the template")
        project = make_project(work / "project")
        print(f"Project: {project}")

        step(
            "Provisioning (storage, file share, Log Analytics, GPU Container Apps environment, container app)"
        )
        cli(
            env,
            "provision",
            "--project",
            str(project),
            "--subscription",
            SUBSCRIPTION,
            "--resource-group",
            args.resource_group,
            "--location",
            args.location,
            "--yes",
        )
        print((project / "infra" / "inference.config.json").read_text())

        step("Deploying (sync the project to the share, restart the app, wait until it answers)")
        cli(env, "deploy", "--project", str(project), "--timeout", args.timeout)

        step("Status")
        cli(env, "status", "--project", str(project))

        endpoint = json.loads((project / "infra" / "inference.config.json").read_text())["ACA_APP_ENDPOINT"]
        url = f"https://{endpoint}/"
        step(f"Checking the endpoint answers: {url}")
        context = ssl.create_default_context(cafile=str(emu.ca_path))
        with urllib.request.urlopen(url, context=context, timeout=30) as resp:
            print(f"HTTP {resp.status} from {url}")
            if not 200 <= resp.status < 300:
                return 1
        step(f"Done. Inference endpoint: {url}")
        return 0
    except subprocess.CalledProcessError as err:
        print(f"\nDemo failed: {' '.join(err.cmd[2:])} exited with {err.returncode}.", file=sys.stderr)
        return 1
    finally:
        runner.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
