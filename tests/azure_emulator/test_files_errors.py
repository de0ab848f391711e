"""Azure Files error responses on the wire: XML body, x-ms-error-code header, status, as the service sends."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import xml.etree.ElementTree as ET
from email.utils import formatdate
from pathlib import Path

import pytest
from azure.core import PipelineClient
from azure.core.pipeline import PipelineRequest
from azure.core.pipeline.policies import SansIOHTTPPolicy
from azure.core.pipeline.transport import RequestsTransport
from azure.core.rest import HttpRequest
from azure.storage.fileshare._shared.authentication import SharedKeyCredentialPolicy
from azure.storage.fileshare.aio import ShareServiceClient as AioShareServiceClient

from tests.azure_emulator.files import service
from tests.azure_emulator.files.recordings import Replayer
from tests.azure_emulator.server import Emulator
from tests.azure_emulator.storage_registry import get_registry

ACCOUNT = "errs"


def _send(
    emulator: Emulator, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b""
) -> tuple[int, dict[str, str], bytes]:
    key = get_registry(emulator).ensure_account(ACCOUNT)[0]
    replayer = Replayer(emulator.file_url, ACCOUNT, key, str(emulator.ca_path))
    hdrs = {"x-ms-version": "2026-10-06", "x-ms-date": formatdate(usegmt=True), **(headers or {})}
    if method == "PUT":
        hdrs["Content-Length"] = str(len(body))
    resp = replayer.client.send_request(
        HttpRequest(method, replayer.base + path, headers=hdrs, content=body or None)
    )
    return resp.status_code, dict(resp.headers), resp.read()


def _code(body: bytes) -> str:
    return ET.fromstring(body.decode("utf-8-sig")).findtext("Code") or ""


def test_missing_share_and_parent_and_resource(emulator: Emulator) -> None:
    status, headers, body = _send(emulator, "PUT", "/nosuch/dir?restype=directory")
    assert (status, headers["x-ms-error-code"], _code(body)) == (404, "ShareNotFound", "ShareNotFound")
    get_registry(emulator).ensure_share(ACCOUNT, "s")
    status, headers, _ = _send(emulator, "PUT", "/s/a/b?restype=directory")
    assert (status, headers["x-ms-error-code"]) == (404, "ParentNotFound")
    status, headers, body = _send(emulator, "GET", "/s/missing.txt")
    assert (status, headers["x-ms-error-code"], _code(body)) == (404, "ResourceNotFound", "ResourceNotFound")
    assert headers["x-ms-request-id"] and headers["x-ms-version"] == "2026-10-06"


def test_md5_mismatch_and_invalid_range(emulator: Emulator) -> None:
    get_registry(emulator).ensure_share(ACCOUNT, "s")
    assert _send(emulator, "PUT", "/s/f", {"x-ms-type": "file", "x-ms-content-length": "16"})[0] == 201
    range_headers = {"x-ms-range": "bytes=0-3", "x-ms-write": "update"}
    wrong = base64.b64encode(hashlib.md5(b"nope").digest()).decode()
    status, headers, _ = _send(
        emulator, "PUT", "/s/f?comp=range", {**range_headers, "Content-MD5": wrong}, b"data"
    )
    assert (status, headers["x-ms-error-code"]) == (400, "Md5Mismatch")
    right = base64.b64encode(hashlib.md5(b"data").digest()).decode()
    status, headers, _ = _send(
        emulator, "PUT", "/s/f?comp=range", {**range_headers, "Content-MD5": right}, b"data"
    )
    assert (status, headers["Content-MD5"]) == (201, right)
    status, headers, _ = _send(emulator, "GET", "/s/f", {"x-ms-range": "bytes=16-20"})
    assert (status, headers["x-ms-error-code"]) == (416, "InvalidRange")


class _AddHeaderAfterSigning(SansIOHTTPPolicy):  # type: ignore[misc]
    def on_request(self, request: PipelineRequest) -> None:  # type: ignore[type-arg]
        request.http_request.headers["x-ms-meta-added"] = "later"


def test_tampered_and_unsigned_requests_are_refused(emulator: Emulator) -> None:
    registry = get_registry(emulator)
    key = registry.ensure_account(ACCOUNT)[0]
    registry.ensure_share(ACCOUNT, "s")
    base = f"{emulator.file_url}/{ACCOUNT}"
    headers = {"x-ms-version": "2026-10-06", "x-ms-date": formatdate(usegmt=True), "Content-Length": "0"}
    transport = RequestsTransport(connection_verify=str(emulator.ca_path))
    # A header added after signing changes the string-to-sign: the service must notice.
    tampered = PipelineClient(
        base_url=base,
        policies=[SharedKeyCredentialPolicy(ACCOUNT, key), _AddHeaderAfterSigning()],
        transport=transport,
    )
    resp = tampered.send_request(HttpRequest("PUT", f"{base}/s/d?restype=directory", headers=headers))
    assert (resp.status_code, resp.headers["x-ms-error-code"]) == (403, "AuthenticationFailed")
    unsigned = PipelineClient(base_url=base, policies=[], transport=transport)
    resp = unsigned.send_request(HttpRequest("PUT", f"{base}/s/d?restype=directory", headers=headers))
    assert (resp.status_code, resp.headers["x-ms-error-code"]) == (403, "NoAuthenticationInformation")
    assert not (registry.share_path(ACCOUNT, "s") / "d").exists()


def test_errors_before_the_handler_echo_the_request_version(emulator: Emulator) -> None:
    """A SharedKey failure is answered before any file handler runs; it still echoes x-ms-version."""
    get_registry(emulator).ensure_account(ACCOUNT)
    get_registry(emulator).ensure_share(ACCOUNT, "s")
    base = f"{emulator.file_url}/{ACCOUNT}"
    transport = RequestsTransport(connection_verify=str(emulator.ca_path))
    unsigned = PipelineClient(base_url=base, policies=[], transport=transport)
    for version in ("2025-05-05", "2026-10-06"):
        headers = {"x-ms-version": version, "x-ms-date": formatdate(usegmt=True)}
        resp = unsigned.send_request(HttpRequest("GET", f"{base}/s?restype=share", headers=headers))
        assert (resp.status_code, resp.headers["x-ms-error-code"]) == (403, "NoAuthenticationInformation")
        assert resp.headers["x-ms-version"] == version


async def test_parallel_range_writes_to_one_file(emulator: Emulator) -> None:
    key = get_registry(emulator).ensure_account(ACCOUNT)[0]
    chunk, count = 64 * 1024, 48
    data = os.urandom(chunk * count)
    async with AioShareServiceClient(
        f"{emulator.file_url}/{ACCOUNT}", credential=key, connection_verify=str(emulator.ca_path)
    ) as svc:
        share = await svc.create_share("par")
        file = share.get_file_client("big.bin")
        await file.create_file(len(data))
        order = list(range(count))[::-1]  # out of order, all in flight at once
        await asyncio.gather(
            *(
                file.upload_range(data[i * chunk : (i + 1) * chunk], offset=i * chunk, length=chunk)
                for i in order
            )
        )
    assert (get_registry(emulator).share_path(ACCOUNT, "par") / "big.bin").read_bytes() == data


def test_create_file_with_data_and_a_wrong_md5_keeps_the_old_file(emulator: Emulator) -> None:
    get_registry(emulator).ensure_share(ACCOUNT, "s")
    create = {"x-ms-type": "file", "x-ms-content-length": "4"}
    status, created, _ = _send(emulator, "PUT", "/s/f", create, b"keep")
    assert (status, created["Content-MD5"]) == (201, base64.b64encode(hashlib.md5(b"keep").digest()).decode())
    wrong = base64.b64encode(hashlib.md5(b"nope").digest()).decode()
    status, headers, body = _send(emulator, "PUT", "/s/f", {**create, "Content-MD5": wrong}, b"data")
    assert (status, headers["x-ms-error-code"], _code(body)) == (400, "Md5Mismatch", "Md5Mismatch")
    assert ET.fromstring(body.decode("utf-8-sig")).findtext("Message", "").splitlines()[0] == (
        "The MD5 value specified in the request did not match with the MD5 value calculated by the server."
    )
    status, headers, body = _send(emulator, "GET", "/s/f")
    assert (status, body, headers["ETag"]) == (200, b"keep", created["ETag"])


def test_create_file_with_a_structured_body_is_refused_not_stored(emulator: Emulator) -> None:
    """CRC64 structured messages (validate_content="crc64") are not implemented: refused, never written as data."""
    get_registry(emulator).ensure_share(ACCOUNT, "s")
    create = {
        "x-ms-type": "file",
        "x-ms-content-length": "4",
        "x-ms-structured-body": "XSM/1.0; properties=crc64",
    }
    status, headers, body = _send(emulator, "PUT", "/s/f", create, b"data")
    assert (status, headers["x-ms-error-code"]) == (400, "InvalidHeaderValue")
    assert ET.fromstring(body.decode("utf-8-sig")).findtext("Message", "").splitlines()[0] == (
        "The value for one of the HTTP headers is not in the correct format. "
        "(the emulator does not implement x-ms-structured-body)"
    )
    assert _send(emulator, "GET", "/s/f")[0] == 404


@pytest.mark.parametrize("delete_lands", ["before the write", "after the write"])
def test_a_range_racing_a_delete_of_its_file_is_refused_404(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch, delete_lands: str
) -> None:
    """A cancelled upload deletes its temporary file while ranges are still in flight. Whichever
    lands first, the service answers the late range 404 ResourceNotFound (never 500), and the
    deleted file stays deleted (the range does not bring its entry back)."""
    get_registry(emulator).ensure_share(ACCOUNT, "s")
    assert _send(emulator, "PUT", "/s/f", {"x-ms-type": "file", "x-ms-content-length": "16"})[0] == 201
    real = service._hash_and_write
    deletes: list[int] = []

    def delete_while_writing(disk: Path, data: bytes, offset: int, sent: str | None) -> str:
        # Runs on the emulator's worker thread while its loop is free: a real DELETE, over HTTP.
        if delete_lands == "after the write":
            md5 = real(disk, data, offset, sent)
            deletes.append(_send(emulator, "DELETE", "/s/f")[0])
            return md5
        deletes.append(_send(emulator, "DELETE", "/s/f")[0])
        return real(disk, data, offset, sent)

    monkeypatch.setattr(service, "_hash_and_write", delete_while_writing)
    range_headers = {"x-ms-range": "bytes=0-3", "x-ms-write": "update"}
    status, headers, body = _send(emulator, "PUT", "/s/f?comp=range", range_headers, b"data")
    assert deletes == [202]
    assert (status, headers["x-ms-error-code"], _code(body)) == (404, "ResourceNotFound", "ResourceNotFound")
    status, headers, _ = _send(emulator, "HEAD", "/s/f")
    assert status == 404
    listing = _send(emulator, "GET", "/s?restype=directory&comp=list")[2].decode("utf-8-sig")
    assert "<Name>f</Name>" not in listing
