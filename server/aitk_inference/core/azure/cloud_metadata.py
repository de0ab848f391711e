"""A custom ARM endpoint's own description of its cloud: ``GET {endpoint}/metadata/endpoints``.

Its token audience comes from there, never from the endpoint's host name or from us: a token is
only ever minted for the audience the endpoint's cloud publishes. The request carries no token.
The portal URL (which the Azure SDK does not define) is read from the same document.
"""

from __future__ import annotations

from typing import Any

from aitk_inference.core.azure.cloud import DEFAULT_CLOUD, Cloud
from aitk_inference.core.errors import AitkError

METADATA_API_VERSION = "2022-09-01"
_TIMEOUT_S = 30
_HINT = (
    "Check the custom ARM endpoint (aitk.inference.armEndpoint, --arm-endpoint or "
    "AZURE_RESOURCE_MANAGER_ENDPOINT), the network and the CA bundle."
)


def metadata_url(arm_endpoint: str) -> str:
    return f"{arm_endpoint.rstrip('/')}/metadata/endpoints?api-version={METADATA_API_VERSION}"


def scope_for(audience: str) -> str:
    """The v2 scope for a v1 audience, as azure-cli maps it (``https://x/`` → ``https://x//.default``)."""
    return f"{audience}/.default"


def cloud_from_metadata(arm_endpoint: str, document: Any) -> Cloud:
    """The cloud whose ``resourceManager`` is ``arm_endpoint``, from its metadata document (a list of
    clouds; older api-versions and Azure Stack Hub answer one object)."""
    endpoint = arm_endpoint.rstrip("/")
    clouds = document if isinstance(document, list) else [document]
    for entry in clouds:
        if (
            not isinstance(entry, dict)
            or str(entry.get("resourceManager", "")).rstrip("/").lower() != endpoint.lower()
        ):
            continue
        auth = entry.get("authentication")
        audiences = auth.get("audiences") if isinstance(auth, dict) else None
        if (
            not isinstance(audiences, list)
            or not audiences
            or not isinstance(audiences[0], str)
            or not audiences[0]
        ):
            raise AitkError(
                f"The metadata document of the ARM endpoint {endpoint} names no token audience "
                "(authentication.audiences).",
                hint=_HINT,
                code="CloudMetadata",
            )
        portal, login = entry.get("portal"), auth.get("loginEndpoint") if isinstance(auth, dict) else None
        return Cloud(
            name=str(entry.get("name") or endpoint),
            arm_endpoint=endpoint,
            arm_scope=scope_for(audiences[0]),
            portal=portal.rstrip("/") if isinstance(portal, str) and portal else None,
            authority_host=login.rstrip("/") if isinstance(login, str) and login else None,
        )
    raise AitkError(
        f"The metadata document of the ARM endpoint {endpoint} describes no cloud whose resourceManager is {endpoint}.",
        hint=_HINT,
        code="CloudMetadata",
    )


async def fetch_metadata(arm_endpoint: str) -> Any:
    import aiohttp

    from aitk_inference.core.azure.tls import ssl_context

    url = metadata_url(arm_endpoint)
    try:
        async with (
            aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=ssl_context()),
                trust_env=True,  # proxies from the environment, as azure-core does
                timeout=aiohttp.ClientTimeout(total=_TIMEOUT_S),
            ) as session,
            session.get(url, headers={"Accept": "application/json"}) as response,
        ):
            if response.status != 200:
                raise AitkError(
                    f"The ARM endpoint {arm_endpoint} answered HTTP {response.status} for its metadata document ({url}).",
                    hint=_HINT,
                    code="CloudMetadata",
                )
            return await response.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        raise AitkError(
            f"Could not read the metadata document of the ARM endpoint {arm_endpoint} ({type(exc).__name__}: {exc}).",
            hint=_HINT,
            code="CloudMetadata",
        ) from None


async def resolve_cloud(name: str | None = None, arm_endpoint: str | None = None) -> Cloud:
    """The cloud the user asked for (see :meth:`Cloud.requested`); a custom endpoint is described
    by its metadata document."""
    wanted, endpoint = Cloud.requested(name, arm_endpoint)
    if endpoint is None:
        return Cloud.named(wanted or DEFAULT_CLOUD)
    return cloud_from_metadata(endpoint, await fetch_metadata(endpoint))


_PORTALS: dict[str, str | None] = {}  # ARM endpoint -> its portal (None: could not be read)


async def portal_url(cloud: Cloud) -> str | None:
    """The cloud's portal, from its metadata document, read once per process; None when it cannot
    be read (a portal link is a convenience, not worth failing an operation for)."""
    if cloud.portal:
        return cloud.portal
    if cloud.arm_endpoint not in _PORTALS:
        try:
            described = cloud_from_metadata(cloud.arm_endpoint, await fetch_metadata(cloud.arm_endpoint))
            _PORTALS[cloud.arm_endpoint] = described.portal
        except AitkError:
            _PORTALS[cloud.arm_endpoint] = None
    return _PORTALS[cloud.arm_endpoint]
