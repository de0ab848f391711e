"""Provision and deploy through the real server process against the Azure emulator: pickers,
progress, log lines, the "Deployment done." buttons, cancellation mid-deploy, and errors."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from tests.azure_emulator import tokens
from tests.azure_emulator.arm import get_arm
from tests.azure_emulator.server import Emulator
from tests.conftest import emulator_env
from tests.core.helpers import SUBSCRIPTION
from tests.lsp.conftest import ScriptedUser, Session, StartSession, uri

DEPLOY = "aitk.inference.server.deploy"
PROVISION = "aitk.inference.server.provision"
STATUS = "aitk.inference.server.status"
API_KEY = "aitk.inference.server.api-key"
SECOND_SUBSCRIPTION = "9a8b7c6d-1e2f-4a3b-8c5d-6e7f8a9b0c1d"
GUEST_SUBSCRIPTION = "c4e5f6a7-b8c9-4d0e-8f1a-2b3c4d5e6f70"  # in the tenant where the user is a guest
# The emulator's metadata document names ARM's audience; the scope is that audience + /.default.
EMULATOR_ARM_SCOPE = "https://management.core.windows.net//.default"
CONFIG_KEYS = [
    "SUBSCRIPTION_ID",
    "RESOURCE_GROUP_NAME",
    "STORAGE_ACCOUNT_NAME",
    "FILE_SHARE_NAME",
    "ACA_APP_NAME",
    "ACA_APP_ENDPOINT",
]


def answer_picks(answers: dict[str, str]) -> Any:
    """Answer each picker by the first fragment (in the test's order) found in its title."""

    def pick(params: dict[str, Any]) -> Any:
        for needle, value in answers.items():
            if needle in params["title"]:
                return value
        raise AssertionError(f"unexpected picker: {params['title']}")

    return pick


def confirm_continue(params: types.ShowMessageRequestParams) -> str | None:
    titles = [a.title for a in params.actions or []]
    return "Continue" if "Continue" in titles else None


def check_progress(
    session: Session, token: str, *, title: str, end: str
) -> list[types.WorkDoneProgressReport]:
    values = session.progress(token)
    assert isinstance(values[0], types.WorkDoneProgressBegin) and values[0].title == title
    assert isinstance(values[-1], types.WorkDoneProgressEnd) and values[-1].message == end
    reports = values[1:-1]
    assert reports and all(isinstance(v, types.WorkDoneProgressReport) for v in reports)
    percentages = [r.percentage for r in reports if r.percentage is not None]
    assert percentages and percentages == sorted(percentages)
    return reports  # type: ignore[return-value]


def requests_to(emulator: Emulator, method: str, fragment: str, *, exact: bool = False) -> list[str]:
    def matches(path: str) -> bool:
        return path.lower() == fragment.lower() if exact else fragment.lower() in path.lower()

    return [e.path for e in emulator.traffic.snapshot() if e.method == method and matches(e.path)]


async def test_provision_asks_through_pickers_and_uses_the_choices(
    start_session: StartSession, project: Path, emulator: Emulator
) -> None:
    user = ScriptedUser(
        pick_answer=answer_picks(
            {"location": "westus3", "subscription": SECOND_SUBSCRIPTION, "resource group": "$createNew"}
        ),
        input_answer=lambda params: "rg-picked",
        message_answer=confirm_continue,
    )
    session = await start_session([project], env=emulator_env(emulator), user=user)
    token = session.new_token("provision-1")
    config = await session.execute(PROVISION, {"workDoneToken": token})

    subscription_pick, group_pick, location_pick = user.picks
    assert {i["value"] for i in subscription_pick["items"]} == {
        SUBSCRIPTION,
        SECOND_SUBSCRIPTION,
        GUEST_SUBSCRIPTION,
    }
    assert group_pick["createNewLabel"] and "resource group" in group_pick["title"]
    assert "westus3" in {i["value"] for i in location_pick["items"]}
    assert user.inputs[0]["title"] == "Name of the new resource group"
    assert "rg-picked" in user.message_requests[0].message  # the "create it?" confirmation

    # the choices flowed into Azure and into the config
    assert requests_to(
        emulator, "PUT", f"/subscriptions/{SECOND_SUBSCRIPTION}/resourcegroups/rg-picked", exact=True
    )
    assert requests_to(
        emulator, "PUT", f"/subscriptions/{SECOND_SUBSCRIPTION}/resourcegroups/rg-picked/providers/"
    )
    on_disk = json.loads((project / "infra" / "inference.config.json").read_text())
    assert on_disk == config
    assert config["SUBSCRIPTION_ID"] == SECOND_SUBSCRIPTION and config["RESOURCE_GROUP_NAME"] == "rg-picked"
    assert all(config[key] for key in CONFIG_KEYS)

    reports = check_progress(
        session, token, title="Provisioning Azure Container Apps for inference", end="Provision done."
    )
    assert any("resources done" in (r.message or "") for r in reports)
    logs = "\n".join(session.logs())
    assert "DeploymentDetailsBlade" in logs  # the portal link
    assert f"Inference endpoint: https://{config['ACA_APP_ENDPOINT']}" in logs
    assert session.user.issued_tokens and not any(t in logs for t in session.user.issued_tokens)
    assert "eyJ" not in logs  # no JWT at all
    await session.wait_for(lambda: bool(session.client.messages), "the provisioning-done message")
    assert session.client.messages[-1].type == types.MessageType.Info


async def test_provision_into_a_guest_tenant_asks_the_client_for_that_tenants_token(
    start_session: StartSession, project: Path, emulator: Emulator
) -> None:
    user = ScriptedUser(
        pick_answer=answer_picks(
            {"location": "westus3", "subscription": GUEST_SUBSCRIPTION, "resource group": "$createNew"}
        ),
        input_answer=lambda params: "rg-guest",
        message_answer=confirm_continue,
    )
    session = await start_session([project], env=emulator_env(emulator), user=user)
    config = await session.execute(PROVISION, {"workspaceFolder": uri(project)})
    assert config["SUBSCRIPTION_ID"] == GUEST_SUBSCRIPTION
    # the default tenant's token (sign-in, listing tenants), then one per tenant, each asked for once
    assert user.token_requests == [
        {"scopes": [EMULATOR_ARM_SCOPE]},
        {"scopes": [EMULATOR_ARM_SCOPE], "tenantId": tokens.HOME_TENANT},
        {"scopes": [EMULATOR_ARM_SCOPE], "tenantId": tokens.GUEST_TENANT},
    ]
    to_guest = [e for e in emulator.traffic.snapshot() if GUEST_SUBSCRIPTION in e.path]
    assert to_guest and not [e.path for e in to_guest if e.status == 401]
    assert {
        (tokens.claims(e.request_headers["Authorization"][7:]) or {}).get("tid")
        for e in to_guest
        if "Authorization" in e.request_headers
    } == {tokens.GUEST_TENANT}


async def provision_directly(session: Session, project: Path) -> dict[str, Any]:
    session.user.pick_answer = answer_picks({"location": "westus3"})
    session.user.message_answer = confirm_continue
    config: dict[str, Any] = await session.execute(
        PROVISION,
        {"workspaceFolder": uri(project), "subscriptionId": SUBSCRIPTION, "resourceGroup": "rg-lsp"},
    )
    assert config["RESOURCE_GROUP_NAME"] == "rg-lsp" and config["SUBSCRIPTION_ID"] == SUBSCRIPTION
    session.user.message_requests.clear()
    return config


async def test_deploy_reports_progress_and_offers_the_endpoint(
    start_session: StartSession, project: Path, emulator: Emulator
) -> None:
    session = await start_session([project], env=emulator_env(emulator))
    config = await provision_directly(session, project)
    user = session.user
    user.message_answer = lambda params: "Go to Inference Endpoint"
    token = session.new_token("deploy-1")
    result = await session.execute(DEPLOY, {"workDoneToken": token})

    endpoint = f"https://{config['ACA_APP_ENDPOINT']}"
    assert result["endpointUrl"] == endpoint
    assert result["filesUploaded"] > 0 and result["bytesUploaded"] > 0
    assert result["revisionsRestarted"]
    reports = check_progress(session, token, title="Deploying for inference", end="Deploy done.")
    assert any((r.message or "").startswith("Uploading") for r in reports)
    await session.wait_for(lambda: bool(session.client.shown_documents), "window/showDocument")
    done = user.message_requests[0]
    assert done.message == f"Deployment done. {config['ACA_APP_NAME']} (project) answers at {endpoint}."
    assert done.type == types.MessageType.Info
    assert [a.title for a in done.actions or []] == [
        "Go to Inference Endpoint",
        "Copy API Key",
        "Copy Endpoint",
    ]
    shown = session.client.shown_documents[0]
    assert shown.uri == endpoint and shown.external is True
    assert f"Inference endpoint: {endpoint}" in session.logs()
    assert f"Opening {endpoint}" in session.logs()
    # signed in with the token the client gave (the emulator needs a bearer token on every call)
    assert user.token_requests and any("token from client" in line for line in session.logs())
    assert not any(t in line for t in user.issued_tokens for line in session.logs())

    # again with nothing changed: nothing uploaded; "Copy Endpoint" puts the URL on the clipboard
    user.message_requests.clear()
    user.message_answer = lambda params: "Copy Endpoint"
    again = await session.execute(DEPLOY, {"workspaceFolder": uri(project)})
    assert (again["filesUploaded"], again["bytesUploaded"]) == (0, 0)
    await session.wait_for(lambda: bool(user.clipboard), "aitk/copyToClipboard")
    assert user.clipboard == [endpoint]

    status = await session.execute(STATUS, {"workspaceFolder": uri(project)})
    assert status["appName"] == config["ACA_APP_NAME"] and status["lines"]
    assert status["endpointUrl"] == endpoint


async def test_cancel_mid_deploy_then_deploy_again(
    start_session: StartSession, project: Path, emulator: Emulator
) -> None:
    session = await start_session([project], env=emulator_env(emulator))
    await provision_directly(session, project)
    emulator.settings.revision_becomes_healthy = False  # readiness waits until cancelled
    token = session.new_token("deploy-c")
    deploy = asyncio.ensure_future(
        session.execute(DEPLOY, {"workspaceFolder": uri(project), "workDoneToken": token}, msg_id="deploy-c")
    )
    await session.wait_for(
        lambda: any(
            (getattr(v, "message", None) or "").startswith("Waiting for") for v in session.progress(token)
        ),
        "the readiness wait",
    )
    session.client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="deploy-c"))
    with pytest.raises(JsonRpcException) as err:
        await asyncio.wait_for(deploy, 60)
    assert err.value.code == types.LSPErrorCodes.RequestCancelled
    end = session.progress(token)[-1]
    assert isinstance(end, types.WorkDoneProgressEnd) and end.message == "Deploy cancelled."
    assert any(line.startswith("Deploy cancelled") for line in session.logs())

    emulator.settings.revision_becomes_healthy = True
    result = await session.execute(DEPLOY, {"workspaceFolder": uri(project)})
    assert result["revisionsRestarted"]


