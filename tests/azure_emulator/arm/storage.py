"""Microsoft.Storage (accounts, listKeys, fileServices/default, shares) and Log Analytics workspaces."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
import uuid
from typing import Any

from tests.azure_emulator.arm.common import ResourceId, iso, now
from tests.azure_emulator.arm.state import ArmState, PutOutcome, TypeHandler
from tests.azure_emulator.routing import ArmError
from tests.azure_emulator.storage_registry import get_registry

_ACCOUNT_NAME = re.compile(r"^[a-z0-9]{3,24}$")
_SHARE_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$")


ENCRYPTED_SERVICES = ("blob", "file")


def complete_encryption(requested: Any, previous: Any) -> dict[str, Any]:
    """Encryption as Azure returns it: ``blob`` and ``file`` services always present with ``enabled``,
    ``keyType`` and ``lastEnabledTime`` (kept from the previous answer), ``keySource`` defaulted."""
    given: dict[str, Any] = dict(requested or {})
    before = (previous or {}).get("services") or {}
    services = dict(given.get("services") or {})
    for name in ENCRYPTED_SERVICES:
        svc = dict(services.get(name) or {})
        svc.setdefault("keyType", "Account")
        svc["enabled"] = True  # Azure encrypts every service; the flag cannot be turned off
        svc["lastEnabledTime"] = (before.get(name) or {}).get("lastEnabledTime") or iso()
        services[name] = svc
    given["services"] = services
    given.setdefault("keySource", "Microsoft.Storage")
    return given


class StorageAccounts(TypeHandler):
    type_name = "Microsoft.Storage/storageAccounts"

    async def put(
        self, rid: ResourceId, body: dict[str, Any], api_version: str, existing: dict[str, Any] | None
    ) -> PutOutcome:
        name = rid.name
        if not _ACCOUNT_NAME.match(name):
            raise ArmError(
                400,
                "AccountNameInvalid",
                f"{name} is not a valid storage account name. Storage account name must be between 3 and 24 "
                "characters in length and use numbers and lower-case letters only.",
            )
        if existing is None:
            self._check_global_name(rid)
            if not body.get("sku") or not body.get("kind") or not body.get("location"):
                raise ArmError(
                    400,
                    "InvalidRequestContent",
                    "The request content was invalid: 'sku', 'kind' and 'location' are required.",
                )
        res = self.envelope(rid, body, existing)
        sku = dict(res.get("sku") or {"name": "Standard_LRS"})
        sku["tier"] = "Premium" if sku.get("name", "").startswith("Premium") else "Standard"
        res["sku"] = sku
        res.setdefault("kind", "StorageV2")
        old = (existing or {}).get("properties", {})
        props: dict[str, Any] = {**old, **(body.get("properties") or {})}
        base = f"{self.arm.emulator.file_url}/{name}/"
        loc = str(res.get("location", ""))
        props.update(
            {
                # A create is accepted (202) and runs until the operation finishes; an update is synchronous.
                "provisioningState": "Creating" if existing is None else "Succeeded",
                "creationTime": old.get("creationTime", iso()),
                "primaryLocation": loc,
                "statusOfPrimary": "available",
                # Only the file endpoint is served; the others keep Azure's shape for clients that read them.
                "primaryEndpoints": {
                    "dfs": f"https://{name}.dfs.core.windows.net/",
                    "web": f"https://{name}.z1.web.core.windows.net/",
                    "blob": f"https://{name}.blob.core.windows.net/",
                    "queue": f"https://{name}.queue.core.windows.net/",
                    "table": f"https://{name}.table.core.windows.net/",
                    "file": base,
                },
                "keyCreationTime": old.get("keyCreationTime", {"key1": iso(), "key2": iso()}),
            }
        )
        props.setdefault("accessTier", "Hot")
        props.setdefault("supportsHttpsTrafficOnly", True)
        props.setdefault("minimumTlsVersion", "TLS1_2")
        props.setdefault("allowBlobPublicAccess", False)
        props.setdefault(
            "networkAcls",
            {"bypass": "AzureServices", "virtualNetworkRules": [], "ipRules": [], "defaultAction": "Allow"},
        )
        props["encryption"] = complete_encryption(props.get("encryption"), old.get("encryption"))
        props.setdefault("privateEndpointConnections", [])
        res["properties"] = props
        get_registry(self.arm.emulator).ensure_account(name)
        self.arm.store.put(str(rid), res)
        if existing is not None:
            return PutOutcome(res, False, status=200)
        # Azure answers a create with 202 + Location (.../locations/{loc}/asyncoperations/{id}); polling
        # it answers 202 until the account is provisioned, then 200 with the account.
        op = self.arm.new_operation(str(rid))
        self.arm.finish_later(op, then=lambda: self._provisioned(rid))
        url = (
            f"{self.arm.emulator.arm_url}/subscriptions/{rid.subscription}/providers/{rid.namespace}"
            f"/locations/{loc.replace(' ', '').lower()}/asyncoperations/{op.id}"
            f"?monitor=true&api-version={api_version}"
        )
        return PutOutcome(res, True, operation=op, status=202, headers={"Location": url})

    def _provisioned(self, rid: ResourceId) -> None:
        current = self.arm.store.get(str(rid))
        if current is not None:
            current["properties"]["provisioningState"] = "Succeeded"
            self.arm.store.put(str(rid), current)

    def _check_global_name(self, rid: ResourceId) -> None:
        """Storage account names are globally unique across subscriptions and resource groups."""
        for _, res in self.arm.store.under("/subscriptions"):
            if res.get("type") == self.type_name and res["name"].lower() == rid.name.lower():
                raise ArmError(
                    409,
                    "StorageAccountAlreadyTaken",
                    f"The storage account named {rid.name} is already taken.",
                )

    def action(
        self, rid: ResourceId, action: str, body: dict[str, Any] | None, api_version: str
    ) -> tuple[int, Any]:
        if action.lower() == "listkeys":
            keys = get_registry(self.arm.emulator).keys(rid.name) or []
            created = (self.arm.store.get(str(rid)) or {}).get("properties", {}).get("keyCreationTime", {})
            return 200, {
                "keys": [
                    {
                        "creationTime": created.get(f"key{i + 1}", iso()),
                        "keyName": f"key{i + 1}",
                        "value": k,
                        "permissions": "Full",
                    }
                    for i, k in enumerate(keys)
                ]
            }
        return super().action(rid, action, body, api_version)

    async def delete(self, rid: ResourceId, resource: dict[str, Any]) -> None:
        get_registry(self.arm.emulator).delete_account(rid.name)


class FileServices(TypeHandler):
    """``fileServices/default`` exists with its account (GET works before any PUT)."""

    type_name = "Microsoft.Storage/storageAccounts/fileServices"

    def implicit_resource(self, rid: ResourceId) -> dict[str, Any] | None:
        if rid.name.lower() != "default" or rid.parent is None or self.arm.store.get(str(rid.parent)) is None:
            return None
        return self.default(rid)

    def default(self, rid: ResourceId) -> dict[str, Any]:
        account = self.arm.store.get(str(rid.parent)) if rid.parent else None
        return {
            "id": self.canonical_id(rid),
            "name": "default",
            "type": self.type_name,
            "sku": (account or {}).get("sku", {"name": "Standard_LRS", "tier": "Standard"}),
            "properties": {
                "protocolSettings": {"smb": {}},
                "cors": {"corsRules": []},
                "shareDeleteRetentionPolicy": {"enabled": True, "days": 7},
            },
        }

    async def put(
        self, rid: ResourceId, body: dict[str, Any], api_version: str, existing: dict[str, Any] | None
    ) -> PutOutcome:
        if rid.name != "default":
            raise ArmError(400, "InvalidResourceName", "The file service name must be 'default'.")
        res = existing or self.default(rid)
        props = {**res.get("properties", {}), **(body.get("properties") or {})}
        res["properties"] = props
        self.arm.store.put(str(rid), res)
        return PutOutcome(res, False)  # Azure answers 200 for both create and update


class FileShares(TypeHandler):
    type_name = "Microsoft.Storage/storageAccounts/fileServices/shares"

    def not_found(self, rid: ResourceId) -> ArmError:
        # The storage RP passes the file service's own error through.
        return ArmError(404, "ShareNotFound", "The specified share does not exist.")

    async def put(
        self, rid: ResourceId, body: dict[str, Any], api_version: str, existing: dict[str, Any] | None
    ) -> PutOutcome:
        name = rid.name
        if not _SHARE_NAME.match(name):
            raise ArmError(
                400,
                "InvalidResourceName",
                f"The specified resource name '{name}' contains invalid characters or length. Share names must "
                "be 3-63 lowercase letters, numbers and single hyphens.",
            )
        parent = rid.parent
        assert parent is not None and parent.parent is not None
        if self.arm.store.get(str(parent)) is None:  # implicit fileServices/default becomes concrete
            await self.arm.handlers[parent.type_key].put(parent, {}, api_version, None)
        account = parent.parent.name
        res = {
            "id": existing["id"] if existing else self.canonical_id(rid),
            "name": existing["name"] if existing else name,
            "type": self.type_name,
            "etag": f'"0x{uuid.uuid4().hex[:15].upper()}"',
        }
        old = (existing or {}).get("properties", {})
        props = {**old, **(body.get("properties") or {})}
        props.setdefault("shareQuota", 5120 if props.get("shareQuota") is None else props["shareQuota"])
        props.setdefault("enabledProtocols", "SMB")
        props.setdefault("accessTier", "TransactionOptimized")
        props.update(
            {
                "lastModifiedTime": iso(),
                "leaseStatus": "unlocked",
                "leaseState": "available",
                "accessTierChangeTime": old.get("accessTierChangeTime", iso()),
            }
        )
        res["properties"] = props
        get_registry(self.arm.emulator).ensure_share(account, name)  # keeps existing contents
        self.arm.store.put(str(rid), res)
        return PutOutcome(res, existing is None)


def next_midnight() -> dt.datetime:
    return (now() + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)


class Workspaces(TypeHandler):
    type_name = "Microsoft.OperationalInsights/workspaces"

    async def put(
        self, rid: ResourceId, body: dict[str, Any], api_version: str, existing: dict[str, Any] | None
    ) -> PutOutcome:
        res = self.envelope(rid, body, existing)
        old = (existing or {}).get("properties", {})
        props = {**old, **(body.get("properties") or {})}
        props.update(
            {
                # A create answers 201 while Creating and is polled; an update is synchronous.
                "provisioningState": "Creating" if existing is None else "Succeeded",
                "customerId": old.get("customerId", str(uuid.uuid4())),
                "createdDate": old.get("createdDate", iso()),
                "modifiedDate": iso(),
            }
        )
        sku = dict(props.get("sku") or {"name": "PerGB2018"})
        sku["lastSkuUpdate"] = (old.get("sku") or {}).get("lastSkuUpdate") or iso()  # read-only, set by Azure
        props["sku"] = sku
        props.setdefault("retentionInDays", 30)
        # No daily cap unless one is set; the read-only reset time and ingestion status come with it.
        capping = dict(props.get("workspaceCapping") or {})
        capping.setdefault("dailyQuotaGb", -1.0)
        capping["quotaNextResetTime"] = iso(next_midnight())
        capping["dataIngestionStatus"] = "RespectQuota"
        props["workspaceCapping"] = capping
        props.setdefault("features", {"enableLogAccessUsingOnlyResourcePermissions": True})
        props.setdefault("publicNetworkAccessForIngestion", "Enabled")
        props.setdefault("publicNetworkAccessForQuery", "Enabled")
        res["properties"] = props
        self.arm.store.put(str(rid), res)
        if existing is not None:
            return PutOutcome(res, False, status=200)

        def provisioned() -> None:
            current = self.arm.store.get(str(rid))
            if current is not None:
                current["properties"]["provisioningState"] = "Succeeded"
                self.arm.store.put(str(rid), current)

        op, url = self.start_operation(
            rid, str(res.get("location", "")), api_version, "operationStatuses", then=provisioned
        )
        return PutOutcome(res, True, operation=op, async_url=url, status=201)

    def action(
        self, rid: ResourceId, action: str, body: dict[str, Any] | None, api_version: str
    ) -> tuple[int, Any]:
        # Templates commonly call listKeys(workspace) (Bicep: logAnalytics.listKeys()); the RP answers it
        # like sharedKeys.
        if action.lower() in ("sharedkeys", "listkeys"):
            # Derived from the workspace id so repeated calls agree; never a real key.
            seed = hashlib.sha512(rid.key.encode()).digest()
            return 200, {
                "primarySharedKey": base64.b64encode(seed).decode(),
                "secondarySharedKey": base64.b64encode(seed[::-1]).decode(),
            }
        return super().action(rid, action, body, api_version)


def register_storage(arm: ArmState) -> None:
    for cls in (StorageAccounts, FileServices, FileShares, Workspaces):
        arm.add_handler(cls)
