"""The recording comparison machinery: a recording matches itself, and each kind of difference is caught."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from tests.azure_emulator.fidelity import recordings
from tests.azure_emulator.fidelity.specs import SpecIndex, arm_index
from tests.azure_emulator.fidelity.structure import (
    Difference,
    SpecNode,
    compare_bodies,
    compare_headers,
    compare_response,
)


@pytest.fixture
def index(azure_reference: Path) -> SpecIndex:
    return arm_index(azure_reference)


@pytest.fixture
def app_create(azure_reference: Path) -> recordings.Entry:
    entries = recordings.load(azure_reference, recordings.CONTAINER_APP_CREATE)
    return next(e for e in entries if e.method == "PUT" and "/containerApps/" in e.path)


def app_spec(index: SpecIndex) -> SpecNode:
    op = index.find(
        "PUT",
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.App/containerApps/a",
        {"api-version": "2026-07-01"},
    )
    assert op is not None
    return SpecNode(index.docs, op.file, op.responses["201"]["schema"])


def same(
    entry: recordings.Entry, body: Any, headers: dict[str, str] | None = None, spec: SpecNode | None = None
) -> list[Difference]:
    return compare_response(
        entry.status,
        entry.response_headers,
        entry.response_body,
        entry.status,
        headers or entry.response_headers,
        body,
        spec,
    )


def test_every_recording_matches_itself(azure_reference: Path) -> None:
    for rel in recordings.ARM_RECORDINGS:
        for e in recordings.load(azure_reference, rel):
            assert (
                compare_response(
                    e.status,
                    e.response_headers,
                    e.response_body,
                    e.status,
                    e.response_headers,
                    copy.deepcopy(e.response_body),
                    None,
                )
                == []
            )


def test_missing_key_is_a_difference(app_create: recordings.Entry, index: SpecIndex) -> None:
    body = copy.deepcopy(app_create.response_body)
    del body["properties"]["latestRevisionFqdn"]
    assert same(app_create, body, spec=app_spec(index)) == [
        Difference("body/properties/latestRevisionFqdn", "in the recording, missing from the emulator")
    ]


def test_key_recorded_as_null_must_be_present(app_create: recordings.Entry) -> None:
    """Azure sends unset fields as null: the emulator must too (null or a value), not leave them out."""
    body = copy.deepcopy(app_create.response_body)
    nulls = [k for k, v in body["properties"]["configuration"].items() if v is None]
    assert nulls, "the recording has null-valued keys (that is what this test relies on)"
    for key in nulls:
        del body["properties"]["configuration"][key]
    assert same(app_create, body) == [
        Difference(f"body/properties/configuration/{key}", "sent as null by Azure, missing from the emulator")
        for key in nulls
    ]
    body["properties"]["configuration"].update(dict.fromkeys(nulls, "now-set"))
    assert same(app_create, body) == []


def test_type_change_is_a_difference(app_create: recordings.Entry) -> None:
    body = copy.deepcopy(app_create.response_body)
    body["properties"]["template"]["containers"][0]["resources"]["cpu"] = "0.5"
    assert same(app_create, body) == [
        Difference(
            "body/properties/template/containers/0/resources/cpu", "emulator sends string, Azure sends number"
        )
    ]


def test_extra_key_must_be_declared_by_the_spec(app_create: recordings.Entry, index: SpecIndex) -> None:
    body = copy.deepcopy(app_create.response_body)
    body["properties"]["madeUp"] = 1
    body["properties"]["networking"] = {}  # declared by the spec
    assert same(app_create, body, spec=app_spec(index)) == [
        Difference("body/properties/madeUp", "sent by the emulator, but neither Azure nor the spec has it")
    ]
    # Without a spec every extra key is suspect.
    assert Difference(
        "body/properties/networking", "sent by the emulator, but neither Azure nor the spec has it"
    ) in same(app_create, body)


def test_map_keys_are_data_not_structure(index: SpecIndex) -> None:
    spec = app_spec(index)
    recorded = {"location": "westus", "tags": {"owner": "alice"}}
    assert compare_bodies(recorded, {"location": "eastus", "tags": {"team": "x", "env": "y"}}, spec) == []
    assert compare_bodies(recorded, {"location": "eastus", "tags": {"owner": 3}}, spec) == [
        Difference("body/tags/owner", "emulator sends number, Azure sends string")
    ]


def test_array_items_are_compared_with_the_recorded_item_shapes() -> None:
    # Recorded items differ (e.g. workload profiles: only dedicated ones have minimumCount).
    recorded = {"value": [{"id": "a", "n": 1}, {"id": "b", "n": 2, "min": 0}]}
    assert compare_bodies(recorded, {"value": []}, None) == []
    assert compare_bodies(
        recorded, {"value": [{"id": "c", "n": 3, "min": 1}, {"id": "d"}, {"id": 5, "n": 1}]}, None
    ) == [
        Difference("body/value/1/n", "in the recording, missing from the emulator"),
        Difference("body/value/2/id", "emulator sends number, Azure sends string"),
    ]


def test_status_difference(app_create: recordings.Entry) -> None:
    found = compare_response(
        201, app_create.response_headers, None, 200, app_create.response_headers, None, None
    )
    assert found == [Difference("status", "emulator answers 200, Azure answered 201")]


def test_error_code_must_be_azures(azure_reference: Path) -> None:
    entries = recordings.load(azure_reference, recordings.ENVIRONMENT_STORAGE_CREATE)
    missing = next(e for e in entries if e.status == 404)
    assert missing.response_body["error"]["code"] == "ManagedEnvironmentStorageNotFound"
    generic = {"error": {"code": "ResourceNotFound", "message": "The Resource was not found."}}
    found = compare_response(404, {}, missing.response_body, 404, {}, generic, None)
    assert found == [
        Difference(
            "body/error/code",
            "emulator answers 'ResourceNotFound', Azure answered 'ManagedEnvironmentStorageNotFound'",
        )
    ]
    assert compare_response(404, {}, missing.response_body, 404, {}, missing.response_body, None) == []


def test_sdk_headers_are_compared() -> None:
    recorded = {
        "Azure-AsyncOperation": "https://x/op",
        "Retry-After": "15",
        "Content-Type": "application/json; charset=utf-8",
        "x-ms-request-id": "r",
    }
    assert compare_headers(recorded, {**recorded, "Content-Type": "application/json"}) == []
    found = compare_headers(
        recorded, {"Location": "https://x/res", "Retry-After": "0.5", "Content-Type": "text/plain"}
    )
    assert found == [
        Difference("header Azure-AsyncOperation", "present in the recording, missing from the emulator"),
        Difference("header Location", "sent by the emulator but not by Azure (it changes how the SDK polls)"),
        Difference("header Retry-After", "'0.5' is not an integer of seconds (Azure: '15')"),
        Difference("header x-ms-request-id", "present in the recording, missing from the emulator"),
        Difference("header Content-Type", "media type 'text/plain', Azure sends 'application/json'"),
    ]
