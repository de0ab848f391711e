"""XML bodies of the Azure Files list operations (element order as the service writes it)."""

from __future__ import annotations

import base64
from xml.sax.saxutils import escape, quoteattr

from tests.azure_emulator.files.meta import Entry, ShareProps, etag, http_date, iso_time

XML_HEAD = '\ufeff<?xml version="1.0" encoding="utf-8"?>'


def encode_marker(name: str) -> str:
    """Continuation markers are opaque to clients; Azure's are base64-like, so are these."""
    return base64.urlsafe_b64encode(name.encode()).decode()


def decode_marker(marker: str) -> str:
    try:
        return base64.urlsafe_b64decode(marker.encode()).decode()
    except ValueError:
        return marker


def _el(name: str, value: str | None) -> str:
    if not value:
        return f"<{name} />"
    if "&" in value or "<" in value or ">" in value:  # rare: most values need no escaping
        value = escape(value)
    return f"<{name}>{value}</{name}>"


def _paging(prefix: str | None, marker: str | None, maxresults: str | None) -> str:
    out = ""
    if prefix is not None:
        out += _el("Prefix", prefix)
    if marker:
        out += _el("Marker", marker)
    if maxresults:
        out += _el("MaxResults", maxresults)
    return out


def directory_listing(
    *,
    endpoint: str,
    share: str,
    directory: str,
    directory_id: str,
    items: list[tuple[str, Entry, int]],
    include: set[str],
    prefix: str | None,
    marker: str | None,
    maxresults: str | None,
    next_marker: str | None,
) -> bytes:
    """``items``: (name, entry, size) already sorted and paged."""
    parts = [
        XML_HEAD,
        f"<EnumerationResults ServiceEndpoint={quoteattr(endpoint)} ShareName={quoteattr(share)} "
        f"DirectoryPath={quoteattr(directory)}>",
        _paging(prefix, marker, maxresults),
        _el("DirectoryId", directory_id),
        "<Entries>",
    ]
    for name, entry, size in items:
        tag = "Directory" if entry.kind == "dir" else "File"
        props = f"<Content-Length>{size}</Content-Length>" if entry.kind == "file" else ""
        if "timestamps" in include:
            props += (
                _el("CreationTime", iso_time(entry.created))
                + _el("LastAccessTime", iso_time(entry.last_write))
                + _el("LastWriteTime", iso_time(entry.last_write))
                + _el("ChangeTime", iso_time(entry.changed))
                + _el("Last-Modified", http_date(entry.modified))
            )
        if "etag" in include:
            props += _el("Etag", etag(entry.modified))
        parts.append(f"<{tag}>{_el('Name', name)}{_el('FileId', entry.file_id)}")
        parts.append(f"<Properties>{props}</Properties>" if props else "<Properties />")
        if "attributes" in include:
            parts.append(_el("Attributes", entry.attributes))
        if "permissionkey" in include:
            parts.append(_el("PermissionKey", entry.permission_key))
        parts.append(f"</{tag}>")
    parts += ["</Entries>", _el("NextMarker", next_marker), "</EnumerationResults>"]
    return "".join(parts).encode("utf-8")


def share_listing(
    *,
    endpoint: str,
    shares: list[tuple[str, ShareProps]],
    include_metadata: bool,
    prefix: str | None,
    marker: str | None,
    maxresults: str | None,
    next_marker: str | None,
) -> bytes:
    parts = [XML_HEAD, f"<EnumerationResults ServiceEndpoint={quoteattr(endpoint)}>"]
    parts.append(_paging(prefix, marker, maxresults))
    parts.append("<Shares>")
    for name, props in shares:
        parts.append(
            f"<Share>{_el('Name', name)}<Properties>"
            f"{_el('Last-Modified', http_date(props.modified))}{_el('Etag', etag(props.modified))}"
            "<LeaseStatus>unlocked</LeaseStatus><LeaseState>available</LeaseState>"
            f"<Quota>{props.quota}</Quota><AccessTier>TransactionOptimized</AccessTier>"
            f"{_el('AccessTierChangeTime', http_date(props.created))}"
            "<DefaultEncryptionScope>$account-encryption-key</DefaultEncryptionScope>"
            "<DenyEncryptionScopeOverride>false</DenyEncryptionScopeOverride></Properties>"
        )
        if include_metadata:
            parts.append("<Metadata>" + "".join(_el(k, v) for k, v in props.metadata.items()) + "</Metadata>")
        parts.append("</Share>")
    parts += ["</Shares>", _el("NextMarker", next_marker), "</EnumerationResults>"]
    return "".join(parts).encode("utf-8")


def range_list(ranges: list[tuple[int, int]]) -> bytes:
    body = "".join(f"<Range><Start>{s}</Start><End>{e}</End></Range>" for s, e in ranges)
    return f"{XML_HEAD}<Ranges>{body}</Ranges>".encode()
