"""File leases (``PUT ?comp=lease``, ``x-ms-lease-action``) and the lease check on every write.

Azure Files file leases are infinite only (``x-ms-lease-duration: -1``; no renew): a lease stays
until it is released or broken. Any write to a leased file (create, ranges, properties, metadata,
delete, rename onto or from it) must carry the lease ID; reads need none. Codes and messages are
the service's (Azure Files error codes, status 409 for lease operations and 412 for file
operations). The lease lives on the file's sidecar entry, so it survives an emulator restart as
it survives anything but a break on Azure.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from tests.azure_emulator.files.meta import Entry
from tests.azure_emulator.routing import ArmError, RequestContext

if TYPE_CHECKING:
    from collections.abc import Callable

LEASE_ALREADY_PRESENT = "There is already a lease present."
LEASE_ID_MISSING = "There is currently a lease on the file and no lease ID was specified in the request."
LEASE_NOT_PRESENT = "There is currently no lease on the file."
LEASE_ID_MISMATCH = "The lease ID specified did not match the lease ID for the file."


def lease_headers(entry: Entry) -> dict[str, str]:
    """What Get File Properties / Get File report about the lease."""
    if entry.lease_id is None:
        return {"x-ms-lease-state": "available", "x-ms-lease-status": "unlocked"}
    return {"x-ms-lease-state": "leased", "x-ms-lease-status": "locked", "x-ms-lease-duration": "infinite"}


def check_write(
    ctx: RequestContext,
    entry: Entry | None,
    fail: Callable[[RequestContext, int, str, str], ArmError],
    header: str = "x-ms-lease-id",
) -> None:
    """A write to ``entry`` must name its lease, if it has one (412 otherwise)."""
    given = ctx.request.headers.get(header)
    held = entry.lease_id if entry is not None else None
    if held is None:
        if given:
            raise fail(ctx, 412, "LeaseNotPresentWithFileOperation", LEASE_NOT_PRESENT)
        return
    if not given:
        raise fail(ctx, 412, "LeaseIdMissing", LEASE_ID_MISSING)
    if given.lower() != held.lower():
        raise fail(ctx, 412, "LeaseIdMismatchWithFileOperation", LEASE_ID_MISMATCH)


def _valid_id(
    ctx: RequestContext, value: str, fail: Callable[[RequestContext, int, str, str], ArmError]
) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise fail(
            ctx,
            400,
            "InvalidHeaderValue",
            "The value for one of the HTTP headers is not in the correct format.",
        ) from None


def lease_operation(
    ctx: RequestContext, entry: Entry, fail: Callable[[RequestContext, int, str, str], ArmError]
) -> tuple[int, dict[str, str]]:
    """Apply ``x-ms-lease-action`` to ``entry``; returns the status and the lease headers to send.
    The caller persists the entry (a lease operation changes neither ETag nor Last-Modified)."""
    h = ctx.request.headers
    action = h.get("x-ms-lease-action", "").lower()
    given = h.get("x-ms-lease-id")
    if action == "acquire":
        duration = h.get("x-ms-lease-duration", "-1")
        if duration != "-1":
            raise fail(
                ctx,
                400,
                "InvalidHeaderValue",
                "The value for one of the HTTP headers is not in the correct format. (x-ms-lease-duration: "
                "file leases are infinite, -1)",
            )
        proposed = h.get("x-ms-proposed-lease-id")
        lease = _valid_id(ctx, proposed, fail) if proposed else str(uuid.uuid4())
        if entry.lease_id is not None and entry.lease_id != lease:
            raise fail(ctx, 409, "LeaseAlreadyPresent", LEASE_ALREADY_PRESENT)
        entry.lease_id = lease
        return 201, {"x-ms-lease-id": lease}
    if action == "break":
        if entry.lease_id is None:
            raise fail(ctx, 409, "LeaseNotPresentWithLeaseOperation", LEASE_NOT_PRESENT)
        if given and given.lower() != entry.lease_id:
            raise fail(ctx, 409, "LeaseIdMismatchWithLeaseOperation", LEASE_ID_MISMATCH)
        entry.lease_id = None
        return 202, {}  # an infinite lease breaks at once
    if action in ("release", "change"):
        if not given:
            raise fail(
                ctx,
                400,
                "MissingRequiredHeader",
                "An HTTP header that's mandatory for this request is not specified. (x-ms-lease-id)",
            )
        if entry.lease_id is None:
            raise fail(ctx, 409, "LeaseNotPresentWithLeaseOperation", LEASE_NOT_PRESENT)
        if given.lower() != entry.lease_id:
            raise fail(ctx, 409, "LeaseIdMismatchWithLeaseOperation", LEASE_ID_MISMATCH)
        if action == "release":
            entry.lease_id = None
            return 200, {}
        proposed = h.get("x-ms-proposed-lease-id")
        if not proposed:
            raise fail(
                ctx,
                400,
                "MissingRequiredHeader",
                "An HTTP header that's mandatory for this request is not specified. (x-ms-proposed-lease-id)",
            )
        entry.lease_id = _valid_id(ctx, proposed, fail)
        return 200, {"x-ms-lease-id": entry.lease_id}
    raise fail(
        ctx,
        400,
        "InvalidHeaderValue",
        "The value for one of the HTTP headers is not in the correct format. (x-ms-lease-action)",
    )
