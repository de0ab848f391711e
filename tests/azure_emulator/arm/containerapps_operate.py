"""Microsoft.App container app actions for operating an app: ``getAuthtoken`` (the token the log
stream host accepts, see ``logstream.py``), and ``stop`` / ``start``.

``stop`` and ``start`` are long-running like in Azure: 202 with a ``Location`` to poll, which answers
202 while running and then 200 with the container app (the spec's ``final-state-via: location`` with
a ContainerApp final schema). A stopped app's revisions run nothing (the runtime is stopped, so a
process runtime's process really ends), its replica list is empty and ``runningStatus`` is
``Stopped``; start activates its active revisions again.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.azure_emulator.arm.common import ResourceId, arm_route, iso, now, ok
from tests.azure_emulator.arm.containerapps import ContainerApps
from tests.azure_emulator.arm.state import ArmState, Operation
from tests.azure_emulator.routing import ArmError, RequestContext

TOKEN_LIFETIME = dt.timedelta(hours=1)


@dataclass
class OperateState:
    tokens: dict[str, tuple[str, dt.datetime]] = field(default_factory=dict)  # token -> (app key, expiry)
    stopped: set[str] = field(default_factory=set)  # app keys
    results: dict[str, tuple[Operation, str]] = field(default_factory=dict)  # op id -> (op, app id)

    def token_app(self, token: str) -> str | None:
        """The app key a token was issued for, or None (unknown or expired)."""
        found = self.tokens.get(token)
        if found is None or found[1] <= now():
            return None
        return found[0]


def get_operate(arm: ArmState) -> OperateState:
    state = arm.emulator.services.setdefault("containerapps_operate", OperateState())
    assert isinstance(state, OperateState)
    return state


def register_containerapps_operate(arm: ArmState) -> None:
    """Before the generic resource routes, so these actions win over the catch-all POST."""
    apps = arm.handlers[ContainerApps.type_name.lower()]
    assert isinstance(apps, ContainerApps)
    state = get_operate(arm)
    r = arm.emulator.arm_router
    app_base = "/subscriptions/{sub}/resourcegroups/{rg}/providers/Microsoft.App/containerApps/{app}"

    def app_rid(ctx: RequestContext) -> ResourceId:
        p = ctx.params
        return ResourceId(p["sub"], p["rg"], "Microsoft.App", ("containerApps",), (p["app"],))

    @arm_route()
    async def get_auth_token(ctx: RequestContext) -> web.StreamResponse:
        rid = app_rid(ctx)
        app = arm.require(rid)
        token = secrets.token_urlsafe(32)
        expires = now() + TOKEN_LIFETIME
        state.tokens[token] = (rid.key, expires)
        return ok(
            {
                "id": app["id"],
                "name": app["name"],
                "type": "Microsoft.App/containerApps/authtoken",
                "location": app.get("location"),
                "tags": {},
                "properties": {"token": token, "expires": iso(expires)},
            }
        )

    async def set_stopped(rid: ResourceId, stop: bool) -> None:
        app = arm.store.get(str(rid))
        app_state = apps.apps.get(rid.key)
        if app is None or app_state is None:
            return
        if stop:
            state.stopped.add(rid.key)
            for rev in app_state.revisions.values():
                if rev.active:
                    await apps._deactivate(rev)
                    rev.running_state = "Stopped"
                    rev.health_state = "None"
                    rev.details = None
        else:
            state.stopped.discard(rid.key)
            for rev in app_state.revisions.values():
                if rev.active:
                    apps.restart(rev)
        app["properties"]["runningStatus"] = "Stopped" if stop else "Running"
        arm.store.put(str(rid), app)

    def action(stop: bool) -> Any:
        @arm_route()
        async def handler(ctx: RequestContext) -> web.StreamResponse:
            rid = app_rid(ctx)
            app = arm.require(rid)
            op = arm.new_operation(str(rid))
            state.results[op.id] = (op, app["id"])
            await set_stopped(rid, stop)
            arm.finish_later(op)
            url = f"{arm.emulator.arm_url}{app['id']}/operationResults/{op.id}?api-version={ctx.api_version}"
            return ok(None, status=202, headers={"Location": url, "Retry-After": "0"})

        return handler

    @arm_route()
    async def operation_result(ctx: RequestContext) -> web.StreamResponse:
        found = state.results.get(ctx.params["op"])
        if found is None:
            raise ArmError(404, "OperationNotFound", f"Operation '{ctx.params['op']}' was not found.")
        op, app_id = found
        if op.status == "InProgress":
            return ok(None, status=202, headers={"Location": str(ctx.request.url), "Retry-After": "1"})
        app = arm.get(app_id)
        if app is None:
            raise ArmError(
                404, "ContainerAppNotFound", f"Container app '{app_id.split('/')[-1]}' was not found."
            )
        return ok(app)

    r.add("POST", app_base + "/getAuthtoken", get_auth_token)
    r.add("POST", app_base + "/stop", action(stop=True))
    r.add("POST", app_base + "/start", action(stop=False))
    r.add("GET", app_base + "/operationResults/{op}", operation_result)


def is_stopped(arm: ArmState, app_key: str) -> bool:
    return app_key in get_operate(arm).stopped
