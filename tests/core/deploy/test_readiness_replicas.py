"""Ready means the new code answers: after a restart the old replica keeps serving (as in Container
Apps) until the new one is ready, and deploy must wait for the new one."""

from __future__ import annotations

import re
import ssl
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aitk_inference.core.azure.cloud import Cloud
from aitk_inference.core.reporting import RecordingProgress

from tests.azure_emulator.ingress import AppInfo
from tests.azure_emulator.server import Emulator
from tests.core.deploy.test_deploy import provisioned, run_deploy


class VersionRuntime:
    """A container that serves the ``version.txt`` the share held when it started, and passes its
    probes ``startup_seconds`` after starting (a model loading)."""

    startup_seconds = 0.0

    def __init__(self) -> None:
        self.version = ""
        self.started = 0.0

    async def start(self, info: AppInfo) -> None:
        mount = next(iter(info.mounts.values()))
        self.version = (mount / "version.txt").read_text() if (mount / "version.txt").is_file() else "none"
        self.started = time.monotonic()

    async def stop(self) -> None:
        pass

    async def ready(self) -> bool:
        return time.monotonic() - self.started >= VersionRuntime.startup_seconds

    async def handle(self, request: web.Request) -> web.StreamResponse:
        return web.json_response({"version": self.version})


async def served_version(emulator: Emulator, endpoint: str) -> str:
    ctx = ssl.create_default_context(cafile=str(emulator.ca_path))
    async with aiohttp.ClientSession() as session, session.get(f"{endpoint}/health", ssl=ctx) as resp:
        assert resp.status == 200
        return str((await resp.json())["version"])


async def test_deploy_waits_for_the_replica_the_restart_created_not_the_old_one(
    emulator: Emulator, credential: Any, cloud: Cloud, project: Path
) -> None:
    emulator.services["runtime_factory"] = lambda emu, app: VersionRuntime()
    await provisioned(project, credential, cloud)
    (project / "version.txt").write_text("v1")
    first = await run_deploy(project, credential, cloud)
    assert await served_version(emulator, first.endpoint_url) == "v1"

    (project / "version.txt").write_text("v2")
    VersionRuntime.startup_seconds = 1.5  # the old replica answers /health all that time
    progress = RecordingProgress()
    second = await run_deploy(project, credential, cloud, progress)
    assert await served_version(emulator, second.endpoint_url) == "v2"
    revision = second.revisions_restarted[0]
    logs = [m for m, _ in progress.logs if m.startswith(f"Revision {revision}: new replica")]
    replica = rf"{re.escape(revision)}-\w+ \(created [^)]+\)"
    assert re.fullmatch(
        rf"Revision {re.escape(revision)}: new replica {replica} is NotRunning \(Activating\); "
        rf"old replica {re.escape(revision)}-\w+ still serving",
        logs[0],
    ), logs
    assert re.fullmatch(rf"Revision {re.escape(revision)}: new replica {replica} is Running", logs[-1]), logs


def test_a_replacement_is_done_when_a_new_replica_is_ready_and_no_old_one_runs() -> None:
    from aitk_inference.core.deploy.replicas import ReplicaState, replacement

    def replica(name: str, state: str, ready: bool) -> ReplicaState:
        return ReplicaState(name, "2026-12-04 10:00:00 UTC", state, ready, "")

    old = replica("app--r1-old", "Running", True)
    starting = replica("app--r1-new", "NotRunning", False)
    ready = replica("app--r1-new", "Running", True)
    assert not replacement({"app--r1-old"}, [old]).done  # the restart has not created one yet
    step = replacement({"app--r1-old"}, [old, starting])
    assert not step.done
    assert step.describe() == (
        "new replica app--r1-new (created 2026-12-04 10:00:00 UTC) is NotRunning; old replica app--r1-old still serving"
    )
    assert not replacement({"app--r1-old"}, [old, ready]).done  # the old one still answers too
    assert replacement({"app--r1-old"}, [ready]).done
    assert replacement({"app--r1-old"}, [replica("app--r1-old", "NotRunning", False), ready]).done
    assert replacement(set(), []).describe() == "no new replica yet"
