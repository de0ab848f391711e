"""Azure Files REST operations: shares, directories, files, ranges, listings, rename.

Dispatch follows the service: the URL path picks account/share/path, ``restype`` and ``comp`` pick the
operation. Bytes are real files under the share folder; everything else is in :mod:`.meta`.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import re
import shutil
import uuid
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

from aiohttp import web

from tests.azure_emulator.files import listing
from tests.azure_emulator.files.auth import check_shared_key
from tests.azure_emulator.files.leases import check_write, lease_headers, lease_operation
from tests.azure_emulator.files.meta import (
    ContentSettings,
    Entry,
    MetaStore,
    ShareMeta,
    etag,
    http_date,
    iso_time,
)
from tests.azure_emulator.routing import ArmError, RequestContext
from tests.azure_emulator.storage_registry import StorageRegistry, get_registry

if TYPE_CHECKING:
    from tests.azure_emulator.server import Emulator

DEFAULT_VERSION = "2026-10-06"
MAX_RANGE = 4 * 1024 * 1024
_INLINE_BODY = 64 * 1024  # Create File bodies up to this are hashed and written on the event loop
_RANGE_RE = re.compile(r"^bytes=(\d+)-(\d*)$")

SHARE_NOT_FOUND = "The specified share does not exist."
PARENT_NOT_FOUND = "The specified parent path does not exist."
NOT_FOUND = "The specified resource does not exist."
EXISTS = "The specified resource already exists."
# Azure Files limits: 255 characters per file or folder name, 2,048 per path.
MAX_NAME = 255
MAX_PATH = 2048
NAME_LENGTH = "The specified resource name length is not within the permissible limits."


class FileService:
    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.registry: StorageRegistry = get_registry(emulator)
        self.store = MetaStore(self.registry.meta_dir)
        emulator.on_stop(self.store.close)  # fold the metadata journals into their snapshots

    # -- plumbing -------------------------------------------------------------
    def _begin(self, ctx: RequestContext, account: str) -> dict[str, str]:
        check_shared_key(ctx.request, account, self.registry.keys(account))
        return self._headers(ctx)

    @staticmethod
    def _headers(ctx: RequestContext) -> dict[str, str]:
        headers = {
            "x-ms-request-id": str(uuid.uuid4()),
            "x-ms-version": ctx.request.headers.get("x-ms-version", DEFAULT_VERSION),
        }
        client_id = ctx.request.headers.get("x-ms-client-request-id")
        if client_id:
            headers["x-ms-client-request-id"] = client_id
        return headers

    @staticmethod
    def _fail(ctx: RequestContext, status: int, code: str, message: str) -> ArmError:
        return ArmError(
            status,
            code,
            message,
            headers={"x-ms-version": ctx.request.headers.get("x-ms-version", DEFAULT_VERSION)},
        )

    def _share(self, ctx: RequestContext, account: str, share: str) -> ShareMeta:
        if not self.registry.share_exists(account, share):
            raise self._fail(ctx, 404, "ShareNotFound", SHARE_NOT_FOUND)
        meta = self.store.loaded(account, share)
        return meta or self.store.share(account, share, self.registry.share_path(account, share))

    def _rel(self, ctx: RequestContext, path: str) -> str:
        parts = [p for p in path.split("/") if p]
        if any(p in (".", "..") for p in parts):
            raise self._fail(
                ctx, 400, "InvalidResourceName", "The specifed resource name contains invalid characters."
            )
        rel = "/".join(parts)
        if len(rel) > MAX_PATH or any(len(p) > MAX_NAME for p in parts):
            raise self._fail(ctx, 400, "OutOfRangeInput", NAME_LENGTH)
        return rel

    def _endpoint(self, account: str) -> str:
        return f"{self.emulator.file_url}/{account}/"

    @staticmethod
    def _metadata(ctx: RequestContext) -> dict[str, str]:
        out = {}
        for name, value in ctx.request.headers.items():
            if name.lower().startswith("x-ms-meta-"):
                out[name[len("x-ms-meta-") :]] = value
        return out

    @staticmethod
    def _smb_headers(entry: Entry, parent_id: str) -> dict[str, str]:
        return {
            "x-ms-file-attributes": entry.attributes,
            "x-ms-file-creation-time": iso_time(entry.created),
            "x-ms-file-last-write-time": iso_time(entry.last_write),
            "x-ms-file-change-time": iso_time(entry.changed),
            "x-ms-file-id": entry.file_id,
            "x-ms-file-parent-id": parent_id,
            "x-ms-file-permission-key": entry.permission_key,
        }

    @staticmethod
    def _stamp(entry: Entry) -> dict[str, str]:
        return {"ETag": etag(entry.modified), "Last-Modified": http_date(entry.modified)}

    def _parent_id(self, meta: ShareMeta, rel: str) -> str:
        parent = rel.rpartition("/")[0]
        if not parent:
            return "0"
        entry = meta.get(parent)
        return entry.file_id if entry else "0"

    def _require_parent(self, ctx: RequestContext, meta: ShareMeta, rel: str) -> None:
        parent = rel.rpartition("/")[0]
        entry = meta.get(parent)
        if entry is None or entry.kind != "dir":
            raise self._fail(ctx, 404, "ParentNotFound", PARENT_NOT_FOUND)

    @staticmethod
    def _empty(status: int, headers: dict[str, str]) -> web.Response:
        headers.setdefault("Content-Length", "0")
        return web.Response(status=status, headers=headers)

    @staticmethod
    def _xml(body: bytes, headers: dict[str, str]) -> web.Response:
        resp = web.Response(body=body, headers={**headers, "Content-Type": "application/xml"})
        resp.enable_chunked_encoding()  # the service streams listings (no Content-Length)
        return resp

    # -- routes ---------------------------------------------------------------
    async def account_op(self, ctx: RequestContext) -> web.StreamResponse:
        account = ctx.params["account"]
        headers = self._begin(ctx, account)
        comp = ctx.query.get("comp")
        if ctx.request.method == "GET" and comp == "list":
            return self._list_shares(ctx, account, headers)
        if comp == "properties" and ctx.query.get("restype") == "service":
            if ctx.request.method == "PUT":
                return self._empty(202, headers)
            body = (
                f"{listing.XML_HEAD}<StorageServiceProperties><HourMetrics><Version>1.0</Version>"
                "<Enabled>false</Enabled><RetentionPolicy><Enabled>false</Enabled></RetentionPolicy>"
                "</HourMetrics><MinuteMetrics><Version>1.0</Version><Enabled>false</Enabled><RetentionPolicy>"
                "<Enabled>false</Enabled></RetentionPolicy></MinuteMetrics><Cors /></StorageServiceProperties>"
            )
            return web.Response(body=body.encode(), headers={**headers, "Content-Type": "application/xml"})
        raise self._unsupported(ctx)

    async def share_op(self, ctx: RequestContext) -> web.StreamResponse:
        account, share = ctx.params["account"], ctx.params["share"]
        headers = self._begin(ctx, account)
        restype, comp, method = ctx.query.get("restype"), ctx.query.get("comp"), ctx.request.method
        if restype == "directory":
            return await self._directory(ctx, account, share, "", headers)
        if restype != "share":
            raise self._unsupported(ctx)
        if method == "PUT" and comp is None:
            if self.registry.share_exists(account, share):
                raise self._fail(ctx, 409, "ShareAlreadyExists", "The specified share already exists.")
            self.store.drop_share(account, share)  # stale sidecar from a deleted share
            self.registry.ensure_share(account, share)
            meta = self._share(ctx, account, share)
            props = meta.share_props()
            props.metadata = self._metadata(ctx)
            if ctx.request.headers.get("x-ms-share-quota"):
                props.quota = int(ctx.request.headers["x-ms-share-quota"])
            meta.save()
            return self._empty(
                201, {**headers, "ETag": etag(props.modified), "Last-Modified": http_date(props.modified)}
            )
        meta = self._share(ctx, account, share)
        props = meta.share_props()
        if method in ("GET", "HEAD") and comp is None:
            out = {
                **headers,
                "ETag": etag(props.modified),
                "Last-Modified": http_date(props.modified),
                "x-ms-share-quota": str(props.quota),
                "x-ms-access-tier": "TransactionOptimized",
                "x-ms-access-tier-change-time": http_date(props.created),
                "x-ms-lease-status": "unlocked",
                "x-ms-lease-state": "available",
                "x-ms-default-encryption-scope": "$account-encryption-key",
                "x-ms-deny-encryption-scope-override": "false",
                **{f"x-ms-meta-{k}": v for k, v in props.metadata.items()},
            }
            return self._empty(200, out)
        if method == "PUT" and comp == "metadata":
            props.metadata = self._metadata(ctx)
            props.modified = self.store.clock.now()
            meta.save()
            return self._empty(
                200, {**headers, "ETag": etag(props.modified), "Last-Modified": http_date(props.modified)}
            )
        if method == "DELETE" and comp is None:
            shutil.rmtree(self.registry.share_path(account, share), ignore_errors=True)
            self.store.drop_share(account, share)
            return self._empty(202, headers)
        raise self._unsupported(ctx)

    async def path_op(self, ctx: RequestContext) -> web.StreamResponse:
        account, share = ctx.params["account"], ctx.params["share"]
        headers = self._begin(ctx, account)
        rel = self._rel(ctx, ctx.params["path"])
        if ctx.query.get("restype") == "directory":
            return await self._directory(ctx, account, share, rel, headers)
        if ctx.query.get("restype") is not None:
            raise self._unsupported(ctx)
        return await self._file(ctx, account, share, rel, headers)

    def _unsupported(self, ctx: RequestContext) -> ArmError:
        return self._fail(
            ctx,
            400,
            "InvalidQueryParameterValue",
            "Value for one of the query parameters specified in the request URI is invalid "
            f"(the emulator does not implement {ctx.request.method} ?{ctx.request.query_string}).",
        )

    # -- shares listing ---------------------------------------------------------
    def _list_shares(self, ctx: RequestContext, account: str, headers: dict[str, str]) -> web.Response:
        prefix = ctx.query.get("prefix")
        marker = ctx.query.get("marker")
        maxresults = ctx.query.get("maxresults")
        include = {i.strip().lower() for i in ctx.query.get("include", "").split(",") if i.strip()}
        root = self.registry.data_dir / account
        names = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
        names = [n for n in names if not prefix or n.startswith(prefix)]
        if marker:
            start = listing.decode_marker(marker)
            names = [n for n in names if n >= start]
        limit = int(maxresults) if maxresults else 5000
        page, rest = names[:limit], names[limit:]
        shares = [(n, self.store.share(account, n, root / n).share_props()) for n in page]
        body = listing.share_listing(
            endpoint=self._endpoint(account),
            shares=shares,
            include_metadata="metadata" in include,
            prefix=prefix,
            marker=marker,
            maxresults=maxresults,
            next_marker=listing.encode_marker(rest[0]) if rest else None,
        )
        return self._xml(body, headers)

    # -- directories ------------------------------------------------------------
    async def _directory(
        self, ctx: RequestContext, account: str, share: str, rel: str, headers: dict[str, str]
    ) -> web.StreamResponse:
        meta = self._share(ctx, account, share)
        method, comp = ctx.request.method, ctx.query.get("comp")
        entry = meta.get(rel)
        if method == "GET" and comp == "list" and entry is not None and entry.kind == "dir":
            return self._list_directory(ctx, share, rel, entry, meta, headers)  # the hot request first
        disk = meta.root_dir / rel if rel else meta.root_dir
        if method == "PUT" and comp is None:
            if entry is not None:
                raise self._fail(ctx, 409, "ResourceAlreadyExists", EXISTS)
            self._require_parent(ctx, meta, rel)
            disk.mkdir()
            entry = meta.new_entry("dir")
            entry.metadata = self._metadata(ctx)
            meta.put(rel, entry)
            return self._empty(
                201,
                {
                    **headers,
                    **self._stamp(entry),
                    "x-ms-request-server-encrypted": "true",
                    **self._smb_headers(entry, self._parent_id(meta, rel)),
                },
            )
        if entry is None or entry.kind != "dir":
            if rel and not (meta.root_dir / rel.rpartition("/")[0]).is_dir():
                raise self._fail(ctx, 404, "ParentNotFound", PARENT_NOT_FOUND)
            raise self._fail(ctx, 404, "ResourceNotFound", NOT_FOUND)
        if method == "GET" and comp == "list":
            return self._list_directory(ctx, share, rel, entry, meta, headers)
        if method in ("GET", "HEAD") and comp is None:
            return self._empty(
                200,
                {
                    **headers,
                    **self._stamp(entry),
                    "x-ms-server-encrypted": "true",
                    **self._smb_headers(entry, self._parent_id(meta, rel) if rel else "0"),
                    **{f"x-ms-meta-{k}": v for k, v in entry.metadata.items()},
                },
            )
        if method == "PUT" and comp == "metadata":
            entry.metadata = self._metadata(ctx)
            entry.modified = self.store.clock.now()
            meta.put(rel, entry)
            return self._empty(
                200, {**headers, **self._stamp(entry), "x-ms-request-server-encrypted": "true"}
            )
        if method == "DELETE" and comp is None:
            if not rel:
                raise self._fail(ctx, 400, "InvalidUri", "The root directory of a share cannot be deleted.")
            if any(disk.iterdir()):
                raise self._fail(ctx, 409, "DirectoryNotEmpty", "The specified directory is not empty.")
            disk.rmdir()
            meta.remove(rel)
            return self._empty(202, headers)
        raise self._unsupported(ctx)

    def _list_directory(
        self,
        ctx: RequestContext,
        share: str,
        rel: str,
        dir_entry: Entry,
        meta: ShareMeta,
        headers: dict[str, str],
    ) -> web.Response:
        prefix = ctx.query.get("prefix")
        marker = ctx.query.get("marker")
        maxresults = ctx.query.get("maxresults")
        include = {i.strip().lower() for i in ctx.query.get("include", "").split(",") if i.strip()}
        folder = os.path.join(meta.root_path, rel) if rel else meta.root_path  # no Path: hot
        found = sorted(os.scandir(folder), key=_by_name)
        if prefix:
            found = [e for e in found if e.name.startswith(prefix)]
        if marker:
            start = listing.decode_marker(marker)
            found = [e for e in found if e.name >= start]
        limit = int(maxresults) if maxresults else 5000
        if limit < 1:
            raise self._fail(
                ctx,
                400,
                "OutOfRangeQueryParameterValue",
                "One of the query parameters specified in the request URI is outside the permissible range.",
            )
        page, rest = found[:limit], found[limit:]
        items = []
        for item in page:
            name = item.name
            child = f"{rel}/{name}" if rel else name
            try:
                st = item.stat()  # one stat serves entry and size
            except OSError:
                meta.get(child)  # gone since the folder was read: forget its entry
                continue
            entry = meta.get(child, st)
            if entry is not None:
                items.append((name, entry, st.st_size if entry.kind == "file" else 0))
        body = listing.directory_listing(
            endpoint=self._endpoint(ctx.params["account"]),
            share=share,
            directory=rel,
            directory_id=dir_entry.file_id if rel else "0",
            items=items,
            include=include,
            prefix=prefix,
            marker=marker,
            maxresults=maxresults,
            next_marker=listing.encode_marker(rest[0].name) if rest else None,
        )
        return self._xml(body, headers)

    # -- files ------------------------------------------------------------------
    async def _file(
        self, ctx: RequestContext, account: str, share: str, rel: str, headers: dict[str, str]
    ) -> web.StreamResponse:
        meta = self._share(ctx, account, share)
        method, comp = ctx.request.method, ctx.query.get("comp")
        disk = meta.root_dir / rel
        if method == "PUT" and comp is None:
            return await self._create_file(ctx, meta, rel, disk, headers)
        if method == "PUT" and comp == "rename":
            return self._rename(ctx, account, share, meta, rel, headers)
        entry = meta.get(rel)
        if entry is None or entry.kind != "file":
            if not disk.parent.is_dir():
                raise self._fail(ctx, 404, "ParentNotFound", PARENT_NOT_FOUND)
            raise self._fail(ctx, 404, "ResourceNotFound", NOT_FOUND)
        if method == "PUT" and comp == "lease":
            status, lease = lease_operation(ctx, entry, self._fail)
            meta.put(rel, entry)
            return self._empty(status, {**headers, **self._stamp(entry), **lease})
        if method in ("PUT", "DELETE"):
            check_write(ctx, entry, self._fail)
        if method == "PUT" and comp == "range":
            return await self._put_range(ctx, meta, rel, entry, disk, headers)
        if method in ("GET", "HEAD") and comp is None:
            return self._get_file(ctx, meta, rel, entry, disk, headers)
        if method == "GET" and comp == "rangelist":
            return self._range_list(entry, disk, headers)
        if method == "PUT" and comp == "properties":
            return self._set_properties(ctx, meta, rel, entry, disk, headers)
        if method == "PUT" and comp == "metadata":
            entry.metadata = self._metadata(ctx)
            entry.modified = self.store.clock.now()
            meta.put(rel, entry)
            return self._empty(
                200, {**headers, **self._stamp(entry), "x-ms-request-server-encrypted": "true"}
            )
        if method == "DELETE" and comp is None:
            disk.unlink()
            meta.remove(rel)
            return self._empty(202, headers)
        raise self._unsupported(ctx)

    @staticmethod
    def _content_settings(ctx: RequestContext, fallback_type: str | None) -> ContentSettings:
        h = ctx.request.headers
        return ContentSettings(
            content_type=h.get("x-ms-content-type") or fallback_type or "application/octet-stream",
            content_encoding=h.get("x-ms-content-encoding"),
            content_language=h.get("x-ms-content-language"),
            cache_control=h.get("x-ms-cache-control"),
            content_disposition=h.get("x-ms-content-disposition"),
            content_md5=h.get("x-ms-content-md5"),
        )

    async def _create_file(
        self, ctx: RequestContext, meta: ShareMeta, rel: str, disk: Path, headers: dict[str, str]
    ) -> web.Response:
        h = ctx.request.headers
        if h.get("x-ms-type", "").lower() != "file":
            raise self._fail(
                ctx,
                400,
                "MissingRequiredHeader",
                "An HTTP header that's mandatory for this request is not specified. (x-ms-type)",
            )
        try:
            size = int(h["x-ms-content-length"])
        except (KeyError, ValueError):
            raise self._fail(
                ctx,
                400,
                "MissingRequiredHeader",
                "An HTTP header that's mandatory for this request is not specified. (x-ms-content-length)",
            ) from None
        body = ctx.body
        if body:
            self._check_initial_data(ctx, len(body), size)
        self._require_parent(ctx, meta, rel)
        existing = meta.get(rel)
        if existing is not None and existing.kind == "dir":
            raise self._fail(
                ctx,
                409,
                "ResourceTypeMismatch",
                "The specified resource type does not match the type of the resource.",
            )
        check_write(ctx, existing, self._fail)
        md5 = None
        if not body:
            _create_sparse(disk, size)
        else:  # initial data (2026-02-06 and later) at offset 0; the rest of the size stays sparse zeros
            sent = ctx.request.headers.get("Content-MD5")
            if len(body) > _INLINE_BODY:  # as Put Range: big bodies hashed and written off the loop
                md5 = await asyncio.to_thread(_hash_and_create, disk, body, size, sent)
            else:  # a thread hop costs more than hashing a small body
                md5 = _hash_and_create(disk, body, size, sent)
            if sent and sent != md5:
                raise self._md5_mismatch(ctx)
        # Stamped after the write: the file's mtime is older, so later reads keep this ETag.
        entry = meta.new_entry("file")
        entry.lease_id = existing.lease_id if existing is not None else None  # the lease stays
        # The service keeps the request's Content-Type when x-ms-content-type is absent.
        entry.content = self._content_settings(ctx, h.get("Content-Type"))
        entry.metadata = self._metadata(ctx)
        meta.put(rel, entry)
        out = {
            **headers,
            **self._stamp(entry),
            "x-ms-request-server-encrypted": "true",
            **self._smb_headers(entry, self._parent_id(meta, rel)),
        }
        if md5 is not None:
            out["Content-MD5"] = md5  # the body's transactional MD5, as Put Range answers
        return self._empty(201, out)

    def _check_initial_data(self, ctx: RequestContext, length: int, size: int) -> None:
        """Create File's body limits. The service documents only "content up to 4 MiB" (REST docs,
        2026-02-06), not its errors, so these are Put Range's for the same conditions. (The body's
        length is Content-Length by HTTP framing, so Put Range's length-vs-range check has no twin.)"""
        if length > MAX_RANGE:
            raise self._too_large(ctx)
        if length > size:  # Put Range's answer for bytes past the end of the file
            raise self._invalid_range(ctx)
        if "x-ms-structured-body" in ctx.request.headers:  # CRC64 framing: refused, never stored as data
            raise self._fail(
                ctx,
                400,
                "InvalidHeaderValue",
                "The value for one of the HTTP headers is not in the correct format. "
                "(the emulator does not implement x-ms-structured-body)",
            )

    def _too_large(self, ctx: RequestContext) -> ArmError:
        return self._fail(
            ctx,
            413,
            "RequestBodyTooLarge",
            "The request body is too large and exceeds the maximum permissible limit.",
        )

    def _invalid_range(self, ctx: RequestContext) -> ArmError:
        return self._fail(
            ctx,
            416,
            "InvalidRange",
            "The range specified is invalid for the current size of the resource.",
        )

    def _md5_mismatch(self, ctx: RequestContext) -> ArmError:
        return self._fail(
            ctx,
            400,
            "Md5Mismatch",
            "The MD5 value specified in the request did not match with the MD5 value calculated by the server.",
        )

    def _parse_range(self, ctx: RequestContext, required: bool) -> tuple[int, int | None] | None:
        value = ctx.request.headers.get("x-ms-range") or ctx.request.headers.get("Range")
        if not value:
            if required:
                raise self._fail(
                    ctx,
                    400,
                    "MissingRequiredHeader",
                    "An HTTP header that's mandatory for this request is not specified. (x-ms-range)",
                )
            return None
        m = _RANGE_RE.match(value.strip())
        if not m:
            raise self._fail(
                ctx,
                400,
                "InvalidHeaderValue",
                "The value for one of the HTTP headers is not in the correct format. (x-ms-range)",
            )
        start, end = int(m.group(1)), int(m.group(2)) if m.group(2) else None
        if end is not None and end < start:
            raise self._fail(
                ctx,
                416,
                "InvalidRange",
                "The range specified is invalid for the current size of the resource.",
            )
        return start, end

    async def _put_range(
        self,
        ctx: RequestContext,
        meta: ShareMeta,
        rel: str,
        entry: Entry,
        disk: Path,
        headers: dict[str, str],
    ) -> web.Response:
        parsed = self._parse_range(ctx, required=True)
        assert parsed is not None
        start, end = parsed
        if end is None:
            raise self._fail(
                ctx,
                400,
                "InvalidHeaderValue",
                "The value for one of the HTTP headers is not in the correct format. (x-ms-range)",
            )
        write = ctx.request.headers.get("x-ms-write", "").lower()
        length = end - start + 1
        try:
            size = disk.stat().st_size  # noqa: ASYNC240  # one stat, cheap
        except FileNotFoundError:
            raise self._gone(ctx) from None
        if end >= size:
            raise self._invalid_range(ctx)
        out = {**headers}
        if write == "update":
            if length > MAX_RANGE:
                raise self._too_large(ctx)
            if len(ctx.body) != length:
                raise self._fail(
                    ctx,
                    400,
                    "InvalidHeaderValue",
                    "The value for one of the HTTP headers is not in the correct format. (Content-Length does not match x-ms-range)",
                )
            sent = ctx.request.headers.get("Content-MD5")
            # Hash and write off the event loop (both release the GIL), so parallel range uploads
            # are hashed and written in parallel while the loop goes on decrypting the next bodies.
            try:
                md5 = await asyncio.to_thread(_hash_and_write, disk, ctx.body, start, sent)
            except FileNotFoundError:
                raise self._gone(ctx) from None
            if sent and sent != md5:
                raise self._md5_mismatch(ctx)
            out["Content-MD5"] = md5
        elif write == "clear":
            if ctx.body:
                raise self._fail(
                    ctx,
                    400,
                    "InvalidHeaderValue",
                    "The value for one of the HTTP headers is not in the correct format. (Content-Length must be 0 for x-ms-write: clear)",
                )
            try:
                await asyncio.to_thread(_write, disk, bytes(length), start)
            except FileNotFoundError:
                raise self._gone(ctx) from None
        else:
            raise self._fail(
                ctx,
                400,
                "InvalidHeaderValue",
                "The value for one of the HTTP headers is not in the correct format. (x-ms-write)",
            )
        if meta.entries.get(rel) is not entry:
            # Deleted (or replaced) while the range was being written off the loop: the service
            # orders the two, and answers this range as it answers any range to a missing file.
            raise self._gone(ctx)
        now = self.store.clock.now()
        entry.last_write = entry.changed = entry.modified = now
        meta.put(rel, entry)
        out.update(self._stamp(entry))
        out["x-ms-request-server-encrypted"] = "true"
        out["x-ms-file-last-write-time"] = iso_time(entry.last_write)
        return self._empty(201, out)

    def _gone(self, ctx: RequestContext) -> ArmError:
        """A range written to a file deleted while the request was in flight."""
        return self._fail(ctx, 404, "ResourceNotFound", NOT_FOUND)

    def _file_headers(self, meta: ShareMeta, rel: str, entry: Entry) -> dict[str, str]:
        c = entry.content
        out = {
            **self._stamp(entry),
            "Content-Type": c.content_type,
            "x-ms-type": "File",
            "x-ms-server-encrypted": "true",
            **lease_headers(entry),
            **self._smb_headers(entry, self._parent_id(meta, rel)),
            **{f"x-ms-meta-{k}": v for k, v in entry.metadata.items()},
        }
        for name, value in (
            ("Content-Encoding", c.content_encoding),
            ("Content-Language", c.content_language),
            ("Cache-Control", c.cache_control),
            ("Content-Disposition", c.content_disposition),
        ):
            if value:
                out[name] = value
        return out

    def _get_file(
        self,
        ctx: RequestContext,
        meta: ShareMeta,
        rel: str,
        entry: Entry,
        disk: Path,
        headers: dict[str, str],
    ) -> web.Response:
        size = disk.stat().st_size
        out = {**headers, **self._file_headers(meta, rel, entry)}
        parsed = self._parse_range(ctx, required=False) if ctx.request.method == "GET" else None
        if parsed is None:
            if entry.content.content_md5:
                out["Content-MD5"] = entry.content.content_md5
            out["Content-Length"] = str(size)
            if ctx.request.method == "HEAD":
                return web.Response(status=200, headers=out)
            return web.Response(status=200, body=disk.read_bytes(), headers=out)
        start, end = parsed
        if start >= size:
            raise self._fail(
                ctx,
                416,
                "InvalidRange",
                "The range specified is invalid for the current size of the resource.",
            )
        end = size - 1 if end is None else min(end, size - 1)
        with open(disk, "rb") as fh:
            fh.seek(start)
            data = fh.read(end - start + 1)
        out["Accept-Ranges"] = "bytes"
        out["Content-Range"] = f"bytes {start}-{end}/{size}"
        out["Content-Length"] = str(len(data))
        if entry.content.content_md5:
            out["x-ms-content-md5"] = entry.content.content_md5
        if ctx.request.headers.get("x-ms-range-get-content-md5", "").lower() == "true":
            if len(data) > MAX_RANGE:
                raise self._fail(
                    ctx,
                    400,
                    "OutOfRangeInput",
                    "The requested range exceeds 4 MiB; x-ms-range-get-content-md5 needs a smaller range.",
                )
            out["Content-MD5"] = base64.b64encode(hashlib.md5(data).digest()).decode()
        return web.Response(status=206, body=data, headers=out)

    def _set_properties(
        self,
        ctx: RequestContext,
        meta: ShareMeta,
        rel: str,
        entry: Entry,
        disk: Path,
        headers: dict[str, str],
    ) -> web.Response:
        h = ctx.request.headers
        if "x-ms-content-length" in h:
            with open(disk, "r+b") as fh:
                fh.truncate(int(h["x-ms-content-length"]))
        # Set File Properties replaces all content settings: omitted ones are cleared.
        entry.content = self._content_settings(ctx, None)
        now = self.store.clock.now()
        entry.changed = entry.modified = now
        meta.put(rel, entry)
        return self._empty(
            200,
            {
                **headers,
                **self._stamp(entry),
                "x-ms-request-server-encrypted": "true",
                **self._smb_headers(entry, self._parent_id(meta, rel)),
            },
        )

    def _range_list(self, entry: Entry, disk: Path, headers: dict[str, str]) -> web.Response:
        size = disk.stat().st_size
        ranges: list[tuple[int, int]] = []
        fd = os.open(disk, os.O_RDONLY)
        try:  # written extents of the sparse file (holes are never-written ranges)
            pos = 0
            while pos < size:
                try:
                    start = os.lseek(fd, pos, os.SEEK_DATA)
                except OSError:
                    break
                end = os.lseek(fd, start, os.SEEK_HOLE)
                ranges.append((start, min(end, size) - 1))
                pos = end
        finally:
            os.close(fd)
        out = {
            **headers,
            **self._stamp(entry),
            "x-ms-content-length": str(size),
            "Content-Type": "application/xml",
        }
        return web.Response(body=listing.range_list(ranges), headers=out)

    def _rename(
        self,
        ctx: RequestContext,
        account: str,
        share: str,
        meta: ShareMeta,
        rel: str,
        headers: dict[str, str],
    ) -> web.Response:
        source = ctx.request.headers.get("x-ms-file-rename-source")
        if not source:
            raise self._fail(
                ctx,
                400,
                "MissingRequiredHeader",
                "An HTTP header that's mandatory for this request is not specified. (x-ms-file-rename-source)",
            )
        src_path = unquote(urlparse(source).path if "://" in source else source.split("?")[0])
        parts = [p for p in src_path.split("/") if p]
        if "://" in source and parts and parts[0] == account:  # path-style URL: /account/share/...
            parts = parts[1:]
        if "://" in source:
            if not parts or parts[0] != share:
                raise self._fail(
                    ctx,
                    400,
                    "InvalidHeaderValue",
                    "The value for one of the HTTP headers is not in the correct format. (rename source must be in the same share)",
                )
            parts = parts[1:]
        src = self._rel(ctx, "/".join(parts))
        src_entry = meta.get(src)
        if src_entry is None:
            raise self._fail(ctx, 404, "ResourceNotFound", NOT_FOUND)
        self._require_parent(ctx, meta, rel)
        dst_entry = meta.get(rel)
        check_write(ctx, src_entry, self._fail, "x-ms-source-lease-id")
        if dst_entry is not None and src != rel:
            check_write(ctx, dst_entry, self._fail, "x-ms-destination-lease-id")
        if dst_entry is not None and src != rel:
            replace = ctx.request.headers.get("x-ms-file-rename-replace-if-exists", "").lower() == "true"
            if not replace or dst_entry.kind == "dir":
                raise self._fail(ctx, 409, "ResourceAlreadyExists", EXISTS)
        os.replace(meta.root_dir / src, meta.root_dir / rel)  # atomic, like the service's rename
        meta.move(src, rel)
        entry = meta.get(rel)
        assert entry is not None
        if self._metadata(ctx):
            entry.metadata = self._metadata(ctx)
        if ctx.request.headers.get("x-ms-content-type"):
            entry.content.content_type = ctx.request.headers["x-ms-content-type"]
        entry.changed = entry.modified = self.store.clock.now()
        meta.put(rel, entry)
        return self._empty(
            200,
            {
                **headers,
                **self._stamp(entry),
                "x-ms-request-server-encrypted": "true",
                **self._smb_headers(entry, self._parent_id(meta, rel)),
            },
        )


