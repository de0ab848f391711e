"""The emulator process: HTTPS listeners for ARM, Azure Files and Container App ingress.

Service modules (``arm``, ``files``, ``ingress``) register handlers on the routers here; this
module owns transport concerns only: TLS, routing, auth challenge, faults, traffic capture.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import sys
import tempfile
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.azure_emulator import arm_auth, tokens
from tests.azure_emulator.certs import Certificates
from tests.azure_emulator.faults import FaultInjector, FaultRule
from tests.azure_emulator.routing import ArmError, RequestContext, Router, json_response
from tests.azure_emulator.traffic import Exchange, TrafficLog, keep_body

log = logging.getLogger("azure_emulator")

# Each registers its routes: ``register(emulator: Emulator) -> None``.
SERVICE_MODULES = ("tests.azure_emulator.arm", "tests.azure_emulator.files", "tests.azure_emulator.logstream")

HOST = "127.0.0.1"


@dataclass
class EmulatorSettings:
    """Knobs tests may change at run time (also via POST /_emulator/settings)."""

    # The signed-in user's home tenant; the user is also a guest in ``guest_tenant_id``.
    tenant_id: str = tokens.HOME_TENANT
    guest_tenant_id: str = tokens.GUEST_TENANT
    # Each subscription belongs to one tenant; ARM answers a token from another tenant with 401.
    subscriptions: list[dict[str, str]] = field(
        default_factory=lambda: [
            {
                "subscriptionId": "3f2c7a1e-5b8d-4e0f-9a6c-1d2e3f4a5b6c",
                "displayName": "Emulated Subscription",
                "tenantId": tokens.HOME_TENANT,
            },
            {
                "subscriptionId": "9a8b7c6d-1e2f-4a3b-8c5d-6e7f8a9b0c1d",
                "displayName": "Emulated Second Subscription",
                "tenantId": tokens.HOME_TENANT,
            },
            {
                "subscriptionId": "c4e5f6a7-b8c9-4d0e-8f1a-2b3c4d5e6f70",
                "displayName": "Emulated Guest-Tenant Subscription",
                "tenantId": tokens.GUEST_TENANT,
            },
        ]
    )
    # Token audiences ARM accepts, published in its metadata document (GET /metadata/endpoints).
    arm_audiences: list[str] = field(
        default_factory=lambda: ["https://management.core.windows.net/", "https://management.azure.com/"]
    )
    cloud_name: str = "AzureCloud"
    portal_url: str = "https://portal.azure.com"
    # Seconds a long-running ARM operation spends in each state (Accepted, Running).
    operation_step_delay: float = 0.05
    # Retry-After header value (seconds) on long-running operations (SDK pollers honour it).
    retry_after: int = 0
    # Seconds the file service waits before answering each request, standing in for the network
    # round trip to a region (0: loopback speed; the sync benchmark sets it, see benchmarks/README.md).
    file_latency: float = 0.0
    # When False no exchange is kept for tests to inspect: a benchmark sending 100,000s of
    # requests measures the service, not this recorder (nor its memory).
    record_traffic: bool = True
    # Seconds a revision stays Activating after create/restart before it is Running.
    revision_activation_delay: float = 0.2
    # When False a revision never becomes healthy (stays Activating, probes fail).
    revision_becomes_healthy: bool = True
    # GPU quota (cores) per location for the usages API; 0 means no GPU quota there.
    gpu_quota: dict[str, int] = field(default_factory=lambda: {"*": 96})
    # Workload profile types offered per location ("*": default for any location).
    gpu_profile_types: dict[str, list[str]] = field(
        default_factory=lambda: {"*": ["Consumption-GPU-NC24-A100", "Consumption-GPU-NC8as-T4", "NC24-A100"]}
    )
    # Seconds a followed log stream stays open before the service closes it (clients reconnect).
    log_stream_max_seconds: float = 600.0


class Emulator:
    """One emulator instance. ``await start()`` then use ``arm_url``, ``ca_path``, ``data_dir``."""

    def __init__(
        self, data_dir: Path | None = None, *, arm_port: int = 0, settings: EmulatorSettings | None = None
    ) -> None:
        self._tmp = None if data_dir else tempfile.TemporaryDirectory(prefix="azure-emulator-")
        self.root = Path(data_dir) if data_dir else Path(self._tmp.name)  # type: ignore[union-attr]
        self.data_dir = self.root / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.settings = settings or EmulatorSettings()
        self.certs = Certificates(self.root / "certs")
        self.ca_path = self.certs.ca_path
        self.faults = FaultInjector()
        self.traffic = TrafficLog()
        self.arm_router = Router()
        self.file_router = Router()
        # Container Apps' log stream host (<region>.azurecontainerapps.dev): app tokens, not ARM's.
        self.logstream_router = Router()
        self.logstream_port = 0
        self.arm_port_wanted = arm_port
        self.arm_port = 0
        self.file_port = 0
        self._runners: list[web.AppRunner] = []
        # Free-form state owned by the service modules (e.g. "arm", "files", "ingress").
        self.services: dict[str, Any] = {}
        self._stop_hooks: list[Any] = []

    # -- URLs -----------------------------------------------------------------
    @property
    def arm_url(self) -> str:
        return f"https://{HOST}:{self.arm_port}"

    @property
    def file_url(self) -> str:
        """Base of the file service; account endpoints are ``{file_url}/{account}/`` (path-style)."""
        return f"https://{HOST}:{self.file_port}"

    @property
    def logstream_url(self) -> str:
        return f"https://{HOST}:{self.logstream_port}"

    def info(self) -> dict[str, str]:
        return {"arm": self.arm_url, "ca": str(self.ca_path), "data": str(self.data_dir)}

    # -- lifecycle ------------------------------------------------------------
    async def start(self) -> None:
        for name in SERVICE_MODULES:
            importlib.import_module(name).register(self)
        self._add_control_routes()
        self.arm_port = await self.add_listener(self._app("arm", self.arm_router), self.arm_port_wanted)
        self.file_port = await self.add_listener(self._app("file", self.file_router), 0)
        self.logstream_port = await self.add_listener(self._app("logstream", self.logstream_router), 0)

    async def stop(self) -> None:
        for hook in reversed(self._stop_hooks):
            result = hook()
            if asyncio.iscoroutine(result):
                await result
        for runner in reversed(self._runners):
            await runner.cleanup()
        self._runners.clear()
        if self._tmp:
            self._tmp.cleanup()

    def on_stop(self, hook: Any) -> None:
        """Register a callable (sync or async) run at stop, before listeners close."""
        self._stop_hooks.append(hook)

    async def add_listener(self, app: web.Application, port: int = 0) -> int:
        """Serve ``app`` over HTTPS on 127.0.0.1; returns the bound port."""
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, HOST, port, ssl_context=self.certs.server_context(), reuse_address=True)
        await site.start()
        self._runners.append(runner)
        server = site._server  # aiohttp has no public getter for the bound port
        assert server is not None and server.sockets  # type: ignore[union-attr]
        return int(server.sockets[0].getsockname()[1])  # type: ignore[union-attr]

    async def remove_listener_for(self, app: web.Application) -> None:
        for runner in list(self._runners):
            if runner.app is app:
                await runner.cleanup()
                self._runners.remove(runner)

    # -- request pipeline -----------------------------------------------------
    def _app(self, service: str, router: Router) -> web.Application:
        app = web.Application(client_max_size=1024**3)

        async def dispatch(request: web.Request) -> web.StreamResponse:
            return await self.handle(service, router, request)

        app.router.add_route("*", "/{tail:.*}", dispatch)
        return app

    async def handle(self, service: str, router: Router, request: web.Request) -> web.StreamResponse:
        path = request.path
        rule = self.faults.take(service, request.method, path, request.query_string)
        if rule is not None and rule.kind == "drop":
            await self._drop(request, rule)
            raise ConnectionResetError("dropped by injected fault")  # pragma: no cover - connection is gone
        if rule is not None and rule.kind == "delay":
            await asyncio.sleep(rule.delay_seconds)
            rule = None
        body = await request.read()
        matched = router.match(request.method, path)
        route_template = matched[0].template if matched else None
        try:
            if rule is not None:
                raise self._fault_error(service, rule)
            if (
                service == "arm"
                and not path.lower().startswith("/_emulator")
                and path.lower() not in arm_auth.ANONYMOUS_PATHS
            ):
                arm_auth.check_bearer(self.settings, request)
            if matched is None:
                if router.path_known(path):
                    raise ArmError(
                        405,
                        "MethodNotAllowed",
                        f"The requested method {request.method} is not allowed for {path}.",
                    )
                raise ArmError(
                    404,
                    "NotFound",
                    f"No HTTP resource was found that matches the request URI '{request.url}'.",
                )
            route, params = matched
            resp = await route.handler(RequestContext(self, request, params, body))
        except ArmError as err:
            resp = err.response() if service != "file" else self._storage_error(err, request)
        except Exception:  # a bug in the emulator must show up as a 500, as Azure would, and in the log
            log.exception("emulator handler failed: %s %s", request.method, request.url)
            resp = json_response(
                {"error": {"code": "InternalServerError", "message": "Emulator handler crashed."}}, status=500
            )
        self._record(service, request, body, route_template, resp)
        return resp

    def _fault_error(self, service: str, rule: FaultRule) -> ArmError:
        headers = {}
        if rule.retry_after is not None:
            headers["Retry-After"] = (
                str(int(rule.retry_after)) if float(rule.retry_after).is_integer() else str(rule.retry_after)
            )
        return ArmError(rule.status, rule.code, rule.message, headers=headers)

    def _storage_error(self, err: ArmError, request: web.Request) -> web.Response:
        """Storage data-plane errors are XML with an ``x-ms-error-code`` header; like every storage
        answer they echo the request's ``x-ms-version`` (also for errors raised before a handler ran:
        authentication, injected faults)."""
        from tests.azure_emulator.files.service import DEFAULT_VERSION

        xml = (
            '<?xml version="1.0" encoding="utf-8"?><Error><Code>'
            f"{err.code}</Code><Message>{err.message}\nRequestId:{uuid.uuid4()}</Message></Error>"
        )
        headers = {
            "x-ms-error-code": err.code,
            "x-ms-request-id": str(uuid.uuid4()),
            "x-ms-version": request.headers.get("x-ms-version", DEFAULT_VERSION),
        }
        headers.update(err.headers)
        return web.Response(
            status=err.status, body=xml.encode(), content_type="application/xml", headers=headers
        )

    async def _drop(self, request: web.Request, rule: FaultRule) -> None:
        """Read part of the body, then cut the TCP connection without a response."""
        remaining = rule.after_bytes
        while remaining > 0:
            chunk = await request.content.read(min(remaining, 65536))
            if not chunk:
                break
            remaining -= len(chunk)
        transport = request.transport
        if transport is not None:
            transport.abort()

    def _record(
        self, service: str, request: web.Request, body: bytes, route: str | None, resp: web.StreamResponse
    ) -> None:
        if not self.traffic.enabled or not self.settings.record_traffic:
            return
        resp_body = resp.body if isinstance(resp, web.Response) and isinstance(resp.body, bytes) else None
        self.traffic.add(
            Exchange(
                service=service,
                method=request.method,
                url=str(request.url),
                path=request.path,
                query=dict(request.query),
                route=route,
                request_headers=dict(request.headers),
                request_body=keep_body(request.headers.get("Content-Type"), body),
                request_length=len(body),
                status=resp.status,
                response_headers=dict(resp.headers),
                response_body=keep_body(resp.headers.get("Content-Type"), resp_body)
                if resp_body is not None
                else None,
            )
        )

    # -- control plane for out-of-process tests -------------------------------
    def _add_control_routes(self) -> None:
        async def add_fault(ctx: RequestContext) -> web.StreamResponse:
            self.faults.add(**(ctx.json() or {}))
            return json_response({"ok": True})

        async def clear_faults(ctx: RequestContext) -> web.StreamResponse:
            self.faults.clear()
            return json_response({"ok": True})

        async def set_settings(ctx: RequestContext) -> web.StreamResponse:
            for key, value in (ctx.json() or {}).items():
                if not hasattr(self.settings, key):
                    raise ArmError(400, "UnknownSetting", f"Unknown emulator setting {key!r}.")
                setattr(self.settings, key, value)
            return json_response({"ok": True})

        async def info(ctx: RequestContext) -> web.StreamResponse:
            return json_response(self.info())

        async def set_runtime(ctx: RequestContext) -> web.StreamResponse:
            """What answers behind app ingress from the next revision activation on (see ingress.py)."""
            body = ctx.json() or {}
            if body.get("runtime") == "process":
                from tests.azure_emulator.runtime_process import ProcessRuntime

                self.services["runtime_factory"] = ProcessRuntime.factory(
                    python=body.get("python") or sys.executable
                )
            elif body.get("runtime") == "quickstart":
                self.services.pop("runtime_factory", None)
            else:
                raise ArmError(400, "UnknownRuntime", "runtime must be 'process' or 'quickstart'.")
            return json_response({"ok": True})

        self.arm_router.add("POST", "/_emulator/faults", add_fault)
        self.arm_router.add("DELETE", "/_emulator/faults", clear_faults)
        self.arm_router.add("POST", "/_emulator/settings", set_settings)
        self.arm_router.add("GET", "/_emulator/info", info)
        self.arm_router.add("POST", "/_emulator/runtime", set_runtime)


class EmulatorThread:
    """Runs an :class:`Emulator` on its own event loop in a daemon thread (for sync and async tests)."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="azure-emulator", daemon=True)

    def start(self) -> Emulator:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.emulator.start(), self.loop).result(timeout=30)
        return self.emulator

    def call(self, coro: Any, timeout: float = 30) -> Any:
        """Run a coroutine on the emulator's loop (e.g. to inspect or change state safely)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=timeout)

    def stop(self) -> None:
        try:
            asyncio.run_coroutine_threadsafe(self.emulator.stop(), self.loop).result(timeout=30)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=10)


async def serve_forever(data_dir: Path | None, port: int, runtime_factory: Any = None) -> None:
    emulator = Emulator(data_dir, arm_port=port)
    if runtime_factory is not None:
        emulator.services["runtime_factory"] = runtime_factory
    await emulator.start()
    print(json.dumps(emulator.info()), flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await emulator.stop()
