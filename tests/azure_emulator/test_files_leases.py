"""File leases and name-length limits, through the real storage SDK (``ShareLeaseClient``)."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError
from azure.storage.fileshare import ShareLeaseClient, ShareServiceClient

from tests.azure_emulator.server import Emulator
from tests.azure_emulator.storage_registry import get_registry

ACCOUNT = "leasestore"


def _share(emulator: Emulator, name: str) -> object:
    key = get_registry(emulator).ensure_account(ACCOUNT)[0]
    svc = ShareServiceClient(
        f"{emulator.file_url}/{ACCOUNT}",
        credential=key,
        connection_verify=str(emulator.ca_path),
        retry_total=0,
    )
    return svc.create_share(name)


def _error(err: pytest.ExceptionInfo[HttpResponseError]) -> tuple[int | None, str | None, str]:
    return (
        err.value.status_code,
        getattr(err.value, "error_code", None),
        str(err.value.message).splitlines()[0],
    )


def test_infinite_file_lease_guards_writes_until_released_or_broken(emulator: Emulator) -> None:
    share = _share(emulator, "leases")
    file = share.get_file_client("lock")  # type: ignore[attr-defined]
    file.upload_file(b"first")
    lease = ShareLeaseClient(file)
    lease.acquire()
    assert lease.id
    props = file.get_file_properties()
    assert (props.lease.state, props.lease.status, props.lease.duration) == ("leased", "locked", "infinite")

    other = ShareLeaseClient(file)
    with pytest.raises(ResourceExistsError) as held:
        other.acquire()
    assert _error(held) == (409, "LeaseAlreadyPresent", "There is already a lease present.")

    with pytest.raises(HttpResponseError) as missing:
        file.upload_file(b"not the holder")
    assert _error(missing) == (
        412,
        "LeaseIdMissing",
        "There is currently a lease on the file and no lease ID was specified in the request.",
    )
    with pytest.raises(HttpResponseError) as wrong:
        file.set_file_metadata({"a": "b"}, lease="00000000-0000-0000-0000-000000000001")
    assert _error(wrong) == (
        412,
        "LeaseIdMismatchWithFileOperation",
        "The lease ID specified did not match the lease ID for the file.",
    )
    with pytest.raises(HttpResponseError) as delete:
        file.delete_file()
    assert _error(delete)[1] == "LeaseIdMissing"

    file.upload_file(b"holder writes", lease=lease)  # a write naming the lease goes through
    assert file.download_file().readall() == b"holder writes"  # reads need no lease
    assert file.get_file_properties().lease.state == "leased"  # re-creating keeps the lease

    with pytest.raises(HttpResponseError) as release:
        other.release()
    assert _error(release) == (
        409,
        "LeaseIdMismatchWithLeaseOperation",
        "The lease ID specified did not match the lease ID for the file.",
    )
    other.break_lease()  # anyone may break it: an infinite lease breaks at once
    assert file.get_file_properties().lease.state == "available"
    with pytest.raises(HttpResponseError) as gone:
        lease.release()
    assert _error(gone) == (
        409,
        "LeaseNotPresentWithLeaseOperation",
        "There is currently no lease on the file.",
    )
    other.acquire()
    other.release()
    file.delete_file()


def test_names_over_azure_limits_are_refused_with_azures_code(emulator: Emulator) -> None:
    share = _share(emulator, "limits")
    with pytest.raises(HttpResponseError) as name:
        share.get_file_client("n" * 256).upload_file(b"x")  # type: ignore[attr-defined]
    assert _error(name) == (
        400,
        "OutOfRangeInput",
        "The specified resource name length is not within the permissible limits.",
    )
    share.get_file_client("n" * 255).upload_file(b"x")  # type: ignore[attr-defined]
    folders = "/".join(["d" * 200] * 10)  # 2,009 characters
    with pytest.raises(HttpResponseError) as path:
        share.get_file_client(folders + "/" + "f" * 40).upload_file(b"x")  # type: ignore[attr-defined]
    assert _error(path)[:2] == (400, "OutOfRangeInput")


def test_a_write_through_the_mount_gives_the_file_a_new_etag(emulator: Emulator) -> None:
    """As a replica writing over SMB changes the file's ETag and Last-Modified on Azure."""
    share = _share(emulator, "smb")
    file = share.get_file_client("conf.json")  # type: ignore[attr-defined]
    file.upload_file(b'{"a": 1}')
    before = file.get_file_properties()
    assert file.get_file_properties().etag == before.etag  # reading changes nothing
    disk = get_registry(emulator).share_path(ACCOUNT, "smb") / "conf.json"
    disk.write_bytes(b'{"a": 2}')  # same size
    after = file.get_file_properties()
    assert after.etag != before.etag and after.last_modified >= before.last_modified
    listed = {f.name: f.etag for f in share.list_directories_and_files(include=["Etag"])}  # type: ignore[attr-defined]
    assert listed["conf.json"] == after.etag
