"""The endpoint's API key: every ``/v1/*`` request must carry it; ``/health`` stays open.

The key comes from ``INFERENCE_API_KEY`` (a Container Apps secret). Clients send it as
``Authorization: Bearer <key>`` (the openai client's way) or ``api-key: <key>`` (Azure OpenAI's way).
It is compared in constant time and never written anywhere: no log line, no error message.
"""

from __future__ import annotations

import hmac
import os

from errors import openai_error
from starlette.types import ASGIApp, Receive, Scope, Send

ENV = "INFERENCE_API_KEY"
PROTECTED = "/v1"

NOT_CONFIGURED = (
    "This endpoint has no API key configured, so it answers no requests. Run Provision again to create one."
)
INVALID = (
    "Missing or incorrect API key. Send the endpoint's key as 'Authorization: Bearer <key>' "
    "or 'api-key: <key>'."
)


class ApiKey:
    def __init__(self, key: str | None) -> None:
        self._key = (key or "").encode()

    @classmethod
    def from_env(cls) -> ApiKey:
        return cls(os.environ.get(ENV))

    @property
    def configured(self) -> bool:
        return bool(self._key)

    def matches(self, candidate: str | None) -> bool:
        if not self._key or not candidate:
            return False
        return hmac.compare_digest(candidate.encode(), self._key)

    def from_headers(self, headers: dict[str, str]) -> str | None:
        auth = headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
        return headers.get("api-key") or None

    def gradio_login(self, username: str, password: str) -> bool:
        """Gradio's login form: the key is the password; the user name is not checked."""
        return self.matches(password)

    @property
    def gradio_message(self) -> str:
        if not self.configured:
            return NOT_CONFIGURED
        return "Enter the endpoint's API key as the password (any user name)."


class RequireApiKey:
    """ASGI middleware: 503 on /v1 when no key is configured, 401 without the right key."""

    def __init__(self, app: ASGIApp, key: ApiKey) -> None:
        self.app = app
        self.key = key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path == PROTECTED or path.startswith(PROTECTED + "/")):
            await self.app(scope, receive, send)
            return
        if not self.key.configured:
            response = openai_error(503, NOT_CONFIGURED, code="api_key_not_configured")
        else:
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
            if self.key.matches(self.key.from_headers(headers)):
                await self.app(scope, receive, send)
                return
            response = openai_error(
                401, INVALID, code="invalid_api_key", headers={"WWW-Authenticate": "Bearer"}
            )
        await response(scope, receive, send)
