"""Which Azure cloud to talk to. A named cloud (``AzureCloud``, ``AzureUSGovernment``,
``AzureChinaCloud``: the names ``az cloud list`` uses) takes its ARM endpoint and token audience
from the Azure SDK's own definitions (azure-core's ``AzureClouds``, azure-mgmt-core's
``get_arm_endpoints``). A custom ARM endpoint (Azure Stack Hub, the emulator) is described by its
own metadata document: see :mod:`aitk_inference.core.azure.cloud_metadata`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from aitk_inference.core.errors import AitkError

# az's cloud names → members of azure.core.AzureClouds (the SDK has no az-style names).
KNOWN_CLOUDS = {
    "AzureCloud": "AZURE_PUBLIC_CLOUD",
    "AzureUSGovernment": "AZURE_US_GOVERNMENT",
    "AzureChinaCloud": "AZURE_CHINA_CLOUD",
}
# ... and → members of azure.identity.AzureAuthorityHosts (the cloud's Entra ID sign-in host).
_AUTHORITY_HOSTS = {
    "AzureCloud": "AZURE_PUBLIC_CLOUD",
    "AzureUSGovernment": "AZURE_GOVERNMENT",
    "AzureChinaCloud": "AZURE_CHINA",
}
DEFAULT_CLOUD = "AzureCloud"


@dataclass(frozen=True)
class Cloud:
    name: str
    arm_endpoint: str  # no trailing slash
    arm_scope: str  # the token scope ARM accepts (its audience + /.default)
    # The portal's URL, from the cloud's metadata document; None until read (the SDK has none).
    portal: str | None = None
    # Where azure-identity signs in (AzureAuthorityHosts / the metadata's loginEndpoint).
    authority_host: str | None = None

    @classmethod
    def named(cls, name: str) -> Cloud:
        """A cloud the Azure SDK knows, by its az name (case-insensitive)."""
        from azure.core import AzureClouds  # imported here: azure-core stays off the start-up path
        from azure.identity import AzureAuthorityHosts
        from azure.mgmt.core.tools import get_arm_endpoints

        canonical = next((k for k in KNOWN_CLOUDS if k.lower() == name.strip().lower()), None)
        if canonical is None:
            raise AitkError(
                f"Unknown Azure cloud {name!r}.",
                hint=f"Use one of {', '.join(KNOWN_CLOUDS)}, or set a custom ARM endpoint (Azure Stack Hub).",
                code="UnknownCloud",
            )
        endpoints = get_arm_endpoints(AzureClouds[KNOWN_CLOUDS[canonical]])
        return cls(
            name=canonical,
            arm_endpoint=str(endpoints["resource_manager"]).rstrip("/"),
            arm_scope=str(endpoints["credential_scopes"][0]),
            authority_host=str(getattr(AzureAuthorityHosts, _AUTHORITY_HOSTS[canonical])),
        )

    @staticmethod
    def requested(name: str | None = None, arm_endpoint: str | None = None) -> tuple[str | None, str | None]:
        """(cloud name, custom ARM endpoint) the user asked for: an argument (``--cloud`` or
        ``--arm-endpoint``), else AZURE_RESOURCE_MANAGER_ENDPOINT (the more specific), else AZURE_CLOUD."""
        if name and arm_endpoint:
            raise AitkError(
                "Both a cloud name and a custom ARM endpoint were given.",
                hint="Give either --cloud or --arm-endpoint.",
                code="UnknownCloud",
            )
        if not name and not arm_endpoint:
            arm_endpoint = os.environ.get("AZURE_RESOURCE_MANAGER_ENDPOINT") or None
            name = None if arm_endpoint else os.environ.get("AZURE_CLOUD") or None
        return name, (arm_endpoint.strip().rstrip("/") if arm_endpoint else None)
