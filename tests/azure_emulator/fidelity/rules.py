"""Behaviour rules the schemas cannot express, checked on the emulator's ARM traffic.

Each rule returns ``(where, reason)`` pairs, like the schema checks in :mod:`validator`:

- **Long-running operations answered synchronously.** A create (PUT of a resource the traffic has not
  shown to exist) answered 200 where the spec declares ``x-ms-long-running-operation`` with an initial
  201/202, and a delete of an existing resource answered 204 where the spec declares 202. Azure runs
  those as long-running operations, and the SDK's polling path would never be exercised.
- **Read-only properties the spec declares but the answer leaves out**, for the resource types this
  project creates (its template and SDK calls): Azure computes and sends them (``null`` counts as sent);
  the ones Azure really omits are listed, with the reason, in ``allowlist.ABSENT_BUT_REAL`` (always) and
  ``allowlist.ABSENT_WHILE_RUNNING`` (until the provisioningState is terminal).
- **Provider metadata**: every resource type of ``GET /subscriptions/{id}/providers/{ns}`` lists its
  ``apiVersions`` (non-empty), and ``defaultApiVersion`` is one of them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.azure_emulator.fidelity.allowlist import ABSENT_BUT_REAL, ABSENT_WHILE_RUNNING
from tests.azure_emulator.fidelity.specs import Operation, SpecDocuments
from tests.azure_emulator.fidelity.structure import SpecNode
from tests.azure_emulator.traffic import Exchange

Problem = tuple[str, str]

# Operations that answer with a resource this project creates, and that resource's type.
PROJECT_RESOURCES: dict[str, str] = {
    "StorageAccounts_Create": "Microsoft.Storage/storageAccounts",
    "StorageAccounts_GetProperties": "Microsoft.Storage/storageAccounts",
    "FileServices_SetServiceProperties": "Microsoft.Storage/storageAccounts/fileServices",
    "FileServices_GetServiceProperties": "Microsoft.Storage/storageAccounts/fileServices",
    "FileShares_Create": "Microsoft.Storage/storageAccounts/fileServices/shares",
    "FileShares_Get": "Microsoft.Storage/storageAccounts/fileServices/shares",
    "Workspaces_CreateOrUpdate": "Microsoft.OperationalInsights/workspaces",
    "Workspaces_Get": "Microsoft.OperationalInsights/workspaces",
    "ManagedEnvironments_CreateOrUpdate": "Microsoft.App/managedEnvironments",
    "ManagedEnvironments_Get": "Microsoft.App/managedEnvironments",
    "ManagedEnvironmentsStorages_CreateOrUpdate": "Microsoft.App/managedEnvironments/storages",
    "ManagedEnvironmentsStorages_Get": "Microsoft.App/managedEnvironments/storages",
    "ContainerApps_CreateOrUpdate": "Microsoft.App/containerApps",
    "ContainerApps_Get": "Microsoft.App/containerApps",
    "Deployments_CreateOrUpdate": "Microsoft.Resources/deployments",
    "Deployments_Get": "Microsoft.Resources/deployments",
}
PROVIDER_OPERATIONS = frozenset(
    {"Providers_Get", "Providers_GetAtTenantScope", "Providers_Register", "Providers_List"}
)


def _body(ex: Exchange) -> Any:
    try:
        return json.loads(ex.response_body) if ex.response_body else None
    except ValueError:
        return None


# -- long-running operations ---------------------------------------------------------------------


def synchronous_lro(op: Operation, ex: Exchange, existed: bool | None) -> list[Problem]:
    """``existed``: whether the traffic so far showed the resource (None: unknown, nothing checked)."""
    if not op.long_running or existed is None:
        return []
    declared = set(op.responses)
    if op.method == "PUT" and not existed and ex.status == 200 and declared & {"201", "202"}:
        initial = "/".join(sorted(declared & {"201", "202"}))
        return [
            (
                "response status",
                f"a create answered 200 synchronously, but the spec declares a long-running operation "
                f"(x-ms-long-running-operation) whose create answers {initial} and is polled",
            )
        ]
    if op.method == "DELETE" and existed and ex.status == 204 and "202" in declared:
        return [
            (
                "response status",
                "the delete of an existing resource answered 204 synchronously, but the spec declares a "
                "long-running operation (x-ms-long-running-operation) that answers 202 and is polled",
            )
        ]
    return []


class Existence:
    """Which resources the captured traffic has shown to exist (by lower-cased path), in order."""

    def __init__(self) -> None:
        self._paths: set[str] = set()

    def existed(self, ex: Exchange) -> bool | None:
        if ex.method not in ("PUT", "DELETE"):
            return None
        return ex.path.rstrip("/").lower() in self._paths

    def record(self, ex: Exchange) -> None:
        path = ex.path.rstrip("/").lower()
        if not 200 <= ex.status < 300:
            return
        if ex.method == "DELETE":
            self._paths = {p for p in self._paths if p != path and not p.startswith(path + "/")}
            return
        if ex.method in ("PUT", "PATCH", "GET"):
            self._paths.add(path)
        # A deployment creates resources without a direct PUT: its outputResources name them.
        body = _body(ex)
        props = body.get("properties") if isinstance(body, dict) else None
        outputs = props.get("outputResources") if isinstance(props, dict) else None
        for res in outputs if isinstance(outputs, list) else []:
            if isinstance(res, dict) and isinstance(res.get("id"), str):
                self._paths.add(res["id"].rstrip("/").lower())


# -- read-only properties -------------------------------------------------------------------------


@dataclass
class _Shape:
    """What the read-only walk needs of one schema node, computed once per node (the walk runs on every
    answer of every test, so following $ref/allOf again each time would be slow)."""

    is_map: bool
    items: SpecNode | None
    declared: dict[str, tuple[bool, SpecNode | None]]  # key → (readOnly, schema of its value)


_SHAPES: dict[tuple[Path, int], _Shape] = {}


def _read_only(docs: SpecDocuments, file: Path, prop: Any) -> bool:
    if isinstance(prop, dict) and prop.get("readOnly"):
        return True
    while isinstance(prop, dict) and "$ref" in prop:
        file, _, prop = docs.resolve(file, prop["$ref"])
        if isinstance(prop, dict) and prop.get("readOnly"):
            return True
    return False


def _shape(node: SpecNode) -> _Shape:
    key = (node.file, id(node.node))
    if key not in _SHAPES:
        props, _ = node._merged()
        _SHAPES[key] = _Shape(
            is_map=node.is_map(),
            items=node.items(),
            declared={
                name: (_read_only(node.docs, file, prop), node.child(name))
                for name, (file, prop) in props.items()
            },
        )
    return _SHAPES[key]


TERMINAL_STATES = {"succeeded", "failed", "canceled", "cancelled"}


def absent_read_only(
    resource_type: str, schema: SpecNode, instance: Any, pointer: str = "", running: bool = False
) -> list[Problem]:
    """Read-only properties declared at each level of ``instance`` (recursively) but missing from it;
    ``running``: the resource's provisioningState is not terminal yet."""
    shape = _shape(schema)
    if isinstance(instance, list):
        items = shape.items
        return [
            p
            for i, item in enumerate(instance)
            for p in (
                absent_read_only(resource_type, items, item, f"{pointer}/{i}", running) if items else []
            )
        ]
    if not isinstance(instance, dict) or shape.is_map:
        return []
    problems: list[Problem] = []
    for key, (read_only, child) in sorted(shape.declared.items()):
        where = f"{pointer}/{key}"
        if key in instance:
            if child is not None:
                problems += absent_read_only(resource_type, child, instance[key], where, running)
        elif read_only and not _allowed_absent(resource_type, where, running):
            problems.append(
                (
                    "response" + where,
                    "read-only property declared by the spec is missing (Azure computes and sends it; "
                    "null if unset)",
                )
            )
    return problems


