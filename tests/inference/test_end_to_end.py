"""End to end: provision + deploy with the real core, then chat with the endpoint over HTTPS.

The emulator runs the container's real command (``cd /mount/inference; bash ./start.sh``) through its
process runtime, with the share's folder as ``/mount`` and this test's interpreter standing in for the
container image. The tiny model and adapter are put on the share the way a fine-tuning job leaves them.
The template does not provision the endpoint's API key yet, so the process runtime is given one
(``INFERENCE_API_KEY`` in its environment), as the Container Apps secret will give it.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import ssl
import sys
from pathlib import Path

import httpx
import pytest
from aitk_inference.core.cloud import Cloud
from aitk_inference.core.deploy import deploy
from aitk_inference.core.provision import provision
from aitk_inference.core.reporting import CancellationToken, NonInteractivePrompter, RecordingProgress
from azure.identity.aio import AzureCliCredential
from openai import AsyncOpenAI
from openai.types.chat import ChatCompletionMessageParam

from tests.azure_emulator.runtime_process import ProcessRuntime
from tests.azure_emulator.server import Emulator
from tests.azure_emulator.storage_registry import get_registry
from tests.core.helpers import SUBSCRIPTION, make_template_project
from tests.inference.tiny_model import build_share

MODEL_ID = "tiny-org/tiny-llama"

pytestmark = pytest.mark.slow


def choose_model(project: Path, model_id: str) -> None:
    """What a user does to serve another base model: export it in defaultCommands."""
    path = project / "infra" / "provision" / "inference.parameters.json"
    params = json.loads(path.read_text())
    commands = params["parameters"]["defaultCommands"]["value"]
    params["parameters"]["defaultCommands"]["value"] = [f"export BASE_MODEL_ID={model_id}", *commands]
    path.write_text(json.dumps(params, indent=2))


def runtime_logs(emulator: Emulator) -> str:
    logs = sorted((emulator.root / "runtime").glob("*/*.log"))
    return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in logs)


async def test_provision_deploy_then_chat_over_https(
    emulator: Emulator, azure_env: dict[str, str], tmp_path: Path
) -> None:
    api_key = secrets.token_urlsafe(24)
    emulator.services["runtime_factory"] = ProcessRuntime.factory(
        python=sys.executable, env={"INFERENCE_API_KEY": api_key}
    )
    project = make_template_project(tmp_path / "project")
    choose_model(project, MODEL_ID)
    cloud = Cloud.from_env()

    async with AzureCliCredential() as credential:
        config = await provision(
            project,
            credential,
            cloud=cloud,
            progress=RecordingProgress(),
            prompter=NonInteractivePrompter(),
            cancel=CancellationToken(),
            subscription_id=SUBSCRIPTION,
            resource_group="rg-e2e",
            location="westus3",
            poll_seconds=0.05,
        )
        # The fine-tuning job's output, already on the share.
        share = get_registry(emulator).share_path(
            str(config["STORAGE_ACCOUNT_NAME"]), str(config["FILE_SHARE_NAME"])
        )
        await asyncio.to_thread(build_share, share, MODEL_ID)
        try:
            result = await deploy(
                project,
                credential,
                cloud=cloud,
                progress=RecordingProgress(),
                cancel=CancellationToken(),
                readiness_timeout=240.0,
                poll_seconds=0.2,
            )
        except Exception as err:
            raise AssertionError(f"deploy failed: {err}\n{runtime_logs(emulator)}") from err

    assert result.endpoint_url == f"https://{config['ACA_APP_ENDPOINT']}"
    assert (share / "inference" / "start.sh").is_file()  # deploy synced the app; the container ran it

    verify = ssl.create_default_context(cafile=str(emulator.ca_path))
    async with httpx.AsyncClient(verify=verify, timeout=60) as http:
        # Through the ingress: /health is open, /v1 needs the key.
        assert (await http.get(f"{result.endpoint_url}/health")).status_code == 200
        refused = await http.get(
            f"{result.endpoint_url}/v1/models", headers={"Authorization": "Bearer wrong"}
        )
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "invalid_api_key"
        client = AsyncOpenAI(
            base_url=f"{result.endpoint_url}/v1", api_key=api_key, http_client=http, max_retries=0
        )
        messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hello what is the answer"}]
        completion = await client.chat.completions.create(
            model="tiny-llama-lora",
            messages=messages,
            max_tokens=8,
        )
        assert completion.object == "chat.completion"
        assert completion.choices[0].message.role == "assistant"
        assert completion.choices[0].message.content
        assert completion.usage is not None and completion.usage.completion_tokens == 8

        # Server-sent events come through the ingress proxy chunk by chunk, ending with [DONE].
        stream = await client.chat.completions.create(
            model="tiny-llama-lora",
            messages=messages,
            max_tokens=6,
            stream=True,
        )
        chunks = [chunk async for chunk in stream]
        assert all(c.object == "chat.completion.chunk" for c in chunks)
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices).strip()
        assert any(c.choices and c.choices[0].finish_reason == "length" for c in chunks)

        models = await client.models.list()
        assert [m.id for m in models.data] == ["tiny-llama-lora"]
