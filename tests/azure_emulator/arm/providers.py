"""Resource provider metadata (``GET /subscriptions/{id}/providers/{namespace}``) for the providers the project
touches: every resource type with its api-versions, default api-version, locations and capabilities, and the
provider's authorizations.

``CATALOG`` is derived from the reference specs and ARM template schemas by
``fidelity/provider_catalog.py`` (``test_provider_metadata.py`` fails when the two disagree); it is a
literal here so that the emulator runs without the reference data. ``ASYNC_TYPES`` are the
operation-status types whose URLs the emulator hands out (ARM's async protocol; not in the RP specs).
"""

from __future__ import annotations

import uuid
from typing import Any

from tests.azure_emulator.arm.locations import LOCATIONS

CATALOG: dict[str, dict[str, tuple[str, ...]]] = {
    "Microsoft.App": {
        "agents": ("2026-01-01",),
        "agents/connectors": ("2026-01-01",),
        "agentSpaces": ("2026-01-01",),
        "agentSpaces/connectors": ("2026-01-01",),
        "connectedEnvironments": ("2026-07-01", "2026-01-01"),
        "connectedEnvironments/certificates": ("2026-07-01", "2026-01-01"),
        "connectedEnvironments/daprComponents": ("2026-07-01", "2026-01-01"),
        "connectedEnvironments/storages": ("2026-07-01", "2026-01-01"),
        "containerApps": ("2026-07-01", "2026-01-01"),
        "containerApps/authConfigs": ("2026-07-01", "2026-01-01"),
        "containerApps/detectorProperties": ("2026-07-01",),
        "containerApps/detectorProperties/revisions": ("2026-07-01",),
        "containerApps/detectors": ("2026-07-01",),
        "containerApps/functions": ("2026-07-01",),
        "containerApps/labelHistories": ("2026-07-01",),
        "containerApps/privateEndpointConnections": ("2026-07-01",),
        "containerApps/privateLinkResources": ("2026-07-01",),
        "containerApps/revisions": ("2026-07-01",),
        "containerApps/revisions/functions": ("2026-07-01",),
        "containerApps/revisions/replicas": ("2026-07-01",),
        "containerApps/sourcecontrols": ("2026-07-01", "2026-01-01"),
        "jobs": ("2026-07-01", "2026-01-01"),
        "jobs/detectorProperties": ("2026-07-01",),
        "jobs/detectors": ("2026-07-01",),
        "jobs/executions": ("2026-07-01",),
        "locations": ("2026-07-01",),
        "locations/availableManagedEnvironmentsModes": ("2026-07-01",),
        "locations/availableManagedEnvironmentsWorkloadProfileTypes": ("2026-07-01",),
        "locations/billingMeters": ("2026-07-01",),
        "locations/usages": ("2026-07-01",),
        "managedEnvironments": ("2026-07-01", "2026-01-01"),
        "managedEnvironments/certificates": ("2026-07-01", "2026-01-01"),
        "managedEnvironments/daprComponents": ("2026-07-01", "2026-01-01"),
        "managedEnvironments/daprComponents/resiliencyPolicies": ("2026-07-01",),
        "managedEnvironments/detectorProperties": ("2026-07-01",),
        "managedEnvironments/detectors": ("2026-07-01",),
        "managedEnvironments/dotNetComponents": ("2026-07-01",),
        "managedEnvironments/httpRouteConfigs": ("2026-07-01", "2026-01-01"),
        "managedEnvironments/javaComponents": ("2026-07-01", "2026-01-01"),
        "managedEnvironments/maintenanceConfigurations": ("2026-07-01", "2026-01-01"),
        "managedEnvironments/managedCertificates": ("2026-07-01", "2026-01-01"),
        "managedEnvironments/privateEndpointConnections": ("2026-07-01", "2026-01-01"),
        "managedEnvironments/privateLinkResources": ("2026-07-01",),
        "managedEnvironments/storages": ("2026-07-01", "2026-01-01"),
        "managedEnvironments/usages": ("2026-07-01",),
        "managedEnvironments/workloadProfileStates": ("2026-07-01",),
        "operations": ("2026-07-01",),
        "sandboxGroups": ("2026-07-01",),
        "sandboxGroups/vnetConnections": ("2026-07-01",),
        "sessionPools": ("2026-07-01", "2026-01-01"),
    },
    "Microsoft.OperationalInsights": {
        "clusters": ("2025-07-01",),
        "deletedWorkspaces": ("2025-07-01",),
        "queryPacks": ("2025-07-01",),
        "queryPacks/queries": ("2025-07-01",),
        "workspaces": ("2025-07-01",),
        "workspaces/dataExports": ("2025-07-01",),
        "workspaces/dataSources": ("2025-07-01",),
        "workspaces/linkedServices": ("2025-07-01",),
        "workspaces/linkedStorageAccounts": ("2025-07-01",),
        "workspaces/savedSearches": ("2025-07-01",),
        "workspaces/storageInsightConfigs": ("2025-07-01",),
        "workspaces/summaryLogs": ("2025-07-01",),
        "workspaces/tables": ("2025-07-01",),
    },
    "Microsoft.Resources": {
        "deployments": ("2026-06-01",),
        "deployments/operations": ("2026-06-01",),
        "locations": ("2022-12-01",),
        "operations": ("2025-04-01", "2022-12-01"),
        "providers": ("2025-04-01",),
        "resourceGroups": ("2025-04-01",),
        "subscriptions": ("2022-12-01",),
        "tags": ("2025-04-01",),
        "tenants": ("2022-12-01",),
    },
    "Microsoft.Storage": {
        "contextCaches": ("2026-09-01",),
        "contextCaches/contextCacheContainers": ("2026-09-01",),
        "deletedAccounts": ("2026-09-01",),
        "locations": ("2026-09-01",),
        "locations/deletedAccounts": ("2026-09-01",),
        "locations/usages": ("2026-09-01",),
        "operations": ("2026-09-01",),
        "skus": ("2026-09-01",),
        "storageAccounts": ("2026-09-01", "2026-04-01"),
        "storageAccounts/accountMigrations": ("2026-09-01",),
        "storageAccounts/advancedPlatformMetrics": ("2026-09-01", "2026-04-01"),
        "storageAccounts/blobServices": ("2026-09-01", "2026-04-01"),
        "storageAccounts/blobServices/containers": ("2026-09-01", "2026-04-01"),
        "storageAccounts/blobServices/containers/immutabilityPolicies": ("2026-09-01", "2026-04-01"),
        "storageAccounts/connectors": ("2026-09-01", "2026-04-01"),
        "storageAccounts/dataShares": ("2026-09-01", "2026-04-01"),
        "storageAccounts/encryptionScopes": ("2026-09-01", "2026-04-01"),
        "storageAccounts/fileServices": ("2026-09-01", "2026-04-01"),
        "storageAccounts/fileServices/shares": ("2026-09-01", "2026-04-01"),
        "storageAccounts/fileServices/usages": ("2026-09-01",),
        "storageAccounts/inventoryPolicies": ("2026-09-01", "2026-04-01"),
        "storageAccounts/localUsers": ("2026-09-01", "2026-04-01"),
        "storageAccounts/managementPolicies": ("2026-09-01", "2026-04-01"),
        "storageAccounts/networkSecurityPerimeterConfigurations": ("2026-09-01",),
        "storageAccounts/objectReplicationPolicies": ("2026-09-01", "2026-04-01"),
        "storageAccounts/privateEndpointConnections": ("2026-09-01", "2026-04-01"),
        "storageAccounts/privateLinkResources": ("2026-09-01",),
        "storageAccounts/queueServices": ("2026-09-01", "2026-04-01"),
        "storageAccounts/queueServices/queues": ("2026-09-01", "2026-04-01"),
        "storageAccounts/reports": ("2026-09-01",),
        "storageAccounts/storageTaskAssignments": ("2026-09-01", "2026-04-01"),
        "storageAccounts/storageTaskAssignments/reports": ("2026-09-01",),
        "storageAccounts/tableServices": ("2026-09-01", "2026-04-01"),
        "storageAccounts/tableServices/tables": ("2026-09-01", "2026-04-01"),
    },
}

