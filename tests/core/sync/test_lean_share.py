"""The lean client for the sync's hot requests: its listing parser against real Azure answers,
its SharedKey signature against the SDK's own policy, and its requests against the emulator."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from pathlib import Path

import pytest
from aitk_inference.core.sync import lean_share
from aitk_inference.core.sync.lean_share import (
    ListedEntry,
    _next_marker_at_end,
    parse_listing,
    string_to_sign,
)
from aitk_inference.core.sync.share import ShareTarget, open_share
from azure.core.exceptions import ResourceNotFoundError, ServiceRequestError, ServiceResponseError
from azure.core.pipeline import PipelineContext, PipelineRequest
from azure.core.rest import HttpRequest
from azure.storage.fileshare._generated._utils.model_base import _deserialize_xml
from azure.storage.fileshare._generated.models import ListFilesAndDirectoriesSegmentResponse
from azure.storage.fileshare._shared.authentication import SharedKeyCredentialPolicy

from tests.azure_emulator.files import recordings
from tests.azure_emulator.server import Emulator
from tests.core.sync.test_sync import make_target, share_dir

KEY = "a2V5LWZvci10ZXN0cy1vbmx5LW5vdC1hLXNlY3JldA=="


def _recorded_listings(azure_reference: Path) -> list[bytes]:
    bodies = []
    for path in sorted((azure_reference / recordings.RECORDINGS).glob("*.json")):
        for entry in json.loads(path.read_text(encoding="utf-8")).get("Entries", []):
            if "restype=directory&comp=list" in entry["RequestUri"] and entry["StatusCode"] == 200:
                body = entry["ResponseBody"]
                bodies.append(body.encode("utf-8") if isinstance(body, str) else bytes(body))
    return bodies


def test_recorded_azure_listings_parse_as_the_sdk_parses_them(azure_reference: Path) -> None:
    bodies = _recorded_listings(azure_reference)
    assert bodies, f"expected recorded directory listings under {azure_reference / recordings.RECORDINGS}"
    with_etags = 0
    for body in bodies:
        sdk = _deserialize_xml(ListFilesAndDirectoriesSegmentResponse, body.decode("utf-8-sig"))
        expected = [
            ListedEntry(f.name["content"], False, f.properties.content_length, f.properties.etag)
            for f in sdk.segment.file_items
        ] + [
            ListedEntry(d.name["content"], True, 0, d.properties.etag if d.properties else None)
            for d in sdk.segment.directory_items
        ]
        parsed = parse_listing(body)
        key = lambda e: (e.is_directory, e.name)  # noqa: E731
        assert sorted(parsed.entries, key=key) == sorted(expected, key=key)
        assert parsed.next_marker == (sdk.next_marker or "")
        assert _next_marker_at_end(body) in ("", parsed.next_marker)  # a quick read never misleads
        with_etags += any(not e.is_directory and e.etag for e in parsed.entries)
    assert with_etags  # one was asked with include=Etag, as the sync asks


def test_percent_encoded_names_are_decoded() -> None:
    body = (
        b'<?xml version="1.0" encoding="utf-8"?><EnumerationResults><Entries>'
        b'<File><Name Encoded="true">a%EF%BF%BEb</Name><Properties><Content-Length>3</Content-Length>'
        b"<Etag>&quot;0x1&quot;</Etag></Properties></File></Entries><NextMarker>m2</NextMarker></EnumerationResults>"
    )
    assert parse_listing(body).entries == [ListedEntry("a\ufffeb", False, 3, '"0x1"')]
    assert parse_listing(body).next_marker == "m2"


@pytest.mark.parametrize(
    ("method", "query", "headers"),
    [
        (
            "GET",
            [("restype", "directory"), ("comp", "list"), ("include", "Etag")],
            {"accept": "application/xml"},
        ),
        ("PUT", [], {"x-ms-type": "file", "x-ms-content-length": "12", "x-ms-content-md5": "AAAA"}),
        (
            "PUT",
            [],
            {
                "x-ms-type": "file",
                "x-ms-content-length": "12",
                "x-ms-content-md5": "AAAA",
                "content-type": "application/octet-stream",
                "content-length": "12",
            },
        ),
        (
            "PUT",
            [("comp", "range")],
            {
                "x-ms-write": "update",
                "content-type": "application/octet-stream",
                "x-ms-range": "bytes=0-11",
                "content-length": "12",
            },
        ),
        (
            "PUT",
            [("comp", "rename")],
            {
                "x-ms-file-rename-source": "https://h/acct/share/d/.x.aitk-upload-1",
                "x-ms-file-rename-replace-if-exists": "true",
            },
        ),
    ],
)
def test_signature_is_the_sdks(method: str, query: list[tuple[str, str]], headers: dict[str, str]) -> None:
    full = {**headers, "x-ms-version": "2026-10-06", "x-ms-date": "Fri, 04 Dec 2026 21:00:00 GMT"}
    path = "/acct/share/dir%20a/f%C3%BC.txt"
    query_string = "&".join(f"{k}={v}" for k, v in query)
    request = HttpRequest(
        method, f"https://h{path}" + (f"?{query_string}" if query_string else ""), headers=full
    )
    policy = SharedKeyCredentialPolicy("acct", KEY)  # type: ignore[no-untyped-call]
    policy.on_request(PipelineRequest(request, PipelineContext(None)))  # type: ignore[no-untyped-call]
    sdk_header = request.headers["Authorization"]
    text = string_to_sign(method, "acct", path, query, full)
    ours = base64.b64encode(hmac.new(base64.b64decode(KEY), text.encode(), hashlib.sha256).digest()).decode()
    assert sdk_header == f"SharedKey acct:{ours}"


@pytest.fixture
def target(emulator: Emulator, azure_env: dict[str, str]) -> ShareTarget:
    return make_target(emulator)


async def test_create_range_rename_then_list_against_the_emulator(
    emulator: Emulator, target: ShareTarget
) -> None:
    name = "dir with space/ünï #1%+&.txt"
    async with open_share(target) as conn:
        await conn.share.get_directory_client("dir with space").create_directory()
        before = conn.requests
        await conn.lean.create_file("dir with space/.tmp-x", 11, b"0123456789abcdef")
        await conn.lean.put_range("dir with space/.tmp-x", 0, b"hello world")
        etag = await conn.lean.rename("dir with space/.tmp-x", name)
        listed = list(await conn.lean.list_dir("dir with space"))
        assert conn.requests - before == 4
    assert (share_dir(emulator) / name).read_bytes() == b"hello world"
    assert listed == [ListedEntry(name.rpartition("/")[2], False, 11, etag)]
    assert etag is not None and etag.startswith('"')


def test_the_next_marker_is_read_off_the_end_only_when_plainly_there() -> None:
    def listing(marker: bytes) -> bytes:
        return (
            b'\xef\xbb\xbf<?xml version="1.0"?><EnumerationResults><Entries /><NextMarker'
            + marker
            + b"</EnumerationResults>"
        )

    assert (
        _next_marker_at_end(listing(b">2!12!MDAwMDA4IWYwMDAwNA--</NextMarker>"))
        == "2!12!MDAwMDA4IWYwMDAwNA--"
    )
    assert _next_marker_at_end(listing(b" />")) == ""
    escaped = listing(b">a&amp;b</NextMarker>")
    assert (_next_marker_at_end(escaped), parse_listing(escaped).next_marker) == ("", "a&b")


def two_pages(emulator: Emulator) -> list[str]:
    """A folder "many" of 5,003 files (the service's page holds at most 5,000); their names."""
    names = [f"f{i:05d}" for i in range(5003)]
    folder = share_dir(emulator) / "many"
    folder.mkdir(parents=True)
    for name in names:
        (folder / name).write_bytes(b"x")
    return names


async def test_listing_pages_are_followed(emulator: Emulator, target: ShareTarget) -> None:
    many = two_pages(emulator)
    async with open_share(target) as conn:
        listed = list(await conn.lean.list_dir("many"))
        assert conn.requests == 2
    assert sorted(e.name for e in listed) == many


async def test_the_next_page_is_asked_for_before_this_one_is_parsed(
    emulator: Emulator, target: ShareTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    many = two_pages(emulator)
    events: list[str] = []
    ask, parse = lean_share.LeanShare._list_page, lean_share.parse_listing

    async def asking(self: lean_share.LeanShare, folder: str, marker: str) -> bytes:
        events.append("ask next" if marker else "ask first")
        return await ask(self, folder, marker)

    def parsing(body: bytes) -> lean_share.Listing:
        events.append("parse")
        return parse(body)

    monkeypatch.setattr(lean_share.LeanShare, "_list_page", asking)
    monkeypatch.setattr(lean_share, "parse_listing", parsing)
    async with open_share(target) as conn:
        assert len(list(await conn.lean.list_dir("many"))) == len(many)
    assert events == ["ask first", "ask next", "parse", "parse"]


async def test_a_wrong_quick_marker_is_dropped_for_the_parsed_one(
    emulator: Emulator, target: ShareTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    many = two_pages(emulator)
    monkeypatch.setattr(
        lean_share, "_next_marker_at_end", lambda body: "bogus" if b"</NextMarker>" in body else ""
    )
    async with open_share(target) as conn:
        listed = list(await conn.lean.list_dir("many"))
    assert sorted(e.name for e in listed) == many


async def test_errors_are_the_sdks_exception_types_with_the_service_code(
    emulator: Emulator, target: ShareTarget
) -> None:
    async with open_share(target) as conn:
        with pytest.raises(ResourceNotFoundError) as missing:
            await conn.lean.list_dir("no/such/folder")
        assert getattr(missing.value, "error_code", None) == "ParentNotFound"
        with pytest.raises(ResourceNotFoundError) as no_parent:
            await conn.lean.create_file("nowhere/x.txt", 1, None)
        assert getattr(no_parent.value, "error_code", None) == "ParentNotFound"


async def test_a_small_file_in_two_requests_create_with_its_bytes_then_rename(
    emulator: Emulator, target: ShareTarget
) -> None:
    data = b"hello world"
    async with open_share(target) as conn:
        before = conn.requests
        await conn.lean.create_file(".tmp-small", len(data), hashlib.md5(data).digest(), data)
        etag = await conn.lean.rename(".tmp-small", "small.txt")
        assert conn.requests - before == 2
        props = await conn.share.get_file_client("small.txt").get_file_properties()
    assert (share_dir(emulator) / "small.txt").read_bytes() == data
    assert bytes(props.content_settings.content_md5) == hashlib.md5(data).digest()
    assert props.etag == etag


async def test_through_a_proxy_the_requests_go_to_the_proxy(
    emulator: Emulator, target: ShareTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lean HTTP/1.1 client speaks to the endpoint directly only: with a proxy named for it,
    aiohttp carries the requests (CONNECT); here to a proxy that hangs up at once."""
    seen = 0

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal seen
        seen += 1
        writer.close()

    proxy = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = proxy.sockets[0].getsockname()[1]
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{port}")
    try:
        async with open_share(target, retry_backoff=0.01) as conn:
            with pytest.raises((ServiceRequestError, ServiceResponseError)):
                await conn.lean.list_dir("")
    finally:
        proxy.close()
    assert seen >= 7  # the first try and six retries (aiohttp may open more), all to the proxy
    assert not [e for e in emulator.traffic.snapshot() if e.service == "file"]
