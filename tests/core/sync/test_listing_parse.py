"""The listing parser's quick path: taken for the plain listings the sync asks for, and it reads
them exactly as the XML parser does; any other shape goes to the XML parser."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

import pytest
from aitk_inference.core.sync.lean_share import ListedEntry, _parse_plain, _parse_xml, parse_listing

from tests.azure_emulator.files import recordings
from tests.azure_emulator.files.listing import directory_listing
from tests.azure_emulator.files.meta import Entry

HEAD = (
    b'\xef\xbb\xbf<?xml version="1.0" encoding="utf-8"?><EnumerationResults ShareName="s" DirectoryPath="d">'
)
FILE = b'<File><Name>a.txt</Name><FileId>1</FileId><Properties><Content-Length>3</Content-Length><Etag>"0x1"</Etag></Properties></File>'
TAIL = b"</Entries><NextMarker /></EnumerationResults>"


def _emulator_listing(include: set[str], next_marker: str | None, names: list[str]) -> bytes:
    items = [
        (name, Entry("dir" if name.endswith("/") else "file", str(100 + i), 1, 2, 3, 4 + i), 10 * i)
        for i, name in enumerate(names)
    ]
    return directory_listing(
        endpoint="https://127.0.0.1/acct/",
        share="s",
        directory="d/e",
        directory_id="7",
        items=[(n.rstrip("/"), e, size) for n, e, size in items],
        include=include,
        prefix=None,
        marker=None,
        maxresults=None,
        next_marker=next_marker,
    )


@pytest.mark.parametrize("include", [{"etag"}, set()])
@pytest.mark.parametrize("next_marker", [None, "bWFyaw=="])
@pytest.mark.parametrize(
    "names",
    [[], ["a.txt"], ["données.bin", "sub/", "x y (1).txt", "dir/"], ["q'uo\"te.txt", "0"]],
)
def test_plain_listings_take_the_quick_path_and_read_as_the_xml_parser(
    include: set[str], next_marker: str | None, names: list[str]
) -> None:
    body = _emulator_listing(include, next_marker, names)
    quick = _parse_plain(body)
    assert quick is not None
    assert quick == _parse_xml(body)
    assert len(quick.entries) == len(names)
    assert quick.next_marker == (next_marker or "")


def test_recorded_azure_listings_read_alike_on_both_paths(azure_reference: Path) -> None:
    quick_ones = 0
    for path in sorted((azure_reference / recordings.RECORDINGS).glob("*.json")):
        for entry in json.loads(path.read_text(encoding="utf-8")).get("Entries", []):
            if "restype=directory&comp=list" in entry["RequestUri"] and entry["StatusCode"] == 200:
                body = entry["ResponseBody"].encode("utf-8")
                quick = _parse_plain(body)
                if quick is not None:
                    quick_ones += 1
                    assert quick == _parse_xml(body)
    assert quick_ones  # the service's own plain listing takes the quick path


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(HEAD + b"<Entries>" + FILE.replace(b"a.txt", b"a&amp;b") + TAIL, id="escaped name"),
        pytest.param(
            HEAD + b'<Entries><File><Name Encoded="true">a%01b</Name><Properties /></File>' + TAIL,
            id="percent-encoded name",
        ),
        pytest.param(HEAD + b"<Entries>" + FILE + b"\n" + FILE + TAIL, id="whitespace between entries"),
        pytest.param(
            HEAD
            + b"<Entries>"
            + FILE.replace(b"<Etag>", b"<CreationTime>2025-08-11T07:54:03Z</CreationTime><Etag>")
            + TAIL,
            id="timestamps",
        ),
        pytest.param(
            HEAD + b"<Entries>" + FILE.replace(b"</File>", b"<Attributes>Archive</Attributes></File>") + TAIL,
            id="attributes",
        ),
        pytest.param(HEAD + b"<Entries>" + FILE.replace(b"a.txt", b"<![CDATA[a.txt]]>") + TAIL, id="CDATA"),
        pytest.param(HEAD + b"<Entries><!-- c -->" + FILE + TAIL, id="comment"),
        pytest.param(HEAD + b"<Entries />" + b"<NextMarker /></EnumerationResults>", id="empty element"),
        pytest.param(
            HEAD + b"<Entries>" + FILE + TAIL.replace(b"<NextMarker />", b"<NextMarker>a&amp;b</NextMarker>"),
            id="escaped marker",
        ),
        pytest.param(
            HEAD + b"<Entries>" + FILE.replace(b"</File>", b"</Directory>") + TAIL, id="mismatched end tag"
        ),
    ],
)
def test_any_other_shape_is_left_to_the_xml_parser(body: bytes) -> None:
    assert _parse_plain(body) is None
    try:
        expected = _parse_xml(body)
    except ElementTree.ParseError:
        with pytest.raises(ElementTree.ParseError):
            parse_listing(body)
        return
    assert parse_listing(body) == expected


def test_an_encoded_name_and_an_escaped_marker_are_decoded() -> None:
    body = (
        HEAD
        + b'<Entries><File><Name Encoded="true">a%01b</Name><Properties /></File>'
        + b"</Entries><NextMarker>a&amp;b</NextMarker></EnumerationResults>"
    )
    listing = parse_listing(body)
    assert listing.entries == [ListedEntry("a\x01b", False, 0, None)]
    assert listing.next_marker == "a&b"


def test_a_name_that_is_not_utf8_is_refused_as_the_xml_parser_refuses_it() -> None:
    body = HEAD + b"<Entries>" + FILE.replace(b"a.txt", b"a\xff.txt") + TAIL
    assert _parse_plain(body) is None
    with pytest.raises(ElementTree.ParseError):
        parse_listing(body)
