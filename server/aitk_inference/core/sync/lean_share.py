"""A lean client for the sync's hot requests: List Directories and Files, Create Directory,
Create File (with a small file's bytes), Put Range and Rename File, sent through :mod:`http1` on direct connections
and through aiohttp (the share client's connector) when the environment names a proxy.

Why: azure-core's pipeline (a dozen policies) and the storage SDK's XML model deserializer cost
1-3 ms of CPU per request, which on trees of tens of thousands of files makes the client, not the
service, the bottleneck. These requests are signed with SharedKey exactly as the SDK signs them
(same string to sign, the SDK's own header ordering), use the SDK's API version, are retried like
:func:`share.retry_policy` (408/429/5xx and dropped connections, Retry-After honoured, else 0.5 s,
1 s, 2 s...), count in the connection's request total, and fail with the same azure-core
exception types (and ``error_code``) the SDK raises, so callers handle both alike.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hmac
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.utils import formatdate
from functools import cmp_to_key, lru_cache
from typing import Any, NamedTuple
from urllib.parse import quote, unquote
from xml.etree import ElementTree

import aiohttp
from aiohttp.helpers import get_env_proxy_for_url
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.storage.fileshare._shared.authentication import compare as _sdk_header_compare
from yarl import URL

from aitk_inference.core.azure.tls import ssl_context
from aitk_inference.core.sync.http1 import ConnectFailed, Http1Pool

# aiohttp would add a Content-Type to a PUT on its own, after signing: the signature would not match.
_UNSIGNED_AUTO = ("Content-Type",)
RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})


class ListedEntry(NamedTuple):  # a tuple: thousands per listing of a big folder
    name: str
    is_directory: bool
    size: int
    etag: str | None


@dataclass(frozen=True)
class Listing:
    entries: list[ListedEntry]
    next_marker: str


def parse_listing(body: bytes) -> Listing:
    """An ``EnumerationResults`` body (with or without ``include=Etag``); names the service
    percent-encoded (``Encoded="true"``, for characters XML cannot carry) are decoded."""
    plain = _parse_plain(body)
    return plain if plain is not None else _parse_xml(body)


# One entry as the service writes it for this client's listings (include=Etag): a name that
# needs no XML escape, no percent-encoding and no control character (Azure Files refuses < and >
# in names anyway), and the properties in the service's order. Anything else goes to the XML parser.
_TEXT = rb"[^<>&\x00-\x1f]*"
_PLAIN_ENTRY = re.compile(
    rb"<(File|Directory)><Name>(" + _TEXT + rb")</Name>(?:<FileId>" + _TEXT + rb"</FileId>)?"
    rb"(?:<Properties />|<Properties>(?:<Content-Length>([0-9]+)</Content-Length>)?"
    rb"(?:<Etag>(" + _TEXT + rb")</Etag>)?</Properties>)</\1>"
)
_PLAIN_TAIL = re.compile(
    rb"</Entries>(?:<NextMarker />|<NextMarker>(" + _TEXT + rb")</NextMarker>)</EnumerationResults>\s*"
)


def _parse_plain(body: bytes) -> Listing | None:
    """The listing read with regular expressions (less than half the XML parser's CPU), or None
    unless the whole ``Entries`` element and what follows it are in the plain shape; for a
    well-formed body the answer is then exactly the XML parser's. Every folder of the project is
    listed on every deploy, so this runs tens of thousands of times on a big tree."""
    start = body.find(b"<Entries>")
    end = body.rfind(b"</Entries>")
    if start < 0 or end < start or body.rfind(b"<EnumerationResults", 0, start) < 0:
        return None
    tail = _PLAIN_TAIL.fullmatch(body, end)
    if tail is None:
        return None
    entries: list[ListedEntry] = []
    pos = start + len(b"<Entries>")
    match = _PLAIN_ENTRY.match
    try:
        while pos < end:
            found = match(body, pos)
            if found is None:
                return None
            tag, name, size, etag = found.groups()
            entries.append(
                ListedEntry(
                    name.decode(),
                    tag == b"Directory",
                    int(size) if size else 0,
                    etag.decode() if etag else None,
                )
            )
            pos = found.end()
        return Listing(entries, tail.group(1).decode() if tail.group(1) else "")
    except UnicodeDecodeError:
        return None  # the XML parser says what is wrong with it


def _parse_xml(body: bytes) -> Listing:
    """Children are visited once each (no path lookups)."""
    root = ElementTree.fromstring(body)
    entries: list[ListedEntry] = []
    found = root.find("Entries")
    for item in found if found is not None else ():
        name, size, etag = "", 0, None
        for child in item:
            tag = child.tag
            if tag == "Name":
                name = child.text or ""
                if child.get("Encoded") == "true":
                    name = unquote(name)
            elif tag == "Properties":
                for prop in child:
                    if prop.tag == "Content-Length":
                        size = int(prop.text or 0)
                    elif prop.tag == "Etag":
                        etag = prop.text or None
        entries.append(ListedEntry(name, item.tag == "Directory", size, etag))
    return Listing(entries, root.findtext("NextMarker") or "")


_MARKER_TAIL = re.compile(rb"<NextMarker>([^<&]*)</NextMarker>\s*</EnumerationResults>\s*$")


def _next_marker_at_end(body: bytes) -> str:
    """The NextMarker of a listing, read off its last bytes without parsing it ("" if none, or
    if it is not plainly there: :func:`parse_listing` has the last word)."""
    found = _MARKER_TAIL.search(body, max(0, len(body) - 4096))
    return found.group(1).decode("utf-8", "replace") if found else ""


@lru_cache(maxsize=64)
def _sorted_names(names: tuple[str, ...]) -> tuple[str, ...]:
    """x-ms-* header names in the order the SDK (and the service) sort them for signing."""
    return tuple(sorted(names, key=cmp_to_key(_sdk_header_compare)))


_STANDARD = (
    "content-encoding",
    "content-language",
    "content-length",
    "content-md5",
    "content-type",
    "date",
    "if-modified-since",
    "if-match",
    "if-none-match",
    "if-unmodified-since",
    "range",
)


def string_to_sign(
    method: str, account: str, path: str, query: list[tuple[str, str]], headers: dict[str, str]
) -> str:
    """SharedKey's string to sign, as the SDK's ``SharedKeyCredentialPolicy`` builds it (header
    names lower-case here; ``path`` is the URL path as sent)."""
    std = dict(headers)
    if std.get("content-length") == "0":
        del std["content-length"]
    parts = [method, *(std.get(name, "") for name in _STANDARD)]
    x_ms = _sorted_names(tuple(n for n in headers if n.startswith("x-ms-")))
    canonical = "".join(f"{n}:{headers[n]}\n" for n in x_ms)
    resource = f"/{account}{path}" + "".join(f"\n{k.lower()}:{unquote(v)}" for k, v in sorted(query))
    return "\n".join(parts) + "\n" + canonical + resource


class LeanShare:
    """The hot requests against one share; ``session`` is the share client's pooled one."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        account_url: str,
        account_name: str,
        account_key: str,
        share_name: str,
        api_version: str,
        count: Any,
        retry_total: int,
        retry_backoff: float,
        retry_backoff_max: float,
    ) -> None:
        # Its own session on the share client's connector (same pooled connections): without
        # trust_env, aiohttp would look up netrc and the proxy on a thread for every request,
        # and a thread hop per request costs more CPU than the request. The proxy the
        # environment names for this endpoint is looked up once instead.
        self._session = aiohttp.ClientSession(
            connector=session.connector,
            connector_owner=False,
            trust_env=False,
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
        )
        base = URL(account_url)
        self._proxy: URL | None = None
        self._proxy_auth: aiohttp.BasicAuth | None = None
        if session.trust_env:
            with contextlib.suppress(LookupError):
                self._proxy, self._proxy_auth = get_env_proxy_for_url(base)
        # Direct connections take the lean HTTP/1.1 client; through a proxy, aiohttp.
        self._pool: Http1Pool | None = None
        if self._proxy is None and base.scheme in ("https", "http") and base.host:
            self._pool = Http1Pool(
                base.host,
                base.port or (443 if base.scheme == "https" else 80),
                ssl_context() if base.scheme == "https" else None,
            )
        self._origin = str(base.origin())
        self._account = account_name
        self._key = base64.b64decode(account_key)
        # path-style endpoints (an emulator, Azure Stack) carry the account in the path
        self._share_path = base.raw_path.rstrip("/") + "/" + quote(share_name)
        self._version = api_version
        self._count = count  # called once per request put on the wire (retries included)
        self._retry_total = retry_total
        self._backoff = retry_backoff
        self._backoff_max = retry_backoff_max

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
        await self._session.close()  # leaves the shared connector open

    def path_of(self, path: str) -> str:
        return self._share_path + ("/" + quote(path, safe="/~") if path else "")

    def url_of(self, path: str) -> str:
        return self._origin + self.path_of(path)

    async def list_dir(self, folder: str) -> Iterator[ListedEntry]:
        """Every entry of ``folder`` with its size and ETag (all pages). A page's marker is read
        off its end first, so the service prepares the next page while this one is parsed."""
        body = await self._list_page(folder, "")  # most folders are one page: no task for it
        if not _next_marker_at_end(body):
            page = parse_listing(body)
            if not page.next_marker:
                return iter(page.entries)
        return await self._list_pages(folder, body)

    async def _list_pages(self, folder: str, body: bytes) -> Iterator[ListedEntry]:
        """The rest of a listing of several pages, from its first page's ``body``."""
        entries: list[ListedEntry] = []
        page_task: asyncio.Future[bytes] | None = None
        try:
            while True:
                guess = _next_marker_at_end(body)
                if guess:
                    page_task = asyncio.ensure_future(self._list_page(folder, guess))
                    await asyncio.sleep(0)  # the task sends its request before this page is parsed
                page = parse_listing(body)
                entries.extend(page.entries)
                if page.next_marker != guess:  # the quick read was wrong (say, an escaped marker)
                    if page_task is not None:
                        page_task.cancel()
                        await asyncio.gather(page_task, return_exceptions=True)
                    page_task = None
                    if page.next_marker:
                        page_task = asyncio.ensure_future(self._list_page(folder, page.next_marker))
                if page_task is None:
                    return iter(entries)
                body = await page_task
                page_task = None
        finally:
            if page_task is not None:  # a page asked for but not used: stop it, take its outcome
                page_task.cancel()
                await asyncio.gather(page_task, return_exceptions=True)

    async def _list_page(self, folder: str, marker: str) -> bytes:
        query = [("restype", "directory"), ("comp", "list"), ("include", "Etag")]
        if marker:
            query.append(("marker", marker))
        return (await self._send("GET", folder, query, {"accept": "application/xml"}))[1]

    async def create_directory(self, path: str) -> None:
        """Create Directory (the service's default attributes and times, as the SDK sends none)."""
        await self._send("PUT", path, [("restype", "directory")], {})

    async def create_file(self, path: str, size: int, md5: bytes | None, data: bytes | None = None) -> None:
        """Create File; ``data`` (at most 4 MiB) becomes its first bytes in the same request
        (API version 2026-02-06 and later), so a small file needs no Put Range."""
        headers = {"x-ms-type": "file", "x-ms-content-length": str(size)}
        if md5 is not None:
            headers["x-ms-content-md5"] = base64.b64encode(md5).decode()
        if data:
            headers["content-type"] = "application/octet-stream"
        await self._send("PUT", path, [], headers, data or None)

    async def put_range(self, path: str, offset: int, data: bytes) -> None:
        headers = {
            "x-ms-write": "update",
            "content-type": "application/octet-stream",
            "x-ms-range": f"bytes={offset}-{offset + len(data) - 1}",  # as the SDK sends it
        }
        await self._send("PUT", path, [("comp", "range")], headers, data)

    async def rename(self, source: str, target: str) -> str | None:
        """Rename ``source`` over ``target`` (replacing it); the target's new ETag."""
        headers = {
            "x-ms-file-rename-source": self.url_of(source),
            "x-ms-file-rename-replace-if-exists": "true",
        }
        response_headers, _ = await self._send("PUT", target, [("comp", "rename")], headers)
        return response_headers.get("etag") or None

    async def _send(
        self,
        method: str,
        path: str,
        query: list[tuple[str, str]],
        extra: dict[str, str],
        body: bytes | None = None,
    ) -> tuple[dict[str, str], bytes]:
        """One request, retried as the SDK's policy would; the answer's headers (lower-case
        names) and body."""
        url_path = self.path_of(path)
        query_string = "&".join(f"{k}={quote(v, safe=',')}" for k, v in query)
        target = url_path + ("?" + query_string if query_string else "")
        attempt = 0
        while True:
            headers = {
                **extra,
                "x-ms-version": self._version,
                "x-ms-date": _http_date(),
                "content-length": str(len(body) if body is not None else 0),
            }
            signature = hmac.new(
                self._key, string_to_sign(method, self._account, url_path, query, headers).encode(), "sha256"
            ).digest()
            headers["authorization"] = f"SharedKey {self._account}:{base64.b64encode(signature).decode()}"
            self._count()
            wait: float | None
            try:
                status, response_headers, data = await self._exchange(method, target, headers, body)
            except (TimeoutError, OSError, aiohttp.ClientError) as err:
                if attempt >= self._retry_total:
                    kind = (
                        ServiceRequestError
                        if isinstance(err, (aiohttp.ClientConnectorError, ConnectFailed))
                        else ServiceResponseError
                    )
                    raise kind(str(err) or type(err).__name__, error=err) from err
                wait = None
            else:
                if status < 300:
                    return response_headers, data
                if status not in RETRY_STATUS or attempt >= self._retry_total:
                    raise _error(status, response_headers, data)
                wait = _retry_after(response_headers.get("retry-after"))
            if wait is None:
                wait = min(self._backoff * 2**attempt, self._backoff_max)
            attempt += 1
            await asyncio.sleep(wait)

    async def _exchange(
        self, method: str, target: str, headers: dict[str, str], body: bytes | None
    ) -> tuple[int, dict[str, str], bytes]:
        if self._pool is not None:
            return await self._pool.request(method, target, headers, body)
        async with self._session.request(
            method,
            URL(self._origin + target, encoded=True),
            headers=headers,
            data=body,
            skip_auto_headers=_UNSIGNED_AUTO,
            proxy=self._proxy,
            proxy_auth=self._proxy_auth,
        ) as resp:
            data = await resp.read()
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, data


_date_cache: tuple[int, str] = (0, "")


def _http_date() -> str:
    """``x-ms-date``: formatted once per second, not once per request."""
    global _date_cache
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache = (now, formatdate(now, usegmt=True))
    return _date_cache[1]


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def _error(status: int, headers: Any, body: bytes) -> HttpResponseError:
    """The azure-core exception the SDK raises for this answer, with the service's code and message."""
    code = headers.get("x-ms-error-code") or ""  # names lower-case, see LeanShare._send
    message = ""
    if body:
        try:
            message = ElementTree.fromstring(body).findtext("Message") or ""
        except ElementTree.ParseError:
            message = ""
    text = f"{message.splitlines()[0] if message else f'HTTP {status}'}\nErrorCode:{code}"
    kind: type[HttpResponseError] = HttpResponseError
    if status == 404:
        kind = ResourceNotFoundError
    elif status == 409:
        kind = ResourceExistsError
    elif status == 412:
        kind = ResourceModifiedError
    elif status in (401, 403):
        kind = ClientAuthenticationError
    err = kind(message=text)
    err.error_code = code or None  # type: ignore[attr-defined]  # read via getattr, as the SDK sets it
    err.status_code = status
    return err
