"""Clouds: named ones from the Azure SDK's definitions, custom endpoints from their metadata."""

from __future__ import annotations

from typing import Any

import pytest
from aitk_inference.core.azure.clients import subscription_client
from aitk_inference.core.azure.cloud import Cloud
from aitk_inference.core.azure.cloud_metadata import cloud_from_metadata, resolve_cloud
from aitk_inference.core.azure.errors import azure_call
from aitk_inference.core.errors import AitkError
from azure.core import AzureClouds
from azure.identity import AzureAuthorityHosts
from azure.mgmt.core.tools import get_arm_endpoints

from tests.azure_emulator.server import Emulator


@pytest.mark.parametrize(
    ("name", "endpoint", "scope"),
    [
        # The literal values pin what the SDK says today; the SDK check below is the rule.
        ("AzureCloud", "https://management.azure.com", "https://management.azure.com/.default"),
        (
            "AzureUSGovernment",
            "https://management.usgovcloudapi.net",
            "https://management.core.usgovcloudapi.net/.default",
        ),
        (
            "AzureChinaCloud",
            "https://management.chinacloudapi.cn",
            "https://management.chinacloudapi.cn/.default",
        ),
    ],
)
def test_named_clouds_come_from_the_sdk(name: str, endpoint: str, scope: str) -> None:
    cloud = Cloud.named(name)
    assert (cloud.name, cloud.arm_endpoint, cloud.arm_scope) == (name, endpoint, scope)
    sdk = get_arm_endpoints(
        {
            "AzureCloud": AzureClouds.AZURE_PUBLIC_CLOUD,
            "AzureUSGovernment": AzureClouds.AZURE_US_GOVERNMENT,
            "AzureChinaCloud": AzureClouds.AZURE_CHINA_CLOUD,
        }[name]
    )
    assert (
        cloud.arm_endpoint + "/" == sdk["resource_manager"] and [cloud.arm_scope] == sdk["credential_scopes"]
    )
    assert Cloud.named(name.lower()) == cloud
    identity_hosts = {
        "AzureCloud": AzureAuthorityHosts.AZURE_PUBLIC_CLOUD,
        "AzureUSGovernment": AzureAuthorityHosts.AZURE_GOVERNMENT,
        "AzureChinaCloud": AzureAuthorityHosts.AZURE_CHINA,
    }
    assert cloud.authority_host == identity_hosts[name]


def test_unknown_cloud_is_refused_in_plain_words() -> None:
    with pytest.raises(AitkError) as err:
        Cloud.named("AzureGermanCloud")
    assert str(err.value) == (
        "Unknown Azure cloud 'AzureGermanCloud'. Use one of AzureCloud, AzureUSGovernment, AzureChinaCloud, "
        "or set a custom ARM endpoint (Azure Stack Hub)."
    )


async def test_cloud_from_argument_then_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AZURE_RESOURCE_MANAGER_ENDPOINT", raising=False)
    monkeypatch.setenv("AZURE_CLOUD", "AzureChinaCloud")
    assert (await resolve_cloud()).arm_endpoint == "https://management.chinacloudapi.cn"
    assert (await resolve_cloud("AzureUSGovernment")).arm_endpoint == "https://management.usgovcloudapi.net"
    monkeypatch.delenv("AZURE_CLOUD")
    assert (await resolve_cloud()).name == "AzureCloud"


def _document(endpoint: str, audiences: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "name": "Other",
            "resourceManager": "https://management.other.example/",
            "portal": "https://p.other",
            "authentication": {"audiences": ["https://other/"]},
        },
        {
            "name": "AzureStack-User-1",
            "resourceManager": endpoint + "/",
            "portal": "https://portal.local.azurestack.external/",
            "authentication": {
                "loginEndpoint": "https://adfs.local.azurestack.external/adfs",
                "audiences": audiences,
            },
        },
    ]


