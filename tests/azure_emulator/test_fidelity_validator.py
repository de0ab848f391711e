"""The Swagger traffic validator itself: real Azure traffic passes, and each kind of mismatch fails precisely."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tests.azure_emulator.fidelity import recordings
from tests.azure_emulator.fidelity.validator import Mismatch, TrafficValidator, arm_validator
from tests.azure_emulator.traffic import Exchange

SUB = "/subscriptions/3f2c7a1e-5b8d-4e0f-9a6c-1d2e3f4a5b6c"
APP = f"{SUB}/resourceGroups/rg1/providers/Microsoft.App/containerApps/app1"
APPS_VERSION = "2026-07-01"
READ_ONLY_ABSENT = "read-only property declared by the spec is missing"


@pytest.fixture
def validator(azure_reference: Path) -> TrafficValidator:
    return arm_validator(azure_reference)


@pytest.fixture
def recorded_app_create(azure_reference: Path) -> recordings.Entry:
    """Real Azure: the container app PUT (201 + Azure-AsyncOperation) from the .NET SDK recording."""
    entries = recordings.load(azure_reference, recordings.CONTAINER_APP_CREATE)
    return next(e for e in entries if e.method == "PUT" and "/containerApps/" in e.path)


def exchange(
    method: str,
    path: str,
    status: int,
    body: Any = None,
    *,
    api_version: str = APPS_VERSION,
    request_body: Any = None,
    headers: dict[str, str] | None = None,
    route: str | None = "<test>",
) -> Exchange:
    req = json.dumps(request_body).encode() if request_body is not None else b""
    resp = json.dumps(body).encode() if body is not None else b""
    return Exchange(
        service="arm",
        method=method,
        url=f"https://127.0.0.1{path}?api-version={api_version}",
        path=path,
        query={"api-version": api_version},
        route=route,
        request_headers={"Content-Type": "application/json"} if req else {},
        request_body=req,
        request_length=len(req),
        status=status,
        response_headers={"Content-Type": "application/json", **(headers or {})},
        response_body=resp,
    )


def recorded(entry: recordings.Entry, **changes: Any) -> Exchange:
    ex = entry.to_exchange(api_version=recordings.current_api_version(entry.path))
    for key, value in changes.items():
        setattr(ex, key, value)
    return ex


def schema_only(found: list[Mismatch]) -> list[Mismatch]:
    """Leave out the read-only completeness rule (fidelity/rules.py) for hand-made minimal bodies."""
    return [m for m in found if not m.reason.startswith(READ_ONLY_ABSENT)]


def only(found: list[Mismatch]) -> Mismatch:
    assert len(found) == 1, "\n".join(map(str, found))
    return found[0]


def test_recorded_azure_traffic_is_valid(validator: TrafficValidator, azure_reference: Path) -> None:
    """Real responses (nulls, extensible enums, 7-digit timestamps, polling URLs) are not rejected."""
    for rel in recordings.ARM_RECORDINGS:
        entries = recordings.load(azure_reference, rel)
        found = validator.validate_all(
            [e.to_exchange(api_version=recordings.current_api_version(e.path)) for e in entries]
        )
        assert found == [], "\n".join(map(str, found))


def test_missing_required_property_is_reported(
    validator: TrafficValidator, recorded_app_create: recordings.Entry
) -> None:
    body = copy.deepcopy(recorded_app_create.response_body)
    del body["location"]  # TrackedResource.location is required
    m = only(validator.validate(recorded(recorded_app_create, response_body=json.dumps(body).encode())))
    assert (m.operation, m.pointer) == ("ContainerApps_CreateOrUpdate", "response")
    assert "'location' is a required property" in m.reason


def test_wrong_type_is_reported_with_json_pointer(
    validator: TrafficValidator, recorded_app_create: recordings.Entry
) -> None:
    body = copy.deepcopy(recorded_app_create.response_body)
    body["properties"]["template"]["containers"][0]["resources"]["cpu"] = "lots"
    m = only(validator.validate(recorded(recorded_app_create, response_body=json.dumps(body).encode())))
    assert m.pointer == "response/properties/template/containers/0/resources/cpu"
    assert "'lots' is not of type 'number'" in m.reason


def test_null_for_a_required_property_is_reported(
    validator: TrafficValidator, recorded_app_create: recordings.Entry
) -> None:
    body = copy.deepcopy(recorded_app_create.response_body)
    body["location"] = None
    m = only(validator.validate(recorded(recorded_app_create, response_body=json.dumps(body).encode())))
    assert m.pointer == "response/location" and "None is not of type 'string'" in m.reason


def test_undeclared_status_is_reported(
    validator: TrafficValidator, recorded_app_create: recordings.Entry
) -> None:
    m = only(validator.validate(recorded(recorded_app_create, status=202)))
    assert m.pointer == "response status"
    assert m.reason == "202 is not declared by the spec (declared: 200, 201, default)"


def test_wrong_api_version_is_reported(
    validator: TrafficValidator, recorded_app_create: recordings.Entry
) -> None:
    m = only(validator.validate(recorded(recorded_app_create, query={"api-version": "2099-01-01"})))
    assert m.pointer == "query api-version"
    assert (
        "'2099-01-01' is not in the spec" in m.reason
        and "ContainerApps_CreateOrUpdate @ 2026-07-01" in m.reason
    )


def test_long_running_create_needs_a_polling_header(
    validator: TrafficValidator, recorded_app_create: recordings.Entry
) -> None:
    headers = {
        k: v for k, v in recorded_app_create.response_headers.items() if k.lower() != "azure-asyncoperation"
    }
    m = only(validator.validate(recorded(recorded_app_create, response_headers=headers)))
    assert m.pointer == "response headers" and "Azure-AsyncOperation or Location" in m.reason


def test_declared_header_type_is_checked(
    validator: TrafficValidator, recorded_app_create: recordings.Entry
) -> None:
    headers = {**recorded_app_create.response_headers, "Retry-After": "soon"}
    m = only(validator.validate(recorded(recorded_app_create, response_headers=headers)))
    assert m.pointer == "response header Retry-After" and "'soon' is not a valid integer" in m.reason


def test_errors_must_have_arm_error_shape(validator: TrafficValidator) -> None:
    good = {"error": {"code": "ContainerAppNotFound", "message": "not found"}}
    assert validator.validate(exchange("GET", APP, 404, good)) == []
    m = only(validator.validate(exchange("GET", APP, 404, {"message": "not found"})))
    assert m.operation == "ContainerApps_Get" and m.pointer == "response"
    assert "'error' is a required property" in m.reason


def test_request_problems_count_only_when_the_emulator_accepts(validator: TrafficValidator) -> None:
    bad_request = {"location": "eastus", "properties": {"template": {"containers": "not-a-list"}}}
    rejected = exchange(
        "PUT",
        APP,
        400,
        {"error": {"code": "InvalidRequestContent", "message": "bad"}},
        request_body=bad_request,
    )
    assert validator.validate(rejected) == []
    accepted = exchange(
        "PUT",
        APP,
        200,
        {"location": "eastus", "properties": {}},
        request_body=bad_request,
    )
    m = only(schema_only(validator.validate(accepted)))
    assert m.pointer == "request/properties/template/containers" and "is not of type 'array'" in m.reason


def test_invalid_path_parameter_accepted_is_reported(validator: TrafficValidator) -> None:
    path = f"{SUB}/resourceGroups/rg!/providers/Microsoft.App/containerApps/app1"
    m = only(schema_only(validator.validate(exchange("GET", path, 200, {"location": "eastus"}))))
    assert m.pointer == "request path parameter 'resourceGroupName'" and "does not match" in m.reason


def test_fixed_enum_rejects_and_extensible_enum_accepts_unknown_values(validator: TrafficValidator) -> None:
    path = f"{SUB}/providers/Microsoft.App/locations/eastus/usages"
    usage = {
        "unit": "Count",
        "currentValue": 0,
        "limit": 96,
        "name": {"value": "NC24A100", "localizedValue": "A100"},
    }
    assert validator.validate(exchange("GET", path, 200, {"value": [usage]})) == []
    m = only(validator.validate(exchange("GET", path, 200, {"value": [{**usage, "unit": "Cores"}]})))
    assert m.pointer == "response/value/0/unit" and "'Cores' is not one of ['Count']" in m.reason
    # runningState is x-ms-enum modelAsString: true: new values must not break clients.
    rev = f"{APP}/revisions/app1--r1"
    assert (
        validator.validate(exchange("GET", rev, 200, {"properties": {"runningState": "Hibernating"}})) == []
    )


def test_discriminator_dispatches_to_the_subtype(validator: TrafficValidator) -> None:
    path = f"{SUB}/resourceGroups/rg1/providers/Microsoft.App/managedEnvironments/env1/javaComponents/admin"
    body = {"properties": {"componentType": "SpringBootAdmin", "ingress": "not-an-object"}}
    m = only(validator.validate(exchange("GET", path, 200, body)))
    assert m.pointer == "response/properties/ingress" and "is not of type 'object'" in m.reason
    body["properties"]["ingress"] = {"fqdn": "admin.example"}
    assert validator.validate(exchange("GET", path, 200, body)) == []
    # Another component type declares no 'ingress': the dispatch is what makes it undeclared.
    body["properties"]["componentType"] = "SpringCloudConfig"
    m = only(validator.validate(exchange("GET", path, 200, body)))
    assert (m.pointer, m.reason) == ("response/properties", "undeclared by the spec: ingress")


def test_undeclared_response_key_is_reported(
    validator: TrafficValidator, recorded_app_create: recordings.Entry
) -> None:
    """Keys the spec does not declare are invented (oav: OBJECT_ADDITIONAL_PROPERTIES), unless real
    Azure is known to send them (allowlist.UNDECLARED_BUT_REAL, e.g. firstPartyConfiguration)."""
    body = copy.deepcopy(recorded_app_create.response_body)
    body["properties"]["configuration"]["madeUp"] = 1
    body["tags"] = {"any": "key"}  # a map (additionalProperties): its keys are data
    m = only(validator.validate(recorded(recorded_app_create, response_body=json.dumps(body).encode())))
    assert (m.pointer, m.reason) == ("response/properties/configuration", "undeclared by the spec: madeUp")


def test_date_time_format_is_checked(validator: TrafficValidator) -> None:
    body = {"location": "eastus", "systemData": {"createdAt": "yesterday"}}
    m = only(schema_only(validator.validate(exchange("GET", APP, 200, body))))
    assert m.pointer == "response/systemData/createdAt" and "'yesterday' is not a 'date-time'" in m.reason


def test_route_unknown_to_the_spec_fails_unless_azure_would_404(validator: TrafficValidator) -> None:
    path = f"{SUB}/providers/Microsoft.App/madeUpThings"
    m = only(
        validator.validate(
            exchange(
                "GET",
                path,
                200,
                {"value": []},
                route="/subscriptions/{s}/providers/Microsoft.App/madeUpThings",
            )
        )
    )
    assert m.operation == "<no spec operation>" and "allowlist.py" in m.reason
    not_served = exchange(
        "GET", path, 404, {"error": {"code": "NotFound", "message": "no route"}}, route=None
    )
    assert validator.validate(not_served) == []


def test_async_operation_status_follows_the_rpc_contract(validator: TrafficValidator) -> None:
    path = f"{SUB}/providers/Microsoft.App/locations/eastus/containerappOperationStatuses/op1"
    ok = {"id": path, "name": "op1", "status": "Succeeded", "startTime": "2026-01-01T00:00:00.1234567Z"}
    assert validator.validate(exchange("GET", path, 200, ok)) == []
    m = only(validator.validate(exchange("GET", path, 200, {"status": "Failed"})))
    assert m.operation == "ARM async operation status" and "'error' is a required property" in m.reason


def test_control_routes_and_other_services_are_not_validated(validator: TrafficValidator) -> None:
    control = exchange("GET", "/_emulator/info", 200, {"arm": "x"}, route="/_emulator/info")
    files = exchange("PUT", "/account/share", 201)
    files.service = "file"
    assert validator.validate_all([control, files]) == []


def test_long_running_201_without_polling_header_needs_provisioning_state(
    validator: TrafficValidator,
) -> None:
    """Workspaces' 201 declares no polling header: the SDK then polls the resource's provisioningState."""
    path = f"{SUB}/resourceGroups/rg1/providers/Microsoft.OperationalInsights/workspaces/logs"
    body = {"location": "eastus", "properties": {"provisioningState": "Succeeded"}}
    req = {"location": "eastus"}
    ok = exchange("PUT", path, 201, body, api_version="2025-07-01", request_body=req)
    assert schema_only(validator.validate(ok)) == []
    m = only(
        schema_only(
            validator.validate(exchange("PUT", path, 201, req, api_version="2025-07-01", request_body=req))
        )
    )
    assert m.operation == "Workspaces_CreateOrUpdate" and "properties.provisioningState" in m.reason


def test_missing_api_version_is_fine_only_when_rejected(validator: TrafficValidator) -> None:
    rejected = exchange("GET", APP, 400, {"error": {"code": "MissingApiVersionParameter", "message": "x"}})
    rejected.query = {}
    assert validator.validate(rejected) == []
    accepted = exchange("GET", APP, 200, {"location": "eastus"})
    accepted.query = {}
    m = only(validator.validate(accepted))
    assert m.pointer == "query api-version" and "None is not in the spec" in m.reason


def test_fixed_enum_compares_case_insensitively_like_the_sdks(validator: TrafficValidator) -> None:
    path = f"{SUB}/providers/Microsoft.App/locations/eastus/usages"
    usage = {"unit": "COUNT", "currentValue": 0, "limit": 96, "name": {"value": "NC24A100"}}
    assert validator.validate(exchange("GET", path, 200, {"value": [usage]})) == []


def test_head_responses_are_not_expected_to_have_bodies(validator: TrafficValidator) -> None:
    head = exchange("HEAD", f"{SUB}/resourcegroups/rg1", 404, None, api_version="2025-04-01")
    head.response_headers = {}
    head.response_body = None
    assert validator.validate(head) == []
