"""A revision's replicas, and telling the ones a restart created from the ones it replaces.

Container Apps restarts a revision by starting new replicas (new names, new ``createdTime``) while
the old ones keep serving until the new ones pass their probes. The revision's own state and the
endpoint therefore say nothing about which code answers; only the replica list does. Names are
what a restart changes for sure (times come from the service's clock, which ours need not match).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aitk_inference.core.azure.errors import azure_call

if TYPE_CHECKING:
    from azure.mgmt.appcontainers.aio import ContainerAppsAPIClient


@dataclass(frozen=True)
class ReplicaState:
    name: str
    created: str  # ISO time as the service reports it, for people
    running_state: str
    ready: bool  # running and every container ready
    details: str

    def describe(self) -> str:
        state = self.running_state or "in an unknown state"
        extra = f" ({self.details})" if self.details and self.details != self.running_state else ""
        return f"{self.name} (created {self.created or 'at an unknown time'}) is {state}{extra}"


def _text(value: Any) -> str:
    return "" if value is None else str(getattr(value, "value", value))


def _state(replica: Any) -> ReplicaState:
    containers = list(getattr(replica, "containers", None) or [])
    running = _text(getattr(replica, "running_state", None))
    created: Any = getattr(replica, "created_time", None)
    return ReplicaState(
        name=str(replica.name),
        created=created.strftime("%Y-%m-%d %H:%M:%S UTC")
        if isinstance(created, datetime)
        else _text(created),
        running_state=running,
        ready=running.lower() == "running" and bool(containers) and all(c.ready for c in containers),
        details=_text(getattr(replica, "running_state_details", None)),
    )


async def list_replicas(
    client: ContainerAppsAPIClient, resource_group: str, app: str, revision: str
) -> list[ReplicaState]:
    async with azure_call(f"listing the replicas of revision {revision}"):
        found = await client.container_apps_revision_replicas.list_replicas(resource_group, app, revision)
    return [_state(r) for r in found.value or []]


@dataclass(frozen=True)
class Replacement:
    """Where a restart of one revision stands, from one replica list."""

    new: list[ReplicaState]
    old_serving: list[ReplicaState]

    @property
    def done(self) -> bool:
        """A new replica is ready and no replica from before the restart still runs."""
        return any(r.ready for r in self.new) and not self.old_serving

    def describe(self) -> str:
        parts = [f"new replica {r.describe()}" for r in self.new] or ["no new replica yet"]
        parts += [f"old replica {r.name} still serving" for r in self.old_serving]
        return "; ".join(parts)


def replacement(before: set[str], now: list[ReplicaState]) -> Replacement:
    return Replacement(
        new=[r for r in now if r.name not in before],
        old_serving=[r for r in now if r.name in before and r.running_state.lower() == "running"],
    )
