"""ARM's token checks in the emulator: tenant, audience, validity; and its metadata document."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from typing import Any

import pytest
from azure.core.exceptions import ClientAuthenticationError
from azure.identity.aio import AzureCliCredential
from azure.mgmt.resource.resources.aio import ResourceManagementClient
from azure.mgmt.resource.subscriptions.aio import SubscriptionClient

from tests.azure_emulator import tokens
from tests.azure_emulator.server import Emulator

GUEST_SUB = "c4e5f6a7-b8c9-4d0e-8f1a-2b3c4d5e6f70"


@pytest.fixture
async def cred(azure_env: dict[str, str]) -> AsyncIterator[AzureCliCredential]:
    async with AzureCliCredential() as credential:
        yield credential


def _kwargs(emu: Emulator) -> dict[str, Any]:
    return {"base_url": emu.arm_url, "connection_verify": str(emu.ca_path)}


def _get(emu: Emulator, path: str, auth: str | None) -> tuple[int, dict[str, str], Any]:
    req = urllib.request.Request(emu.arm_url + path)
    if auth:
        req.add_header("Authorization", auth)
    try:
        with urllib.request.urlopen(req, context=ssl.create_default_context(cafile=str(emu.ca_path))) as resp:
            return resp.status, dict(resp.headers), json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), json.loads(err.read())


async def test_guest_subscription_needs_a_token_from_its_tenant(
    emulator: Emulator, cred: AzureCliCredential
) -> None:
    async with SubscriptionClient(cred, **_kwargs(emulator)) as client:  # home tenant (az's default)
        assert GUEST_SUB not in [s.subscription_id async for s in client.subscriptions.list()]
    async with ResourceManagementClient(cred, GUEST_SUB, **_kwargs(emulator)) as client:
        with pytest.raises(ClientAuthenticationError) as err:
            await client.resource_groups.create_or_update("rg-guest", {"location": "eastus"})
    assert err.value.error is not None and err.value.error.code == "InvalidAuthenticationTokenTenant"
    guest = tokens.GUEST_TENANT
    assert err.value.error.message == (
        f"The access token is from the wrong issuer 'https://sts.windows.net/{tokens.HOME_TENANT}/'. "
        f"It must match the tenant 'https://sts.windows.net/{guest}/' associated with this subscription. "
        f"Please use the authority (URL) 'https://login.windows.net/{guest}' to get the token. "
        "Note, if the subscription is transferred to another tenant there is no impact to the services, "
        "but information about new tenant could take time to propagate (up to an hour). "
        "If you just transferred your subscription and see this error message, please try back later."
    )
    # A token for the guest tenant (az account get-access-token --tenant) is accepted.
    async with AzureCliCredential(tenant_id=guest) as guest_cred:
        async with SubscriptionClient(guest_cred, **_kwargs(emulator)) as client:
            assert [s.subscription_id async for s in client.subscriptions.list()] == [GUEST_SUB]
        async with ResourceManagementClient(guest_cred, GUEST_SUB, **_kwargs(emulator)) as client:
            group = await client.resource_groups.create_or_update("rg-guest", {"location": "eastus"})
            assert group.name == "rg-guest"


def test_challenge_names_the_subscriptions_tenant(emulator: Emulator) -> None:
    status, headers, body = _get(emulator, f"/subscriptions/{GUEST_SUB}?api-version=2022-12-01", None)
    assert status == 401 and body["error"]["code"] == "AuthenticationFailed"
    assert headers["WWW-Authenticate"] == (
        f'Bearer authorization_uri="https://login.windows.net/{tokens.GUEST_TENANT}", error="invalid_token", '
        "error_description=\"The authentication failed because of missing 'Authorization' header.\""
    )


@pytest.mark.no_fidelity(reason="sends tokens ARM rejects, on purpose")
def test_wrong_audience_and_malformed_tokens_are_refused(emulator: Emulator) -> None:
    path = "/subscriptions?api-version=2022-12-01"
    status, _, body = _get(emulator, path, tokens.bearer(resource="https://vault.azure.net"))
    assert status == 401 and body["error"] == {
        "code": "InvalidAuthenticationTokenAudience",
        "message": "The access token has been obtained for wrong audience or resource 'https://vault.azure.net'. "
        "It should exactly match with one of the allowed audiences 'https://management.core.windows.net/',"
        "'https://management.core.windows.net','https://management.azure.com/','https://management.azure.com'.",
    }
    status, _, body = _get(emulator, path, "Bearer not-a-jwt")
    assert status == 401 and body["error"] == {
        "code": "InvalidAuthenticationToken",
        "message": "The access token is invalid.",
    }
    status, _, body = _get(emulator, path, tokens.bearer())
    assert status == 200


def test_metadata_document_names_endpoint_and_audiences(emulator: Emulator) -> None:
    status, _, body = _get(emulator, "/metadata/endpoints?api-version=2022-09-01", None)  # no token needed
    assert status == 200 and isinstance(body, list)
    assert body[0]["resourceManager"] == emulator.arm_url + "/"
    assert body[0]["authentication"]["audiences"] == emulator.settings.arm_audiences
    assert body[0]["portal"] == "https://portal.azure.com"
