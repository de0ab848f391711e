"""Azure Resource Manager: subscriptions, resource groups, deployments, resource providers."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.azure_emulator.server import Emulator


def register(emulator: Emulator) -> None:
    """Add ARM routes to ``emulator.arm_router``."""
