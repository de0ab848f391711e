"""Microsoft.Resources/deployments at resource-group scope.

PUT plans the template (``template_engine.plan_deployment``; template errors → 400 ``InvalidTemplate``),
answers 201 with ``Azure-AsyncOperation`` + ``Retry-After``, and runs the deployment as a background
task: Accepted → Running → each resource in dependency order through the SAME type handlers as a
direct PUT (waiting for their long-running operations) → outputs → Succeeded, or Failed with
``DeploymentFailed`` and the failing resource's error in ``details`` and in its deployment operation.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.azure_emulator.arm.common import (
    ResourceId,
    arm_route,
    iso,
    now,
    ok,
    poll_retry_after,
    retry_after,
)
from tests.azure_emulator.arm.state import ArmState
from tests.azure_emulator.arm.template_engine import (
    DeploymentScope,
    PlannedResource,
    TemplateError,
    TemplatePlan,
    plan_deployment,
)
from tests.azure_emulator.routing import ArmError, RequestContext

DEPLOYMENT_FAILED = (
    "At least one resource deployment operation failed. Please list deployment operations for details. "
    "Please see https://aka.ms/arm-deployment-operations for usage details."
)


def _duration(start: dt.datetime, end: dt.datetime | None) -> str:
    return f"PT{((end or now()) - start).total_seconds():.7f}S"


@dataclass
class DeploymentOperation:
    operation_id: str
    resource: PlannedResource
    state: str = "Running"  # Running | Succeeded | Failed
    status_code: str | None = None
    error: dict[str, Any] | None = None
    operation: str = "Create"
    started: dt.datetime = field(default_factory=now)
    ended: dt.datetime | None = None
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def body(self, deployment_id: str) -> dict[str, Any]:
        props: dict[str, Any] = {
            "provisioningOperation": self.operation,
            "provisioningState": self.state,
            "timestamp": iso(self.ended or self.started),
            "duration": _duration(self.started, self.ended),
            "trackingId": self.request_id,
            "serviceRequestId": self.request_id,
            "targetResource": {
                "id": self.resource.id,
                "resourceType": self.resource.type,
                "resourceName": self.resource.name,
                "apiVersion": self.resource.api_version,
            },
        }
        if self.resource.symbolic_name:
            props["targetResource"]["symbolicName"] = self.resource.symbolic_name
        if self.status_code:
            props["statusCode"] = self.status_code
        if self.error is not None:
            props["statusMessage"] = {"status": "Failed", "error": self.error}
        elif self.state == "Succeeded":
            props["statusMessage"] = {"status": "OK"}
        return {
            "id": f"{deployment_id}/operations/{self.operation_id}",
            "operationId": self.operation_id,
            "properties": props,
        }


@dataclass
class Deployment:
    id: str
    name: str
    template: dict[str, Any]
    parameters: dict[str, Any]
    mode: str
    status: str = "Accepted"  # Accepted | Running | Succeeded | Failed | Canceled
    started: dt.datetime = field(default_factory=now)
    ended: dt.datetime | None = None
    correlation_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    status_id: str = field(default_factory=lambda: str(uuid.uuid4().int)[:20])
    outputs: dict[str, Any] | None = None
    output_resources: list[str] = field(default_factory=list)
    error: dict[str, Any] | None = None
    operations: list[DeploymentOperation] = field(default_factory=list)
    task: asyncio.Task[Any] | None = None
    # Parameter values after binding (supplied or defaulted), by template parameter name.
    bound: dict[str, Any] = field(default_factory=dict)
    # resource type -> locations, for properties.providers
    locations: dict[str, set[str]] = field(default_factory=dict)

    @property
    def template_hash(self) -> str:
        digest = hashlib.sha256(json.dumps(self.template, sort_keys=True).encode()).digest()
        return str(int.from_bytes(digest[:8], "big"))

    def echoed_parameters(self) -> dict[str, Any]:
        """Parameters with their types, as ARM echoes them; secure values are never returned."""
        out: dict[str, Any] = {}
        for name, spec in (self.template.get("parameters") or {}).items():
            ptype = str(spec.get("type", "string")).lower()
            spelled = {"securestring": "SecureString", "secureobject": "SecureObject"}.get(
                ptype, ptype.capitalize()
            )
            given = next((v for k, v in self.parameters.items() if k.lower() == name.lower()), None)
            if name in self.bound:
                value = self.bound[name]
            elif isinstance(given, dict) and "value" in given:
                value = given["value"]
            elif "defaultValue" in spec and not (
                isinstance(spec["defaultValue"], str) and spec["defaultValue"].startswith("[")
            ):
                value = spec["defaultValue"]
            else:
                continue
            out[name] = {"type": spelled} if ptype.startswith("secure") else {"type": spelled, "value": value}
        return out

    def body(self) -> dict[str, Any]:
        providers: dict[str, set[str]] = {}
        for rtype_full in self.locations:
            ns, _, rtype = rtype_full.partition("/")
            providers.setdefault(ns, set()).add(rtype)
        props: dict[str, Any] = {
            "templateHash": self.template_hash,
            "parameters": self.echoed_parameters(),
            "mode": self.mode,
            "provisioningState": self.status,
            "timestamp": iso(self.ended or self.started),
            "duration": _duration(self.started, self.ended),
            "correlationId": self.correlation_id,
            "providers": [
                {
                    "namespace": ns,
                    "resourceTypes": [
                        {"resourceType": t, "locations": sorted(self.locations[f"{ns}/{t}"])}
                        for t in sorted(types)
                    ],
                }
                for ns, types in providers.items()
            ],
            "dependencies": [],
        }
        if self.outputs is not None:
            props["outputs"] = self.outputs
        if self.output_resources:
            props["outputResources"] = [{"id": rid} for rid in self.output_resources]
        if self.error is not None:
            props["error"] = self.error
        return {
            "id": self.id,
            "name": self.name,
            "type": "Microsoft.Resources/deployments",
            "properties": props,
        }


class Resolver:
    """Lets template functions read and act on emulated resources (reference(), listKeys())."""

    def __init__(self, arm: ArmState) -> None:
        self.arm = arm

    def get(self, resource_id: str) -> dict[str, Any] | None:
        try:
            return self.arm.get(resource_id)
        except ArmError:
            return None

    def invoke(
        self, resource_id: str, action: str, api_version: str, body: dict[str, Any] | None
    ) -> dict[str, Any]:
        rid = ResourceId.parse(resource_id)
        self.arm.require(rid)
        _, result = self.arm.handler_for(rid).action(rid, action, body, api_version)
        return dict(result or {})


class Deployments:
    def __init__(self, arm: ArmState) -> None:
        self.arm = arm
        self.items: dict[tuple[str, str, str], Deployment] = {}

    def key(self, sub: str, rg: str, name: str) -> tuple[str, str, str]:
        return (sub.lower(), rg.lower(), name.lower())

    def find(self, sub: str, rg: str, name: str) -> Deployment:
        self.arm.resource_group(sub, rg)
        dep = self.items.get(self.key(sub, rg, name))
        if dep is None:
            raise ArmError(404, "DeploymentNotFound", f"Deployment '{name}' could not be found.")
        return dep

    def plan(
        self, sub: str, rg: str, name: str, body: Any
    ) -> tuple[dict[str, Any], TemplatePlan, Deployment]:
        group = self.arm.resource_group(sub, rg)
        props = (body or {}).get("properties") if isinstance(body, dict) else None
        if not isinstance(props, dict):
            raise ArmError(
                400, "InvalidRequestContent", "The request content must have a 'properties' object."
            )
        if "templateLink" in props or "parametersLink" in props:
            raise ArmError(
                400,
                "InvalidTemplateDeployment",
                "The emulator cannot fetch 'templateLink'/'parametersLink' (no network); send the template inline.",
            )
        template = props.get("template")
        if not isinstance(template, dict):
            raise ArmError(
                400, "InvalidRequestContent", "The request content must have a 'properties.template' object."
            )
        parameters = props.get("parameters") or {}
        sub_id = self.arm.subscription(sub)["subscriptionId"]
        scope = DeploymentScope(
            subscription_id=sub_id,
            resource_group=group["name"],
            resource_group_location=group["location"],
            deployment_name=name,
            tenant_id=self.arm.subscription(sub).get("tenantId", self.arm.emulator.settings.tenant_id),
        )
        try:
            plan = plan_deployment(template, parameters, scope)
        except TemplateError as err:
            raise ArmError(400, err.code, err.message, details=err.details or None) from None
        dep = Deployment(
            id=f"/subscriptions/{sub_id}/resourceGroups/{group['name']}/providers/Microsoft.Resources/deployments/{name}",
            name=name,
            template=template,
            parameters=parameters,
            mode=str(props.get("mode", "Incremental")),
        )
        # The engine keeps bound values on its evaluator (no public accessor yet).
        dep.bound = dict(getattr(getattr(plan, "_ev", None), "params", None) or {})
        for res in plan.resources:
            if res.condition and not res.existing:
                loc = self._planned_location(plan, res, group["location"])
                dep.locations.setdefault(res.type, set()).update([loc] if loc else [])
        return group, plan, dep

    def _planned_location(self, plan: TemplatePlan, res: PlannedResource, fallback: str) -> str | None:
        """The resource's location for ``providers`` (children have none; an unevaluable one → RG's)."""
        if "/" in res.type.partition("/")[2]:
            return None
        try:
            loc = plan.resource_body(res, Resolver(self.arm)).get("location")
        except (TemplateError, ArmError):
            loc = None
        return str(loc or fallback).replace(" ", "").lower()

    async def run(self, dep: Deployment, plan: TemplatePlan) -> None:
        step = self.arm.emulator.settings.operation_step_delay
        resolver = Resolver(self.arm)
        try:
            await asyncio.sleep(step)
            dep.status = "Running"
            for res in plan.resources:
                if not res.condition:
                    continue
                error = await self._deploy_one(dep, plan, res, resolver)
                if error is not None:
                    self._fail(
                        dep,
                        {
                            "code": "DeploymentFailed",
                            "target": dep.id,
                            "message": DEPLOYMENT_FAILED,
                            "details": [error],
                        },
                    )
                    return
                await asyncio.sleep(step)
            try:
                dep.outputs = plan.outputs(resolver)
            except TemplateError as err:
                self._fail(dep, err.body())
                return
            except ArmError as err:
                self._fail(dep, err.body()["error"])
                return
            dep.status = "Succeeded"
            dep.ended = now()
        except asyncio.CancelledError:
            if dep.status in ("Accepted", "Running"):
                dep.status = "Canceled"
                dep.error = {
                    "code": "DeploymentCanceled",
                    "message": f"The deployment '{dep.name}' was canceled.",
                }
                dep.ended = now()
            raise

    async def _deploy_one(
        self, dep: Deployment, plan: TemplatePlan, res: PlannedResource, resolver: Resolver
    ) -> dict[str, Any] | None:
        """Apply one resource; returns the error for DeploymentFailed.details, or None."""
        op = DeploymentOperation(
            str(uuid.uuid4().int)[:16].upper(), res, operation="Read" if res.existing else "Create"
        )
        dep.operations.append(op)
        try:
            if res.existing:
                if resolver.get(res.id) is None:
                    raise ArmError(
                        404,
                        "ResourceNotFound",
                        f"The Resource '{res.type}/{res.name}' under resource group "
                        f"'{ResourceId.parse(res.id).resource_group}' was not found. For more details please go "
                        "to https://aka.ms/ARMResourceNotFoundFix",
                    )
                op.state, op.status_code, op.ended = "Succeeded", "OK", now()
                return None
            body = plan.resource_body(res, resolver)
            outcome = await self.arm.apply_put(res.id, body, res.api_version)
            if outcome.operation is not None:
                await outcome.operation.done.wait()
                if outcome.operation.error:
                    err = outcome.operation.error
                    raise ArmError(400, err.get("code", "ResourceDeploymentFailure"), err.get("message", ""))
            op.state, op.ended = "Succeeded", now()
            op.status_code = "Created" if outcome.created else "OK"
            dep.output_resources.append(str(outcome.resource.get("id", res.id)))
            return None
        except TemplateError as err:
            return self._op_failed(op, "BadRequest", err.body())
        except ArmError as err:
            status = {400: "BadRequest", 404: "NotFound", 409: "Conflict"}.get(err.status, "BadRequest")
            return self._op_failed(op, status, err.body()["error"])

    @staticmethod
    def _op_failed(op: DeploymentOperation, status_code: str, error: dict[str, Any]) -> dict[str, Any]:
        op.state, op.status_code, op.error, op.ended = "Failed", status_code, error, now()
        return {**error, "target": op.resource.id} if "target" not in error else error

    @staticmethod
    def _fail(dep: Deployment, error: dict[str, Any]) -> None:
        dep.error = error
        dep.status = "Failed"
        dep.ended = now()


def register_deployments(arm: ArmState) -> None:
    deployments = Deployments(arm)
    arm.emulator.services["deployments"] = deployments
    emu = arm.emulator
    r = emu.arm_router
    base = "/subscriptions/{sub}/resourcegroups/{rg}/providers/Microsoft.Resources/deployments"

    @arm_route()
    async def put(ctx: RequestContext) -> web.StreamResponse:
        p = ctx.params
        key = deployments.key(p["sub"], p["rg"], p["name"])
        current = deployments.items.get(key)
        if current is not None and current.status in ("Accepted", "Running"):
            raise ArmError(
                409,
                "DeploymentActive",
                f"Unable to edit or replace deployment '{p['name']}': previous deployment from "
                f"'{iso(current.started)}' is still active (state: {current.status}). Please see "
                "https://aka.ms/arm-deploy for usage details.",
            )
        _, plan, dep = deployments.plan(p["sub"], p["rg"], p["name"], ctx.json())
        deployments.items[key] = dep
        dep.task = arm.spawn(deployments.run(dep, plan))
        status_url = f"{emu.arm_url}{dep.id}/operationStatuses/{dep.status_id}?api-version={ctx.api_version}"
        return ok(
            dep.body(),
            status=201,
            headers={"Azure-AsyncOperation": status_url, "Retry-After": retry_after(emu)},
        )

    @arm_route()
    async def get(ctx: RequestContext) -> web.StreamResponse:
        p = ctx.params
        return ok(deployments.find(p["sub"], p["rg"], p["name"]).body())

    @arm_route()
    async def head(ctx: RequestContext) -> web.StreamResponse:
        p = ctx.params
        deployments.find(p["sub"], p["rg"], p["name"])
        return web.Response(status=204)

    @arm_route()
    async def list_deployments(ctx: RequestContext) -> web.StreamResponse:
        p = ctx.params
        arm.resource_group(p["sub"], p["rg"])
        found = [
            d.body() for k, d in deployments.items.items() if k[:2] == (p["sub"].lower(), p["rg"].lower())
        ]
        return ok({"value": found})

    @arm_route()
    async def status(ctx: RequestContext) -> web.StreamResponse:
        p = ctx.params
        dep = deployments.find(p["sub"], p["rg"], p["name"])
        if dep.status_id != p["op"]:
            raise ArmError(404, "OperationNotFound", f"Operation '{p['op']}' was not found.")
        body: dict[str, Any] = {"status": dep.status}
        if dep.error is not None:
            body["error"] = dep.error
        headers = {"Retry-After": poll_retry_after(emu)} if dep.status in ("Accepted", "Running") else {}
        return ok(body, headers=headers)

    @arm_route()
    async def list_operations(ctx: RequestContext) -> web.StreamResponse:
        p = ctx.params
        dep = deployments.find(p["sub"], p["rg"], p["name"])
        return ok({"value": [op.body(dep.id) for op in reversed(dep.operations)]})

    @arm_route()
    async def get_operation(ctx: RequestContext) -> web.StreamResponse:
        p = ctx.params
        dep = deployments.find(p["sub"], p["rg"], p["name"])
        for op in dep.operations:
            if op.operation_id == p["op"]:
                return ok(op.body(dep.id))
        raise ArmError(
            404, "DeploymentOperationNotFound", f"Deployment operation '{p['op']}' could not be found."
        )

    @arm_route()
    async def validate(ctx: RequestContext) -> web.StreamResponse:
        p = ctx.params
        try:
            _, plan, dep = deployments.plan(p["sub"], p["rg"], p["name"], ctx.json())
        except ArmError as err:
            if err.status != 400:
                raise
            return ok({"error": err.body()["error"]}, status=400)
        body = dep.body()
        body["properties"]["provisioningState"] = "Succeeded"
        body["properties"]["validatedResources"] = [
            {"id": res.id} for res in plan.resources if not res.existing
        ]
        return ok(body)

    @arm_route()
    async def cancel(ctx: RequestContext) -> web.StreamResponse:
        p = ctx.params
        dep = deployments.find(p["sub"], p["rg"], p["name"])
        if dep.status not in ("Accepted", "Running"):
            raise ArmError(
                409,
                "DeploymentCannotBeCancelled",
                f"The deployment '{p['name']}' cannot be cancelled: it is in state '{dep.status}'.",
            )
        if dep.task is not None:
            dep.task.cancel()
        return web.Response(status=204)

    @arm_route()
    async def delete(ctx: RequestContext) -> web.StreamResponse:
        p = ctx.params
        dep = deployments.items.pop(deployments.key(p["sub"], p["rg"], p["name"]), None)
        if dep is not None and dep.task is not None:
            dep.task.cancel()
        return web.Response(status=204)

    ops_short = "/subscriptions/{sub}/resourcegroups/{rg}/deployments/{name}/operations"
    r.add("GET", base, list_deployments)
    r.add("PUT", base + "/{name}", put)
    r.add("GET", base + "/{name}", get)
    r.add("HEAD", base + "/{name}", head)
    r.add("DELETE", base + "/{name}", delete)
    r.add("POST", base + "/{name}/validate", validate)
    r.add("POST", base + "/{name}/cancel", cancel)
    r.add("GET", base + "/{name}/operationStatuses/{op}", status)
    r.add("GET", base + "/{name}/operations", list_operations)
    r.add("GET", base + "/{name}/operations/{op}", get_operation)
    r.add("GET", ops_short, list_operations)
    r.add("GET", ops_short + "/{op}", get_operation)
