"""Which Azure cloud to talk to: the ARM endpoint, configured the way sovereign-cloud users do."""

from __future__ import annotations

import os
from dataclasses import dataclass

PUBLIC_ARM_ENDPOINT = "https://management.azure.com"


@dataclass(frozen=True)
class Cloud:
    arm_endpoint: str = PUBLIC_ARM_ENDPOINT

    @property
    def arm_scope(self) -> str:
        """Token scope for ARM calls (the public-cloud audience works for management endpoints
        that accept it; sovereign clouds set AZURE_RESOURCE_MANAGER_SCOPE if theirs differs)."""
        return os.environ.get("AZURE_RESOURCE_MANAGER_SCOPE", "https://management.azure.com/.default")

    @property
    def portal(self) -> str:
        return os.environ.get("AZURE_PORTAL_URL", "https://portal.azure.com")

    @classmethod
    def from_env(cls, arm_endpoint: str | None = None) -> Cloud:
        """``--arm-endpoint`` wins, then AZURE_RESOURCE_MANAGER_ENDPOINT, then public Azure."""
        endpoint = arm_endpoint or os.environ.get("AZURE_RESOURCE_MANAGER_ENDPOINT") or PUBLIC_ARM_ENDPOINT
        return cls(arm_endpoint=endpoint.rstrip("/"))
