"""ARM's bearer-token checks, as Azure Resource Manager answers them: a missing header, a token
that is not a JWT, an expired one, one for another audience, and one from a tenant other than the
subscription's (a guest user who asked for a token in the wrong tenant). Messages and
``WWW-Authenticate`` challenges follow ARM's; signatures are not verified (no Entra ID here).
"""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import TYPE_CHECKING, Any

from tests.azure_emulator import tokens
from tests.azure_emulator.routing import ArmError

if TYPE_CHECKING:
    from aiohttp import web

    from tests.azure_emulator.server import EmulatorSettings

_SUBSCRIPTION_PATH = re.compile(r"^/subscriptions/([^/]+)", re.IGNORECASE)
# Served without a token, like ARM's own metadata document.
ANONYMOUS_PATHS = ("/metadata/endpoints",)


def subscription_tenant(settings: EmulatorSettings, subscription_id: str) -> str | None:
    for s in settings.subscriptions:
        if s["subscriptionId"].lower() == subscription_id.lower():
            return s.get("tenantId", settings.tenant_id)
    return None


def _path_tenant(settings: EmulatorSettings, path: str) -> str | None:
    m = _SUBSCRIPTION_PATH.match(path)
    return subscription_tenant(settings, m.group(1)) if m else None


def _challenge(tenant: str, description: str) -> dict[str, str]:
    return {
        "WWW-Authenticate": f'Bearer authorization_uri="https://login.windows.net/{tenant}", '
        f'error="invalid_token", error_description="{description}"'
    }


def _utc(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%m/%d/%Y %H:%M:%S")


def bearer_claims(request: web.Request) -> dict[str, Any] | None:
    auth = request.headers.get("Authorization", "")
    return tokens.claims(auth[len("Bearer ") :]) if auth.startswith("Bearer ") else None


def check_bearer(settings: EmulatorSettings, request: web.Request) -> None:
    """Raises the ArmError ARM answers for this request's token, if any."""
    path_tenant = _path_tenant(settings, request.path)
    auth = request.headers.get("Authorization", "")
    if not auth.startswith("Bearer ") or len(auth) <= len("Bearer "):
        raise ArmError(
            401,
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.",
            headers=_challenge(
                path_tenant or settings.tenant_id,
                "The authentication failed because of missing 'Authorization' header.",
            ),
        )
    claims = bearer_claims(request)
    if claims is None or not isinstance(claims.get("tid"), str) or not isinstance(claims.get("exp"), int):
        raise ArmError(
            401,
            "InvalidAuthenticationToken",
            "The access token is invalid.",
            headers=_challenge(path_tenant or settings.tenant_id, "The access token is invalid."),
        )
    now = time.time()
    if claims["exp"] < now:
        raise ArmError(
            401,
            "ExpiredAuthenticationToken",
            f"The access token expiry UTC time '{_utc(claims['exp'])}' is earlier than current UTC time '{_utc(now)}'.",
            headers=_challenge(claims["tid"], "The access token has expired."),
        )
    allowed = settings.arm_audiences
    if str(claims.get("aud", "")).rstrip("/") not in {a.rstrip("/") for a in allowed}:
        listed = ",".join(f"'{v}'" for a in allowed for v in (a, a.rstrip("/")) if a)
        raise ArmError(
            401,
            "InvalidAuthenticationTokenAudience",
            f"The access token has been obtained for wrong audience or resource '{claims.get('aud')}'. "
            f"It should exactly match with one of the allowed audiences {listed}.",
            headers=_challenge(
                claims["tid"], "The access token has been obtained for wrong audience or resource."
            ),
        )
    if path_tenant is not None and claims["tid"] != path_tenant:
        raise ArmError(
            401,
            "InvalidAuthenticationTokenTenant",
            f"The access token is from the wrong issuer 'https://sts.windows.net/{claims['tid']}/'. "
            f"It must match the tenant 'https://sts.windows.net/{path_tenant}/' associated with this subscription. "
            f"Please use the authority (URL) 'https://login.windows.net/{path_tenant}' to get the token. "
            "Note, if the subscription is transferred to another tenant there is no impact to the services, "
            "but information about new tenant could take time to propagate (up to an hour). "
            "If you just transferred your subscription and see this error message, please try back later.",
            headers=_challenge(path_tenant, "The access token is from the wrong issuer."),
        )


def metadata_document(settings: EmulatorSettings, arm_url: str) -> list[dict[str, Any]]:
    """``GET /metadata/endpoints?api-version=2022-09-01``: ARM's cloud description (a list of
    clouds, each with its endpoints, suffixes and the token audiences its ARM accepts)."""
    return [
        {
            "portal": settings.portal_url,
            "authentication": {
                "loginEndpoint": "https://login.microsoftonline.com",
                "audiences": list(settings.arm_audiences),
                "tenant": "common",
                "identityProvider": "AAD",
            },
            "media": "https://rest.media.azure.net",
            "graphAudience": "https://graph.windows.net/",
            "graph": "https://graph.windows.net/",
            "name": settings.cloud_name,
            "suffixes": {
                "azureDataLakeStoreFileSystem": "azuredatalakestore.net",
                "acrLoginServer": "azurecr.io",
                "sqlServerHostname": "database.windows.net",
                "azureDataLakeAnalyticsCatalogAndJob": "azuredatalakeanalytics.net",
                "keyVaultDns": "vault.azure.net",
                "storage": "core.windows.net",
                "azureFrontDoorEndpointSuffix": "azurefd.net",
                "storageSyncEndpointSuffix": "afs.azure.net",
                "mhsmDns": "managedhsm.azure.net",
                "mysqlServerEndpoint": "mysql.database.azure.com",
                "postgresqlServerEndpoint": "postgres.database.azure.com",
                "mariadbServerEndpoint": "mariadb.database.azure.com",
                "synapseAnalytics": "dev.azuresynapse.net",
                "attestationEndpoint": "attest.azure.net",
            },
            "batch": "https://batch.core.windows.net/",
            "resourceManager": f"{arm_url}/",
            "vmImageAliasDoc": "https://raw.githubusercontent.com/Azure/azure-rest-api-specs/main/arm-compute/quickstart-templates/aliases.json",
            "activeDirectoryDataLake": "https://datalake.azure.net/",
            "sqlManagement": "https://management.core.windows.net:8443/",
            "microsoftGraphResourceId": "https://graph.microsoft.com/",
            "appInsightsResourceId": "https://api.applicationinsights.io",
            "appInsightsTelemetryChannelResourceId": "https://dc.applicationinsights.azure.com/v2/track",
            "attestationResourceId": "https://attest.azure.net",
            "synapseAnalyticsResourceId": "https://dev.azuresynapse.net",
            "logAnalyticsResourceId": "https://api.loganalytics.io",
            "ossrDbmsResourceId": "https://ossrdbms-aad.database.windows.net",
        }
    ]
