"""ARM state: resource groups, the resource store, long-running operations and per-type handlers.

A :class:`TypeHandler` owns one resource type's PUT/GET/DELETE/POST-action behaviour. Direct REST calls
and template deployments both go through :meth:`ArmState.apply_put`, so a deployed resource is exactly
what a direct PUT would have made (same shape, same side effects: keys, shares, revisions, ingress).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tests.azure_emulator.arm.common import ResourceId, ResourceStore, iso, not_found, system_data
from tests.azure_emulator.routing import ArmError

if TYPE_CHECKING:
    from tests.azure_emulator.server import Emulator


@dataclass
class Operation:
    """A long-running operation, polled through an ``Azure-AsyncOperation`` / ``Location`` URL."""

    id: str
    status: str = "InProgress"  # InProgress | Succeeded | Failed | Canceled
    start_time: str = field(default_factory=iso)
    end_time: str | None = None
    error: dict[str, Any] | None = None
    resource_id: str | None = None
    # Set for an update polled through ``Location`` (PATCH): once done, that URL answers 200 with
    # this resource, as ARM's final-state-via-location contract says; unset, it answers 204.
    result_id: str | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def finish(self, error: dict[str, Any] | None = None) -> None:
        self.status = "Failed" if error else "Succeeded"
        self.error = error
        self.end_time = iso()
        self.done.set()

    def status_body(self, op_url_id: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": op_url_id,
            "name": self.id,
            "status": self.status,
            "startTime": self.start_time,
        }
        if self.end_time:
            body["endTime"] = self.end_time
        if self.error:
            body["error"] = self.error
        return body


@dataclass
class PutOutcome:
    resource: dict[str, Any]
    created: bool
    operation: Operation | None = None  # set when the PUT is long-running (201/200 + Azure-AsyncOperation)
    async_url: str | None = None  # Azure-AsyncOperation header value
    status: int | None = None  # overrides 201/200 (e.g. storage answers 202 + Location on create)
    headers: dict[str, str] = field(default_factory=dict)


class TypeHandler:
    """Default behaviour: store what was PUT with ``provisioningState: Succeeded``, synchronously."""

    type_name = ""  # canonical casing, e.g. "Microsoft.Storage/storageAccounts"
    # When set, DELETE answers 202 + Location ``.../locations/{loc}/{kind}/{id}`` (202 → 204), like ACA.
    async_delete_kind: str | None = None

    def __init__(self, arm: ArmState) -> None:
        self.arm = arm

    async def put(
        self, rid: ResourceId, body: dict[str, Any], api_version: str, existing: dict[str, Any] | None
    ) -> PutOutcome:
        resource = self.envelope(rid, body, existing)
        props = dict(body.get("properties") or {})
        props["provisioningState"] = "Succeeded"
        resource["properties"] = props
        self.arm.store.put(str(rid), resource)
        return PutOutcome(resource, existing is None)

    def envelope(
        self, rid: ResourceId, body: dict[str, Any], existing: dict[str, Any] | None
    ) -> dict[str, Any]:
        """id/name/type/location/tags/sku/kind/identity/systemData; ids keep the first PUT's casing."""
        res: dict[str, Any] = {
            "id": existing["id"] if existing else self.canonical_id(rid),
            "name": existing["name"] if existing else rid.name,
            "type": self.type_name or rid.full_type,
        }
        location = body.get("location") or (existing or {}).get("location")
        if location is None and rid.parent is None:
            location = self.arm.resource_group_location(rid)
        if location is not None:
            res["location"] = location
        for key in ("sku", "kind", "identity", "tags", "zones", "extendedLocation"):
            if key in body:
                res[key] = body[key]
            elif existing and key in existing:
                res[key] = existing[key]
        if rid.parent is None:
            res.setdefault("tags", {})
        res["systemData"] = system_data(existing)
        return res

    def start_operation(
        self, rid: ResourceId, location: str, api_version: str, kind: str, steps: int = 1, then: Any = None
    ) -> tuple[Operation, str]:
        """A long-running operation finishing after ``steps`` delays; returns it and its
        ``Azure-AsyncOperation`` URL (``.../locations/{loc}/{kind}/{id}``, as Container Apps uses)."""
        op = self.arm.new_operation(str(rid))
        self.arm.finish_later(op, steps, then)
        loc = location.replace(" ", "").lower()
        url = (
            f"{self.arm.emulator.arm_url}/subscriptions/{rid.subscription}/providers/{rid.namespace}"
            f"/locations/{loc}/{kind}/{op.id}?api-version={api_version}&azureAsyncOperation=true"
        )
        return op, url

    def canonical_id(self, rid: ResourceId) -> str:
        if not self.type_name:
            return str(rid)
        ns, *types = self.type_name.split("/")
        canon = ResourceId(rid.subscription, self.arm.rg_name(rid), ns, tuple(types), rid.names)
        return str(canon)

    def implicit_resource(self, rid: ResourceId) -> dict[str, Any] | None:
        """A resource that exists without a PUT (e.g. storage ``fileServices/default``), else None."""
        return None

    def render(self, resource: dict[str, Any]) -> dict[str, Any]:
        """The GET view of a stored resource (handlers add live state, e.g. revision names)."""
        return resource

    async def delete(self, rid: ResourceId, resource: dict[str, Any]) -> None:
        """Side effects of deleting (stop runtimes, forget keys)."""

    def action(
        self, rid: ResourceId, action: str, body: dict[str, Any] | None, api_version: str
    ) -> tuple[int, Any]:
        raise ArmError(
            404,
            "NotFound",
            f"No HTTP resource was found for action '{action}' on resource type '{rid.full_type}'.",
        )


