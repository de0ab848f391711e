"""Replay real Azure Files traffic (azure-sdk-assets test-proxy recordings) against the emulator and
compare the responses' *structure* with what Azure sent.

Structure means: the status code; the set of response header names (after dropping transport framing)
with each value's kind (integer, ETag, ISO time, HTTP date, boolean, MD5, range, text); and, for XML
bodies, the set of element/attribute paths with each leaf's kind; for byte bodies, the length. Values
themselves (ids, times, ETags) are not compared: the recordings are sanitized and from another day.

Requests are signed with the SDK's own ``SharedKeyCredentialPolicy``, so the emulator's SharedKey check
is exercised by every replayed request.
"""

from __future__ import annotations

import base64
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from email.utils import formatdate
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from azure.core import PipelineClient
from azure.core.pipeline.transport import RequestsTransport
from azure.core.rest import HttpRequest
from azure.storage.fileshare._shared.authentication import SharedKeyCredentialPolicy

RECORDINGS = Path("azure-sdk-assets/python/sdk/storage/azure-storage-file-share/tests/recordings")

# Framing and hop-by-hop headers differ by server stack (IIS chunks, aiohttp sends Content-Length).
_FRAMING = {"server", "transfer-encoding", "connection", "keep-alive"}
# Sanitized out of every recording by the test proxy, but always sent by Azure and read by the SDK.
_ALWAYS = {"x-ms-request-id"}
# Request headers the replay must not copy (the transport or the signer sets them).
_DROP_REQUEST = {
    "authorization",
    "connection",
    "accept-encoding",
    "user-agent",
    "x-ms-date",
    "content-length",
}

