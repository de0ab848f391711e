"""What the person sees after an operation, through the real server against the emulator: the
Status summary, each thing said once in the output, several projects at once, every button."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from tests.azure_emulator.server import Emulator
from tests.conftest import emulator_env
from tests.core.helpers import SUBSCRIPTION, make_template_project
from tests.lsp.conftest import ScriptedUser, Session, StartSession, uri
from tests.lsp.test_flows import DEPLOY, PROVISION, STATUS, answer_picks, confirm_continue

PORTAL = "https://portal.azure.com/#@/resource/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.App/containerApps/{app}"


async def provision(session: Session, project: Path, group: str) -> dict[str, Any]:
    session.user.pick_answer = answer_picks({"location": "westus3"})
    session.user.message_answer = confirm_continue
    config: dict[str, Any] = await session.execute(
        PROVISION, {"workspaceFolder": uri(project), "subscriptionId": SUBSCRIPTION, "resourceGroup": group}
    )
    await session.wait_for(lambda: bool(session.client.messages), "the provisioning-done message")
    assert session.client.messages[-1].message == (
        f"Provisioning done for {project.name}: infra/inference.config.json is up to date "
        f"(container app {config['ACA_APP_NAME']})."
    )
    session.client.messages.clear()
    session.user.message_requests.clear()
    return config


def portal(config: dict[str, Any]) -> str:
    return PORTAL.format(sub=SUBSCRIPTION, rg=config["RESOURCE_GROUP_NAME"], app=config["ACA_APP_NAME"])


def count(lines: list[str], fragment: str) -> int:
    return sum(fragment in line for line in lines)


async def test_each_thing_is_said_once_and_status_ends_with_a_summary(
    start_session: StartSession, project: Path, emulator: Emulator
) -> None:
    session = await start_session([project], env=emulator_env(emulator))
    config = await provision(session, project, "rg-once")
    endpoint = f"https://{config['ACA_APP_ENDPOINT']}"
    logs = session.logs()
    assert count(logs, "Inference endpoint:") == 1
    assert count(logs, f"Container app {config['ACA_APP_NAME']} in the Azure portal: {portal(config)}") == 1

    user = session.user
    user.message_answer = lambda params: None  # dismiss "Deployment done."
    start = len(session.logs())
    await session.execute(DEPLOY, {"workspaceFolder": uri(project)})
    logs = session.logs()[start:]
    assert count(logs, "Sync done:") == 1
    assert count(logs, "Inference endpoint:") == 1
    assert count(logs, f"in the Azure portal: {portal(config)}") == 1
    await session.wait_for(lambda: bool(user.message_requests), "the deployment-done message")
    user.message_requests.clear()

    user.message_answer = lambda params: "Open in Portal"
    start = len(session.logs())
    result = await session.execute(STATUS, {"workspaceFolder": uri(project)})
    await session.wait_for(lambda: bool(session.client.shown_documents), "the portal to open")
    (summary,) = user.message_requests
    assert summary.type == types.MessageType.Info
    revision = result["latestRevision"]
    assert summary.message == (
        f"{config['ACA_APP_NAME']}: revision {revision} is Running (Healthy). {endpoint} answers."
    )
    assert [a.title for a in summary.actions or []] == [
        "Go to Inference Endpoint",
        "Open in Portal",
        "Stream logs",
        "Show Output",
    ]
    assert [(d.uri, d.external) for d in session.client.shown_documents] == [(portal(config), True)]
    logs = session.logs()[start:]
    for line in result["lines"]:
        assert logs.count(line) == 1, line  # logged once (the extension no longer repeats them)
    assert session.client.messages == []


async def test_status_of_a_failing_app_says_why(
    start_session: StartSession, project: Path, emulator: Emulator
) -> None:
    emulator.settings.revision_becomes_healthy = False
    session = await start_session([project], env=emulator_env(emulator))
    config = await provision(session, project, "rg-failing")
    user = session.user
    user.message_answer = lambda params: "Go to Inference Endpoint"
    for _ in range(50):  # until the first probe has failed
        user.message_requests.clear()
        result = await session.execute(STATUS, {"workspaceFolder": uri(project)})
        if result["revisions"][0]["healthState"] == "Unhealthy":
            break
        await asyncio.sleep(0.1)
    await session.wait_for(lambda: bool(user.message_requests), "the status summary")
    summary = user.message_requests[-1]
    reason = (
        "Startup probe failed: the container did not respond on port 7860 (connection refused). "
        "The revision stays Activating until its probes pass."
    )
    endpoint = f"https://{config['ACA_APP_ENDPOINT']}"
    assert summary.type == types.MessageType.Warning
    assert summary.message == (
        f"{config['ACA_APP_NAME']}: revision {result['latestRevision']} is Activating (Unhealthy): {reason} "
        f"{endpoint} does not answer (HTTP 503)."
    )
    await session.wait_for(lambda: bool(session.client.shown_documents), "the endpoint to open")
    assert session.client.shown_documents[-1].uri == endpoint


async def test_two_projects_deploying_at_once_each_get_their_own_lines_and_toast(
    start_session: StartSession, project: Path, emulator: Emulator, tmp_path: Path
) -> None:
    other = make_template_project(tmp_path / "other")
    user = ScriptedUser()
    session = await start_session([project, other], env=emulator_env(emulator), user=user)
    configs = {p.name: await provision(session, p, f"rg-{p.name}") for p in (project, other)}
    for line in session.logs():
        if "Inference endpoint" in line or "Wrote" in line:
            assert line.startswith(("[project] ", "[other] ")), line
    user.message_answer = lambda params: "Copy Endpoint"
    start = len(session.logs())
    await asyncio.gather(
        session.execute(DEPLOY, {"workspaceFolder": uri(project)}),
        session.execute(DEPLOY, {"workspaceFolder": uri(other)}),
    )
    await session.wait_for(lambda: len(user.clipboard) == 2, "both Copy Endpoint presses")
    await session.wait_for(
        lambda: sum("Copied" in line for line in session.logs()) == 2, "both copies logged"
    )
    toasts = sorted(m.message for m in user.message_requests)
    expected = sorted(
        f"Deployment done. {c['ACA_APP_NAME']} ({name}) answers at https://{c['ACA_APP_ENDPOINT']}."
        for name, c in configs.items()
    )
    assert toasts == expected  # two distinct toasts: VS Code does not merge them
    assert sorted(user.clipboard) == sorted(f"https://{c['ACA_APP_ENDPOINT']}" for c in configs.values())
    logs = session.logs()[start:]
    for name, c in configs.items():  # each toast's button acted on its own deploy
        assert f"[{name}] Copied https://{c['ACA_APP_ENDPOINT']} to the clipboard." in logs
    unnamed = [line for line in logs if not line.startswith(("[project] ", "[other] "))]
    assert unnamed == []


async def test_sign_in_failure_offers_sign_in(
    start_session: StartSession, project: Path, emulator: Emulator
) -> None:
    user = ScriptedUser(token_error=True, message_answer=lambda params: "Sign in")
    # The fallback credential has nothing to sign in with either.
    env = emulator_env(emulator) | {"AZURE_TOKEN_CREDENTIALS": "EnvironmentCredential"}
    session = await start_session([project], env=env, user=user)
    with pytest.raises(JsonRpcException) as err:
        await session.execute(STATUS, {"workspaceFolder": uri(project)})
    assert err.value.message.startswith("Could not sign in to Azure: the editor gave no token")
    await session.wait_for(lambda: bool(user.message_requests), "the error notification")
    assert [a.title for a in user.message_requests[0].actions or []] == ["Sign in", "Show Output"]
    await session.wait_for(lambda: user.sign_in == 1, "aitk/signIn")
