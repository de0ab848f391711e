"""The process runtime: a container app's command runs as a local process behind the HTTPS ingress.

The container here is a small HTTP server read from the share (``cd /mount/app; exec server.py``):
it reports what it sees (pid, environment, /mount), streams on request and exits on request.
"""

from __future__ import annotations

import asyncio
import os
import ssl
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from azure.identity.aio import AzureCliCredential
from azure.mgmt.appcontainers.aio import ContainerAppsAPIClient
from azure.mgmt.resource.resources.aio import ResourceManagementClient

from tests.azure_emulator.runtime_process import ProcessRuntime, map_mounts, probe_path
from tests.azure_emulator.server import Emulator
from tests.azure_emulator.storage_registry import get_registry
from tests.azure_emulator.test_arm_resources import SUB, sdk_kwargs

RG = "rg-proc"
LOC = "westus3"
ACCOUNT, SHARE = "procacct", "procshare"

SERVER = r"""
import json, os, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, status, body, ctype="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/health":
            return self.send(200, b"{}")
        if self.path in ("/stream", "/endless"):
            # Second event only once the client has seen the first (it then creates the go file).
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            def chunk(data):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()
            chunk(b"data: one\n\n")
            go = os.path.join(os.environ["AITK_MOUNT"], "go")
            while not os.path.exists(go):
                time.sleep(0.02)
            chunk(b"data: two\n\n")
            if self.path == "/stream":
                self.wfile.write(b"0\r\n\r\n")
                return
            # /endless: until the client is gone (the proxy must pass the disconnect on).
            try:
                while True:
                    chunk(b"data: more\n\n")
                    time.sleep(0.02)
            except OSError:
                open(os.path.join(os.environ["AITK_MOUNT"], "gone"), "w").close()
            return
        if self.path == "/exit":
            self.send(200, b"{}")
            os._exit(3)
        info = {
            "pid": os.getpid(),
            "greeting": os.environ.get("GREETING"),
            "token": os.environ.get("TOKEN"),
            "mount": os.environ.get("AITK_MOUNT"),
            "cwd": os.getcwd(),
            "python": os.environ.get("AITK_PYTHON"),
            "marker": open("marker.txt").read(),
            "arg": sys.argv[1],
            "path": self.path,
        }
        self.send(200, json.dumps(info).encode())

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.send(201, json.dumps({"echo": body.decode(), "proto": self.headers.get("X-Forwarded-Proto")}).encode())

ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"""


@pytest.fixture
async def aca(emulator: Emulator, azure_env: dict[str, str]) -> AsyncIterator[ContainerAppsAPIClient]:
    emulator.services["runtime_factory"] = ProcessRuntime.factory(python=sys.executable)
    emulator.settings.revision_activation_delay = 0.0
    async with AzureCliCredential() as cred:
        async with ResourceManagementClient(cred, SUB, **sdk_kwargs(emulator)) as rm:
            await rm.resource_groups.create_or_update(RG, {"location": LOC})
        async with ContainerAppsAPIClient(cred, SUB, **sdk_kwargs(emulator)) as client:
            yield client


def share_folder(emulator: Emulator) -> Path:
    folder = get_registry(emulator).ensure_share(ACCOUNT, SHARE)
    (folder / "app").mkdir(exist_ok=True)
    (folder / "app" / "server.py").write_text(SERVER)
    (folder / "app" / "marker.txt").write_text("from the share")
    return folder


def app_body(env_id: str, command: str) -> dict[str, Any]:
    return {
        "location": LOC,
        "properties": {
            "managedEnvironmentId": env_id,
            "configuration": {
                "ingress": {"external": True, "targetPort": 7860},
                "secrets": [{"name": "token", "value": "from-a-secret"}],
            },
            "template": {
                "containers": [
                    {
                        "name": "app",
                        "image": "docker.io/library/python:3.11",
                        "command": ["/bin/bash", "-c"],
                        "args": [command],
                        "env": [{"name": "GREETING", "value": "hi"}, {"name": "TOKEN", "secretRef": "token"}],
                        "probes": [{"type": "Startup", "httpGet": {"path": "/health", "port": 7860}}],
                        "volumeMounts": [{"volumeName": "share", "mountPath": "/mount"}],
                    }
                ],
                "volumes": [{"name": "share", "storageType": "AzureFile", "storageName": "files"}],
            },
        },
    }