# Operation-status resources of ARM's async protocol that the emulator's polling URLs use.
ASYNC_TYPES: dict[str, tuple[str, ...]] = {
    "Microsoft.App": (
        "locations/containerappOperationResults",
        "locations/containerappOperationStatuses",
        "locations/managedEnvironmentOperationResults",
        "locations/managedEnvironmentOperationStatuses",
    ),
    "Microsoft.Storage": ("locations/asyncoperations",),
    "Microsoft.OperationalInsights": ("locations", "locations/operationStatuses"),
}

# The api-version the pinned SDKs send: the default where a type has it.
SDK_VERSIONS = {
    "Microsoft.App": "2026-07-01",
    "Microsoft.Storage": "2026-09-01",
    "Microsoft.OperationalInsights": "2025-07-01",
    "Microsoft.Resources": "2025-04-01",
}

# Types that have no region (Azure lists no locations for them).
_GLOBAL = {"operations", "locations", "tenants", "subscriptions", "providers", "tags", "skus"}
_TRACKED = (
    "CrossResourceGroupResourceMove, CrossSubscriptionResourceMove, SystemAssignedResourceIdentity, "
    "SupportsTags, SupportsLocation"
)


def canonical_namespace(namespace: str) -> str | None:
    return next((ns for ns in CATALOG if ns.lower() == namespace.lower()), None)


def _type_body(namespace: str, rtype: str, versions: tuple[str, ...]) -> dict[str, Any]:
    regional = rtype.split("/")[0] not in _GLOBAL
    wanted = SDK_VERSIONS.get(namespace)
    return {
        "resourceType": rtype,
        "locations": list(LOCATIONS.values()) if regional else [],
        "apiVersions": list(versions),
        "defaultApiVersion": wanted if wanted in versions else versions[0],
        "capabilities": _TRACKED if regional and "/" not in rtype else "None",
    }


def provider_body(subscription_id: str, namespace: str) -> dict[str, Any]:
    """The provider as Providers_Get answers (``namespace`` already canonical)."""
    types = dict(CATALOG[namespace])
    newest = max(v for versions in types.values() for v in versions)
    for rtype in ASYNC_TYPES.get(namespace, ()):
        types.setdefault(rtype, (newest,))
    # Azure names the provider's first-party application and role here; these ids are stable
    # placeholders (uuid5 of the namespace), not Microsoft's.
    app = uuid.uuid5(uuid.NAMESPACE_URL, f"https://management.azure.com/providers/{namespace}")
    role = uuid.uuid5(app, "role")
    return {
        "id": f"/subscriptions/{subscription_id}/providers/{namespace}",
        "namespace": namespace,
        "authorizations": [{"applicationId": str(app), "roleDefinitionId": str(role)}],
        "resourceTypes": [
            _type_body(namespace, t, v) for t, v in sorted(types.items(), key=lambda kv: kv[0].lower())
        ],
        "registrationState": "Registered",
        "registrationPolicy": "RegistrationRequired",
    }