_KINDS: list[tuple[str, re.Pattern[str]]] = [
    ("int", re.compile(r"^\d+$")),
    ("etag", re.compile(r'^"0x[0-9A-F]+"$')),
    ("iso-time", re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$")),
    ("http-date", re.compile(r"^[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT$")),
    ("bool", re.compile(r"^(true|false)$")),
    ("md5", re.compile(r"^[A-Za-z0-9+/]{22}==$")),
    ("content-range", re.compile(r"^bytes \d+-\d+/\d+$")),
]


def value_kind(value: str | None) -> str:
    if value is None or value == "":
        return "empty"
    for kind, pattern in _KINDS:
        if pattern.match(value):
            return kind
    return "text"


def header_shape(headers: dict[str, Any]) -> dict[str, str]:
    """Header name (lower-case) → kind of its value, framing removed, zero Content-Length dropped."""
    out: dict[str, str] = {}
    for name, value in headers.items():
        lower = name.lower()
        text = ", ".join(value) if isinstance(value, list) else str(value)
        if lower in _FRAMING or (lower == "content-length" and text == "0"):
            continue
        out[lower] = value_kind(text)
    return out


def xml_shape(body: bytes | str) -> set[str]:
    """Element and attribute paths with leaf kinds; repeated siblings collapse into one path."""
    text = body.decode("utf-8-sig") if isinstance(body, bytes) else body.lstrip("\ufeff")
    root = ET.fromstring(text)
    paths: set[str] = set()

    def walk(el: ET.Element, prefix: str) -> None:
        path = f"{prefix}/{el.tag}" if prefix else el.tag
        for attr in el.attrib:
            paths.add(f"{path}@{attr}")
        children = list(el)
        if children:
            for child in children:
                walk(child, path)
        else:
            paths.add(f"{path}:{value_kind((el.text or '').strip())}")

    walk(root, "")
    return paths


@dataclass
class Mismatch:
    index: int
    request: str
    problems: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"entry {self.index} ({self.request}):\n    " + "\n    ".join(self.problems)


def compare(
    index: int, recorded: dict[str, Any], status: int, headers: dict[str, str], body: bytes
) -> Mismatch | None:
    """Differences between one recorded response and the emulator's, or None when they agree."""
    found = Mismatch(index, f"{recorded['RequestMethod']} {recorded['RequestUri']}")
    if status != recorded["StatusCode"]:
        found.problems.append(f"status {status} != recorded {recorded['StatusCode']}")
    want = header_shape(recorded["ResponseHeaders"])
    for name in _ALWAYS:
        want.setdefault(name, "text")
    got = header_shape(headers)
    got.pop("x-ms-client-request-id", None)
    for name in sorted(set(want) - set(got)):
        found.problems.append(f"missing header {name}")
    for name in sorted(set(got) - set(want)):
        found.problems.append(f"extra header {name} (Azure does not send it here)")
    for name in sorted(set(want) & set(got)):
        if want[name] != got[name] and name not in _ALWAYS:
            found.problems.append(f"header {name}: value kind {got[name]} != recorded {want[name]}")
    rec_body = recorded.get("ResponseBody")
    content_type = str(recorded["ResponseHeaders"].get("Content-Type", ""))
    if rec_body and "xml" in content_type and str(rec_body).lstrip("\ufeff").startswith("<"):
        try:
            want_xml, got_xml = xml_shape(str(rec_body)), xml_shape(body)
        except ET.ParseError as exc:
            found.problems.append(f"body is not XML: {exc}")
        else:
            for path in sorted(want_xml - got_xml):
                found.problems.append(f"missing XML {path}")
            for path in sorted(got_xml - want_xml):
                found.problems.append(f"extra XML {path}")
    elif rec_body is not None and recorded["RequestMethod"] != "HEAD":
        want_len = int(recorded["ResponseHeaders"].get("Content-Length", len(str(rec_body))))
        if len(body) != want_len:
            found.problems.append(f"body length {len(body)} != recorded {want_len}")
    return found if found.problems else None


def _request_body(entry: dict[str, Any]) -> bytes:
    raw = entry.get("RequestBody")
    if raw is None:
        return b""
    length = int(entry["RequestHeaders"].get("Content-Length", "0"))
    if len(raw) != length:  # the test proxy stores binary bodies base64-encoded
        try:
            decoded = base64.b64decode(raw, validate=True)
        except ValueError:
            decoded = b""
        if len(decoded) == length:
            return decoded
    return str(raw).encode()


class Replayer:
    """Sends a recording's requests to the emulator's path-style URLs for ``account``."""

    def __init__(self, file_url: str, account: str, key: str, ca_path: str) -> None:
        self.base = f"{file_url}/{account}"
        self.client = PipelineClient(
            base_url=self.base,
            policies=[SharedKeyCredentialPolicy(account, key)],
            transport=RequestsTransport(connection_verify=ca_path),
        )
        self.last_created: str | None = None

    def url_for(self, recorded_uri: str) -> str:
        parts = urlsplit(recorded_uri)
        return self.base + parts.path + (f"?{parts.query}" if parts.query else "")

    def send(self, entry: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        headers = {k: v for k, v in entry["RequestHeaders"].items() if k.lower() not in _DROP_REQUEST}
        headers["x-ms-date"] = formatdate(usegmt=True)
        body = _request_body(entry)
        if entry["RequestMethod"] in ("PUT", "POST", "DELETE"):
            headers["Content-Length"] = str(len(body))
        url = self.url_for(entry["RequestUri"])
        if headers.get("x-ms-file-rename-source") == "Sanitized" and self.last_created:
            headers["x-ms-file-rename-source"] = self.last_created  # the sanitizer hid the source URL
        if headers.get("x-ms-type") == "file" and "?" not in url:
            self.last_created = url
        request = HttpRequest(entry["RequestMethod"], url, headers=headers, content=body or None)
        response = self.client.send_request(request, stream=False)
        return response.status_code, dict(response.headers), response.read()


def load(path: Path) -> list[dict[str, Any]]:
    entries = json.loads(path.read_text())["Entries"]
    assert isinstance(entries, list)
    return entries


def preexisting_shares(entries: list[dict[str, Any]]) -> set[str]:
    """Shares a recording deletes or lists without creating (left over from earlier runs of its suite)."""
    created, used = set(), set()
    for e in entries:
        path = urlsplit(e["RequestUri"]).path.strip("/")
        if not path:
            continue
        share = path.split("/")[0]
        if "restype=share" in e["RequestUri"] and e["RequestMethod"] == "PUT":
            created.add(share)
        else:
            used.add(share)
    for e in entries:
        body = e.get("ResponseBody")
        if isinstance(body, str) and "<Shares>" in body:
            used.update(re.findall(r"<Share><Name>([^<]+)</Name>", body))
    return used - created


def account_from(entries: list[dict[str, Any]]) -> str:
    return urlsplit(entries[0]["RequestUri"]).hostname.split(".")[0].lower()  # type: ignore[union-attr]
