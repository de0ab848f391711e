"""The secret-scan plugin (tests/secret_scan.py) fails a session that writes a secret it issued."""

from __future__ import annotations

import os

import pytest

from tests import secret_scan
from tests.azure_emulator.server import Emulator
from tests.conftest import REPO

LEAKY = """
from tests import secret_scan

SECRET = "planted-" + "secret-0123456789"


def test_writes_it_to_a_config_file(tmp_path):
    secret_scan.remember(SECRET, "API key")
    (tmp_path / "inference.config.json").write_text('{"key": "%s"}' % SECRET)


def test_prints_it():
    secret_scan.remember(SECRET, "API key")
    print("the key is", SECRET)
"""

CLEAN = """
from tests import secret_scan


def test_keeps_it_to_itself(tmp_path):
    secret_scan.remember("planted-" + "secret-0123456789", "API key")
    (tmp_path / "inference.config.json").write_text('{"key": null}')
"""


@pytest.fixture
def inner(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    pytester.makeconftest('pytest_plugins = ["tests.secret_scan"]')
    return pytester


def test_a_secret_in_a_file_or_in_captured_output_fails_the_session(inner: pytest.Pytester) -> None:
    inner.makepyfile(test_leaky=LEAKY)
    result = inner.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    out = result.stdout.str()
    assert "2 passed" in out
    assert "secret scan: a key or token issued during the tests was written here:" in out
    result.stdout.fnmatch_lines(
        [
            "*/test_writes_it_to_a_config_fil0/inference.config.json: API key",
            "test_leaky.py::test_prints_it Captured stdout call: API key",
        ]
    )
    assert out.count(": API key") == 2  # each leak once
    assert "planted-secret" not in out  # the report names where, never what


def test_a_session_that_writes_no_secret_passes(inner: pytest.Pytester) -> None:
    inner.makepyfile(test_clean=CLEAN)
    result = inner.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.OK
    assert "secret scan" not in result.stdout.str()


async def test_harvest_collects_the_tokens_and_app_secrets_an_emulator_saw(
    emulator: Emulator, azure_env: dict[str, str]
) -> None:
    from azure.identity.aio import AzureCliCredential
    from azure.mgmt.appcontainers.aio import ContainerAppsAPIClient
    from azure.mgmt.resource.resources.aio import ResourceManagementClient

    from tests.azure_emulator.test_arm_resources import SUB, sdk_kwargs
    from tests.azure_emulator.test_containerapps import LOC, RG, app_body, make_env

    async with AzureCliCredential() as cred:
        async with ResourceManagementClient(cred, SUB, **sdk_kwargs(emulator)) as rm:
            await rm.resource_groups.create_or_update(RG, {"location": LOC})
        async with ContainerAppsAPIClient(cred, SUB, **sdk_kwargs(emulator)) as aca:
            env = await make_env(aca, gpu=None)
            await (await aca.container_apps.begin_create_or_update(RG, "app", app_body(env.id))).result()
    secret_scan.harvest(emulator)
    kinds = dict(secret_scan._secrets)
    assert kinds.get("s3cret-value") == "Container Apps secret (API key)"
    # the az stand-in issues JWT-shaped tokens (header.payload.signature)
    assert any(v.count(".") == 2 and k == "access token" for v, k in kinds.items())
