"""ARM routes the emulator serves that no spec file declares, each with the reason it is legitimate.

Everything here is part of ARM's generic asynchronous-operation protocol (Azure Resource Manager
RPC, "Asynchronous operations"): the URLs a long-running operation hands out in its
``Azure-AsyncOperation`` / ``Location`` headers. Resource providers do not describe them in their
Swagger, so they are checked against the RPC's own contract below instead. Anything else the spec
does not know fails the fidelity check; add it here only with a reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# The RPC's operation-status resource: ``status`` always; ``error`` once the operation Failed/Canceled.
_ERROR = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {
        "code": {"type": "string"},
        "message": {"type": "string"},
        "target": {"type": ["string", "null"]},
        "details": {"type": "array", "items": {"type": "object"}},
    },
}
OPERATION_STATUS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["status"],
    "properties": {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "status": {"type": "string", "minLength": 1},
        "startTime": {"type": "string", "format": "date-time"},
        "endTime": {"type": "string", "format": "date-time"},
        "percentComplete": {"type": "number", "minimum": 0, "maximum": 100},
        "error": _ERROR,
    },
    "allOf": [
        {
            "if": {"properties": {"status": {"enum": ["Failed", "Canceled"]}}, "required": ["status"]},
            "then": {"required": ["error"]},
        }
    ],
}


@dataclass(frozen=True)
class AllowedRoute:
    name: str
    method: str
    pattern: re.Pattern[str]
    statuses: frozenset[int]  # success statuses the RPC allows (errors use the ARM error shape)
    body_schema: dict[str, Any] | None  # None: body not constrained (e.g. a final resource)
    reason: str


# ARM's cloud metadata document (``GET /metadata/endpoints?api-version=2022-09-01``), as
# az cloud register --endpoint-resource-manager / azure-cli's cloud module read it: a list of clouds.
CLOUD_METADATA_SCHEMA: dict[str, Any] = {
    "type": "array",
    "minItems": 1,
    "items": {
        "type": "object",
        "required": ["name", "resourceManager", "portal", "authentication", "suffixes"],
        "properties": {
            "name": {"type": "string"},
            "resourceManager": {"type": "string", "format": "uri"},
            "portal": {"type": "string"},
            "authentication": {
                "type": "object",
                "required": ["loginEndpoint", "audiences", "tenant"],
                "properties": {
                    "loginEndpoint": {"type": "string"},
                    "audiences": {"type": "array", "minItems": 1, "items": {"type": "string"}},
                    "tenant": {"type": "string"},
                    "identityProvider": {"type": "string"},
                },
            },
            "suffixes": {"type": "object"},
        },
    },
}

ALLOWED: tuple[AllowedRoute, ...] = (
    AllowedRoute(
        "ARM cloud metadata",
        "GET",
        re.compile(r"^/metadata/endpoints/?$", re.IGNORECASE),
        frozenset({200}),
        CLOUD_METADATA_SCHEMA,
        "ARM's cloud description (endpoints, token audiences); a platform document, not in any RP spec.",
    ),
    AllowedRoute(
        "ARM async operation status",
        "GET",
        # deployments/{name}/operationStatuses/{id}, locations/{loc}/containerappOperationStatuses/{id},
        # locations/{loc}/managedEnvironmentOperationStatuses/{id}, ...
        re.compile(r"/[A-Za-z]*operationStatuses/[^/]+/?$", re.IGNORECASE),
        frozenset({200}),
        OPERATION_STATUS_SCHEMA,
        "Azure-AsyncOperation URL of a long-running operation (ARM RPC async protocol; not in RP specs).",
    ),
    AllowedRoute(
        "ARM async operation result",
        "GET",
        # containerappOperationResults/{id}, /subscriptions/{s}/operationresults/{token},
        # Microsoft.Storage/locations/{loc}/asyncoperations/{id} (storage's Location URL), ...
        re.compile(r"/([A-Za-z]*operationResults|asyncOperations)/[^/]+/?$", re.IGNORECASE),
        frozenset({200, 202, 204}),
        None,
        "Location URL of a long-running operation: 202 while running, then 200 with the result or 204.",
    ),
)


def allowed_route(method: str, path: str) -> AllowedRoute | None:
    for route in ALLOWED:
        if route.method == method.upper() and route.pattern.search(path):
            return route
    return None


# Response keys real Azure sends that its spec does not declare (the spec lags the service). The
# validator closes declared objects, so an undeclared key is one the emulator invented, unless
# it is here, with the evidence that Azure really sends it.
UNDECLARED_BUT_REAL: dict[str, str] = {
    "firstPartyConfiguration": "Microsoft.App managed environment properties: in both .NET ContainerApps recordings",
    "trackingId": "Microsoft.Resources deployment operation properties: returned by ARM's deployment operations list",
}
