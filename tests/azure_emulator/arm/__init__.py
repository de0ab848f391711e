"""Azure Resource Manager: subscriptions, resource groups, deployments, resource providers.

Resources live in one store keyed by lower-cased resource id; each resource type has a
:class:`~tests.azure_emulator.arm.state.TypeHandler` (storage, Log Analytics, Container Apps), and
template deployments apply resources through the same handlers as a direct PUT.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.azure_emulator.arm.containerapps import register_containerapps
from tests.azure_emulator.arm.containerapps_operate import register_containerapps_operate
from tests.azure_emulator.arm.deployments import register_deployments
from tests.azure_emulator.arm.resources import register_generic, register_resources
from tests.azure_emulator.arm.state import ArmState
from tests.azure_emulator.arm.storage import register_storage

if TYPE_CHECKING:
    from tests.azure_emulator.server import Emulator


def get_arm(emulator: Emulator) -> ArmState:
    """The emulator's ARM state (resource store, operations, handlers)."""
    state = emulator.services["arm"]
    assert isinstance(state, ArmState)
    return state


def register(emulator: Emulator) -> None:
    """Add ARM routes to ``emulator.arm_router`` (specific routes first, the generic catch-all last)."""
    arm = ArmState(emulator)
    emulator.services["arm"] = arm
    register_resources(arm)
    register_storage(arm)
    register_containerapps(arm)
    register_containerapps_operate(arm)
    register_deployments(arm)
    register_generic(arm)
