"""A Container App runtime that really runs the container's command as a local process.

Turn it on before the app is created (or restarted)::

    from tests.azure_emulator.runtime_process import ProcessRuntime
    emulator.services["runtime_factory"] = ProcessRuntime.factory(python=sys.executable)

Each revision activation (create, new revision, ``POST …/revisions/{name}/restart``) then starts
``template.containers[0].command + args`` (e.g. ``/bin/bash -c "cd /mount/inference; bash ./start.sh"``)
in its own process group; stop, restart, a replacing revision and emulator stop kill the whole group.
The app's ingress listener (``https://<fqdn>``) proxies to it over plain HTTP, streaming (SSE included).

What the process sees
---------------------
- ``/mount``: every volume mount of the container (``volumeMounts`` → ``volumes`` → the environment's
  ``storages`` azureFile account/share) is the share's folder on this machine. Two ways, both applied:
  the literal container path (``/mount``) in the command and args is replaced by that folder, and
  ``AITK_MOUNT`` holds the folder of the ``/mount`` mount (the inference template's ``start.sh`` and
  ``settings.py`` read it).
- Environment: the container's ``env`` (secretRef values resolved), ``PORT`` (a free loopback port the
  app must listen on instead of the ingress ``targetPort``), ``HOST=127.0.0.1``, ``AITK_PYTHON`` (the
  interpreter given to :meth:`ProcessRuntime.factory`; the stand-in for the container image: it must
  already have the app's requirements, so ``start.sh`` skips its venv-on-share install), and from this
  machine only ``PATH``, ``HOME``, ``LANG``, ``TMPDIR``. Offline defaults (``HF_HUB_OFFLINE=1``, no
  telemetry) apply unless the factory's ``env`` overrides them.
- Working directory: an empty scratch folder per app; stdout and stderr go to
  ``<emulator root>/runtime/<app>/<revision>-<n>.log`` (:attr:`ProcessRuntime.log_path`).

Revision state follows the container's probe path (its Startup, else Readiness, else Liveness
``httpGet.path``; ``/`` without probes): Activating until ``GET http://127.0.0.1:<PORT><path>`` answers
200, then Running/Healthy. A process that exits makes :meth:`ready` false and sets :attr:`failure`
(exit code and the log's last lines), which the revision reports as Failed/Unhealthy.

What differs from Azure Container Apps
--------------------------------------
- No image: ``image`` is ignored; the command runs on this machine with ``AITK_PYTHON`` as "the image's
  Python". No CPU/GPU/memory limits, no isolation beyond a process group.
- ``/mount`` is not a real mount: a command that builds the path some other way (``cd /mo""unt``) will not
  see the share. Writes land directly in the emulator's share folder (as SMB writes would).
- One replica; no scale to zero; no automatic container restarts after a crash (ACA would restart it
  per its restart policy and probes); probes are polled, not timed by their periodSeconds.
- The app listens on ``PORT`` rather than ``targetPort``; WebSocket upgrades are not proxied.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import re
import signal
import socket
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web

from tests.azure_emulator.ingress import AppInfo, AppRuntime, RuntimeFactory

if TYPE_CHECKING:
    from tests.azure_emulator.server import Emulator

# Defaults for a machine without internet: the app must not try to reach the Hub or telemetry.
OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "DO_NOT_TRACK": "1",
    "PYTHONUNBUFFERED": "1",
}
# Variables of this machine a command needs to run at all (everything else stays out, as in a container).
HOST_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
# Hop-by-hop headers a proxy must not forward (RFC 9110 §7.6.1), plus Host (set for the upstream).
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
}
STOP_GRACE_SECONDS = 10.0
LOG_TAIL_CHARS = 2000

# Process groups still running, killed at interpreter exit should an emulator never be stopped.
_LIVE_GROUPS: set[int] = set()


def _kill_leftovers() -> None:
    for pgid in list(_LIVE_GROUPS):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)


atexit.register(_kill_leftovers)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def map_mounts(text: str, mounts: Mapping[str, Path]) -> str:
    """Replace each container mount path used as a whole path (``/mount``, ``/mount/x``; not
    ``/mounted`` or ``/a/mount``) with its local folder. Longer mount paths go first."""
    for container_path in sorted(mounts, key=len, reverse=True):
        pattern = re.compile(r"(?<![\w./-])" + re.escape(container_path.rstrip("/")) + r"(?![\w.-])")
        text = pattern.sub(str(mounts[container_path]).replace("\\", "\\\\"), text)
    return text


def probe_path(container: Mapping[str, Any]) -> str:
    """The httpGet path ACA would probe first: Startup, then Readiness, then Liveness."""
    probes = {str(p.get("type", "")).lower(): p for p in container.get("probes") or []}
    for kind in ("startup", "readiness", "liveness"):
        http_get = (probes.get(kind) or {}).get("httpGet") or {}
        if http_get.get("path"):
            path = str(http_get["path"])
            return path if path.startswith("/") else "/" + path
    return "/"


class ProcessRuntime:
    """Runs one revision's container command as a local process group (see the module docstring)."""

    def __init__(
        self,
        emulator: Emulator,
        *,
        python: str | os.PathLike[str] = sys.executable,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.emulator = emulator
        self.python = str(python)
        self.extra_env = dict(env or {})
        self.info: AppInfo | None = None
        self.port = 0
        self.probe = "/"
        self.process: asyncio.subprocess.Process | None = None
        self.log_path: Path | None = None
        self._session: aiohttp.ClientSession | None = None

    @classmethod
    def factory(
        cls, *, python: str | os.PathLike[str] = sys.executable, env: Mapping[str, str] | None = None
    ) -> RuntimeFactory:
        """For ``emulator.services["runtime_factory"]``: ``python`` stands in for the container image
        (an interpreter with the app's requirements); ``env`` adds or overrides variables."""

        def make(emulator: Emulator, app: dict[str, Any]) -> AppRuntime:
            return cls(emulator, python=python, env=env)

        return make

    # -- AppRuntime ---------------------------------------------------------------------------
    async def start(self, info: AppInfo) -> None:
        await self.stop()
        self.info = info
        command = [map_mounts(part, info.mounts) for part in info.command]
        if not command:
            raise RuntimeError(
                f"Container app {info.app_name} has no command: set template.containers[0].command "
                "(the process runtime cannot run an image's default entrypoint)."
            )
        self.port = free_port()
        self.probe = probe_path(info.container)
        folder = self.emulator.root / "runtime" / info.app_name
        work = folder / "work"
        work.mkdir(parents=True, exist_ok=True)
        runs = len(list(folder.glob(f"{info.revision_name}-*.log")))
        self.log_path = folder / f"{info.revision_name}-{runs + 1}.log"
        env = {k: os.environ[k] for k in HOST_ENV if k in os.environ}
        env.update(OFFLINE_ENV)
        env.update(self.extra_env)
        env.update(info.env)
        mount = next((local for path, local in info.mounts.items() if path.rstrip("/") == "/mount"), None)
        if mount is not None:
            env["AITK_MOUNT"] = str(mount)
        env.update({"PORT": str(self.port), "HOST": "127.0.0.1", "AITK_PYTHON": self.python})
        with self.log_path.open("wb") as log:
            self.process = await asyncio.create_subprocess_exec(
                *command,
                cwd=work,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,  # its own process group: stop() kills children too
            )
        _LIVE_GROUPS.add(self.process.pid)
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=10),
            auto_decompress=False,  # pass bytes through unchanged
        )

    async def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None:
            await _stop_group(process)
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def ready(self) -> bool:
        process = self.process
        if process is None or self._session is None:
            return False
        if process.returncode is not None:
            return False
        try:
            async with self._session.get(
                self.upstream_url(self.probe), timeout=aiohttp.ClientTimeout(total=5)
            ) as resp:
                return resp.status == 200
        except (aiohttp.ClientError, OSError, TimeoutError):
            return False

    async def handle(self, request: web.Request) -> web.StreamResponse:
        process, session = self.process, self._session
        if process is None or session is None or process.returncode is not None:
            return web.Response(status=503, text="no healthy upstream")
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        headers["X-Forwarded-Proto"] = "https"
        headers["X-Forwarded-Host"] = request.host
        if request.remote:
            headers["X-Forwarded-For"] = request.remote
        body = await request.read()  # the emulator pipeline has read it already (cached)
        try:
            upstream = await session.request(
                request.method,
                self.upstream_url(request.path_qs),
                headers=headers,
                data=body if body else None,
                allow_redirects=False,
            )
        except (aiohttp.ClientError, OSError) as err:
            # What ACA's envoy answers when the replica refuses the connection.
            return web.Response(status=502, text=f"upstream connect error: {type(err).__name__}")
        try:
            resp = web.StreamResponse(status=upstream.status, reason=upstream.reason)
            for key, value in upstream.headers.items():
                if key.lower() not in HOP_BY_HOP:
                    resp.headers.add(key, value)
            await resp.prepare(request)
            try:
                # Each chunk as it arrives: token streams (SSE) reach the client as they are generated.
                async for chunk in upstream.content.iter_any():
                    await resp.write(chunk)
                await resp.write_eof()
            except ConnectionResetError:
                pass  # the client went away (closing the upstream below tells the app)
            except aiohttp.ClientError:
                resp.force_close()  # the app died mid-answer: the client sees a cut connection
            return resp
        finally:
            # Also on a client disconnect: closing the upstream connection tells the app to stop.
            upstream.close()

    # -- helpers --------------------------------------------------------------------------------
    def upstream_url(self, path_qs: str) -> str:
        return f"http://127.0.0.1:{self.port}{path_qs}"

    def log_tail(self) -> str:
        if self.log_path is None or not self.log_path.is_file():
            return ""
        return self.log_path.read_text(errors="replace")[-LOG_TAIL_CHARS:]

    @property
    def failure(self) -> str | None:
        """Set once the container's process has exited (the revision then reports Failed)."""
        process = self.process
        if process is None or process.returncode is None:
            return None
        lines = [line for line in self.log_tail().splitlines() if line.strip()]
        last = f" Last log line: {lines[-1][:300]}" if lines else ""
        return f"Container exited with code {process.returncode} (log: {self.log_path}).{last}"


async def _stop_group(process: asyncio.subprocess.Process) -> None:
    """SIGTERM the process group, SIGKILL it after a grace period, and reap the leader."""
    pgid = process.pid
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), STOP_GRACE_SECONDS)
    except TimeoutError:
        pass
    # The leader may be gone while children it started linger in the group: kill them all.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(process.wait(), STOP_GRACE_SECONDS)
    _LIVE_GROUPS.discard(pgid)
