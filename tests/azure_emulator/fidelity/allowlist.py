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
    "authorizations": "Providers_Get: Azure lists the provider's first-party application and role "
    "(`az provider show`); the resources spec's Provider model omits it",
}


# Read-only properties the spec declares that real Azure leaves out of its answers for the resources
# this project creates, keyed "<resource type>:<JSON pointer>" ("*" for any array index or type).
# Every other declared read-only property must be present (null when unset), see rules.py.
_DEPLOYMENT_REC = "absent from Azure's answers in the .NET DeploymentCollectionTests recording"
_ENV_REC = (
    "absent from the .NET ManagedEnviromentStorageTests and ContainerAppCollectionTests recordings "
    "(api-version 2023-05-01)"
)
_ONLY_WHEN = "Azure sends it only {}; the emulator does not model that"
ABSENT_BUT_REAL: dict[str, str] = {
    # Microsoft.Resources/deployments
    "*:/systemData": "Resource Manager answers for deployments, environment storages, file services and "
    "shares carry no systemData (deployment and environment storage recordings)",
    **{
        f"Microsoft.Resources/deployments:/properties/{key}": _DEPLOYMENT_REC
        for key in (
            "debugSetting",
            "diagnostics",
            "extensions",
            "onErrorDeployment",
            "parametersLink",
            "validatedResources",
            "outputs",  # only once Succeeded, and only for a template with outputs
            "outputResources/*/apiVersion",
            "outputResources/*/extension",
            "outputResources/*/identifiers",
            "outputResources/*/resourceType",
            "providers/*/id",
            "providers/*/registrationPolicy",
            "providers/*/registrationState",
            "providers/*/resourceTypes/*/apiProfiles",
            "providers/*/resourceTypes/*/defaultApiVersion",
            "error",  # only when Failed
        )
    },
    "Microsoft.Resources/deployments:/properties/templateLink": _ONLY_WHEN.format("for a linked template"),
    **{
        f"Microsoft.Resources/deployments:/properties/error/{key}": "Azure leaves empty error fields out "
        "(ARM error contract: details/additionalInfo/target are optional)"
        for key in ("target", "details", "additionalInfo", "details/*/details", "details/*/additionalInfo")
    },
    # Microsoft.App
    "Microsoft.App/containerApps:/identity/principalId": "absent for identity type None (ContainerAppCollectionTests)",
    "Microsoft.App/containerApps:/identity/tenantId": "absent for identity type None (ContainerAppCollectionTests)",
    "Microsoft.App/managedEnvironments:/properties/deploymentErrors": _ENV_REC,
    "Microsoft.App/managedEnvironments:/properties/privateEndpointConnections": _ENV_REC,
    # Microsoft.Storage accounts (Standard_LRS, no failover, no $expand)
    **{
        f"Microsoft.Storage/storageAccounts:/properties/{key}": _ONLY_WHEN.format(when)
        for key, when in (
            ("secondaryLocation", "for geo-redundant SKUs"),
            ("statusOfSecondary", "for geo-redundant SKUs"),
            ("secondaryEndpoints", "for read-access geo-redundant SKUs"),
            ("lastGeoFailoverTime", "after a geo failover"),
            ("failoverInProgress", "during a geo failover"),
            ("accountMigrationInProgress", "during an account migration"),
            ("isSkuConversionBlocked", "while a SKU conversion is blocked"),
            ("geoReplicationStats", "with $expand=geoReplicationStats"),
            ("blobRestoreStatus", "with $expand=blobRestoreStatus"),
            ("customDomain", "when a custom domain is configured"),
            ("keyPolicy", "when a key expiration policy is configured"),
            ("sasPolicy", "when a SAS expiration policy is configured"),
        )
    },
    # Microsoft.Storage file shares (standard, unleased, not deleted, no $expand=stats)
    **{
        f"Microsoft.Storage/storageAccounts/fileServices/shares:/properties/{key}": _ONLY_WHEN.format(when)
        for key, when in (
            ("deleted", "for soft-deleted shares (include=deleted)"),
            ("deletedTime", "for soft-deleted shares (include=deleted)"),
            ("remainingRetentionDays", "for soft-deleted shares (include=deleted)"),
            ("version", "for soft-deleted shares (include=deleted)"),
            ("snapshotTime", "for share snapshots"),
            ("leaseDuration", "while the share is leased"),
            ("shareUsageBytes", "with $expand=stats"),
            ("accessTierStatus", "while an access tier change is pending"),
            ("includedBurstIops", "for premium / provisioned shares"),
            ("maxBurstCreditsForIops", "for premium / provisioned shares"),
            ("nextAllowedQuotaDowngradeTime", "for provisioned (v2) shares"),
            ("nextAllowedProvisionedIopsDowngradeTime", "for provisioned (v2) shares"),
            ("nextAllowedProvisionedBandwidthDowngradeTime", "for provisioned (v2) shares"),
        )
    },
    # Microsoft.OperationalInsights workspaces
    "Microsoft.OperationalInsights/workspaces:/properties/features/associations": _ONLY_WHEN.format(
        "for workspaces associated with other services"
    ),
    "Microsoft.OperationalInsights/workspaces:/properties/features/unifiedSentinelBillingOnly": _ONLY_WHEN.format(
        "for workspaces onboarded to Microsoft Sentinel"
    ),
    "Microsoft.OperationalInsights/workspaces:/properties/privateLinkScopedResources": _ONLY_WHEN.format(
        "for workspaces in an Azure Monitor private link scope"
    ),
}

# Read-only properties Azure leaves out only while the resource's provisioningState is not terminal.
ABSENT_WHILE_RUNNING: dict[str, str] = {
    "Microsoft.Resources/deployments:/properties/outputResources": "absent from the Accepted/Running answers "
    "of the DeploymentCollectionTests recording, present once the deployment ended ([] when nothing was deployed)",
}
