"""Azure Files exchanges that carry a body, checked against the data-plane spec's declared headers.

The ARM validator (:mod:`validator`) reads JSON bodies; Azure Files answers with headers, so here the
check is on headers, for the two operations whose request carries file bytes (Create File with initial
data, Put Range), at the spec version the emulator implements:

1. Accepted requests (2xx) carry the operation's required headers, a body only where the operation
   declares one, and declared integer/byte headers in their format (``Content-MD5`` base64).
2. Answers send only headers the spec declares for their status, each in its declared format.
"""

from __future__ import annotations

import base64
import binascii
import re
from email.utils import parsedate_to_datetime
from functools import lru_cache
from pathlib import Path

from tests.azure_emulator.fidelity.specs import Operation, SpecIndex
from tests.azure_emulator.traffic import Exchange

FILE_SPEC = "storage/data-plane/Microsoft.FileStorage/stable/2026-10-06/file.json"
# (method, comp) of a file URL → the spec operation it is.
OPERATIONS = {("PUT", None): "File_Create", ("PUT", "range"): "File_UploadRange"}
# Sent whatever the operation declares: HTTP framing, and the client request id Azure Storage echoes
# when the request carries one (its REST docs' response tables; the recordings' test proxy strips it).
UNDECLARED_BUT_REAL = {"content-length", "content-type", "date", "server", "x-ms-client-request-id"}
# The spec declares these date-time-rfc1123, but Azure sends ISO 8601 with 7 fractional digits (every
# recording in ../shared/azure-reference/azure-sdk-assets) and the SDK parses them that way.
ISO_TIMES = {"x-ms-file-creation-time", "x-ms-file-last-write-time", "x-ms-file-change-time"}
_ISO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$")


@lru_cache(maxsize=2)
def file_index(reference_root: Path) -> SpecIndex:
    return SpecIndex(reference_root, (FILE_SPEC,))


def operation_for(index: SpecIndex, ex: Exchange) -> Operation | None:
    """The spec operation this exchange is, for the operations checked here; None for the others."""
    if ex.service != "file" or "restype" in ex.query or ex.path.strip("/").count("/") < 2:
        return None  # account, share and directory URLs; a file URL is /account/share/path
    name = OPERATIONS.get((ex.method, ex.query.get("comp")))
    return next((op for op in index.operations if op.operation_id == name), None)


def _format_problem(value: str, spec: dict[str, object], answered: str | None = None) -> str | None:
    """Why ``value`` is not in the declared format (None: it is); ``answered``: a response header's name."""
    kind, fmt = spec.get("type"), spec.get("format")
    if answered is None and fmt == "date-time-rfc1123":
        return None  # SMB times in requests are ISO 8601, "now" or "preserve", whatever the spec says
    if answered is not None and answered.lower() in ISO_TIMES:
        return None if _ISO_TIME.match(value) else f"{value!r} is not an ISO 8601 time with 7 digits"
    if kind == "integer" and not value.isdigit():
        return f"{value!r} is not an integer"
    if kind == "boolean" and value not in ("true", "false"):
        return f"{value!r} is not true/false"
    if fmt == "byte":
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return f"{value!r} is not base64"
    if fmt == "date-time-rfc1123":
        try:
            parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return f"{value!r} is not an RFC 1123 date"
    return None


def exchange_mismatches(index: SpecIndex, ex: Exchange) -> list[str]:
    """Readable differences between one exchange and its operation in the spec (empty: none, or not checked)."""
    op = operation_for(index, ex)
    return [] if op is None else operation_mismatches(op, ex)


def operation_mismatches(op: Operation, ex: Exchange) -> list[str]:
    if not 200 <= ex.status < 300:
        return []  # refusals are Azure's XML errors, compared with the recordings (files/recordings.py)
    label = f"{op.operation_id}: {ex.method} {ex.path} → {ex.status}"
    found: list[str] = []
    sent = {k.lower(): v for k, v in ex.request_headers.items()}
    for param in op.parameters:
        value = sent.get(param.name.lower())
        if param.location == "header" and value is None and param.required:
            found.append(f"{label}\n    request header {param.name}: required, not sent")
        elif param.location == "header" and value is not None:
            problem = _format_problem(value, param.spec)
            if problem:
                found.append(f"{label}\n    request header {param.name}: {problem}")
    if ex.request_length and not any(p.location == "body" for p in op.parameters):
        found.append(f"{label}\n    request body: the operation declares none")
    declared = {
        name.lower(): spec for name, spec in op.responses.get(str(ex.status), {}).get("headers", {}).items()
    }
    if not declared and str(ex.status) not in op.responses:
        found.append(f"{label}\n    status {ex.status} is not declared")
    for name, value in ex.response_headers.items():
        spec = declared.get(name.lower())
        if spec is None:
            if name.lower() not in UNDECLARED_BUT_REAL:
                found.append(f"{label}\n    response header {name}: not declared for {ex.status}")
            continue
        problem = _format_problem(value, spec, name)
        if problem:
            found.append(f"{label}\n    response header {name}: {problem}")
    return found


def files_mismatches(exchanges: list[Exchange], reference_root: Path) -> list[str]:
    index = file_index(reference_root)
    return [problem for ex in exchanges for problem in exchange_mismatches(index, ex)]
