"""Access tokens as Microsoft Entra ID issues them for ARM: JWTs whose ``tid`` (tenant), ``aud``
(resource) and ``exp`` claims ARM checks. The emulator does not verify signatures (it has no
Entra ID); it reads the claims, as ARM does after verifying. Stdlib only: the ``az`` stand-in
imports this module without the project's packages.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
import uuid
from typing import Any

HOME_TENANT = "72f988bf-0000-4000-8000-00000000e1a0"
GUEST_TENANT = "5c1d9e2a-7b3f-4c8d-9e0a-00000000e1a1"
# What az asks for without --resource/--scope: the cloud's activeDirectoryResourceId.
DEFAULT_RESOURCE = "https://management.core.windows.net/"


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).rstrip(b"=").decode()


def issue(tenant: str, resource: str, lifetime_s: int = 3600) -> tuple[str, int]:
    """A v1 access token for ``resource`` in ``tenant``; returns (token, expires_on epoch seconds)."""
    now = int(time.time())
    expires = now + lifetime_s
    claims = {
        "aud": resource,
        "iss": f"https://sts.windows.net/{tenant}/",
        "iat": now,
        "nbf": now,
        "exp": expires,
        "tid": tenant,
        "oid": "00000000-0000-4000-8000-0000000000a1",
        "ver": "1.0",
        "uti": uuid.uuid4().hex,
    }
    header = {"typ": "JWT", "alg": "RS256", "kid": "emulator"}
    signature = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    return f"{_b64(header)}.{_b64(claims)}.{signature}", expires


def resource_from_scope(scope: str) -> str:
    """The v1 resource (the token's ``aud``) for a v2 scope, as Entra ID maps it."""
    return scope[: -len("/.default")] if scope.endswith("/.default") else scope


def claims(token: str) -> dict[str, Any] | None:
    """The token's claims, or None when it is not a JWT."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def bearer(tenant: str = HOME_TENANT, resource: str = DEFAULT_RESOURCE) -> str:
    """An ``Authorization`` header value ARM accepts, for tests that call it directly."""
    return "Bearer " + issue(tenant, resource)[0]