OPEN_CONFIG = "Open inference.config.json"
OPEN_PARAMETERS = "Open inference.parameters.json"


def pressed(session: Session, project: Path, action: str) -> Any:
    """What pressing ``action`` must have made the client do (a condition to wait for)."""
    user, client = session.user, session.client
    infra = project / "infra"
    effects = {
        "Show Output": lambda: user.show_output == 1,
        "Provision": lambda: user.run_provision == [{"workspaceFolder": uri(project)}],
        "Create inference project files": lambda: (
            user.create_project_files == [{"workspaceFolder": uri(project)}]
        ),
        OPEN_CONFIG: lambda: (
            [d.uri for d in client.shown_documents] == [uri(infra / "inference.config.json")]
        ),
        OPEN_PARAMETERS: lambda: (
            [d.uri for d in client.shown_documents]
            == [uri(infra / "provision" / "inference.parameters.json")]
        ),
    }
    return effects[action]


def forget_effects(session: Session) -> None:
    user = session.user
    user.show_output = 0
    user.run_provision.clear()
    user.create_project_files.clear()
    user.message_requests.clear()
    session.client.shown_documents.clear()


@pytest.mark.parametrize(
    ("command", "break_project", "expected", "actions"),
    [
        (
            DEPLOY,
            lambda p: None,
            "SUBSCRIPTION_ID is empty",
            [OPEN_CONFIG, "Provision", "Show Output"],
        ),
        (
            DEPLOY,
            lambda p: (p / "infra" / "inference.config.json").write_text("{not json"),
            "line 1, column 2",
            [OPEN_CONFIG, "Show Output"],
        ),
        (
            DEPLOY,
            lambda p: (p / "infra" / "inference.config.json").write_text(
                json.dumps({"SUBSCRIPTION_ID": "s"})
            ),
            "RESOURCE_GROUP_NAME is missing",
            [OPEN_CONFIG, "Provision", "Show Output"],
        ),
        (
            DEPLOY,  # provisioned by hand: no infra/provision/ to Provision from
            lambda p: shutil.rmtree(p / "infra" / "provision"),
            "SUBSCRIPTION_ID is empty",
            [OPEN_CONFIG, "Create inference project files", "Show Output"],
        ),
        (
            PROVISION,
            lambda p: shutil.rmtree(p / "infra" / "provision"),
            "has no provision/inference.bicep or provision/inference.json",
            ["Create inference project files", "Show Output"],
        ),
        (
            PROVISION,
            lambda p: (p / "infra" / "provision" / "inference.parameters.json").write_text(
                '{"parameters": {"acaAppName": {"value": "ok"},}}'
            ),
            "line 1, column",
            [OPEN_PARAMETERS, "Show Output"],
        ),
        (
            PROVISION,
            lambda p: (p / "infra" / "provision" / "inference.parameters.json").write_text(
                '{"parameters": {"acaAppNmae": {"value": "ok"}}}'
            ),
            "unknown parameter 'acaAppNmae'",
            [OPEN_PARAMETERS, "Show Output"],
        ),
        (
            PROVISION,
            lambda p: (p / "infra" / "provision" / "inference.parameters.json").write_text(
                '{"parameters": {"storageAccountName": {"value": "Bad_Name"}}}'
            ),
            "storage account",
            [OPEN_PARAMETERS, "Show Output"],
        ),
    ],
)
async def test_bad_input_is_an_error_notification_whose_every_button_leads_somewhere(
    start_session: StartSession,
    project: Path,
    emulator: Emulator,
    command: str,
    break_project: Any,
    expected: str,
    actions: list[str],
) -> None:
    break_project(project)
    user = ScriptedUser()
    session = await start_session([project], env=emulator_env(emulator), user=user)
    for action in actions:  # the same failure once per button: press it, see where it leads
        forget_effects(session)
        user.message_answer = lambda params, action=action: action  # type: ignore[misc]
        token = session.new_token(f"bad-{action}")
        argument = {"workDoneToken": token, "subscriptionId": SUBSCRIPTION, "resourceGroup": "rg-bad"}
        with pytest.raises(JsonRpcException) as err:
            await session.execute(command, argument)
        assert err.value.code == types.LSPErrorCodes.RequestFailed
        assert expected in err.value.message
        await session.wait_for(lambda: bool(user.message_requests), "the error notification")
        (shown,) = user.message_requests
        assert shown.type == types.MessageType.Error
        assert shown.message == err.value.message  # the same words as the CLI's paragraph
        assert [a.title for a in shown.actions or []] == actions
        assert err.value.data["actions"] == actions  # the error response says which actions fit too
        assert isinstance(session.progress(token)[-1], types.WorkDoneProgressEnd)
        assert any(expected in line for line in session.logs())
        await session.wait_for(pressed(session, project, action), f"what {action!r} does")
    assert session.client.messages == []  # nothing else was shown