class ArmState:
    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.store = ResourceStore()
        # (subscription, rg lower) -> resource group JSON
        self.resource_groups: dict[tuple[str, str], dict[str, Any]] = {}
        self.operations: dict[str, Operation] = {}
        self.handlers: dict[str, TypeHandler] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        emulator.on_stop(self._cancel_tasks)

    # -- registration & tasks ---------------------------------------------------
    def add_handler(self, handler_cls: type[TypeHandler]) -> TypeHandler:
        handler = handler_cls(self)
        self.handlers[handler.type_name.lower()] = handler
        return handler

    def handler_for(self, rid: ResourceId) -> TypeHandler:
        return self.handlers.get(rid.type_key) or TypeHandler(self)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run a background coroutine owned by the emulator (cancelled at stop)."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _cancel_tasks(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def new_operation(self, resource_id: str | None = None) -> Operation:
        op = Operation(str(uuid.uuid4()), resource_id=resource_id)
        self.operations[op.id] = op
        return op

    def finish_later(self, op: Operation, steps: int = 1, then: Any = None) -> None:
        """Complete ``op`` after ``steps`` x settings.operation_step_delay; ``then()`` runs first."""

        async def run() -> None:
            await asyncio.sleep(self.emulator.settings.operation_step_delay * steps)
            error = then() if then is not None else None
            op.finish(error)

        self.spawn(run())

    # -- subscriptions & resource groups ----------------------------------------
    def subscription(self, sub: str) -> dict[str, str]:
        for s in self.emulator.settings.subscriptions:
            if s["subscriptionId"].lower() == sub.lower():
                return s
        raise ArmError(404, "SubscriptionNotFound", f"The subscription '{sub}' could not be found.")

    def resource_group(self, sub: str, rg: str) -> dict[str, Any]:
        self.subscription(sub)
        found = self.resource_groups.get((sub.lower(), rg.lower()))
        if found is None:
            raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{rg}' could not be found.")
        return found

    def rg_name(self, rid: ResourceId) -> str:
        return str(self.resource_group(rid.subscription, rid.resource_group)["name"])

    def resource_group_location(self, rid: ResourceId) -> str:
        return str(self.resource_group(rid.subscription, rid.resource_group)["location"])

    # -- resources ------------------------------------------------------------------
    def get(self, resource_id: str) -> dict[str, Any] | None:
        """A resource as GET returns it, or None."""
        rid = ResourceId.parse(resource_id)
        stored = self.lookup(rid)
        return None if stored is None else self.handler_for(rid).render(stored)

    def lookup(self, rid: ResourceId) -> dict[str, Any] | None:
        """The stored resource, or an implicit one (existing with its parent), or None."""
        stored = self.store.get(str(rid))
        return stored if stored is not None else self.handler_for(rid).implicit_resource(rid)

    def require(self, rid: ResourceId) -> dict[str, Any]:
        self.resource_group(rid.subscription, rid.resource_group)
        stored = self.lookup(rid)
        if stored is None:
            raise not_found(rid)
        return stored

    async def apply_put(self, resource_id: str, body: dict[str, Any], api_version: str) -> PutOutcome:
        """Create or update a resource through its type handler (REST PUT and deployments)."""
        rid = ResourceId.parse(resource_id)
        self.resource_group(rid.subscription, rid.resource_group)
        parent = rid.parent
        if parent is not None and self.lookup(parent) is None:
            raise ArmError(
                404,
                "ParentResourceNotFound",
                f"Can not perform requested operation on nested resource. Parent resource "
                f"'{'/'.join(parent.names)}' not found.",
            )
        existing = self.store.get(str(rid))
        return await self.handler_for(rid).put(rid, body, api_version, existing)

    async def delete(self, rid: ResourceId) -> bool:
        stored = self.store.get(str(rid))
        if stored is None:
            return False
        for key, child in sorted(self.store.under(str(rid)), key=lambda kv: -len(kv[0])):
            child_rid = ResourceId.parse(child["id"])
            await self.handler_for(child_rid).delete(child_rid, child)
            self.store.delete(key)
        await self.handler_for(rid).delete(rid, stored)
        self.store.delete(str(rid))
        return True

    def list(self, sub: str, rg: str | None, full_type: str, parent: ResourceId | None = None) -> list[Any]:
        """Resources of ``full_type`` in a resource group, subscription, or under ``parent``."""
        if parent is not None:
            prefix = str(parent)
        elif rg is not None:
            prefix = f"/subscriptions/{sub}/resourceGroups/{rg}"
        else:
            prefix = f"/subscriptions/{sub}"
        out = []
        for _, res in self.store.under(prefix):
            if str(res.get("type", "")).lower() == full_type.lower():
                out.append(self.handler_for(ResourceId.parse(res["id"])).render(res))
        return out
