"""Case-insensitive path routing (ARM paths are case-insensitive) and ARM-shaped errors."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from tests.azure_emulator.server import Emulator


@dataclass
class RequestContext:
    emulator: Emulator
    request: web.Request
    params: dict[str, str]
    body: bytes

    def json(self) -> Any:
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise ArmError(
                400,
                "InvalidRequestContent",
                f"The request content was invalid and could not be deserialized: {exc}",
            ) from exc

    @property
    def query(self) -> Any:
        return self.request.query

    @property
    def api_version(self) -> str | None:
        return self.request.query.get("api-version")


Handler = Callable[[RequestContext], Awaitable[web.StreamResponse]]


class ArmError(Exception):
    """Raised by handlers; rendered as ARM's ``{"error": {code, message, details}}``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        err: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            err["details"] = self.details
        return {"error": err}

    def response(self) -> web.Response:
        return json_response(self.body(), status=self.status, headers=self.headers)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    hdrs = {"x-ms-request-id": str(uuid.uuid4()), "Cache-Control": "no-cache"}
    hdrs.update(headers or {})
    return web.Response(
        status=status,
        body=json.dumps(body).encode() if body is not None else b"",
        content_type="application/json" if body is not None else None,
        charset="utf-8" if body is not None else None,
        headers=hdrs,
    )


@dataclass
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    template: str


@dataclass
class Router:
    """``add("PUT", "/subscriptions/{sub}/resourceGroups/{rg}", h)``; ``{name}`` matches one segment,
    ``{name:rest}`` matches the remainder (several segments). Matching ignores case."""

    routes: list[Route] = field(default_factory=list)

    def add(self, method: str, template: str, handler: Handler) -> None:
        regex = ""
        for part in re.split(r"(\{[^}]+\})", template):
            if part.startswith("{") and part.endswith("}"):
                name, _, kind = part[1:-1].partition(":")
                regex += f"(?P<{name}>.+)" if kind == "rest" else f"(?P<{name}>[^/]+)"
            else:
                regex += re.escape(part)
        self.routes.append(
            Route(method.upper(), re.compile(f"^{regex}/?$", re.IGNORECASE), handler, template)
        )

    def route(self, method: str, template: str) -> Callable[[Handler], Handler]:
        def deco(h: Handler) -> Handler:
            self.add(method, template, h)
            return h

        return deco

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        """First route whose method and path match; a path match with another method → 405 by caller."""
        for r in self.routes:
            if r.method != method.upper():
                continue
            m = r.pattern.match(path)
            if m:
                return r, {k: v for k, v in m.groupdict().items()}
        return None

    def path_known(self, path: str) -> bool:
        return any(r.pattern.match(path) for r in self.routes)
