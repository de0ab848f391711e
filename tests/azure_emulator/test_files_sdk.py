"""The real azure-storage-file-share SDK (sync and aio) against the emulator's Azure Files over HTTPS."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

import pytest
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
)
from azure.storage.fileshare import ContentSettings, ExponentialRetry, FileProperties, ShareServiceClient
from azure.storage.fileshare.aio import ShareServiceClient as AioShareServiceClient

from tests.azure_emulator.server import Emulator
from tests.azure_emulator.storage_registry import get_registry

ACCOUNT = "aitkstore"


def _service(emulator: Emulator, key: str | None = None, **kwargs: object) -> ShareServiceClient:
    key = key or get_registry(emulator).ensure_account(ACCOUNT)[0]
    return ShareServiceClient(
        f"{emulator.file_url}/{ACCOUNT}", credential=key, connection_verify=str(emulator.ca_path), **kwargs
    )


def _on_disk(emulator: Emulator, share: str, path: str) -> Path:
    return get_registry(emulator).share_path(ACCOUNT, share) / path


def test_share_directory_file_lifecycle(emulator: Emulator) -> None:
    svc = _service(emulator)
    share = svc.create_share("models")
    with pytest.raises(ResourceExistsError):
        svc.create_share("models")
    assert [s.name for s in svc.list_shares()] == ["models"]

    directory = share.create_directory("adapters")
    directory.create_subdirectory("v1")
    with pytest.raises(ResourceExistsError):
        share.create_directory("adapters")
    with pytest.raises(ResourceNotFoundError) as missing_parent:
        share.create_directory("nope/child")
    assert missing_parent.value.error_code == "ParentNotFound"

    data = os.urandom(9 * 1024 * 1024 + 123)  # several 4 MiB ranges plus a tail
    file = directory.get_file_client("weights.bin")
    file.upload_file(
        data,
        max_concurrency=4,
        metadata={"Stage": "draft"},
        content_settings=ContentSettings(
            content_type="application/x-safetensors", content_md5=bytearray(hashlib.md5(data).digest())
        ),
    )
    assert _on_disk(emulator, "models", "adapters/weights.bin").read_bytes() == data

    props = file.get_file_properties()
    assert props.size == len(data)
    assert props.metadata == {"Stage": "draft"}
    assert props.content_settings.content_type == "application/x-safetensors"
    assert bytes(props.content_settings.content_md5) == hashlib.md5(data).digest()
    assert file.download_file(max_concurrency=3).readall() == data
    assert file.download_file(offset=5, length=10).readall() == data[5:15]

    file.set_file_metadata({"stage": "final"})
    file.set_http_headers(ContentSettings(content_type="text/plain"))
    props = file.get_file_properties()
    assert props.metadata == {"stage": "final"}
    assert props.content_settings.content_type == "text/plain"
    assert props.content_settings.content_md5 is None  # Set File Properties clears what it is not given

    renamed = file.rename_file("adapters/v1/weights.final.bin")
    assert not _on_disk(emulator, "models", "adapters/weights.bin").exists()
    assert _on_disk(emulator, "models", "adapters/v1/weights.final.bin").read_bytes() == data
    assert renamed.get_file_properties().metadata == {"stage": "final"}

    with pytest.raises(HttpResponseError) as not_empty:
        share.get_directory_client("adapters").delete_directory()
    assert not_empty.value.error_code == "DirectoryNotEmpty"
    renamed.delete_file()
    with pytest.raises(ResourceNotFoundError):
        renamed.get_file_properties()
    share.get_directory_client("adapters/v1").delete_directory()
    share.get_directory_client("adapters").delete_directory()
    svc.delete_share("models")
    assert not get_registry(emulator).share_exists(ACCOUNT, "models")


def test_rename_over_existing_needs_overwrite(emulator: Emulator) -> None:
    share = _service(emulator).create_share("s")
    share.get_file_client("final.json").upload_file(b"old")
    tmp = share.get_file_client("final.json.tmp")
    tmp.upload_file(b"new contents")
    with pytest.raises(ResourceExistsError):
        tmp.rename_file("final.json")
    tmp.rename_file("final.json", overwrite=True)
    assert _on_disk(emulator, "s", "final.json").read_bytes() == b"new contents"
    assert not _on_disk(emulator, "s", "final.json.tmp").exists()


def test_listing_pages_with_next_marker(emulator: Emulator) -> None:
    share = _service(emulator).create_share("s")
    names = [f"f{i:02d}" for i in range(7)]
    for name in names:
        share.get_file_client(name).create_file(3)
    share.create_directory("zdir")
    pages = share.list_directories_and_files(
        results_per_page=3, include=["timestamps", "etag", "attributes"]
    ).by_page()
    seen = [sorted(item.name for item in page) for page in pages]  # the SDK yields dirs first
    assert seen == [names[:3], names[3:6], [names[6], "zdir"]]
    markers = [
        e.query.get("marker")
        for e in emulator.traffic.snapshot()
        if e.query.get("comp") == "list" and e.method == "GET"
    ]
    assert markers[0] is None and all(markers[1:])  # continuation came from NextMarker
    items = list(share.list_directories_and_files(name_starts_with="z", include=["timestamps", "attributes"]))
    assert [(i.name, i.is_directory) for i in items] == [("zdir", True)]
    assert items[0].last_write_time is not None and "Directory" in str(items[0].file_attributes)


def test_ranges_update_and_clear(emulator: Emulator) -> None:
    share = _service(emulator).create_share("s")
    file = share.get_file_client("sparse.bin")
    file.create_file(4096)
    file.upload_range(b"a" * 512, offset=1024, length=512)
    file.upload_range(b"b" * 512, offset=0, length=512)
    file.clear_range(offset=0, length=512)
    content = _on_disk(emulator, "s", "sparse.bin").read_bytes()
    assert content == bytes(1024) + b"a" * 512 + bytes(2560)
    with pytest.raises(HttpResponseError) as too_far:
        file.upload_range(b"x" * 512, offset=4096, length=512)
    assert too_far.value.status_code == 416 and too_far.value.error_code == "InvalidRange"
    file.resize_file(10)
    assert _on_disk(emulator, "s", "sparse.bin").stat().st_size == 10


def test_wrong_key_is_rejected_with_403(emulator: Emulator) -> None:
    registry = get_registry(emulator)
    registry.ensure_account(ACCOUNT)
    other_key = registry.ensure_account("someoneelse")[0]
    with pytest.raises(ClientAuthenticationError) as err:
        _service(emulator, key=other_key).create_share("s")
    assert err.value.status_code == 403 and err.value.error_code == "AuthenticationFailed"
    assert not registry.share_exists(ACCOUNT, "s")


def test_second_account_key_also_works(emulator: Emulator) -> None:
    keys = get_registry(emulator).ensure_account(ACCOUNT)
    _service(emulator, key=keys[1]).create_share("s")
    assert get_registry(emulator).share_exists(ACCOUNT, "s")


def test_upload_retries_injected_503_and_dropped_connection(emulator: Emulator) -> None:
    share = _service(
        emulator,
        retry_policy=ExponentialRetry(initial_backoff=0, increment_base=1, random_jitter_range=0),
        max_range_size=4 * 1024 * 1024,
    ).create_share("s")
    data = os.urandom(3 * 4 * 1024 * 1024 + 77)
    emulator.faults.add(
        service="file", method="PUT", query="comp=range", status=503, code="ServerBusy", times=1
    )
    emulator.faults.add(
        service="file", kind="drop", method="PUT", query="comp=range", after_bytes=64 * 1024, skip=1, times=1
    )
    share.get_file_client("model.bin").upload_file(data)
    assert all(rule.fired == 1 for rule in emulator.faults.rules)
    assert _on_disk(emulator, "s", "model.bin").read_bytes() == data


async def test_aio_client_end_to_end(emulator: Emulator) -> None:
    key = get_registry(emulator).ensure_account(ACCOUNT)[0]
    async with AioShareServiceClient(
        f"{emulator.file_url}/{ACCOUNT}",
        credential=key,
        connection_verify=str(emulator.ca_path),
        max_range_size=1024 * 1024,
    ) as svc:
        share = await svc.create_share("aio")
        await share.create_directory("d")
        data = os.urandom(5 * 1024 * 1024 + 1)
        file = share.get_file_client("d/blob.bin")
        await file.upload_file(data, max_concurrency=3)
        downloaded = await (await file.download_file()).readall()
        assert downloaded == data
        await file.set_file_metadata({"k": "v"})
        assert (await file.get_file_properties()).metadata == {"k": "v"}
        names = [item.name async for item in share.list_directories_and_files("d", results_per_page=1)]
        assert names == ["blob.bin"]
        renamed = await file.rename_file("d/renamed.bin")
        assert _on_disk(emulator, "aio", "d/renamed.bin").read_bytes() == data
        await renamed.delete_file()
    bad_key = get_registry(emulator).ensure_account("other")[0]
    async with AioShareServiceClient(
        f"{emulator.file_url}/{ACCOUNT}", credential=bad_key, connection_verify=str(emulator.ca_path)
    ) as bad:
        with pytest.raises(ClientAuthenticationError):
            await bad.create_share("nope")


def test_sdk_uses_env_ca_bundle(emulator: Emulator, azure_env: dict[str, str]) -> None:
    """A client configured like a user's (CA via SSL_CERT_FILE/REQUESTS_CA_BUNDLE, no connection_verify)."""
    key = get_registry(emulator).ensure_account(ACCOUNT)[0]
    svc = ShareServiceClient(f"{emulator.file_url}/{ACCOUNT}", credential=key)
    svc.create_share("env")
    assert get_registry(emulator).share_exists(ACCOUNT, "env")