async def test_copy_api_key_hands_over_through_the_api_key_command_only(
    start_session: StartSession, project: Path, emulator: Emulator
) -> None:
    """The "Copy API Key" button sends no key: the client asks for it with the api-key command, whose
    result is the only message that carries it; no log line, progress or notification does."""
    session = await start_session([project], env=emulator_env(emulator))
    config = await provision_directly(session, project)
    user = session.user
    user.message_answer = lambda params: "Copy API Key"
    await session.execute(DEPLOY, {"workspaceFolder": uri(project)})
    await session.wait_for(lambda: bool(user.copy_api_key), "aitk/copyApiKey")
    assert user.copy_api_key == [{"workspaceFolder": uri(project)}]

    token = session.new_token("key-1")
    result = await session.execute(API_KEY, {"workspaceFolder": uri(project), "workDoneToken": token})
    handler: Any = get_arm(emulator).handlers["microsoft.app/containerapps"]
    rid = (
        f"/subscriptions/{SUBSCRIPTION}/resourcegroups/rg-lsp/providers/microsoft.app/containerapps/"
        f"{config['ACA_APP_NAME']}"
    )
    key = handler.apps[rid.lower()].secrets["inference-api-key"]
    assert result == {
        "appName": config["ACA_APP_NAME"],
        "resourceGroup": "rg-lsp",
        "subscriptionId": SUBSCRIPTION,
        "secretName": "inference-api-key",
        "rotated": False,
        "revisionsRestarted": [],
        "apiKey": key,
    }
    check_progress(session, token, title="Reading the endpoint's API key", end="API key done.")
    said = [*session.logs(), *(str(v) for v in session.progress(token)), *user.clipboard]
    said += [m.message for m in session.client.messages] + [m.message for m in user.message_requests]
    assert said and not [line for line in said if key in line]
    assert (
        f"Read the API key of container app {config['ACA_APP_NAME']} (secret 'inference-api-key')."
        in session.logs()
    )


