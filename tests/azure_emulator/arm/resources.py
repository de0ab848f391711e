"""Subscriptions, tenants, locations, resource groups, providers, and the generic resource routes."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from tests.azure_emulator import arm_auth
from tests.azure_emulator.arm.common import ResourceId, arm_route, ok, poll_retry_after, retry_after
from tests.azure_emulator.arm.state import ArmState
from tests.azure_emulator.routing import ArmError, RequestContext

LOCATIONS = {
    "eastus": "East US",
    "westus3": "West US 3",
    "swedencentral": "Sweden Central",
    "australiaeast": "Australia East",
    "westeurope": "West Europe",
    "northeurope": "North Europe",
}
# ARM's resource group naming rule (1-90 of alphanumerics, underscores, parentheses, hyphens, periods;
# not ending in a period).
_RG_NAME = re.compile(r"^[-\w._()]{1,90}$")

PROVIDERS = {
    "Microsoft.App": ["managedEnvironments", "containerApps", "locations", "operations"],
    "Microsoft.Storage": ["storageAccounts", "locations", "operations"],
    "Microsoft.OperationalInsights": ["workspaces", "operations"],
    "Microsoft.Resources": ["deployments", "resourceGroups", "subscriptions"],
}


def register_resources(arm: ArmState) -> None:
    emu = arm.emulator
    r = emu.arm_router

    def sub_body(s: dict[str, str]) -> dict[str, Any]:
        return {
            "id": f"/subscriptions/{s['subscriptionId']}",
            "authorizationSource": "RoleBased",
            "managedByTenants": [],
            "tags": {},
            "subscriptionId": s["subscriptionId"],
            "tenantId": s.get("tenantId", emu.settings.tenant_id),
            "displayName": s["displayName"],
            "state": "Enabled",
            "subscriptionPolicies": {
                "locationPlacementId": "Public_2014-09-01",
                "quotaId": "PayAsYouGo_2014-09-01",
                "spendingLimit": "Off",
            },
        }

    @arm_route()
    async def list_subs(ctx: RequestContext) -> web.StreamResponse:
        # The 2022-12-01 spec makes nextLink required; an empty one ends paging in the SDKs.
        # Like ARM: the subscriptions of the token's tenant only (a guest lists each tenant separately).
        tid = (arm_auth.bearer_claims(ctx.request) or {}).get("tid")
        subs = [s for s in emu.settings.subscriptions if s.get("tenantId", emu.settings.tenant_id) == tid]
        return ok({"value": [sub_body(s) for s in subs], "nextLink": ""})

    @arm_route()
    async def get_sub(ctx: RequestContext) -> web.StreamResponse:
        return ok(sub_body(arm.subscription(ctx.params["sub"])))

    @arm_route()
    async def list_tenants(ctx: RequestContext) -> web.StreamResponse:
        # Every tenant the user belongs to: the home one and the one where the user is a guest.
        names = {
            emu.settings.tenant_id: "Emulated Tenant",
            emu.settings.guest_tenant_id: "Emulated Guest Tenant",
        }
        return ok(
            {
                "value": [
                    {
                        "id": f"/tenants/{tid}",
                        "tenantId": tid,
                        "tenantCategory": "Home",
                        "displayName": name,
                        "defaultDomain": f"{domain}.onmicrosoft.com",
                        "domains": [f"{domain}.onmicrosoft.com"],
                    }
                    for (tid, name), domain in zip(names.items(), ("emulated", "emulatedguest"), strict=True)
                ],
                "nextLink": "",
            }
        )

    @arm_route()
    async def metadata_endpoints(ctx: RequestContext) -> web.StreamResponse:
        return ok(arm_auth.metadata_document(emu.settings, emu.arm_url))

    @arm_route()
    async def list_locations(ctx: RequestContext) -> web.StreamResponse:
        sub = arm.subscription(ctx.params["sub"])["subscriptionId"]
        return ok(
            {
                "value": [
                    {
                        "id": f"/subscriptions/{sub}/locations/{name}",
                        "name": name,
                        "type": "Region",
                        "displayName": display,
                        "regionalDisplayName": display,
                        "metadata": {"regionType": "Physical", "regionCategory": "Recommended"},
                    }
                    for name, display in LOCATIONS.items()
                ]
            }
        )

    # -- resource groups ------------------------------------------------------------
    @arm_route()
    async def put_rg(ctx: RequestContext) -> web.StreamResponse:
        sub = arm.subscription(ctx.params["sub"])["subscriptionId"]
        name = ctx.params["rg"]
        if not _RG_NAME.match(name) or name.endswith("."):
            raise ArmError(
                400,
                "InvalidResourceGroupName",
                f"The resource group name '{name}' is invalid. It can include alphanumeric, underscore, "
                "parentheses, hyphen, period (except at end), and Unicode characters that match the allowed "
                "characters.",
            )
        body = ctx.json() or {}
        if not body.get("location"):
            raise ArmError(400, "LocationRequired", "The location property is required for this definition.")
        key = (sub.lower(), name.lower())
        existing = arm.resource_groups.get(key)
        group = {
            "id": existing["id"] if existing else f"/subscriptions/{sub}/resourceGroups/{name}",
            "name": existing["name"] if existing else name,
            "type": "Microsoft.Resources/resourceGroups",
            "location": existing["location"] if existing else body["location"],
            "tags": body.get("tags", (existing or {}).get("tags", {})),
            "properties": {"provisioningState": "Succeeded"},
        }
        if existing and body["location"].replace(" ", "").lower() != existing["location"].lower():
            raise ArmError(
                409,
                "InvalidResourceGroupLocation",
                f"Invalid resource group location '{body['location']}'. The Resource group already exists in "
                f"location '{existing['location']}'.",
            )
        arm.resource_groups[key] = group
        return ok(group, status=200 if existing else 201)

    @arm_route()
    async def get_rg(ctx: RequestContext) -> web.StreamResponse:
        return ok(arm.resource_group(ctx.params["sub"], ctx.params["rg"]))

    @arm_route()
    async def head_rg(ctx: RequestContext) -> web.StreamResponse:
        arm.resource_group(ctx.params["sub"], ctx.params["rg"])  # 404 (headers only on the wire for HEAD)
        return web.Response(status=204)

    @arm_route()
    async def list_rgs(ctx: RequestContext) -> web.StreamResponse:
        sub = arm.subscription(ctx.params["sub"])["subscriptionId"]
        groups = [g for (s, _), g in arm.resource_groups.items() if s == sub.lower()]
        return ok({"value": groups})

    @arm_route()
    async def delete_rg(ctx: RequestContext) -> web.StreamResponse:
        sub = ctx.params["sub"]
        group = arm.resource_group(sub, ctx.params["rg"])
        for _, res in arm.store.under(group["id"]):
            if arm.store.get(res["id"]) is not None:
                await arm.delete(ResourceId.parse(res["id"]))
        arm.resource_groups.pop((sub.lower(), group["name"].lower()), None)
        # Deleted synchronously: 200 is one of the spec's answers and ends the SDK poller at once.
        return ok(None, status=200)

    # -- providers --------------------------------------------------------------------
    def provider_body(sub: str, ns: str) -> dict[str, Any]:
        canon = next((p for p in PROVIDERS if p.lower() == ns.lower()), None)
        if canon is None:
            raise ArmError(
                404,
                "InvalidResourceNamespace",
                f"The resource namespace '{ns}' is invalid.",
            )
        return {
            "id": f"/subscriptions/{sub}/providers/{canon}",
            "namespace": canon,
            "registrationState": "Registered",
            "registrationPolicy": "RegistrationRequired",
            "resourceTypes": [
                {"resourceType": t, "locations": list(LOCATIONS.values()), "apiVersions": []}
                for t in PROVIDERS[canon]
            ],
        }

    @arm_route()
    async def get_provider(ctx: RequestContext) -> web.StreamResponse:
        sub = arm.subscription(ctx.params["sub"])["subscriptionId"]
        return ok(provider_body(sub, ctx.params["ns"]))

    @arm_route()
    async def list_providers(ctx: RequestContext) -> web.StreamResponse:
        sub = arm.subscription(ctx.params["sub"])["subscriptionId"]
        return ok({"value": [provider_body(sub, ns) for ns in PROVIDERS]})

    @arm_route()
    async def operation_status(ctx: RequestContext) -> web.StreamResponse:
        op = arm.operations.get(ctx.params["op"])
        if op is None:
            raise ArmError(404, "OperationNotFound", f"Operation '{ctx.params['op']}' was not found.")
        if ctx.params["kind"].lower().endswith("operationresults"):  # a Location URL: 202 → 204
            if op.status == "InProgress":
                return ok(
                    None,
                    status=202,
                    # Whole seconds, as Azure sends on Location polls (deletes only, so the wait is rare).
                    headers={
                        "Location": str(ctx.request.url),
                        "Retry-After": str(max(1, emu.settings.retry_after)),
                    },
                )
            if op.error:
                raise ArmError(400, op.error["code"], op.error["message"], details=op.error.get("details"))
            result = arm.get(op.result_id) if op.result_id else None
            if result is not None:
                return ok(result)
            return ok(None, status=204)
        headers = {"Retry-After": poll_retry_after(emu)} if op.status == "InProgress" else {}
        return ok(op.status_body(ctx.request.path), headers=headers)

    r.add("GET", "/subscriptions/{sub}/providers/{ns}/locations/{loc}/{kind}/{op}", operation_status)
    r.add("GET", "/subscriptions", list_subs)
    r.add("GET", "/tenants", list_tenants)
    r.add("GET", "/metadata/endpoints", metadata_endpoints)
    r.add("GET", "/subscriptions/{sub}", get_sub)
    r.add("GET", "/subscriptions/{sub}/locations", list_locations)
    r.add("GET", "/subscriptions/{sub}/resourcegroups", list_rgs)
    r.add("PUT", "/subscriptions/{sub}/resourcegroups/{rg}", put_rg)
    r.add("GET", "/subscriptions/{sub}/resourcegroups/{rg}", get_rg)
    r.add("HEAD", "/subscriptions/{sub}/resourcegroups/{rg}", head_rg)
    r.add("DELETE", "/subscriptions/{sub}/resourcegroups/{rg}", delete_rg)
    r.add("GET", "/subscriptions/{sub}/providers", list_providers)
    r.add("GET", "/subscriptions/{sub}/providers/{ns}", get_provider)
    r.add("POST", "/subscriptions/{sub}/providers/{ns}/register", get_provider)


def register_generic(arm: ArmState) -> None:
    """Catch-all resource routes; added last so specific routes win."""
    emu = arm.emulator
    r = emu.arm_router

    def parse(ctx: RequestContext) -> tuple[str, list[str]]:
        parts = [p for p in ctx.params["rest"].split("/") if p]
        return ctx.params["sub"], parts

    def rid_of(sub: str, rg: str, parts: list[str]) -> ResourceId:
        return ResourceId(sub, rg, parts[0], tuple(parts[1::2]), tuple(parts[2::2]))

    @arm_route()
    async def put(ctx: RequestContext) -> web.StreamResponse:
        sub, parts = parse(ctx)
        if len(parts) < 3 or len(parts) % 2 == 0:
            raise ArmError(400, "InvalidResourceType", f"The resource path '{ctx.request.path}' is invalid.")
        rid = rid_of(sub, ctx.params["rg"], parts)
        body = ctx.json()
        if not isinstance(body, dict):
            raise ArmError(
                400, "InvalidRequestContent", "The request content was invalid: a JSON object is required."
            )
        outcome = await arm.apply_put(str(rid), body, ctx.api_version or "")
        headers = dict(outcome.headers)
        if outcome.operation is not None and outcome.async_url:
            headers["Azure-AsyncOperation"] = outcome.async_url
        if outcome.operation is not None:
            headers["Retry-After"] = retry_after(emu)
        status = outcome.status or (201 if outcome.created else 200)
        body_out = None if status == 202 else arm.handler_for(rid).render(outcome.resource)
        return ok(body_out, status=status, headers=headers)

    @arm_route()
    async def get(ctx: RequestContext) -> web.StreamResponse:
        sub, parts = parse(ctx)
        rg = ctx.params["rg"]
        if len(parts) % 2 == 0:  # a collection: NS/type[/name/type...]
            arm.resource_group(sub, rg)
            if len(parts) == 2:
                full_type = "/".join(parts)
                return ok({"value": arm.list(sub, rg, full_type)})
            parent = rid_of(sub, rg, parts[:-1])
            arm.require(parent)
            return ok({"value": arm.list(sub, rg, f"{parent.full_type}/{parts[-1]}", parent=parent)})
        rid = rid_of(sub, rg, parts)
        return ok(arm.handler_for(rid).render(arm.require(rid)))

    @arm_route()
    async def delete(ctx: RequestContext) -> web.StreamResponse:
        sub, parts = parse(ctx)
        rid = rid_of(sub, ctx.params["rg"], parts)
        arm.resource_group(sub, ctx.params["rg"])
        handler = arm.handler_for(rid)
        stored = arm.store.get(str(rid))
        found = await arm.delete(rid)
        if found and stored is not None and handler.async_delete_kind:
            op = arm.new_operation(str(rid))
            arm.finish_later(op)
            loc = str(stored.get("location", "")).replace(" ", "").lower()
            url = (
                f"{emu.arm_url}/subscriptions/{rid.subscription}/providers/{rid.namespace}/locations/{loc}"
                f"/{handler.async_delete_kind}/{op.id}?api-version={ctx.api_version}"
            )
            return ok(None, status=202, headers={"Location": url, "Retry-After": retry_after(emu)})
        return ok(None, status=200 if found else 204)

    @arm_route()
    async def post(ctx: RequestContext) -> web.StreamResponse:
        sub, parts = parse(ctx)
        if len(parts) < 4 or len(parts) % 2:
            raise ArmError(404, "NotFound", f"No HTTP resource was found that matches '{ctx.request.path}'.")
        rid = rid_of(sub, ctx.params["rg"], parts[:-1])
        arm.require(rid)
        status, body = arm.handler_for(rid).action(rid, parts[-1], ctx.json(), ctx.api_version or "")
        return ok(body, status=status)

    @arm_route()
    async def list_in_sub(ctx: RequestContext) -> web.StreamResponse:
        sub, parts = parse(ctx)
        arm.subscription(sub)
        if len(parts) != 2:
            raise ArmError(404, "NotFound", f"No HTTP resource was found that matches '{ctx.request.path}'.")
        return ok({"value": arm.list(sub, None, "/".join(parts))})

    base = "/subscriptions/{sub}/resourcegroups/{rg}/providers/{rest:rest}"
    r.add("PUT", base, put)
    r.add("GET", base, get)
    r.add("DELETE", base, delete)
    r.add("POST", base, post)
    r.add("GET", "/subscriptions/{sub}/providers/{rest:rest}", list_in_sub)
