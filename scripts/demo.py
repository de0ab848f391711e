"""The main job against the embedded local default: start the local Azure emulator in this process,
provision the template into it and deploy a project made from the template, using the real CLI
(``aitk-inference provision`` / ``deploy``) exactly as a sovereign-cloud user would: ARM endpoint and
CA bundle from the environment, sign-in through Azure CLI credentials (here the emulator's ``az``
stand-in). Prints each step and the endpoint, then chats with the endpoint.

The emulator's process runtime runs the container's real command (the inference app from the template,
``cd /mount/inference; bash ./start.sh``) with the share's folder as ``/mount`` and this interpreter
standing in for the container image. A tiny model and LoRA adapter, built on the fly, stand in for the
fine-tuning job's output on the share (no model download is possible here). The template does not
provision the endpoint's API key yet: the demo gives the process runtime one (``INFERENCE_API_KEY``)
and sends it with its request."""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import ssl
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.azure_emulator.runtime_process import ProcessRuntime  # noqa: E402
from tests.azure_emulator.server import Emulator, EmulatorThread  # noqa: E402
from tests.azure_emulator.storage_registry import get_registry  # noqa: E402
from tests.conftest import emulator_env  # noqa: E402
from tests.inference.tiny_model import build_share  # noqa: E402

MODEL_ID = "tiny-org/tiny-llama"

SUBSCRIPTION = "3f2c7a1e-5b8d-4e0f-9a6c-1d2e3f4a5b6c"


def step(text: str) -> None:
    print(f"\n==> {text}", flush=True)


def make_project(dest: Path) -> Path:
    shutil.copytree(REPO / "infra", dest / "infra")
    shutil.copytree(
        REPO / "inference", dest / "inference", ignore=shutil.ignore_patterns("__pycache__", ".venv")
    )
    # Serve the tiny stand-in model: what a user does to pick a base model (export it in defaultCommands).
    params_path = dest / "infra" / "provision" / "inference.parameters.json"
    params = json.loads(params_path.read_text())
    commands = params["parameters"]["defaultCommands"]["value"]
    params["parameters"]["defaultCommands"]["value"] = [f"export BASE_MODEL_ID={MODEL_ID}", *commands]
    params_path.write_text(json.dumps(params, indent=2) + "\n")
    return dest


def chat(url: str, context: ssl.SSLContext, api_key: str) -> dict[str, object]:
    body = json.dumps(
        {"messages": [{"role": "user", "content": "hello what is the answer"}], "max_tokens": 12}
    ).encode()
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {api_key}"}
    request = urllib.request.Request(url, data=body, headers=headers)
    with urllib.request.urlopen(request, context=context, timeout=120) as resp:
        return dict(json.loads(resp.read()))


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
    api_key = secrets.token_urlsafe(24)  # never printed
    emu.services["runtime_factory"] = ProcessRuntime.factory(
        python=sys.executable, env={"INFERENCE_API_KEY": api_key}
    )
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
        config = json.loads((project / "infra" / "inference.config.json").read_text())
        print(json.dumps(config, indent=2))

        step("Putting the fine-tuned model on the share (a tiny stand-in: base model + LoRA adapter)")
        share = get_registry(emu).share_path(config["STORAGE_ACCOUNT_NAME"], config["FILE_SHARE_NAME"])
        base, adapter = build_share(share, MODEL_ID)
        print(
            f"base model: /mount/{base.relative_to(share)}\nadapter:    /mount/{adapter.relative_to(share)}"
        )

        step("Deploying (sync the project to the share, restart the app, wait until it answers)")
        cli(env, "deploy", "--project", str(project), "--timeout", args.timeout)

        step("Status")
        cli(env, "status", "--project", str(project))

        url = f"https://{config['ACA_APP_ENDPOINT']}/"
        step(f"Chatting with the endpoint: POST {url}v1/chat/completions")
        context = ssl.create_default_context(cafile=str(emu.ca_path))
        answer = chat(url + "v1/chat/completions", context, api_key)
        choice = answer["choices"][0]  # type: ignore[index]
        print(
            f"model {answer['model']!r} answered: {choice['message']['content']!r}  (usage {answer['usage']})"
        )
        step(f"Done. Inference endpoint: {url}  (chat UI at /, OpenAI-compatible API at /v1)")
        return 0
    except subprocess.CalledProcessError as err:
        print(f"\nDemo failed: {' '.join(err.cmd[2:])} exited with {err.returncode}.", file=sys.stderr)
        for log in sorted((work / "emulator" / "runtime").glob("*/*.log")):
            print(f"--- app log {log.name}:\n{log.read_text(errors='replace')[-2000:]}", file=sys.stderr)
        return 1
    finally:
        runner.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
