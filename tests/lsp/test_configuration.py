"""Settings reach the running server through workspace/configuration, without a restart."""

from __future__ import annotations

from pathlib import Path

from aitk_inference.lsp.configuration import LiveSettings
from lsprotocol import types

from tests.azure_emulator.server import Emulator
from tests.conftest import emulator_env
from tests.lsp.conftest import StartSession
from tests.lsp.test_flows import provision_directly

ENV_FROM_SETTINGS = ("AZURE_RESOURCE_MANAGER_ENDPOINT", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")


def test_a_setting_sets_its_variables_and_an_empty_one_gives_back_the_start_up_value() -> None:
    environ = {"AZURE_RESOURCE_MANAGER_ENDPOINT": "https://from-env"}
    live = LiveSettings(environ)
    assert live.apply({"armEndpoint": " https://arm.example ", "caBundle": "/ca.pem"}) == [
        "armEndpoint",
        "caBundle",
    ]
    assert environ == {
        "AZURE_RESOURCE_MANAGER_ENDPOINT": "https://arm.example",
        "REQUESTS_CA_BUNDLE": "/ca.pem",
        "SSL_CERT_FILE": "/ca.pem",
    }
    assert live.apply({"armEndpoint": "https://arm.example", "caBundle": "/ca.pem"}) == []
    assert live.apply({"armEndpoint": "", "tokenCommand": "ignored here"}) == ["armEndpoint", "caBundle"]
    assert environ == {"AZURE_RESOURCE_MANAGER_ENDPOINT": "https://from-env"}
    assert live.apply(None) == []


async def test_settings_changed_in_the_editor_apply_to_the_next_command_without_a_restart(
    start_session: StartSession, project: Path, emulator: Emulator
) -> None:
    # The emulator's endpoint and CA come only from the settings, not from the environment.
    env = {k: v for k, v in emulator_env(emulator).items() if k not in ENV_FROM_SETTINGS}
    session = await start_session([project], env=env, settings={})
    await session.wait_for(lambda: bool(session.user.registrations), "client/registerCapability")
    assert session.user.registrations == [
        {"method": types.WORKSPACE_DID_CHANGE_CONFIGURATION, "options": {"section": "aitk.inference"}}
    ]
    server_process = session.client._server
    assert server_process is not None

    session.client.set_configuration(
        {"armEndpoint": emulator.arm_url, "caBundle": str(emulator.ca_path)}, section="aitk.inference"
    )
    session.client.protocol.notify(
        types.WORKSPACE_DID_CHANGE_CONFIGURATION, types.DidChangeConfigurationParams(settings=None)
    )
    applied = "Settings applied: aitk.inference.armEndpoint, aitk.inference.caBundle."
    await session.wait_for(lambda: applied in session.logs(), "the server to apply the settings")

    config = await provision_directly(session, project)
    assert config["ACA_APP_NAME"], "the commands reached the emulator named only by the settings"
    assert emulator.traffic.snapshot(), "the emulator saw the calls"
    assert session.client._server is server_process and server_process.returncode is None
