"""SharedKey authentication as the storage service checks it (independent of the SDK's signer).

String-to-sign (version 2015-02-21 and later)::

    VERB\\nContent-Encoding\\nContent-Language\\nContent-Length\\nContent-MD5\\nContent-Type\\nDate\\n
    If-Modified-Since\\nIf-Match\\nIf-None-Match\\nIf-Unmodified-Since\\nRange\\n
    CanonicalizedHeaders CanonicalizedResource

Content-Length is empty when zero; CanonicalizedHeaders are the ``x-ms-*`` headers, lower-cased and
sorted; CanonicalizedResource is ``/account`` + the URL path (path-style URLs already carry the account,
so it reads ``/acct/acct/share/...``) + ``\\nname:value`` per query parameter, names lower-cased and sorted.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from urllib.parse import quote, unquote

from aiohttp import web

from tests.azure_emulator.routing import ArmError

_SIGNED_HEADERS = (
    "Content-Encoding",
    "Content-Language",
    "Content-Length",
    "Content-MD5",
    "Content-Type",
    "Date",
    "If-Modified-Since",
    "If-Match",
    "If-None-Match",
    "If-Unmodified-Since",
    "Range",
)

AUTH_FAILED = (
    "Server failed to authenticate the request. Make sure the value of Authorization header is formed "
    "correctly including the signature."
)


def _header_sort_key(name: str) -> tuple[str, str]:
    # The service collates header names ignoring hyphens first (then ordinally); for the
    # lower-case ASCII names headers use, that is this key.
    return (name.replace("-", ""), name)


def _canonical_headers(request: web.Request) -> str:
    names: dict[str, str] = {}
    for name, value in request.headers.items():
        lower = name.lower()
        if lower.startswith("x-ms-"):
            names[lower] = value.strip()
    return "".join(f"{n}:{names[n]}\n" for n in sorted(names, key=_header_sort_key))


def _canonical_query(query_string: str) -> str:
    params: list[tuple[str, str]] = []
    for part in query_string.split("&") if query_string else []:
        name, _, value = part.partition("=")
        params.append((unquote(name), unquote(value)))
    params.sort()
    return "".join(f"\n{name.lower()}:{value}" for name, value in params)


def _path_variants(raw_path: str) -> Iterable[str]:
    """The encoded path as sent, plus its canonical re-encodings (clients differ in what they escape)."""
    seen = {raw_path}
    yield raw_path
    for variant in (quote(unquote(raw_path), safe="/"), quote(unquote(raw_path), safe="/~!$&'()*+,;=:@")):
        if variant not in seen:
            seen.add(variant)
            yield variant


def string_to_sign(request: web.Request, account: str, path: str) -> str:
    values = []
    for name in _SIGNED_HEADERS:
        value = request.headers.get(name, "")
        if name == "Content-Length" and value == "0":
            value = ""
        values.append(value)
    return (
        request.method
        + "\n"
        + "\n".join(values)
        + "\n"
        + _canonical_headers(request)
        + f"/{account}{path}"
        + _canonical_query(request.query_string)
    )


def sign(key_b64: str, text: str) -> str:
    digest = hmac.new(base64.b64decode(key_b64), text.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def check_shared_key(request: web.Request, url_account: str, keys: list[str] | None) -> None:
    """Raise 403 AuthenticationFailed unless the request is signed with one of ``keys``."""
    auth = request.headers.get("Authorization", "")
    if not auth:
        raise ArmError(
            403 if keys is not None else 404,
            "NoAuthenticationInformation" if keys is not None else "ResourceNotFound",
            "Server failed to authenticate the request. Please refer to the information in the "
            "www-authenticate header."
            if keys is not None
            else "The specified resource does not exist.",
        )
    scheme, _, credential = auth.partition(" ")
    account, _, signature = credential.rpartition(":")
    if scheme != "SharedKey" or not account or not signature:
        raise ArmError(
            400, "InvalidAuthenticationInfo", "Authentication information is not given in the correct format."
        )
    if not request.headers.get("x-ms-date") and not request.headers.get("Date"):
        raise ArmError(403, "AuthenticationFailed", AUTH_FAILED + " x-ms-date or Date header is required.")
    if keys is None or account != url_account:
        raise ArmError(403, "AuthenticationFailed", AUTH_FAILED)
    raw_path = request.raw_path.split("?", 1)[0]
    for path in _path_variants(raw_path):
        text = string_to_sign(request, account, path)
        if any(hmac.compare_digest(sign(key, text), signature) for key in keys):
            return
    raise ArmError(403, "AuthenticationFailed", AUTH_FAILED)
