"""Real Azure traffic recorded by the Azure SDK test proxy (``{"Entries": [...]}``), as exchanges."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.azure_emulator.traffic import Exchange

ASSETS = "azure-sdk-assets"
NET = f"{ASSETS}/net/sdk"

DEPLOYMENT_CREATE = (
    f"{NET}/resources/Azure.ResourceManager.Resources.Deployments/tests/SessionRecords/"
    "DeploymentCollectionTests/CreateOrUpdate().json"
)
ENVIRONMENT_STORAGE_CREATE = (
    f"{NET}/containerapps/Azure.ResourceManager.AppContainers/tests/SessionRecords/"
    "ManagedEnviromentStorageTests/CreateOrUpdate().json"
)
CONTAINER_APP_CREATE = (
    f"{NET}/containerapps/Azure.ResourceManager.AppContainers/tests/SessionRecords/"
    "ContainerAppCollectionTests/CreateOrUpdate().json"
)
ARM_RECORDINGS = (DEPLOYMENT_CREATE, ENVIRONMENT_STORAGE_CREATE, CONTAINER_APP_CREATE)

# The api-version each provider's SDK pinned here sends; recordings were made with older ones.
CURRENT_API_VERSIONS = {
    "microsoft.app": "2026-07-01",
    "microsoft.resources/deployments": "2026-06-01",
    "microsoft.storage": "2026-09-01",
    "microsoft.operationalinsights": "2025-07-01",
    "resourcegroups": "2025-04-01",
    "subscriptions": "2022-12-01",
}


def current_api_version(path: str) -> str:
    """The api-version today's SDK would send for this path (most specific provider first)."""
    lowered = path.lower()
    for marker in (
        "microsoft.resources/deployments",
        "microsoft.app",
        "microsoft.storage",
        "microsoft.operationalinsights",
    ):
        if f"/providers/{marker}" in lowered:
            return CURRENT_API_VERSIONS[marker]
    if "/resourcegroups" in lowered:
        return CURRENT_API_VERSIONS["resourcegroups"]
    return CURRENT_API_VERSIONS["subscriptions"]


@dataclass
class Entry:
    method: str
    url: str
    path: str
    query: dict[str, str]
    request_headers: dict[str, str]
    request_body: Any  # parsed JSON, text, or None
    status: int
    response_headers: dict[str, str]
    response_body: Any

    def to_exchange(self, *, api_version: str | None = None) -> Exchange:
        """As the emulator's traffic log would hold it (optionally at another api-version)."""
        query = dict(self.query)
        if api_version is not None and "api-version" in query:
            query["api-version"] = api_version
        return Exchange(
            service="arm",
            method=self.method,
            url=self.url,
            path=self.path,
            query=query,
            route="<recording>",
            request_headers=self.request_headers,
            request_body=_encode(self.request_body),
            request_length=len(_encode(self.request_body) or b""),
            status=self.status,
            response_headers=self.response_headers,
            response_body=_encode(self.response_body),
        )


def _encode(body: Any) -> bytes | None:
    if body is None:
        return b""
    return body.encode() if isinstance(body, str) else json.dumps(body).encode()


def _headers(raw: dict[str, Any]) -> dict[str, str]:
    # The test proxy stores multi-valued headers as lists.
    return {k: ", ".join(v) if isinstance(v, list) else str(v) for k, v in raw.items()}


def load(reference_root: Path, relative: str) -> list[Entry]:
    path = reference_root / relative
    data = json.loads(path.read_text(encoding="utf-8-sig"))
    entries = []
    for raw in data["Entries"]:
        url = urlsplit(raw["RequestUri"])
        entries.append(
            Entry(
                method=raw["RequestMethod"].upper(),
                url=raw["RequestUri"],
                path=url.path,
                query=dict(parse_qsl(url.query, keep_blank_values=True)),
                request_headers=_headers(raw.get("RequestHeaders", {})),
                request_body=raw.get("RequestBody"),
                status=int(raw["StatusCode"]),
                response_headers=_headers(raw.get("ResponseHeaders", {})),
                response_body=raw.get("ResponseBody"),
            )
        )
    return entries
