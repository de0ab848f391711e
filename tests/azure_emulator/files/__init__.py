"""Azure Files data plane (path-style account URLs: https://127.0.0.1:PORT/{account}/{share}/...).

Covers what azure-storage-file-share's ShareServiceClient/ShareClient/ShareDirectoryClient/
ShareFileClient (sync and aio) use: list shares; create/get/delete share and share metadata;
create/get/delete/list directories (include=Timestamps,ETag,Attributes,PermissionKey, prefix,
maxresults + NextMarker) and directory metadata; create file (sparse, content settings, metadata), put
range (update/clear, Content-MD5 checked), get file (whole and ranges, 206/416), HEAD, set properties
(content settings, resize), set metadata, delete, rename (replace-if-exists), list ranges.
Authentication: SharedKey, verified with the registry's account keys (:mod:`.auth`).

Bytes are real files in ``get_registry(emulator).share_path(account, share)``; ids, times, ETags,
metadata and content settings live in a sidecar under ``emulator.root / "files-meta"`` (:mod:`.meta`).

Leases: infinite file leases (:mod:`.leases`). Names: 255 characters per name, 2,048 per path.
Not covered: SAS and OAuth (Bearer) auth, share leases, snapshots, copy, handles, NFS, file permissions
(SDDL), case-insensitive name matching (the share folder is case-sensitive like the host file system).

Fidelity: :mod:`.recordings` replays the real-Azure recordings in ../shared/azure-reference and
compares status, header names and value kinds, and XML shape (tests/azure_emulator/test_files_fidelity.py).
"""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING

from aiohttp import web

from tests.azure_emulator.routing import ArmError, Handler, RequestContext

if TYPE_CHECKING:
    from tests.azure_emulator.server import Emulator


def register(emulator: Emulator) -> None:
    """Add Azure Files routes to ``emulator.file_router``."""
    from tests.azure_emulator.files.service import FileService

    service = FileService(emulator)
    emulator.services["files"] = service
    for method in ("GET", "HEAD", "PUT", "DELETE"):
        emulator.file_router.add(method, "/{account}", file_route(service.account_op))
        emulator.file_router.add(method, "/{account}/{share}", file_route(service.share_op))
        emulator.file_router.add(method, "/{account}/{share}/{path:rest}", file_route(service.path_op))


def file_route(handler: Handler) -> Handler:
    """Wrap a file-service handler: wait ``settings.file_latency`` first (an emulated network round
    trip), and answer errors to HEAD requests with the code in ``x-ms-error-code`` only (no body,
    no Content-Type), as the service does."""

    async def wrapped(ctx: RequestContext) -> web.StreamResponse:
        latency = ctx.emulator.settings.file_latency
        if latency > 0:
            await asyncio.sleep(latency)
        try:
            return await handler(ctx)
        except ArmError as err:
            if ctx.request.method != "HEAD":
                raise
            from tests.azure_emulator.files.service import DEFAULT_VERSION

            headers = {
                "x-ms-error-code": err.code,
                "x-ms-request-id": str(uuid.uuid4()),
                "x-ms-version": ctx.request.headers.get("x-ms-version", DEFAULT_VERSION),
                **err.headers,
            }
            resp = web.Response(status=err.status, headers=headers)
            resp.enable_chunked_encoding()
            return resp

    return wrapped