def _by_name(entry: os.DirEntry[str]) -> str:
    return entry.name


def _write(disk: Path, data: bytes, offset: int) -> None:
    """One pwrite: parallel range uploads to one file land independently (disjoint ranges)."""
    fd = os.open(disk, os.O_WRONLY)
    try:
        os.pwrite(fd, data, offset)
    finally:
        os.close(fd)


def _hash_and_write(disk: Path, data: bytes, offset: int, sent_md5: str | None) -> str:
    """The body's base64 MD5; the body is written only if it matches the client's Content-MD5."""
    md5 = base64.b64encode(hashlib.md5(data).digest()).decode()
    if not sent_md5 or sent_md5 == md5:
        _write(disk, data, offset)
    return md5


def _create_sparse(disk: Path, size: int) -> None:
    """Create File replaces any existing file; the new one is ``size`` sparse zeros."""
    with open(disk, "wb") as fh:
        fh.truncate(size)


def _hash_and_create(disk: Path, data: bytes, size: int, sent_md5: str | None) -> str:
    """The body's base64 MD5; only if it matches the client's Content-MD5 is the file replaced by one
    of ``size`` bytes starting with the body (one open, one write, a sparse tail)."""
    md5 = base64.b64encode(hashlib.md5(data).digest()).decode()
    if not sent_md5 or sent_md5 == md5:
        with open(disk, "wb") as fh:
            fh.write(data)
            if size > len(data):
                fh.truncate(size)
    return md5
