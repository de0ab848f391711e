"""Container App ingress: one HTTPS listener per app, routed to a pluggable app runtime.

The emulator's one deliberate difference from Azure: an app's FQDN (``configuration.ingress.fqdn`` and
``latestRevisionFqdn``) is ``127.0.0.1:<port>`` of that app's own listener, so the test machine can
reach it; product code treats the value as an opaque host (``https://<fqdn>``).

Runtimes
--------
What answers behind the ingress is an :class:`AppRuntime`, chosen per revision activation by
``emulator.services["runtime_factory"]`` — a callable ``(emulator, app_resource_dict) -> AppRuntime``
(default: :class:`QuickstartRuntime`, which answers like ACA's quickstart image). The revision calls:

- ``await start(info)`` when the revision is created or restarted (``info`` is an :class:`AppInfo`:
  container command/args/env, target port, probes, and ``mounts`` mapping container paths such as
  ``/mount`` to the share folders on this machine);
- ``await ready()`` repeatedly while the revision is Activating (after
  ``settings.revision_activation_delay``); ``True`` makes it Running/Healthy;
- ``await handle(request)`` for each ingress request while the revision is Running (before that the
  ingress answers 503, as ACA does while no replica is ready);
- ``await stop()`` before a restart, when a newer revision replaces it, and at emulator stop.

Optionally a runtime has a ``failure`` attribute (``str | None``): once set (e.g. the container's process
exited), the revision becomes Failed/Unhealthy with it as details, whether Activating or Running
(see ``runtime_process.py``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from aiohttp import web

from tests.azure_emulator.routing import RequestContext, Router

if TYPE_CHECKING:
    from tests.azure_emulator.server import Emulator


@dataclass
class AppInfo:
    """What a runtime needs to run one revision of a container app."""

    app_id: str
    app_name: str
    revision_name: str
    resource: dict[str, Any]  # the container app as GET returns it
    container: dict[str, Any]  # the first container: image, command, args, env, probes, volumeMounts
    target_port: int | None
    # Container path (e.g. "/mount") -> folder on this machine holding the Azure Files share.
    mounts: dict[str, Path] = field(default_factory=dict)
    # Environment variables with secretRef values resolved from the app's secrets.
    env: dict[str, str] = field(default_factory=dict)

    @property
    def command(self) -> list[str]:
        return list(self.container.get("command") or []) + list(self.container.get("args") or [])

    @property
    def probes(self) -> list[dict[str, Any]]:
        return list(self.container.get("probes") or [])


@runtime_checkable
class AppRuntime(Protocol):
    """Runs one revision's container behind the ingress (see the module docstring)."""

    async def start(self, info: AppInfo) -> None: ...

    async def stop(self) -> None: ...

    async def ready(self) -> bool: ...

    async def handle(self, request: web.Request) -> web.StreamResponse: ...


RuntimeFactory = Callable[["Emulator", dict[str, Any]], AppRuntime]

QUICKSTART_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Welcome to Azure Container Apps!</title></head>
<body><h1>Welcome to Azure Container Apps!</h1><p>Your app {app} (revision {revision}) is live.</p></body></html>
"""


class QuickstartRuntime:
    """Answers like ACA's quickstart container: an HTML page on every path once running."""

    def __init__(self) -> None:
        self.info: AppInfo | None = None

    async def start(self, info: AppInfo) -> None:
        self.info = info

    async def stop(self) -> None:
        self.info = None

    async def ready(self) -> bool:
        return self.info is not None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        info = self.info
        if info is None:
            return web.Response(status=503, text="no healthy upstream")
        page = QUICKSTART_PAGE.format(app=info.app_name, revision=info.revision_name)
        return web.Response(status=200, text=page, content_type="text/html")


def quickstart_factory(emulator: Emulator, app: dict[str, Any]) -> AppRuntime:
    return QuickstartRuntime()


def runtime_factory(emulator: Emulator) -> RuntimeFactory:
    factory = emulator.services.get("runtime_factory")
    return factory if factory is not None else quickstart_factory


# Upstream for an ingress request: returns the runtime to use, or None while no replica is ready.
Upstream = Callable[[], AppRuntime | None]

_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


class AppIngress:
    """One app's HTTPS listener; requests pass the emulator pipeline (faults, traffic log) as
    service ``ingress`` and go to the current upstream runtime, or get 503 while there is none."""

    def __init__(self, emulator: Emulator, upstream: Upstream) -> None:
        self.emulator = emulator
        self.upstream = upstream
        self.port = 0
        self.router = Router()
        self._app = web.Application(client_max_size=1024**3)

        async def forward(ctx: RequestContext) -> web.StreamResponse:
            runtime = self.upstream()
            if runtime is None:
                # What ACA's envoy answers while the revision has no ready replica.
                return web.Response(
                    status=503, text="no healthy upstream", headers={"Content-Type": "text/plain"}
                )
            return await runtime.handle(ctx.request)

        for method in _METHODS:
            self.router.add(method, "/", forward)
            self.router.add(method, "/{tail:rest}", forward)

        async def dispatch(request: web.Request) -> web.StreamResponse:
            return await emulator.handle("ingress", self.router, request)

        self._app.router.add_route("*", "/{tail:.*}", dispatch)

    @property
    def fqdn(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.port = await self.emulator.add_listener(self._app, 0)

    async def stop(self) -> None:
        await self.emulator.remove_listener_for(self._app)


def describe(info: AppInfo) -> str:
    """A one-line summary for logs (no secrets: env values are not printed)."""
    return json.dumps(
        {
            "app": info.app_name,
            "revision": info.revision_name,
            "mounts": {k: str(v) for k, v in info.mounts.items()},
        }
    )
