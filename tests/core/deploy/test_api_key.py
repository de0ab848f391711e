"""The endpoint's API key against the emulator: provision creates, keeps or takes it; ``api-key``
reads it with listSecrets and rotates it; it never lands in the config, a log line or an error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aitk_inference.core.azure.clients import container_apps_client
from aitk_inference.core.azure.cloud import Cloud
from aitk_inference.core.deploy.api_key import api_key
from aitk_inference.core.errors import AitkError, ConfigError, OperationCancelled
from aitk_inference.core.reporting import RecordingProgress

from tests.azure_emulator.arm import get_arm
from tests.azure_emulator.server import Emulator
from tests.core.helpers import SUBSCRIPTION, ScriptedPrompter
from tests.core.provision.test_provision import run_provision

GROUP = "rg-key"


def app_secrets(emulator: Emulator, app: str) -> dict[str, str]:
    """The app's secret values as the emulator holds them (not through the code under test)."""
    handler: Any = get_arm(emulator).handlers["microsoft.app/containerapps"]
    state = handler.apps[
        f"/subscriptions/{SUBSCRIPTION}/resourcegroups/{GROUP}/providers/microsoft.app/containerapps/{app}".lower()
    ]
    return dict(state.secrets)


def everything_said(progress: RecordingProgress) -> str:
    return "\n".join([m for m, _ in progress.reports] + [m for m, _ in progress.logs])


async def provision_here(
    project: Path, credential: Any, cloud: Cloud, **kwargs: Any
) -> tuple[dict[str, Any], RecordingProgress]:
    return await run_provision(
        project,
        credential,
        cloud,
        subscription_id=SUBSCRIPTION,
        resource_group=GROUP,
        location="westus3",
        **kwargs,
    )


async def test_provision_creates_a_key_then_keeps_it(
    emulator: Emulator, credential: Any, cloud: Cloud, project: Path
) -> None:
    config, progress = await provision_here(project, credential, cloud)
    app = str(config["ACA_APP_NAME"])
    key = app_secrets(emulator, app)["inference-api-key"]
    assert len(key) >= 43  # token_urlsafe(32)
    assert "API key: created a new key; `aitk-inference api-key` prints it." in [m for m, _ in progress.logs]
    config_text = (project / "infra" / "inference.config.json").read_text()
    assert key not in config_text and key not in everything_said(progress)
    assert json.loads(config_text) == config and "apiKey" not in config_text

    again, progress = await provision_here(project, credential, cloud)
    assert again["ACA_APP_NAME"] == app
    assert app_secrets(emulator, app)["inference-api-key"] == key  # not rotated silently
    assert f"API key: keeping the key of container app {app}." in [m for m, _ in progress.logs]
    assert key not in everything_said(progress)


async def test_provision_takes_the_key_the_user_supplies(
    emulator: Emulator, credential: Any, cloud: Cloud, project: Path
) -> None:
    await provision_here(project, credential, cloud)
    chosen = "a-key-the-user-chose-0123456789"
    config, progress = await provision_here(project, credential, cloud, api_key=chosen)
    assert app_secrets(emulator, str(config["ACA_APP_NAME"]))["inference-api-key"] == chosen
    assert "API key: using the key you supplied (it replaces the app's current key)." in [
        m for m, _ in progress.logs
    ]
    assert chosen not in everything_said(progress)


async def test_a_key_in_the_parameters_file_is_refused_before_any_azure_call(
    emulator: Emulator, credential: Any, cloud: Cloud, project: Path
) -> None:
    path = project / "infra" / "provision" / "inference.parameters.json"
    params = json.loads(path.read_text())
    params["parameters"]["inferenceApiKey"] = {"value": "committed-by-mistake-0123456789"}
    path.write_text(json.dumps(params))
    with pytest.raises(ConfigError) as err:
        await provision_here(project, credential, cloud)
    assert str(err.value) == (
        f'{path}: parameter "inferenceApiKey" must not be set in this file: it would be committed with the project. '
        "Remove it. Provisioning keeps the app's existing key or creates one; to choose the key, run "
        "`aitk-inference provision --api-key-from-env VAR` with the key in the environment variable VAR."
    )
    assert "committed-by-mistake" not in str(err.value)
    # (the cloud's metadata document is read first, without a token; nothing else reached ARM)
    arm = [x for x in emulator.traffic.snapshot() if x.service == "arm"]
    assert [x.path for x in arm if not x.path.startswith("/metadata/endpoints")] == []


