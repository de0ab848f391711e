"""Subscriptions, tenants, locations, resource groups, providers, and the generic resource routes."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from tests.azure_emulator import arm_auth
from tests.azure_emulator.arm.common import ResourceId, arm_route, ok, poll_retry_after, retry_after
from tests.azure_emulator.arm.locations import LOCATIONS
from tests.azure_emulator.arm.providers import CATALOG, canonical_namespace, provider_body
from tests.azure_emulator.arm.state import ArmState, Operation
from tests.azure_emulator.routing import ArmError, RequestContext

# ARM's resource group naming rule (1-90 of alphanumerics, underscores, parentheses, hyphens, periods;
# not ending in a period).
_RG_NAME = re.compile(r"^[-\w._()]{1,90}$")


def accepted_delete(ctx: RequestContext, sub: str) -> web.Response:
    """202 + Location ``/subscriptions/{s}/operationresults/{id}`` (ARM's answer to a resource group
    or deployment delete); the operation finishes after one step."""
    arm = ctx.emulator.services["arm"]
    assert isinstance(arm, ArmState)
    op = arm.new_operation()
    arm.finish_later(op)
    url = f"{arm.emulator.arm_url}/subscriptions/{sub}/operationresults/{op.id}?api-version={ctx.api_version}"
    return ok(None, status=202, headers={"Location": url, "Retry-After": retry_after(arm.emulator)})


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
        # Azure answers 202 + Location and deletes in the background; here the group is gone at once and
        # the operation reports done after a step.
        return accepted_delete(ctx, sub)

    # -- providers --------------------------------------------------------------------
    def provider(sub: str, ns: str) -> dict[str, Any]:
        canon = canonical_namespace(ns)
        if canon is None:
            raise ArmError(
                404,
                "InvalidResourceNamespace",
                f"The resource namespace '{ns}' is invalid.",
            )
        return provider_body(sub, canon)

    @arm_route()
    async def get_provider(ctx: RequestContext) -> web.StreamResponse:
        sub = arm.subscription(ctx.params["sub"])["subscriptionId"]
        return ok(provider(sub, ctx.params["ns"]))

    @arm_route()
    async def list_providers(ctx: RequestContext) -> web.StreamResponse:
        sub = arm.subscription(ctx.params["sub"])["subscriptionId"]
        return ok({"value": [provider_body(sub, ns) for ns in CATALOG]})

    def location_poll(ctx: RequestContext, op: Operation, final: dict[str, Any] | None) -> web.Response:
        """ARM's Location polling: 202 (Location, Retry-After) while running, then the final answer:
        200 with ``final`` (a create's resource), or 204 when there is none (a delete)."""
        if op.status == "InProgress":
            return ok(
                None,
                status=202,
                # Whole seconds, as Azure sends on Location polls.
                headers={
                    "Location": str(ctx.request.url),
                    "Retry-After": str(max(1, emu.settings.retry_after)),
                },
            )
        if op.error:
            raise ArmError(400, op.error["code"], op.error["message"], details=op.error.get("details"))
        return ok(final, status=200) if final is not None else ok(None, status=204)

    @arm_route()
    async def operation_result(ctx: RequestContext) -> web.StreamResponse:
        """``/subscriptions/{s}/operationresults/{id}``: the Location of a resource group or deployment delete."""
        op = arm.operations.get(ctx.params["op"])
        if op is None:
            raise ArmError(404, "OperationNotFound", f"Operation '{ctx.params['op']}' was not found.")
        return location_poll(ctx, op, None)

    @arm_route()
    async def operation_status(ctx: RequestContext) -> web.StreamResponse:
        op = arm.operations.get(ctx.params["op"])
        if op is None:
            raise ArmError(404, "OperationNotFound", f"Operation '{ctx.params['op']}' was not found.")
        kind = ctx.params["kind"].lower()
        if kind.endswith("operationresults"):  # a Location URL: 202 → 204, or 200 with a PATCH's result
            return location_poll(ctx, op, arm.get(op.result_id) if op.result_id else None)
        if kind == "asyncoperations":  # storage's create Location URL: 202 → 200 with the resource
            return location_poll(ctx, op, arm.get(op.resource_id) if op.resource_id else None)
        headers = {"Retry-After": poll_retry_after(emu)} if op.status == "InProgress" else {}
        return ok(op.status_body(ctx.request.path), headers=headers)

    r.add("GET", "/subscriptions/{sub}/providers/{ns}/locations/{loc}/{kind}/{op}", operation_status)
    r.add("GET", "/subscriptions/{sub}/operationresults/{op}", operation_result)
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
