"""Shared ARM plumbing: resource ids, timestamps, the resource store, response headers, api-version checks."""

from __future__ import annotations

import copy
import datetime as dt
import functools
import threading
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tests.azure_emulator.routing import ArmError, RequestContext, json_response

if TYPE_CHECKING:
    from tests.azure_emulator.server import Emulator

# Who the emulator says made changes (systemData); not a secret, not a real identity.
ACTOR = "emulator-user@example.com"

# Default api-versions the pinned SDKs send (others are accepted and stored as given).
API_APP = "2026-07-01"
API_STORAGE = "2026-09-01"
API_DEPLOYMENTS = "2026-06-01"
API_RESOURCES = "2025-04-01"
API_SUBSCRIPTIONS = "2022-12-01"
API_LOGANALYTICS = "2025-07-01"


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def iso(t: dt.datetime | None = None) -> str:
    """ARM timestamp: ISO 8601 UTC with 7 fractional digits like Azure (``2023-11-06T07:25:28.3185094Z``)."""
    t = t or now()
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def system_data(existing: dict[str, Any] | None = None) -> dict[str, Any]:
    """``createdAt`` is kept from the existing resource; ``lastModifiedAt`` moves forward."""
    stamp = iso()
    created = (existing or {}).get("systemData") or {}
    return {
        "createdBy": created.get("createdBy", ACTOR),
        "createdByType": created.get("createdByType", "User"),
        "createdAt": created.get("createdAt", stamp),
        "lastModifiedBy": ACTOR,
        "lastModifiedByType": "User",
        "lastModifiedAt": stamp,
    }


@dataclass(frozen=True)
class ResourceId:
    """``/subscriptions/S/resourceGroups/G/providers/NS/t1/n1[/t2/n2...]``."""

    subscription: str
    resource_group: str
    namespace: str
    types: tuple[str, ...]
    names: tuple[str, ...]

    @property
    def full_type(self) -> str:
        return "/".join((self.namespace, *self.types))

    @property
    def type_key(self) -> str:
        return self.full_type.lower()

    @property
    def name(self) -> str:
        return self.names[-1]

    @property
    def parent(self) -> ResourceId | None:
        if len(self.types) < 2:
            return None
        return ResourceId(
            self.subscription, self.resource_group, self.namespace, self.types[:-1], self.names[:-1]
        )

    def child(self, type_: str, name: str) -> ResourceId:
        return ResourceId(
            self.subscription, self.resource_group, self.namespace, (*self.types, type_), (*self.names, name)
        )

    def __str__(self) -> str:
        tail = "/".join(f"{t}/{n}" for t, n in zip(self.types, self.names, strict=True))
        return (
            f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
            f"/providers/{self.namespace}/{tail}"
        )

    @property
    def key(self) -> str:
        return str(self).lower()

    @classmethod
    def parse(cls, resource_id: str) -> ResourceId:
        parts = [p for p in resource_id.strip("/").split("/") if p]
        if (
            len(parts) < 8
            or parts[0].lower() != "subscriptions"
            or parts[2].lower() != "resourcegroups"
            or parts[4].lower() != "providers"
            or (len(parts) - 6) % 2
        ):
            raise ArmError(
                400,
                "InvalidResourceId",
                f"The resource id '{resource_id}' is not a valid resource group scoped resource id.",
            )
        rest = parts[6:]
        return cls(parts[1], parts[3], parts[5], tuple(rest[0::2]), tuple(rest[1::2]))


@dataclass
class ResourceStore:
    """Resources as a GET returns them, keyed by lower-cased id (ARM ids are case-insensitive)."""

    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, resource_id: str) -> dict[str, Any] | None:
        with self._lock:
            res = self.items.get(resource_id.lower())
            return copy.deepcopy(res) if res is not None else None

    def put(self, resource_id: str, resource: dict[str, Any]) -> None:
        with self._lock:
            self.items[resource_id.lower()] = copy.deepcopy(resource)

    def delete(self, resource_id: str) -> dict[str, Any] | None:
        with self._lock:
            return self.items.pop(resource_id.lower(), None)

    def under(self, prefix: str) -> list[tuple[str, dict[str, Any]]]:
        """All resources whose id starts with ``prefix/`` (case-insensitive)."""
        p = prefix.lower().rstrip("/") + "/"
        with self._lock:
            return [(k, copy.deepcopy(v)) for k, v in self.items.items() if k.startswith(p)]


def require_api_version(ctx: RequestContext) -> str:
    version = ctx.api_version
    if not version:
        raise ArmError(
            400,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        )
    return version


def arm_headers(ctx: RequestContext, request_id: str) -> dict[str, str]:
    """Headers Azure Resource Manager adds to every response."""
    hdrs = {
        "x-ms-request-id": request_id,
        "x-ms-correlation-request-id": ctx.request.headers.get("x-ms-correlation-request-id")
        or ctx.request.headers.get("x-ms-client-request-id")
        or request_id,
        "x-ms-routing-request-id": f"LOCAL:{now().strftime('%Y%m%dT%H%M%SZ')}:{request_id}",
        "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
        "X-Content-Type-Options": "nosniff",
        "Expires": "-1",
        "Pragma": "no-cache",
    }
    if ctx.request.method in ("GET", "HEAD"):
        hdrs["x-ms-ratelimit-remaining-subscription-reads"] = "11999"
    else:
        hdrs["x-ms-ratelimit-remaining-subscription-writes"] = "1199"
    return hdrs


ArmHandler = Callable[[RequestContext], Awaitable[web.StreamResponse]]


def arm_route(*, api_version: bool = True) -> Callable[[ArmHandler], ArmHandler]:
    """Wrap a handler: check ``api-version``, and add ARM's headers to success and error responses."""

    def deco(fn: ArmHandler) -> ArmHandler:
        @functools.wraps(fn)
        async def wrapper(ctx: RequestContext) -> web.StreamResponse:
            request_id = str(uuid.uuid4())
            headers = arm_headers(ctx, request_id)
            try:
                if api_version:
                    require_api_version(ctx)
                resp = await fn(ctx)
            except ArmError as err:
                err.headers = {**headers, **err.headers}
                raise
            for k, v in headers.items():
                resp.headers[k] = v
            return resp

        return wrapper

    return deco


def ok(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return json_response(body, status=status, headers=headers)


def not_found(rid: ResourceId | str, type_name: str | None = None) -> ArmError:
    if isinstance(rid, str):
        rid = ResourceId.parse(rid)
    tail = "/".join(f"{t}/{n}" for t, n in zip(rid.types, rid.names, strict=True))
    return ArmError(
        404,
        "ResourceNotFound",
        f"The Resource '{rid.namespace}/{tail}' under resource group '{rid.resource_group}' was not found. "
        "For more details please go to https://aka.ms/ARMResourceNotFoundFix",
    )


def retry_after(emulator: Emulator) -> str:
    """Retry-After on the response that starts a long-running operation (SDKs parse it as an int)."""
    return str(int(emulator.settings.retry_after))


def poll_retry_after(emulator: Emulator) -> str:
    """Retry-After on an in-progress status poll: settings.retry_after, or when that is 0 the step delay
    (pollers read it as a float; a 0 or missing value would make them wait their 30 s default)."""
    settings = emulator.settings
    if settings.retry_after > 0:
        return str(settings.retry_after)
    return f"{max(settings.operation_step_delay, 0.01):g}"