@pytest.mark.parametrize("name", ["naïve+file (1)&x=y;#.txt", "a%20b", "日本.bin"])
async def test_awkward_names_sign_and_round_trip(emulator: Emulator, name: str) -> None:
    """Escaping in paths feeds SharedKey's canonicalized resource; both transports must verify."""
    key = get_registry(emulator).ensure_account(ACCOUNT)[0]
    sync_share = _service(emulator, key=key).create_share("s")
    sync_share.create_directory("dir with space")
    sync_share.get_file_client(f"dir with space/{name}").upload_file(b"sync")
    async with AioShareServiceClient(
        f"{emulator.file_url}/{ACCOUNT}/", credential=key, connection_verify=str(emulator.ca_path)
    ) as svc:
        file = svc.get_share_client("s").get_file_client(f"dir with space/{name}")
        assert await (await file.download_file()).readall() == b"sync"
        await file.rename_file(f"dir with space/renamed-{name}")
    assert _on_disk(emulator, "s", f"dir with space/renamed-{name}").read_bytes() == b"sync"


def test_files_written_to_the_share_folder_are_served_and_sidecar_is_outside(emulator: Emulator) -> None:
    """The local runtime and tests may write into the share folder directly; the data plane sees it."""
    share = _service(emulator).create_share("s")
    share.get_file_client("via-api.txt").upload_file(b"api", metadata={"m": "1"})
    folder = get_registry(emulator).share_path(ACCOUNT, "s")
    (folder / "outputs").mkdir()
    (folder / "outputs" / "result.json").write_bytes(b"{}")
    assert sorted(p.name for p in folder.iterdir()) == ["outputs", "via-api.txt"]  # no sidecar files here
    listed = {i.name: i.is_directory for i in share.list_directories_and_files()}
    assert listed == {"outputs": True, "via-api.txt": False}
    result = share.get_file_client("outputs/result.json")
    assert result.download_file().readall() == b"{}"
    assert result.get_file_properties().size == 2


