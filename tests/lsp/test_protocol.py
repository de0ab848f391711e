"""Server-level behaviour that does not depend on Azure: arguments, folder choice, the sign-in
bridge, one operation per folder, the server answering while one runs, cancellation, and error
notifications. The token request is held by the test client to keep an operation in flight."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from tests.azure_emulator.server import Emulator
from tests.conftest import emulator_env
from tests.core.helpers import SUBSCRIPTION
from tests.lsp.conftest import ARM_SCOPE, ScriptedUser, StartSession, uri

DEPLOY = "aitk.inference.server.deploy"
PROVISION = "aitk.inference.server.provision"
STATUS = "aitk.inference.server.status"
API_KEY = "aitk.inference.server.api-key"


async def test_initialize_advertises_one_command_per_operation(
    start_session: StartSession, project: Path
) -> None:
    session = await start_session([project])
    info = session.initialize_result.server_info
    assert info is not None and info.name == "aitk-inference"
    provider = session.initialize_result.capabilities.execute_command_provider
    assert provider is not None
    operate = [f"aitk.inference.server.{name}" for name in ("logs", "stop", "start", "down")]
    assert sorted(provider.commands) == sorted([DEPLOY, PROVISION, STATUS, API_KEY, *operate])


@pytest.mark.parametrize(
    ("argument", "expected"),
    [
        ("not-an-object", "expects one argument"),
        ({"workspaceFolder": 42}, "'workspaceFolder' must be a non-empty string"),
        ({"workDoneToken": {"x": 1}}, "'workDoneToken' must be a string or an integer"),
        ({"workspaceFolder": "https://example.com/project"}, "must be a file:// URI"),
    ],
)
async def test_bad_arguments_are_invalid_params_and_shown(
    start_session: StartSession, project: Path, argument: object, expected: str
) -> None:
    user = ScriptedUser(message_answer=lambda params: "Show Output")
    session = await start_session([project], user=user)
    params = types.ExecuteCommandParams(command=DEPLOY, arguments=[argument])
    with pytest.raises(JsonRpcException) as err:
        await session.client.protocol.send_request_async(types.WORKSPACE_EXECUTE_COMMAND, params)
    assert err.value.code == types.ErrorCodes.InvalidParams
    assert expected in err.value.message
    await session.wait_for(lambda: user.show_output == 1, "aitk/showOutput after 'Show Output'")
    shown = user.message_requests[0]
    assert shown.type == types.MessageType.Error
    assert expected in shown.message
    assert [a.title for a in shown.actions or []] == ["Show Output"]
    assert any(expected in line for line in session.logs())


async def test_no_folder_with_infra_is_a_clear_error(start_session: StartSession, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    user = ScriptedUser(message_answer=lambda params: "Create inference project files")
    session = await start_session([empty], user=user)
    with pytest.raises(JsonRpcException) as err:
        await session.execute(DEPLOY, {"workDoneToken": session.new_token("t1")})
    assert err.value.code == types.LSPErrorCodes.RequestFailed
    assert "No workspace folder has an infra/ folder" in err.value.message
    assert "Create inference project files" in err.value.message
    assert err.value.data["code"] == "NoProjectFolder"
    await session.wait_for(lambda: bool(session.user.message_requests), "the error notification")
    shown = session.user.message_requests[0]
    assert "No workspace folder has an infra/ folder" in shown.message
    assert [a.title for a in shown.actions or []] == ["Create inference project files", "Show Output"]
    # the extension asks which folder (the server has none to name)
    await session.wait_for(lambda: bool(user.create_project_files), "aitk/createProjectFiles")
    assert user.create_project_files == [{"workspaceFolder": None}]


async def test_several_project_folders_ask_and_the_choice_is_used(
    start_session: StartSession, project: Path, tmp_path: Path
) -> None:
    import shutil

    other = tmp_path / "other"
    shutil.copytree(project, other)
    plain = tmp_path / "plain"
    plain.mkdir()
    user = ScriptedUser(pick_answer=lambda params: params["items"][1]["value"], token_gate=asyncio.Event())
    session = await start_session([project, plain, other], user=user)
    deploy = asyncio.ensure_future(session.execute(DEPLOY, {"workDoneToken": session.new_token("t")}))
    await asyncio.wait_for(user.token_requested.wait(), 60)
    assert len(user.picks) == 1
    labels = [item["label"] for item in user.picks[0]["items"]]
    assert labels == ["project", "other"]  # only folders holding infra/, in workspace order
    assert any(line.endswith(str(other)) for line in session.logs())
    user.token_gate.set()  # type: ignore[union-attr]
    await session.wait_for(deploy.done, "the deploy's answer")
    deploy.exception()


async def test_token_request_answered_by_the_client_is_used(
    start_session: StartSession, project: Path
) -> None:
    user = ScriptedUser(token_gate=asyncio.Event())
    session = await start_session([project], user=user)
    token = session.new_token("status-1")
    status = asyncio.ensure_future(
        session.execute(STATUS, {"workspaceFolder": uri(project), "workDoneToken": token})
    )
    await asyncio.wait_for(user.token_requested.wait(), 60)
    assert user.token_requests == [{"scopes": [ARM_SCOPE]}]
    user.token_gate.set()  # type: ignore[union-attr]
    await session.wait_for(status.done, "the status answer")
    status.exception()
    assert any("Signed in to Azure (token from client)" in line for line in session.logs())
    assert not any(t in line for t in user.issued_tokens for line in session.logs())  # never logged


async def test_second_deploy_is_already_running_and_server_keeps_answering(
    start_session: StartSession, project: Path
) -> None:
    user = ScriptedUser(token_gate=asyncio.Event())
    session = await start_session([project], user=user)
    folder = uri(project)
    first = asyncio.ensure_future(
        session.execute(DEPLOY, {"workspaceFolder": folder, "workDoneToken": session.new_token("d1")})
    )
    await asyncio.wait_for(user.token_requested.wait(), 60)

    with pytest.raises(JsonRpcException) as err:
        await session.execute(DEPLOY, {"workspaceFolder": folder, "workDoneToken": session.new_token("d2")})
    assert "already running" in err.value.message
    assert err.value.data["code"] == "AlreadyRunning"
    with pytest.raises(JsonRpcException) as err:
        await session.execute(PROVISION, {"workspaceFolder": folder})
    assert "A deploy is already running" in err.value.message

    # a status for the same folder is answered (result or error) while the deploy is in flight
    status = asyncio.ensure_future(session.execute(STATUS, {"workspaceFolder": folder}))
    await session.wait_for(status.done, "the status answer while a deploy runs")
    status.exception()
    assert not first.done()
    assert [type(v).__name__ for v in session.progress("d1")] == [
        "WorkDoneProgressBegin",
        "WorkDoneProgressReport",
    ]
    assert session.progress("d2") == []  # the refused deploy opened no progress
    user.token_gate.set()  # type: ignore[union-attr]
    await session.wait_for(first.done, "the first deploy's answer")
    first.exception()  # its outcome (the core's) is not this test's subject


@pytest.mark.parametrize("how", ["$/cancelRequest", "window/workDoneProgress/cancel"])
async def test_cancel_stops_the_operation(start_session: StartSession, project: Path, how: str) -> None:
    user = ScriptedUser(token_gate=asyncio.Event())  # never released: only a cancel ends it
    session = await start_session([project], user=user)
    token = session.new_token("d")
    deploy = asyncio.ensure_future(
        session.execute(DEPLOY, {"workspaceFolder": uri(project), "workDoneToken": token}, msg_id="deploy-1")
    )
    await asyncio.wait_for(user.token_requested.wait(), 60)
    begin = session.progress(token)[0]
    assert isinstance(begin, types.WorkDoneProgressBegin) and begin.cancellable is True
    if how == "$/cancelRequest":
        session.client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="deploy-1"))
    else:
        session.client.window_work_done_progress_cancel(types.WorkDoneProgressCancelParams(token=token))
    with pytest.raises(JsonRpcException) as err:
        await asyncio.wait_for(deploy, 60)
    assert err.value.code == types.LSPErrorCodes.RequestCancelled
    assert err.value.message == "Deploy cancelled."
    assert err.value.data["code"] == "Cancelled" and err.value.data["detail"]
    end = session.progress(token)[-1]
    assert isinstance(end, types.WorkDoneProgressEnd) and end.message == "Deploy cancelled."
    assert not user.message_requests  # a cancel is not an error to show
    # the folder is free again: a new deploy is not "already running"
    user.token_requested.clear()
    again = asyncio.ensure_future(session.execute(DEPLOY, {"workspaceFolder": uri(project)}))
    await session.wait_for(again.done, "the second deploy")
    if again.exception() is not None:
        assert "already running" not in str(again.exception())


async def test_token_is_cached_across_operations(start_session: StartSession, project: Path) -> None:
    session = await start_session([project])
    for _ in range(2):
        status = asyncio.ensure_future(session.execute(STATUS, {"workspaceFolder": uri(project)}))
        await session.wait_for(status.done, "the status answer")
        status.exception()
    assert len(session.user.token_requests) == 1


@pytest.mark.parametrize("client", ["without aitk/getToken", "answering with an error"])
async def test_client_without_a_token_falls_back_to_default_credential(
    start_session: StartSession, project: Path, emulator: Emulator, client: str
) -> None:
    if client == "without aitk/getToken":
        user = ScriptedUser(answers_tokens=False)  # "method not found"
    else:
        user = ScriptedUser(token_error=True)
    config = dict.fromkeys(
        ["STORAGE_ACCOUNT_NAME", "FILE_SHARE_NAME", "ACA_APP_NAME", "ACA_APP_ENDPOINT"], "missing"
    ) | {"SUBSCRIPTION_ID": SUBSCRIPTION, "RESOURCE_GROUP_NAME": "rg-none"}
    (project / "infra" / "inference.config.json").write_text(json.dumps(config))
    session = await start_session([project], env=emulator_env(emulator), user=user)
    status = asyncio.ensure_future(session.execute(STATUS, {"workspaceFolder": uri(project)}))
    await session.wait_for(status.done, "the status answer")
    status.exception()
    assert any("Signed in to Azure (token from DefaultAzureCredential)" in line for line in session.logs())
    # the status went on to ask Azure (the emulator refuses requests without a bearer token)
    assert any("/resourcegroups/rg-none/" in e.path.lower() for e in emulator.traffic.snapshot())


async def test_cancel_while_the_folder_picker_is_open(
    start_session: StartSession, project: Path, tmp_path: Path
) -> None:
    import shutil

    other = tmp_path / "other"
    shutil.copytree(project, other)
    user = ScriptedUser(pick_gate=asyncio.Event(), pick_answer=lambda params: params["items"][0]["value"])
    session = await start_session([project, other], user=user)
    deploy = asyncio.ensure_future(session.execute(DEPLOY, {"workDoneToken": "p"}, msg_id="deploy-p"))
    await session.wait_for(lambda: bool(user.picks), "the folder picker")
    session.client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="deploy-p"))
    with pytest.raises(JsonRpcException) as err:
        await asyncio.wait_for(deploy, 60)
    assert err.value.code == types.LSPErrorCodes.RequestCancelled
    await session.wait_for(lambda: user.closed_picks == 1, "the picker to be closed ($/cancelRequest)")
    user.pick_gate.set()  # type: ignore[union-attr]  # a picker that stayed open would answer now
    status = asyncio.ensure_future(session.execute(STATUS, {"workspaceFolder": uri(project)}))
    await session.wait_for(status.done, "a later request's answer")
    status.exception()
    assert len(user.token_requests) == 1  # the status's: the cancelled deploy never started
    # nothing was shown for the cancel: no "Error in server", no notification
    assert session.client.messages == [] and len(user.message_requests) == 1  # the status's error
    assert "Error in server" not in "\n".join(session.logs())
    assert session.logs().count("Deploy cancelled.") == 1
