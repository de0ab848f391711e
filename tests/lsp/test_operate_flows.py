"""Operating the app through the real server process: the app's log lines as aitk/logLines until
cancelled, the Start button on a stopped app, Status offering the logs, and tear down confirmed by
typing the app name (aitk/input)."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from pathlib import Path
from typing import Any

from lsprotocol import types

from tests.azure_emulator.runtime_process import ProcessRuntime
from tests.azure_emulator.server import Emulator
from tests.conftest import emulator_env
from tests.core.operate.talking_app import MARKER
from tests.core.operate.test_operate import HERE
from tests.lsp.conftest import Session, StartSession, plain, uri
from tests.lsp.test_flows import DEPLOY, STATUS, provision_directly

LOGS = "aitk.inference.server.logs"
STOP = "aitk.inference.server.stop"
START = "aitk.inference.server.start"
DOWN = "aitk.inference.server.down"


async def deployed_session(start_session: StartSession, project: Path, emulator: Emulator) -> Session:
    emulator.services["runtime_factory"] = ProcessRuntime.factory(python=sys.executable)
    shutil.copy(HERE / "talking_app.py", project / "inference" / "talking_app.py")
    (project / "inference" / "start.sh").write_text(
        '#!/usr/bin/env bash\nhere="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"\n'
        'exec "$AITK_PYTHON" "$here/talking_app.py"\n'
    )
    session = await start_session([project], env=emulator_env(emulator))
    await provision_directly(session, project)
    await session.execute(DEPLOY, {"workspaceFolder": uri(project)})
    return session


async def test_logs_stream_as_notifications_until_cancelled(
    start_session: StartSession, project: Path, emulator: Emulator
) -> None:
    session = await deployed_session(start_session, project, emulator)
    lines: list[str] = []

    @session.client.feature("aitk/logLines")
    def log_lines(params: Any) -> None:
        lines.extend(plain(params)["lines"])

    token = session.new_token("logs-1")
    running = asyncio.ensure_future(
        session.execute(
            LOGS, {"workspaceFolder": uri(project), "workDoneToken": token, "follow": True, "tail": 100}
        )
    )
    await session.wait_for(lambda: any(line.endswith(MARKER) for line in lines), "the app's line")
    begin = session.progress(token)[0]
    assert isinstance(begin, types.WorkDoneProgressBegin) and begin.cancellable
    session.client.protocol.notify(
        types.WINDOW_WORK_DONE_PROGRESS_CANCEL, types.WorkDoneProgressCancelParams(token=token)
    )
    result = await asyncio.wait_for(running, 30)  # stopping a stream is its normal end, not an error
    assert result["kind"] == "console" and result["lines"] == len(lines)
    end = session.progress(token)[-1]
    assert isinstance(end, types.WorkDoneProgressEnd) and end.message == "Logs done."
    assert any(
        line.startswith("Container app ") and "in the Azure portal: https://" in line
        for line in session.logs()
    )


async def test_a_stopped_app_offers_start_and_status_offers_the_logs(
    start_session: StartSession, project: Path, emulator: Emulator
) -> None:
    session = await deployed_session(start_session, project, emulator)
    user = session.user
    ran: list[dict[str, Any]] = []

    @session.client.feature("aitk/runCommand")
    def run_command(params: Any) -> None:
        ran.append(plain(params))

    user.message_requests.clear()
    user.message_answer = lambda params: (
        "Stream logs" if "Stream logs" in [a.title for a in params.actions or []] else None
    )
    status = await session.execute(STATUS, {"workspaceFolder": uri(project)})
    assert status["runningStatus"] == "Running"
    await session.wait_for(lambda: bool(ran), "aitk/runCommand")
    assert ran == [{"command": "logs", "workspaceFolder": uri(project)}]

    stopped = await session.execute(STOP, {"workspaceFolder": uri(project)})
    assert stopped["runningStatus"] == "Stopped"
    ran.clear()
    user.message_requests.clear()
    user.message_answer = lambda params: (
        "Start app" if "Start app" in [a.title for a in params.actions or []] else None
    )
    try:
        await session.execute(DEPLOY, {"workspaceFolder": uri(project)})
        raise AssertionError("deploy on a stopped app must fail")
    except Exception as err:  # the JSON-RPC error response
        assert "is stopped, so nothing was deployed" in str(err)
    await session.wait_for(lambda: bool(ran), "aitk/runCommand")
    assert [a.title for a in user.message_requests[0].actions or []] == ["Start app", "Show Output"]
    assert ran == [{"command": "start", "workspaceFolder": uri(project)}]
    started = await session.execute(START, {"workspaceFolder": uri(project)})
    assert started["runningStatus"] == "Running"


async def test_down_asks_for_the_app_name(
    start_session: StartSession, project: Path, emulator: Emulator
) -> None:
    session = await deployed_session(start_session, project, emulator)
    app = json.loads((project / "infra" / "inference.config.json").read_text())["ACA_APP_NAME"]
    session.user.input_answer = lambda params: app
    result = await session.execute(DOWN, {"workspaceFolder": uri(project)})
    assert session.user.inputs == [
        {"title": f"Delete container app {app}? Type the app name {app} to confirm", "placeHolder": app}
    ]
    assert [d["name"] for d in result["deleted"]] == [app]
    assert result["removedKeys"] == ["ACA_APP_NAME", "ACA_APP_ENDPOINT"]
    assert result["deleted"][0]["portalUrl"].startswith("https://portal.azure.com/#@/resource/subscriptions/")


async def test_a_deploy_whose_app_fails_offers_its_logs(
    start_session: StartSession, project: Path, emulator: Emulator
) -> None:
    emulator.services["runtime_factory"] = ProcessRuntime.factory(python=sys.executable)
    (project / "inference" / "start.sh").write_text(
        "#!/usr/bin/env bash\necho 'boom: no model here'\nexit 3\n"
    )
    session = await start_session([project], env=emulator_env(emulator))
    await provision_directly(session, project)
    ran: list[dict[str, Any]] = []

    @session.client.feature("aitk/runCommand")
    def run_command(params: Any) -> None:
        ran.append(plain(params))

    user = session.user
    user.message_answer = lambda params: "Stream logs"
    try:
        await session.execute(DEPLOY, {"workspaceFolder": uri(project)})
        raise AssertionError("the deploy of an app that exits must fail")
    except Exception as err:
        assert str(err).startswith("The app did not start: revision ")
    await session.wait_for(lambda: bool(ran), "aitk/runCommand")
    assert [a.title for a in user.message_requests[-1].actions or []] == ["Stream logs", "Show Output"]
    assert ran == [{"command": "logs", "workspaceFolder": uri(project)}]
    # What the button runs shows why: the line the app printed before it exited.
    lines: list[str] = []

    @session.client.feature("aitk/logLines")
    def log_lines(params: Any) -> None:
        lines.extend(plain(params)["lines"])

    result = await session.execute(LOGS, {"workspaceFolder": uri(project), "tail": 50})
    assert any(line.endswith(" boom: no model here") for line in lines)
    assert result["lines"] == len(lines)
