"""Container Apps' log stream host (``<region>.azurecontainerapps.dev`` in Azure), on its own listener.

- ``GET /subscriptions/{s}/resourceGroups/{g}/containerApps/{app}/revisions/{rev}/replicas/{rep}/containers/{c}/logstream``
  (a replica container's ``logStreamEndpoint``): the container's console log. With the process
  runtime that is the process's real stdout/stderr (its log file); the quickstart runtime has none.
- ``GET /subscriptions/{s}/resourceGroups/{g}/containerApps/{app}/eventstream`` (the app's
  ``eventStreamEndpoint``): the system log, one JSON line per revision/replica state change.

Both need ``Authorization: Bearer <token>`` with a token from the app's ``getAuthtoken`` action
(401 otherwise, also for another app's token) and take ``tailLines`` (0-300, default 20),
``follow`` (``true`` keeps the response open and streams new lines) and ``output`` (``text``).
A followed stream ends after ``settings.log_stream_max_seconds``, and when the replica goes away
(restart, stop), as Azure's does; clients reconnect.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tests.azure_emulator.arm import get_arm
from tests.azure_emulator.arm.common import ResourceId, iso
from tests.azure_emulator.arm.containerapps import ContainerApps, Revision
from tests.azure_emulator.arm.containerapps_operate import get_operate
from tests.azure_emulator.routing import ArmError, RequestContext

if TYPE_CHECKING:
    from tests.azure_emulator.server import Emulator

POLL_SECONDS = 0.1
MAX_TAIL = 300


def _check_token(ctx: RequestContext, app_key: str) -> None:
    auth = ctx.request.headers.get("Authorization", "")
    token = auth[len("Bearer ") :] if auth.startswith("Bearer ") else ""
    if not token or get_operate(get_arm(ctx.emulator)).token_app(token) != app_key:
        raise ArmError(
            401, "Unauthorized", "The token is missing, expired or not valid for this container app."
        )


def _options(ctx: RequestContext) -> tuple[int, bool]:
    raw_tail = ctx.query.get("tailLines", "20")
    try:
        tail = int(raw_tail)
    except ValueError:
        tail = -1
    if tail < 0 or tail > MAX_TAIL:
        raise ArmError(400, "InvalidTailLines", f"tailLines must be between 0 and {MAX_TAIL}.")
    return tail, ctx.query.get("follow", "false").lower() == "true"


def _app_key(p: dict[str, str]) -> str:
    return ResourceId(p["sub"], p["rg"], "Microsoft.App", ("containerApps",), (p["app"],)).key


async def _open(ctx: RequestContext) -> web.StreamResponse:
    resp = web.StreamResponse(status=200, headers={"Content-Type": "text/plain; charset=utf-8"})
    await resp.prepare(ctx.request)
    return resp


async def _write(resp: web.StreamResponse, lines: list[str]) -> None:
    if lines:
        await resp.write("".join(line + "\n" for line in lines).encode())


def register(emulator: Emulator) -> None:
    arm = get_arm(emulator)
    apps = arm.handlers[ContainerApps.type_name.lower()]
    assert isinstance(apps, ContainerApps)
    base = "/subscriptions/{sub}/resourcegroups/{rg}/containerApps/{app}"
    stamped: dict[str, list[str]] = {}  # log file -> the timestamp of each line, in order

    def replica_runtime(rev: Revision, replica: str) -> tuple[bool, Any]:
        """Whether ``replica`` is one of the revision's replicas now, and its runtime: the newest
        replica, or the one a restart is replacing (it serves, and logs, until then)."""
        if not rev.active or rev.running_state == "Stopped":
            return False, None
        if rev.replica_name.lower() == replica.lower():
            return True, rev.runtime
        if rev.previous is not None and rev.previous.name.lower() == replica.lower():
            return True, rev.previous.runtime
        return False, None

    def find(ctx: RequestContext) -> tuple[Revision, Any]:
        p = ctx.params
        rid = ResourceId(p["sub"], p["rg"], "Microsoft.App", ("containerApps",), (p["app"],))
        _app, rev = apps.revision(rid, p["rev"])
        found, runtime = replica_runtime(rev, p["rep"])
        if not found:
            raise ArmError(404, "ReplicaNotFound", f"Replica '{p['rep']}' was not found.")
        return rev, runtime

    async def console(ctx: RequestContext) -> web.StreamResponse:
        _check_token(ctx, _app_key(ctx.params))
        tail, follow = _options(ctx)
        rev, runtime = find(ctx)
        replica = ctx.params["rep"]
        log_path = getattr(runtime, "log_path", None)
        resp = await _open(ctx)
        await _write(
            resp,
            [
                f"{iso()} Connecting to the container '{ctx.params['c']}'...",
                f"{iso()} Successfully Connected to container: '{ctx.params['c']}' "
                f"[Revision: '{rev.name}', Replica: '{replica}']",
            ],
        )
        offset = 0
        stamps: list[str] = stamped.setdefault(str(log_path), [])

        def with_stamps(first: int, lines: list[str]) -> list[str]:
            """Each line keeps the timestamp it got when first read, on every connection (as Azure's
            lines carry the time they were logged)."""
            while len(stamps) < first + len(lines):
                stamps.append(iso())
            return [f"{stamps[first + i]} {line}" for i, line in enumerate(lines)]

        count = 0
        if log_path is not None and log_path.is_file():
            data = log_path.read_bytes()
            complete = data[: data.rfind(b"\n") + 1]
            offset = len(complete)
            history = complete.decode(errors="replace").splitlines()
            count = len(history)
            shown = with_stamps(0, history)
            await _write(resp, shown[-tail:] if tail else [])
        deadline = time.monotonic() + emulator.settings.log_stream_max_seconds
        pending = b""
        # Streams until the replica goes away (restart, stop, delete) or the stream's time is up.
        while (
            follow
            and runtime is not None
            and replica_runtime(rev, replica)[1] is runtime
            and time.monotonic() < deadline
        ):
            await asyncio.sleep(POLL_SECONDS)
            if log_path is None or not log_path.is_file():
                continue
            with log_path.open("rb") as fh:
                fh.seek(offset)
                chunk = fh.read()
            offset += len(chunk)
            pending += chunk
            *complete, pending = pending.split(b"\n")
            offset -= len(pending)  # a partial line is read again once it is complete
            pending = b""
            fresh = [line.decode(errors="replace") for line in complete]
            await _write(resp, with_stamps(count, fresh))
            count += len(fresh)
        await resp.write_eof()
        return resp

    def system_lines(app_key: str, seen: dict[str, tuple[str, str, str | None]]) -> list[str]:
        out: list[str] = []
        state = apps.apps.get(app_key)
        for rev in state.revisions.values() if state else []:
            now_state = (rev.running_state, rev.health_state, rev.details)
            if seen.get(rev.name) == now_state:
                continue
            seen[rev.name] = now_state
            record = {
                "TimeStamp": iso(),
                "Type": "Warning" if rev.running_state == "Failed" else "Normal",
                "ContainerAppName": app_key.rsplit("/", 1)[-1],
                "RevisionName": rev.name,
                "ReplicaName": rev.replica_name,
                "Msg": f"Revision {rev.name}: {rev.running_state}, health {rev.health_state}"
                + (f": {rev.details}" if rev.details else ""),
                "Reason": f"Revision{rev.running_state}",
                "EventSource": "ContainerAppController",
                "Count": 1,
            }
            out.append(json.dumps(record))
        return out

    async def system(ctx: RequestContext) -> web.StreamResponse:
        key = _app_key(ctx.params)
        _check_token(ctx, key)
        tail, follow = _options(ctx)
        if arm.store.get(key) is None:
            raise ArmError(404, "ContainerAppNotFound", f"Container app '{ctx.params['app']}' was not found.")
        resp = await _open(ctx)
        seen: dict[str, tuple[str, str, str | None]] = {}
        first = system_lines(key, seen)
        await _write(resp, first[-tail:] if tail else [])
        deadline = time.monotonic() + emulator.settings.log_stream_max_seconds
        while follow and time.monotonic() < deadline and arm.store.get(key) is not None:
            await asyncio.sleep(POLL_SECONDS)
            await _write(resp, system_lines(key, seen))
        await resp.write_eof()
        return resp

    r = emulator.logstream_router
    r.add("GET", base + "/revisions/{rev}/replicas/{rep}/containers/{c}/logstream", console)
    r.add("GET", base + "/eventstream", system)