async def test_deploy_asks_before_taking_over_files_it_did_not_write(
    start_session: StartSession, project: Path, emulator: Emulator
) -> None:
    session = await start_session([project], env=emulator_env(emulator))
    config = await provision_directly(session, project)
    share = emulator.data_dir / config["STORAGE_ACCOUNT_NAME"] / config["FILE_SHARE_NAME"]
    (share / "data").mkdir(parents=True, exist_ok=True)
    (share / "data" / "train.jsonl").write_text("the user's rows\n")
    (project / "data").mkdir()
    (project / "data" / "train.jsonl").write_text("project rows\n")
    question = (
        "The file share already holds 1 file(s) at paths of the project that were not written by this "
        "tool: data/train.jsonl. Replace them with the project's files?"
    )
    user = session.user
    user.message_answer = lambda params: None  # dismissed: nothing is replaced
    with pytest.raises(JsonRpcException) as refused:
        await session.execute(DEPLOY, {"workspaceFolder": uri(project)})
    assert user.message_requests[0].message == question
    assert [a.title for a in user.message_requests[0].actions or []] == ["Continue"]
    assert "data/train.jsonl. Nothing was changed." in refused.value.message
    assert (share / "data" / "train.jsonl").read_text() == "the user's rows\n"

    user.message_requests.clear()
    user.message_answer = confirm_continue
    result = await session.execute(DEPLOY, {"workspaceFolder": uri(project)})
    assert user.message_requests[0].message == question
    assert result["filesUploaded"] > 0
    assert (share / "data" / "train.jsonl").read_text() == "project rows\n"
    assert (
        "Taking over data/train.jsonl: the project's version replaces the one on the share." in session.logs()
    )