def test_custom_endpoint_takes_its_own_clouds_audience() -> None:
    endpoint = "https://management.local.azurestack.external"
    cloud = cloud_from_metadata(
        endpoint, _document(endpoint, ["https://management.adfs.azurestack.local/4f1d"])
    )
    assert cloud == Cloud(
        name="AzureStack-User-1",
        arm_endpoint=endpoint,
        arm_scope="https://management.adfs.azurestack.local/4f1d/.default",
        portal="https://portal.local.azurestack.external",
        authority_host="https://adfs.local.azurestack.external/adfs",
    )
    # Azure Stack Hub's single-object shape too
    assert (
        cloud_from_metadata(endpoint, _document(endpoint, ["https://a/"])[1]).arm_scope
        == "https://a//.default"
    )


def test_metadata_for_another_endpoint_or_without_audience_is_refused() -> None:
    endpoint = "https://arm.example"
    with pytest.raises(AitkError) as err:
        cloud_from_metadata(endpoint, _document("https://elsewhere.example", ["https://a/"]))
    assert err.value.message == (
        "The metadata document of the ARM endpoint https://arm.example describes no cloud whose "
        "resourceManager is https://arm.example."
    )
    with pytest.raises(AitkError) as err:
        cloud_from_metadata(endpoint, _document(endpoint, []))
    assert err.value.message == (
        "The metadata document of the ARM endpoint https://arm.example names no token audience "
        "(authentication.audiences)."
    )


async def test_emulator_endpoint_audience_read_from_its_metadata(
    emulator: Emulator, azure_env: dict[str, str], credential: Any
) -> None:
    """The emulator's ARM accepts only the audiences its metadata names, as ARM does."""
    emulator.settings.arm_audiences = ["https://management.emulated-stack.example/9c1e/"]
    emulator.settings.portal_url = "https://portal.emulated-stack.example"
    cloud = await resolve_cloud()
    assert cloud.arm_endpoint == emulator.arm_url
    assert cloud.arm_scope == "https://management.emulated-stack.example/9c1e//.default"
    assert cloud.portal == "https://portal.emulated-stack.example"
    assert [e.request_headers.get("Authorization") for e in emulator.traffic.snapshot()] == [None]
    async with subscription_client(credential, cloud) as client:  # 401 for any other audience
        assert [t.tenant_id async for t in client.tenants.list()]
    async with subscription_client(
        credential, Cloud("x", cloud.arm_endpoint, "https://management.azure.com/.default")
    ) as client:
        with pytest.raises(AitkError) as err:
            async with azure_call("listing tenants"):
                _ = [t async for t in client.tenants.list()]
    assert str(err.value) == (
        "Azure refused listing tenants (HTTP 401): InvalidAuthenticationTokenAudience: The access token has been "
        "obtained for wrong audience or resource 'https://management.azure.com'. It should exactly match with one "
        "of the allowed audiences 'https://management.emulated-stack.example/9c1e/',"
        "'https://management.emulated-stack.example/9c1e'."
    )


async def test_unreachable_custom_endpoint_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(AitkError) as err:
        await resolve_cloud(arm_endpoint="https://127.0.0.1:9")
    assert err.value.message.startswith(
        "Could not read the metadata document of the ARM endpoint https://127.0.0.1:9 (ClientConnectorError: "
    )
    assert err.value.hint == (
        "Check the custom ARM endpoint (aitk.inference.armEndpoint, --arm-endpoint or "
        "AZURE_RESOURCE_MANAGER_ENDPOINT), the network and the CA bundle."
    )


async def test_fallback_credential_signs_in_at_the_clouds_authority(monkeypatch: pytest.MonkeyPatch) -> None:
    from aitk_inference.core.azure.clients import default_credential

    monkeypatch.delenv("AZURE_AUTHORITY_HOST", raising=False)
    async with default_credential(Cloud.named("AzureUSGovernment")) as gov:
        authorities = {getattr(c, "_authority", None) for c in gov.credentials}  # type: ignore[attr-defined]
    assert {a for a in authorities if a} == {"https://login.microsoftonline.us"}