def _allowed_absent(resource_type: str, pointer: str, running: bool) -> bool:
    generic = "/".join("*" if part.isdigit() else part for part in pointer.split("/"))
    if running and f"{resource_type}:{generic}" in ABSENT_WHILE_RUNNING:
        return True
    return f"{resource_type}:{generic}" in ABSENT_BUT_REAL or f"*:{generic}" in ABSENT_BUT_REAL


def resource_read_only(op: Operation, ex: Exchange, schema: SpecNode) -> list[Problem]:
    resource_type = PROJECT_RESOURCES.get(op.operation_id)
    if resource_type is None or not 200 <= ex.status < 300:
        return []
    body = _body(ex)
    if not isinstance(body, dict):
        return []
    state = (body.get("properties") or {}).get("provisioningState")
    running = str(state).lower() not in TERMINAL_STATES
    return absent_read_only(resource_type, schema, body, running=running)


# -- provider metadata ----------------------------------------------------------------------------


def provider_metadata(op: Operation, ex: Exchange) -> list[Problem]:
    if op.operation_id not in PROVIDER_OPERATIONS or ex.status != 200:
        return []
    body = _body(ex)
    providers = body.get("value") if isinstance(body, dict) and "value" in body else [body]
    problems: list[Problem] = []
    for i, provider in enumerate(providers or []):
        prefix = f"response/value/{i}" if isinstance(body, dict) and "value" in body else "response"
        for j, rtype in enumerate((provider or {}).get("resourceTypes") or []):
            where = f"{prefix}/resourceTypes/{j}"
            versions = rtype.get("apiVersions")
            name = rtype.get("resourceType")
            if not versions:
                problems.append(
                    (
                        f"{where}/apiVersions",
                        f"resource type {name!r} lists no api-versions (Azure lists them all)",
                    )
                )
            default = rtype.get("defaultApiVersion")
            if default is not None and versions and default not in versions:
                problems.append(
                    (
                        f"{where}/defaultApiVersion",
                        f"{default!r} of resource type {name!r} is not one of its apiVersions",
                    )
                )
    return problems