def _wire(emulator: Emulator, path: str) -> list[tuple[dict[str, str], int, dict[str, str]]]:
    """(request headers, status, response headers) of each Create File the emulator answered for ``path``."""
    return [
        (e.request_headers, e.status, e.response_headers)
        for e in emulator.traffic.snapshot()
        if e.service == "file" and e.method == "PUT" and e.path.endswith(path) and not e.query
    ]


def _b64_md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def test_create_file_with_initial_data(emulator: Emulator) -> None:
    """Create File with a body (2026-02-06+): the bytes land at offset 0, the rest of the size is zeros,
    and what reads report afterwards (ETag, Last-Modified, size, content MD5) is what the create answered."""
    share = _service(emulator).create_share("s")
    data = os.urandom(1000)
    whole = data + bytes(3096)
    file = share.get_file_client("small.bin")
    answer = file.create_file(
        len(whole),
        data=data,
        validate_content="md5",  # the SDK checks the answer's Content-MD5 against the body's
        content_settings=ContentSettings(content_md5=bytearray(hashlib.md5(whole).digest())),
    )
    assert _on_disk(emulator, "s", "small.bin").read_bytes() == whole
    assert file.download_file().readall() == whole

    [(sent, status, got)] = _wire(emulator, "/s/small.bin")
    assert (sent["Content-Length"], sent["Content-MD5"]) == ("1000", _b64_md5(data))
    assert (status, got["Content-MD5"]) == (201, _b64_md5(data))  # transactional: the body's MD5

    props = file.get_file_properties()
    assert (props.etag, props.last_modified, props.size) == (answer["etag"], answer["last_modified"], 4096)
    stored = props.content_settings.content_md5
    assert stored is not None and bytes(stored) == hashlib.md5(whole).digest()  # x-ms-content-md5 kept
    [listed] = list(share.list_directories_and_files(include=["etag", "timestamps"]))
    assert isinstance(listed, FileProperties)
    assert (listed.name, listed.size, listed.etag) == ("small.bin", 4096, answer["etag"])