async def create_app(
    client: ContainerAppsAPIClient,
    command: str = 'cd /mount/app; exec "$AITK_PYTHON" server.py /mount/app',
) -> Any:
    env = await (
        await client.managed_environments.begin_create_or_update(
            RG, "env", {"location": LOC, "properties": {}}
        )
    ).result()
    await client.managed_environments_storages.create_or_update(
        RG,
        "env",
        "files",
        {
            "properties": {
                "azureFile": {
                    "accountName": ACCOUNT,
                    "accountKey": "k",
                    "shareName": SHARE,
                    "accessMode": "ReadWrite",
                }
            }
        },
    )
    return await (
        await client.container_apps.begin_create_or_update(RG, "app", app_body(env.id, command))
    ).result()


async def revision_state(client: ContainerAppsAPIClient, name: str) -> tuple[str, str]:
    rev = await client.container_apps_revisions.get_revision(RG, "app", name)
    return str(getattr(rev.running_state, "value", rev.running_state)), str(
        getattr(rev.health_state, "value", rev.health_state)
    )


async def wait_state(
    client: ContainerAppsAPIClient, name: str, wanted: str, within: float = 30.0
) -> tuple[str, str]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        state = await revision_state(client, name)
        if state[0] == wanted or loop.time() > deadline:
            return state
        await asyncio.sleep(0.05)


def https(emulator: Emulator) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(ssl=ssl.create_default_context(cafile=str(emulator.ca_path)))
    return aiohttp.ClientSession(connector=connector)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); its state in /proc says it is gone.
    stat = Path(f"/proc/{pid}/stat")
    return stat.is_file() and stat.read_text().split(")")[-1].split()[0] != "Z"


def test_map_mounts_replaces_whole_paths_only() -> None:
    mounts = {"/mount": Path("/data/share"), "/mount/models": Path("/data/models")}
    text = 'cd /mount/inference; ls /mount; cat /mount/models/a "/mount" /mounted /x/mount AITK=/mount:1'
    assert map_mounts(text, mounts) == (
        'cd /data/share/inference; ls /data/share; cat /data/models/a "/data/share" /mounted /x/mount '
        "AITK=/data/share:1"
    )


def test_probe_path_prefers_startup_then_readiness() -> None:
    probes = [
        {"type": "Liveness", "httpGet": {"path": "/live"}},
        {"type": "Readiness", "httpGet": {"path": "ready"}},
    ]
    assert probe_path({"probes": probes}) == "/ready"
    assert probe_path({"probes": [*probes, {"type": "Startup", "httpGet": {"path": "/health"}}]}) == "/health"
    assert probe_path({}) == "/"


async def test_runs_the_command_with_mount_env_and_restart(
    emulator: Emulator, aca: ContainerAppsAPIClient
) -> None:
    folder = share_folder(emulator)
    app = await create_app(aca)
    rev = app.latest_revision_name
    assert await wait_state(aca, rev, "Running") == ("Running", "Healthy")

    async with https(emulator) as session:
        async with session.get(f"https://{app.configuration.ingress.fqdn}/who?x=1") as resp:
            assert resp.status == 200
            first = await resp.json()
        assert first["greeting"] == "hi" and first["token"] == "from-a-secret"
        assert first["mount"] == str(folder) and first["arg"] == str(
            folder / "app"
        )  # /mount mapped both ways
        assert first["marker"] == "from the share" and first["path"] == "/who?x=1"
        assert first["python"] == sys.executable
        assert Path(first["cwd"]).is_relative_to(emulator.root)  # a scratch folder, not the test's cwd
        async with session.post(f"https://{app.configuration.ingress.fqdn}/echo", data=b"body bytes") as resp:
            assert resp.status == 201
            assert await resp.json() == {"echo": "body bytes", "proto": "https"}

        # Restart: a new process in a new replica; the old one serves until it is ready, then goes.
        before = (await aca.container_apps_revision_replicas.list_replicas(RG, "app", rev)).value
        await aca.container_apps_revisions.restart_revision(RG, "app", rev)
        for _ in range(600):  # up to 30 s
            now = (await aca.container_apps_revision_replicas.list_replicas(RG, "app", rev)).value
            if len(now) == 1 and now[0].name != before[0].name and now[0].running_state == "Running":
                break
            await asyncio.sleep(0.05)
        assert len(now) == 1 and now[0].name != before[0].name and now[0].running_state == "Running"
        async with session.get(f"https://{app.configuration.ingress.fqdn}/") as resp:
            second = await resp.json()
        assert second["pid"] != first["pid"]
        assert not alive(first["pid"])

        # Deleting the app stops its process.
        await (await aca.container_apps.begin_delete(RG, "app")).result()
        for _ in range(300):  # up to 15 s
            if not alive(second["pid"]):
                break
            await asyncio.sleep(0.05)
        assert not alive(second["pid"])


