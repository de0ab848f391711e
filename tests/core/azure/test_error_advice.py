"""Failures whose cause Azure does not spell out get advice: untrusted TLS names the CA bundle
settings, a 5xx that outlasts the retries says what to do; messages end with one full stop."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aitk_inference.core.azure import clients
from aitk_inference.core.azure.cloud import Cloud
from aitk_inference.core.deploy.status import status
from aitk_inference.core.errors import AitkError
from aitk_inference.core.reporting import RecordingProgress

from tests.azure_emulator.server import Emulator
from tests.core.deploy.test_deploy import provisioned, run_deploy
from tests.core.helpers import SUBSCRIPTION

SYSTEM_CA = "/etc/ssl/certs/ca-certificates.crt"


@pytest.fixture
def few_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The retry count is not under test here; the words after the last retry are."""
    monkeypatch.setitem(clients.RETRY_SETTINGS, "retry_total", 1)
    monkeypatch.setitem(clients.RETRY_SETTINGS, "retry_backoff_factor", 0.01)


@pytest.fixture
def config(project: Path) -> dict[str, str]:
    values = {
        "SUBSCRIPTION_ID": SUBSCRIPTION,
        "RESOURCE_GROUP_NAME": "rg-advice",
        "STORAGE_ACCOUNT_NAME": "stadvice1",
        "FILE_SHARE_NAME": "inference",
        "ACA_APP_NAME": "aca-advice",
        "ACA_APP_ENDPOINT": "aca-advice.example.westus3.azurecontainerapps.io",
    }
    (project / "infra" / "inference.config.json").write_text(json.dumps(values))
    return values


async def status_error(project: Path, credential: Any, cloud: Cloud) -> AitkError:
    with pytest.raises(AitkError) as exc:
        await status(project, credential, cloud=cloud, progress=RecordingProgress())
    return exc.value


@pytest.mark.usefixtures("few_retries", "config")
async def test_a_repeated_server_error_gets_advice_and_one_full_stop(
    emulator: Emulator, credential: Any, cloud: Cloud, project: Path
) -> None:
    emulator.faults.add(service="arm", method="GET", path="/containerApps/aca-advice$", status=503, times=-1)
    error = await status_error(project, credential, cloud)
    assert str(error) == (
        "Azure refused reading container app aca-advice (HTTP 503): ServiceUnavailable: The service is "
        "temporarily unavailable (injected fault). Azure kept answering HTTP 503 after several retries; "
        "this is usually temporary. Wait a few minutes and try again; if it persists, check Service "
        "Health in the Azure portal."
    )


@pytest.mark.usefixtures("few_retries", "config")
async def test_an_untrusted_certificate_names_the_ca_bundle_settings(
    emulator: Emulator, credential: Any, cloud: Cloud, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Trust only the system's CAs: the emulator's certificate is then what a re-signing proxy's is.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", SYSTEM_CA)
    monkeypatch.setenv("SSL_CERT_FILE", SYSTEM_CA)
    error = await status_error(project, credential, cloud)
    assert str(error) == (
        "Could not reach Azure while reading container app aca-advice: the server's TLS certificate was "
        "not trusted. If a proxy or firewall "
        "re-signs HTTPS, point REQUESTS_CA_BUNDLE or SSL_CERT_FILE (in VS Code: the aitk.inference.caBundle "
        "setting) at its CA certificate bundle (PEM), then retry."
    )
    assert error.code == "TlsUntrusted"


async def test_a_storage_refusal_shows_the_code_as_azure_wrote_it(
    emulator: Emulator, credential: Any, cloud: Cloud, project: Path
) -> None:
    config = await provisioned(project, credential, cloud)
    emulator.faults.add(
        service="file", status=403, code="AuthenticationFailed", message="Bad signature.", times=-1
    )
    with pytest.raises(AitkError) as exc:
        await run_deploy(project, credential, cloud)
    assert str(exc.value) == (
        f"The storage account '{config['STORAGE_ACCOUNT_NAME']}' refused the request (AuthenticationFailed). "
        "Check that the account key is current (keys may have been rotated) and that your network is "
        "allowed by the account's firewall."
    )


async def test_a_share_failure_ends_with_one_full_stop(
    emulator: Emulator, credential: Any, cloud: Cloud, project: Path, few_retries: None
) -> None:
    await provisioned(project, credential, cloud)
    emulator.faults.add(service="file", status=500, code="InternalError", times=-1)
    with pytest.raises(AitkError) as exc:
        await run_deploy(project, credential, cloud)
    assert ".." not in str(exc.value)
    assert (
        exc.value.hint is not None and "Azure kept answering HTTP 500 after several retries" in exc.value.hint
    )