def test_create_file_with_exactly_4_mib_replaces_the_old_file(emulator: Emulator) -> None:
    share = _service(emulator).create_share("s")
    file = share.get_file_client("big.bin")
    file.create_file(10, data=b"old")
    data = os.urandom(4 * 1024 * 1024)  # the documented limit, and past the emulator's inline-write size
    file.create_file(len(data), data=data, validate_content="md5")
    assert _on_disk(emulator, "s", "big.bin").read_bytes() == data
    assert file.get_file_properties().size == len(data)


def test_create_file_without_data_is_unchanged(emulator: Emulator) -> None:
    """No body, or an empty one: a sparse file of zeros and no Content-MD5, as before initial data existed."""
    share = _service(emulator).create_share("s")
    share.get_file_client("none.bin").create_file(7)
    share.get_file_client("empty.bin").create_file(5, data=b"")
    assert _on_disk(emulator, "s", "none.bin").read_bytes() == bytes(7)
    assert _on_disk(emulator, "s", "empty.bin").read_bytes() == bytes(5)
    [(_, status, got)] = _wire(emulator, "/s/none.bin")
    [(sent, empty_status, empty_got)] = _wire(emulator, "/s/empty.bin")
    assert sent["Content-Length"] == "0"
    assert (status, empty_status) == (201, 201)
    assert "Content-MD5" not in got and "Content-MD5" not in empty_got


@pytest.mark.parametrize(
    ("size", "data", "status", "code", "message"),
    [
        (
            5 * 1024 * 1024,
            bytes(4 * 1024 * 1024 + 1),
            413,
            "RequestBodyTooLarge",
            "The request body is too large and exceeds the maximum permissible limit.",
        ),
        (
            3,
            b"four",
            416,
            "InvalidRange",
            "The range specified is invalid for the current size of the resource.",
        ),
    ],
    ids=["over-4-MiB", "longer-than-the-file"],
)
def test_create_file_with_too_much_data_is_refused(
    emulator: Emulator, size: int, data: bytes, status: int, code: str, message: str
) -> None:
    share = _service(emulator).create_share("s")
    file = share.get_file_client("f.bin")
    file.create_file(4, data=b"keep")
    etag = file.get_file_properties().etag
    with pytest.raises(HttpResponseError) as refused:
        file.create_file(size, data=data)
    assert (refused.value.status_code, getattr(refused.value, "error_code", None)) == (status, code)
    assert refused.value.message.splitlines()[0] == message
    assert _on_disk(emulator, "s", "f.bin").read_bytes() == b"keep"  # the old file is untouched
    assert file.get_file_properties().etag == etag


async def test_aio_create_file_with_data_then_rename(emulator: Emulator) -> None:
    """The sync client's small-file path: Create File with the bytes to a temporary name, then Rename."""
    key = get_registry(emulator).ensure_account(ACCOUNT)[0]
    async with AioShareServiceClient(
        f"{emulator.file_url}/{ACCOUNT}", credential=key, connection_verify=str(emulator.ca_path)
    ) as svc:
        share = await svc.create_share("aio")
        data = b"print('hello')\n"
        tmp = share.get_file_client("app.py.tmp")
        await tmp.create_file(len(data), data=data)
        final = await tmp.rename_file("app.py")
        assert await (await final.download_file()).readall() == data
    assert _on_disk(emulator, "aio", "app.py").read_bytes() == data