async def test_streams_through_the_ingress_chunk_by_chunk(
    emulator: Emulator, aca: ContainerAppsAPIClient
) -> None:
    folder = share_folder(emulator)
    app = await create_app(aca)
    assert (await wait_state(aca, app.latest_revision_name, "Running"))[0] == "Running"
    async with https(emulator) as session:
        async with session.get(f"https://{app.configuration.ingress.fqdn}/stream") as resp:
            assert resp.headers["Content-Type"] == "text/event-stream"
            # The server holds back the second event until we have the first: a buffering proxy
            # would never deliver it (the read below would time out).
            first = await asyncio.wait_for(resp.content.readuntil(b"\n\n"), 20)
            assert first == b"data: one\n\n"
            (folder / "go").write_text("")
            assert await asyncio.wait_for(resp.content.read(), 20) == b"data: two\n\n"


async def test_exit_fails_the_revision(emulator: Emulator, aca: ContainerAppsAPIClient) -> None:
    share_folder(emulator)
    app = await create_app(aca, "cd /mount/app; echo starting; exit 4")
    state = await wait_state(aca, app.latest_revision_name, "Failed")
    assert state == ("Failed", "Unhealthy")
    log = (emulator.root / "runtime" / "app").glob("*.log")
    assert "starting" in "".join(p.read_text() for p in log)
    async with https(emulator) as session:
        async with session.get(f"https://{app.configuration.ingress.fqdn}/") as resp:
            assert resp.status == 503  # no healthy upstream, as ACA's envoy answers


async def test_a_crash_while_running_fails_the_revision(
    emulator: Emulator, aca: ContainerAppsAPIClient
) -> None:
    share_folder(emulator)
    app = await create_app(aca)
    rev = app.latest_revision_name
    assert (await wait_state(aca, rev, "Running"))[0] == "Running"
    async with https(emulator) as session:
        async with session.get(f"https://{app.configuration.ingress.fqdn}/exit") as resp:
            assert resp.status == 200
    assert await wait_state(aca, rev, "Failed") == ("Failed", "Unhealthy")
    replicas = await aca.container_apps_revision_replicas.list_replicas(RG, "app", rev)
    assert "exited with code 3" in str(replicas.value[0].running_state_details)
    # Restarting brings it back.
    await aca.container_apps_revisions.restart_revision(RG, "app", rev)
    assert await wait_state(aca, rev, "Running") == ("Running", "Healthy")


async def test_a_client_disconnect_reaches_the_app(emulator: Emulator, aca: ContainerAppsAPIClient) -> None:
    folder = share_folder(emulator)
    app = await create_app(aca)
    assert (await wait_state(aca, app.latest_revision_name, "Running"))[0] == "Running"
    async with https(emulator) as session:
        resp = await session.get(f"https://{app.configuration.ingress.fqdn}/endless")
        assert await asyncio.wait_for(resp.content.readuntil(b"\n\n"), 20) == b"data: one\n\n"
        resp.close()  # drops the connection
    (folder / "go").write_text("")
    for _ in range(400):  # up to 20 s
        if (folder / "gone").exists():
            break
        await asyncio.sleep(0.05)
    assert (folder / "gone").exists(), "the app kept streaming to a client that had left"
