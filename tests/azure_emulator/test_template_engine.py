"""The emulator's ARM template evaluator: expressions, functions, planning, and ARM-shaped errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.azure_emulator.arm.template_engine import (
    DeploymentScope,
    PlannedResource,
    TemplateError,
    plan_deployment,
)
from tests.azure_emulator.arm.template_functions import arm_guid, unique_string

REPO = Path(__file__).resolve().parents[2]
SUB = "00000000-0000-0000-0000-000000000001"
SCOPE = DeploymentScope(SUB, "rg-ai", "eastus", "inference", "tenant-1")
RG_ID = f"/subscriptions/{SUB}/resourceGroups/rg-ai"


class RecordingResolver:
    """A resolver over a dict of resources that records every call the engine makes."""

    def __init__(self, resources: dict[str, dict[str, Any]] | None = None) -> None:
        self.resources = resources or {}
        self.calls: list[tuple[str, ...]] = []

    def get(self, resource_id: str) -> dict[str, Any] | None:
        self.calls.append(("get", resource_id))
        return self.resources.get(resource_id.lower())

    def invoke(
        self, resource_id: str, action: str, api_version: str, body: dict[str, Any] | None
    ) -> dict[str, Any]:
        self.calls.append((action, resource_id, api_version, json.dumps(body)))
        return {"keys": [{"keyName": "key1", "value": "k-one"}], "primarySharedKey": "shared"}


def evaluate(
    expr: Any, parameters: dict[str, Any] | None = None, variables: dict[str, Any] | None = None
) -> Any:
    """Evaluate one value through an output of a one-off template."""
    template = {
        "parameters": {k: {"type": _type(v), "defaultValue": v} for k, v in (parameters or {}).items()},
        "variables": variables or {},
        "resources": [],
        "outputs": {"o": {"type": "object", "value": {"v": expr}}},
    }
    return plan_deployment(template, {}, SCOPE).outputs(RecordingResolver())["o"]["value"]["v"]


def _type(v: Any) -> str:
    return {bool: "bool", int: "int", str: "string", list: "array", dict: "object"}[type(v)]


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("[concat('a', 'b', 1, true())]", "ab1True"),
        ("[concat(createArray(1, 2), createArray(3))]", [1, 2, 3]),
        ("['it''s']", "it's"),
        ("[[literal]", "[literal]"),
        ("plain text", "plain text"),
        ("[format('{0}-{1}-{0}', 'x', 7)]", "x-7-x"),
        ("[format('{{{0}}}', 'x')]", "{x}"),
        ("[toLower('AbC')]", "abc"),
        ("[toUpper('AbC')]", "ABC"),
        ("[substring('abcdef', 1, 3)]", "bcd"),
        ("[substring('abcdef', 2)]", "cdef"),
        ("[join(createArray('a', 'b'), '; ')]", "a; b"),
        ("[split('a,b;c', createArray(',', ';'))]", ["a", "b", "c"]),
        ("[replace('a-b-c', '-', '')]", "abc"),
        ("[length('abc')]", 3),
        ("[length(createArray(1, 2))]", 2),
        ("[length(createObject('a', 1))]", 1),
        ("[if(equals(1, 1), 'yes', 'no')]", "yes"),
        ("[if(false(), json('not json'), 'lazy')]", "lazy"),
        ("[empty('')]", True),
        ("[empty(null())]", True),
        ("[empty(createArray(1))]", False),
        ("[coalesce(null(), null(), 'c')]", "c"),
        ("[not(and(true(), or(false(), true())))]", False),
        (
            "[union(createObject('a', 1, 'n', createObject('x', 1)), createObject('b', 2, 'n', createObject('y', 2)))]",
            {"a": 1, "n": {"x": 1, "y": 2}, "b": 2},
        ),
        ("[union(createArray(1, 2), createArray(2, 3))]", [1, 2, 3]),
        ("[contains('abc', 'b')]", True),
        ("[contains(createArray(1, 2), 3)]", False),
        ("[contains(createObject('Key', 1), 'key')]", True),
        ("[first(createArray(4, 5))]", 4),
        ("[last('xyz')]", "z"),
        ("[string(createObject('a', createArray(1)))]", '{"a":[1]}'),
        ("[int('42')]", 42),
        ("[bool('True')]", True),
        ("[json('{\"a\": [1, null]}').a[1]]", None),
        ("[createObject('a', createObject('B', 5)).a.b]", 5),
        ("[createObject('k', 'v')['k']]", "v"),
        ("[createArray(10, 20, 30)[add(1, 1)]]", 30),
        ("[uri('https://host/a/b', 'c')]", "https://host/a/c"),
        ("[resourceGroup().name]", "rg-ai"),
        ("[resourceGroup().id]", RG_ID),
        ("[resourceGroup().location]", "eastus"),
        ("[subscription().subscriptionId]", SUB),
        ("[deployment().name]", "inference"),
        (
            "[resourceId('Microsoft.Storage/storageAccounts', 'sa')]",
            f"{RG_ID}/providers/Microsoft.Storage/storageAccounts/sa",
        ),
        (
            "[resourceId('Microsoft.Storage/storageAccounts/fileServices/shares', 'sa', 'default', 'sh')]",
            f"{RG_ID}/providers/Microsoft.Storage/storageAccounts/sa/fileServices/default/shares/sh",
        ),
        (
            "[resourceId('other-rg', 'Microsoft.App/containerApps', 'app')]",
            f"/subscriptions/{SUB}/resourceGroups/other-rg/providers/Microsoft.App/containerApps/app",
        ),
        (
            "[resourceId('sub2', 'rg2', 'Microsoft.App/containerApps', 'app')]",
            "/subscriptions/sub2/resourceGroups/rg2/providers/Microsoft.App/containerApps/app",
        ),
        ("[ toLower ( 'A' ) ]", "a"),
    ],
)
def test_expression(expr: str, expected: Any) -> None:
    assert evaluate(expr) == expected


def test_parameters_and_variables_resolve_lazily_and_case_insensitively() -> None:
    variables = {"b": "[concat(variables('A'), parameters('P'))]", "a": "x"}
    assert evaluate("[variables('B')]", parameters={"p": "y"}, variables=variables) == "xy"


def test_unique_string_is_arms_algorithm() -> None:
    # Values ARM (and Bicep) return for these inputs.
    assert unique_string("test") == "rbgf3xv4ufgzg"
    assert unique_string("hello", "world") == "a7wkljktk6wne"
    assert (
        unique_string(f"/subscriptions/{'0' * 8}-0000-0000-0000-{'0' * 12}/resourceGroups/my-rg")
        == "bmg7c6xu4tw46"
    )
    assert evaluate("[uniqueString('foo', 'bar', 'baz')]") == "xzi4ioaxtmth4"


def test_guid_is_deterministic_uuid5() -> None:
    assert evaluate("[guid('a', 'b')]") == arm_guid("a", "b")
    assert arm_guid("a", "b") != arm_guid("a-b", "")
    assert len(arm_guid("x")) == 36


@pytest.mark.parametrize(
    ("expr", "fragment"),
    [
        ("[nosuchfunction(1)]", "The template function 'nosuchfunction' is not valid"),
        ("[substring('abc', 1, 5)]", "must refer to a location within the string"),
        ("[toLower()]", "must have exactly '1' parameter(s)"),
        (
            "[createObject('a', 1).b]",
            "The language expression property 'b' doesn't exist, available properties are 'a'",
        ),
        ("[createArray(1)[3]]", "array index '3' is out of bounds"),
        ("[variables('missing')]", "The template variable 'missing' is not found"),
        ("[parameters('missing')]", "The template parameter 'missing' is not found"),
        ("[concat('a']", "is not valid"),
        ("[true]", "is not valid"),
        ("['unterminated]", "not terminated"),
        ("[reference('/subscriptions/x/resourceGroups/y/providers/A.B/c/d').x]", None),
    ],
)
def test_bad_expressions_fail_the_way_arm_does(expr: str, fragment: str | None) -> None:
    template = {"resources": [], "outputs": {"o": {"type": "string", "value": expr}}}
    plan = plan_deployment(template, {}, SCOPE)
    with pytest.raises(TemplateError) as info:
        plan.outputs(RecordingResolver())
    err = info.value
    if fragment is None:  # reference() to a resource that does not exist
        assert err.code == "ResourceNotFound"
        assert "A.B/c/d" in err.message
        return
    assert err.code == "DeploymentOutputEvaluationFailed"
    assert err.details[0]["target"] == "o"
    assert fragment in err.details[0]["message"]
    assert err.body()["details"] == err.details


API_KEY = "key-for-the-template-engine-tests"


def _inference_plan(**overrides: Any) -> Any:
    template = json.loads((REPO / "infra/provision/inference.json").read_text())
    params = json.loads((REPO / "infra/provision/inference.parameters.json").read_text())["parameters"]
    params["inferenceApiKey"] = {"value": API_KEY}
    params.update({k: {"value": v} for k, v in overrides.items()})
    return plan_deployment(template, params, SCOPE)


def test_inference_template_plans_with_names_derived_from_the_resource_group() -> None:
    plan = _inference_plan()
    suffix = unique_string(RG_ID)[:5]
    names = {r.type: r.name for r in plan.resources}
    assert names == {
        "Microsoft.Storage/storageAccounts": f"aistorage{suffix}",
        "Microsoft.Storage/storageAccounts/fileServices": f"aistorage{suffix}/default",
        "Microsoft.Storage/storageAccounts/fileServices/shares": f"aistorage{suffix}/default/aifileshare{suffix}",
        "Microsoft.OperationalInsights/workspaces": f"ailog{suffix}",
        "Microsoft.App/managedEnvironments": f"aienv{suffix}",
        "Microsoft.App/managedEnvironments/storages": f"aienv{suffix}/aienvstorage{suffix}",
        "Microsoft.App/containerApps": f"aiacaapp{suffix}",
    }
    assert _inference_plan().resources[0].name == plan.resources[0].name  # stable across runs
    order = [r.id for r in plan.resources]
    for res in plan.resources:
        assert all(order.index(dep) < order.index(res.id) for dep in res.depends_on)


def test_inference_template_takes_explicit_names() -> None:
    plan = _inference_plan(storageAccountName="mystorage", acaAppName="myapp")
    names = {r.type: r.name for r in plan.resources}
    assert names["Microsoft.Storage/storageAccounts"] == "mystorage"
    assert names["Microsoft.App/containerApps"] == "myapp"


def test_inference_bodies_and_outputs_read_resources_through_the_resolver() -> None:
    plan = _inference_plan(gpuProfileType="NC24-A100", maximumInstanceCount=3)
    app = plan.resources[-1]
    resolver = RecordingResolver(
        {
            app.id.lower(): {
                "id": app.id,
                "properties": {"configuration": {"ingress": {"fqdn": "app.host"}}},
            },
            next(r.id for r in plan.resources if r.type.endswith("workspaces")).lower(): {
                "properties": {"customerId": "cid"}
            },
        }
    )
    bodies = {r.type: plan.resource_body(r, resolver) for r in plan.resources}
    env = bodies["Microsoft.App/managedEnvironments"]["properties"]
    assert env["appLogsConfiguration"]["logAnalyticsConfiguration"] == {
        "customerId": "cid",
        "sharedKey": "shared",
    }
    assert env["workloadProfiles"][1] == {
        "workloadProfileType": "NC24-A100",
        "name": "GPU",
        "minimumCount": 0,
        "maximumCount": 3,
    }
    storage = bodies["Microsoft.App/managedEnvironments/storages"]["properties"]["azureFile"]
    assert storage["accountKey"] == "k-one"
    container = bodies["Microsoft.App/containerApps"]["properties"]["template"]["containers"][0]
    assert container["args"] == ["cd /mount/inference; bash ./start.sh"]
    assert container["env"] == [{"name": "INFERENCE_API_KEY", "secretRef": "inference-api-key"}]
    configuration = bodies["Microsoft.App/containerApps"]["properties"]["configuration"]
    assert configuration["secrets"] == [{"name": "inference-api-key", "value": API_KEY}]
    assert bodies["Microsoft.App/containerApps"]["properties"]["template"]["scale"] == {
        "minReplicas": 0,
        "maxReplicas": 3,
    }
    actions = [c[0] for c in resolver.calls]
    assert actions.count("listKeys") == 2
    outputs = plan.outputs(resolver)
    assert outputs["ACA_APP_ENDPOINT"] == {"type": "String", "value": "app.host"}
    assert outputs["RESOURCE_GROUP_NAME"]["value"] == "rg-ai"


def test_consumption_gpu_profile_has_no_node_counts() -> None:
    plan = _inference_plan()
    env = next(r for r in plan.resources if r.type == "Microsoft.App/managedEnvironments")
    resolver = RecordingResolver({r.id.lower(): {"properties": {"customerId": "c"}} for r in plan.resources})
    body = plan.resource_body(env, resolver)
    assert body["properties"]["workloadProfiles"][1] == {
        "workloadProfileType": "Consumption-GPU-NC24-A100",
        "name": "GPU",
    }


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({}, "The value for the template parameter 'defaultCommands' is not provided"),
        (
            {"defaultCommands": {"value": "x"}},
            "Expected a value of type 'Array', but received a value of type 'String'",
        ),
        (
            {"defaultCommands": {"value": []}, "gpuProfileType": {"value": "H100"}},
            "not part of the allowed value(s)",
        ),
        (
            {"defaultCommands": {"value": []}, "maximumInstanceCount": {"value": 0}},
            "less than the minimum value '1'",
        ),
        ({"defaultCommands": {"value": []}, "bogus": {"value": 1}}, "The template parameters 'bogus'"),
    ],
)
def test_parameter_errors_are_invalid_template(params: dict[str, Any], fragment: str) -> None:
    template = json.loads((REPO / "infra/provision/inference.json").read_text())
    with pytest.raises(TemplateError) as info:
        plan_deployment(template, params, SCOPE)
    assert info.value.code == "InvalidTemplate"
    assert info.value.message.startswith("Deployment template validation failed: '")
    assert fragment in info.value.message


def _res(name: str, deps: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    return {"type": "A.B/things", "apiVersion": "2020-01-01", "name": name, "dependsOn": deps or [], **extra}


def test_depends_on_orders_resources_and_cycles_are_rejected() -> None:
    template = {
        "resources": [
            _res("c", ["[resourceId('A.B/things', 'b')]"]),
            _res("b", ["a"]),
            _res("a"),
        ]
    }
    assert [r.name for r in plan_deployment(template, {}, SCOPE).resources] == ["a", "b", "c"]
    template["resources"][2]["dependsOn"] = ["c"]
    with pytest.raises(TemplateError, match="Circular dependency detected on resource"):
        plan_deployment(template, {}, SCOPE)
    template["resources"][2]["dependsOn"] = ["nothere"]
    with pytest.raises(TemplateError, match="The resource 'nothere' is not defined in the template"):
        plan_deployment(template, {}, SCOPE)


def test_symbolic_names_existing_conditions_and_implied_dependencies() -> None:
    template = {
        "languageVersion": "2.0",
        "resources": {
            "app": {
                "type": "A.B/things",
                "apiVersion": "2020-01-01",
                "name": "app",
                "properties": {"key": "[listKeys('store', '2020-01-01').keys[0].value]"},
            },
            "store": {"type": "A.B/stores", "apiVersion": "2020-01-01", "name": "st", "existing": True},
            "child": {
                "type": "A.B/things/children",
                "apiVersion": "2020-01-01",
                "name": "app/kid",
                "dependsOn": ["app"],
                "condition": "[equals(1, 2)]",
            },
        },
        "outputs": {"where": {"type": "object", "value": "[reference('store', '2020-01-01', 'Full')]"}},
    }
    plan = plan_deployment(template, {}, SCOPE)
    by = {r.symbolic_name: r for r in plan.resources}
    assert [r.symbolic_name for r in plan.resources] == ["store", "app", "child"]
    assert by["store"].existing and by["app"].depends_on == [by["store"].id]
    assert by["child"].condition is False and by["child"].id.endswith("/things/app/children/kid")
    store_id = by["store"].id
    resolver = RecordingResolver({store_id.lower(): {"id": store_id, "properties": {"p": 1}}})
    assert plan.resource_body(by["app"], resolver) == {"properties": {"key": "k-one"}}
    assert ("listKeys", store_id, "2020-01-01", "null") in resolver.calls
    assert plan.outputs(resolver)["where"]["value"] == {
        "id": store_id,
        "properties": {"p": 1},
        "apiVersion": "2020-01-01",
    }


def test_classic_nested_resources_get_full_type_and_name() -> None:
    template = {
        "resources": [_res("p", resources=[{"type": "kids", "apiVersion": "2020-01-01", "name": "k"}])]
    }
    plan = plan_deployment(template, {}, SCOPE)
    kid = plan.resources[1]
    assert (kid.type, kid.name) == ("A.B/things/kids", "p/k")
    assert isinstance(kid, PlannedResource)


def test_name_segments_must_match_the_type() -> None:
    with pytest.raises(TemplateError, match="incorrect segment lengths"):
        plan_deployment({"resources": [_res("a/b")]}, {}, SCOPE)


def test_reference_is_not_allowed_in_resource_names() -> None:
    template = {"resources": [_res("[reference('x').name]")]}
    with pytest.raises(TemplateError, match="'reference' is not expected at this location"):
        plan_deployment(template, {}, SCOPE)