async def test_api_key_reads_with_list_secrets_and_rotation_restarts_the_revisions(
    emulator: Emulator, credential: Any, cloud: Cloud, project: Path
) -> None:
    config, _ = await provision_here(project, credential, cloud)
    app = str(config["ACA_APP_NAME"])
    original = app_secrets(emulator, app)["inference-api-key"]

    progress = RecordingProgress()
    read = await api_key(project, credential, cloud=cloud, progress=progress, prompter=ScriptedPrompter())
    assert (read.value, read.app_name, read.secret_name, read.rotated) == (
        original,
        app,
        "inference-api-key",
        False,
    )
    assert original not in repr(read) and original not in everything_said(progress)
    assert [
        x.path for x in emulator.traffic.snapshot() if x.method == "POST" and x.path.endswith("/listSecrets")
    ]

    prompter = ScriptedPrompter()
    progress = RecordingProgress()
    rotated = await api_key(
        project, credential, cloud=cloud, progress=progress, prompter=prompter, rotate=True
    )
    assert rotated.rotated and rotated.value != original and len(rotated.value) >= 43
    assert app_secrets(emulator, app)["inference-api-key"] == rotated.value
    assert rotated.revisions_restarted and all(r.startswith(f"{app}--") for r in rotated.revisions_restarted)
    assert prompter.confirmations == [
        f"Replace the API key of container app {app}? Clients still using the current key get 401 once its "
        "revisions restart."
    ]
    assert rotated.value not in everything_said(progress)
    patches = [x for x in emulator.traffic.snapshot() if x.method == "PATCH"]
    assert len(patches) == 1 and patches[0].status == 202
    restarts = [x.path for x in emulator.traffic.snapshot() if x.path.endswith("/restart")]
    assert len(restarts) == len(rotated.revisions_restarted)


async def test_declined_rotation_changes_nothing(
    emulator: Emulator, credential: Any, cloud: Cloud, project: Path
) -> None:
    config, _ = await provision_here(project, credential, cloud)
    before = app_secrets(emulator, str(config["ACA_APP_NAME"]))
    with pytest.raises(OperationCancelled) as err:
        await api_key(
            project,
            credential,
            cloud=cloud,
            progress=RecordingProgress(),
            prompter=ScriptedPrompter(confirm_answer=False),
            rotate=True,
        )
    assert err.value.message == f"The API key of container app {config['ACA_APP_NAME']} was not changed."
    assert app_secrets(emulator, str(config["ACA_APP_NAME"])) == before
    assert not [x for x in emulator.traffic.snapshot() if x.method == "PATCH"]


async def test_an_app_without_a_key_says_what_to_do(
    emulator: Emulator, credential: Any, cloud: Cloud, project: Path
) -> None:
    """A hand-provisioned app whose container does not get INFERENCE_API_KEY."""
    config, _ = await provision_here(project, credential, cloud)
    app = str(config["ACA_APP_NAME"])
    async with container_apps_client(credential, SUBSCRIPTION, cloud) as client:  # "by hand"
        current = await client.container_apps.get(GROUP, app)
        body = current.as_dict()
        body["properties"]["template"]["containers"][0].pop("env")
        await (await client.container_apps.begin_create_or_update(GROUP, app, body)).result()
    with pytest.raises(AitkError) as err:
        await api_key(
            project, credential, cloud=cloud, progress=RecordingProgress(), prompter=ScriptedPrompter()
        )
    assert str(err.value) == (
        f"Container app {app} has no API key: none of its containers gets INFERENCE_API_KEY from a secret. "
        "Run Provision again (it adds the secret 'inference-api-key' and the "
        f"INFERENCE_API_KEY setting), or by hand: `az containerapp secret set -g {GROUP} -n {app} --secrets "
        f"inference-api-key=<key>` then `az containerapp update -g {GROUP} -n {app} --set-env-vars "
        "INFERENCE_API_KEY=secretref:inference-api-key`."
    )
    assert err.value.code == "ApiKeyMissing"


async def test_a_key_set_as_a_plain_value_is_not_read(
    emulator: Emulator, credential: Any, cloud: Cloud, project: Path
) -> None:
    config, _ = await provision_here(project, credential, cloud)
    app = str(config["ACA_APP_NAME"])
    async with container_apps_client(credential, SUBSCRIPTION, cloud) as client:  # "by hand"
        body = (await client.container_apps.get(GROUP, app)).as_dict()
        body["properties"]["template"]["containers"][0]["env"] = [
            {"name": "INFERENCE_API_KEY", "value": "plain-text-key-0123456789"}
        ]
        await (await client.container_apps.begin_create_or_update(GROUP, app, body)).result()
    with pytest.raises(AitkError) as err:
        await api_key(
            project, credential, cloud=cloud, progress=RecordingProgress(), prompter=ScriptedPrompter()
        )
    assert str(err.value) == (
        f"Container app {app} sets INFERENCE_API_KEY as a plain environment value, not from a secret, so its key "
        "cannot be read or rotated safely. Run Provision again: it stores the key as the secret "
        "'inference-api-key' and passes it to the app by secretRef."
    )
    assert "plain-text-key" not in str(err.value)
