"""Create File (with and without initial data) and Put Range exchanges against the Azure Files spec's
declared headers (fidelity/files_spec.py), and that check failing on seeded differences."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from azure.storage.fileshare import ShareServiceClient

from tests.azure_emulator.fidelity.files_spec import (
    exchange_mismatches,
    file_index,
    operation_for,
    operation_mismatches,
)
from tests.azure_emulator.fidelity.hook import spec_mismatches
from tests.azure_emulator.server import Emulator
from tests.azure_emulator.storage_registry import get_registry
from tests.azure_emulator.traffic import Exchange

ACCOUNT = "specs"


def _file_traffic(emulator: Emulator) -> list[Exchange]:
    key = get_registry(emulator).ensure_account(ACCOUNT)[0]
    svc = ShareServiceClient(
        f"{emulator.file_url}/{ACCOUNT}", credential=key, connection_verify=str(emulator.ca_path)
    )
    share = svc.create_share("s")
    data = os.urandom(300)
    share.get_file_client("with-data.bin").create_file(1024, data=data, validate_content="md5")
    empty = share.get_file_client("empty.bin")
    empty.create_file(512)
    empty.upload_range(data, offset=0, length=len(data), validate_content=True)
    return emulator.traffic.snapshot()


def test_create_with_data_and_put_range_match_the_spec(emulator: Emulator, azure_reference: Path) -> None:
    exchanges = _file_traffic(emulator)
    index = file_index(azure_reference)
    checked = [
        (op.operation_id, ex.request_length, ex.status)
        for ex in exchanges
        if (op := operation_for(index, ex))
    ]
    assert checked == [("File_Create", 300, 201), ("File_Create", 0, 201), ("File_UploadRange", 300, 201)]
    assert [problem for ex in exchanges for problem in exchange_mismatches(index, ex)] == []
    assert spec_mismatches(exchanges, azure_reference) is None


def test_check_fails_on_seeded_differences(emulator: Emulator, azure_reference: Path) -> None:
    exchanges = _file_traffic(emulator)
    index = file_index(azure_reference)
    create = next(ex for ex in exchanges if ex.path.endswith("/with-data.bin") and not ex.query)
    op = operation_for(index, create)
    assert op is not None

    invented = dataclasses.replace(create, response_headers={**create.response_headers, "x-ms-invented": "1"})
    bad_md5 = dataclasses.replace(
        create, response_headers={**create.response_headers, "Content-MD5": "not md5!"}
    )
    rfc_time = dataclasses.replace(
        create,
        response_headers={
            **create.response_headers,
            "x-ms-file-change-time": "Fri, 04 Dec 2026 10:00:00 GMT",
        },
    )
    no_type = dataclasses.replace(
        create, request_headers={k: v for k, v in create.request_headers.items() if k.lower() != "x-ms-type"}
    )
    label = "File_Create: PUT /specs/s/with-data.bin → 201\n    "
    assert exchange_mismatches(index, invented) == [
        label + "response header x-ms-invented: not declared for 201"
    ]
    assert exchange_mismatches(index, bad_md5) == [
        label + "response header Content-MD5: 'not md5!' is not base64"
    ]
    assert exchange_mismatches(index, rfc_time) == [
        label + "response header x-ms-file-change-time: 'Fri, 04 Dec 2026 10:00:00 GMT' is not an ISO 8601 "
        "time with 7 digits"
    ]
    assert exchange_mismatches(index, no_type) == [label + "request header x-ms-type: required, not sent"]
    without_body = dataclasses.replace(op, parameters=[p for p in op.parameters if p.location != "body"])
    assert operation_mismatches(without_body, create) == [label + "request body: the operation declares none"]

    problems = spec_mismatches([invented], azure_reference)
    assert problems is not None and "x-ms-invented: not declared for 201" in problems
