"""Deploy checks the resources the config names before uploading anything: each miss names the
key, the file, the value, where it looked and the fix."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from aitk_inference.core.azure.cloud import Cloud
from aitk_inference.core.errors import ConfigError

from tests.azure_emulator.server import Emulator
from tests.core.deploy.test_deploy import provisioned, run_deploy
from tests.core.helpers import SUBSCRIPTION

OTHER_SUBSCRIPTION = "9a8b7c6d-1e2f-4a3b-8c5d-6e7f8a9b0c1d"
PROVISION_HINT = ", or run Provision to create the resources."


def write_config(project: Path, config: dict[str, Any], **changes: str) -> str:
    path = project / "infra" / "inference.config.json"
    path.write_text(json.dumps(config | changes))
    return str(path)


def uploads(emulator: Emulator) -> list[str]:
    """Requests to the file service (the share's data plane): none may happen before the checks pass."""
    return [e.path for e in emulator.traffic.snapshot() if e.service == "file"]


async def deploy_error(emulator: Emulator, project: Path, credential: Any, cloud: Cloud) -> ConfigError:
    emulator.traffic.clear()
    with pytest.raises(ConfigError) as exc:
        await run_deploy(project, credential, cloud)
    assert uploads(emulator) == []
    return exc.value


@pytest.mark.parametrize(
    ("key", "value", "expect"),
    [
        (
            "ACA_APP_NAME",
            "no-such-app",
            "ACA_APP_NAME in {file} is 'no-such-app', but no container app of that name was found in "
            "resource group rg-deploy of subscription {sub}. Correct ACA_APP_NAME (the app must be in "
            "that resource group)" + PROVISION_HINT,
        ),
        (
            "STORAGE_ACCOUNT_NAME",
            "nosuchaccount1",
            "STORAGE_ACCOUNT_NAME in {file} is 'nosuchaccount1', but no storage account of that name was "
            "found in resource group rg-deploy of subscription {sub}. Correct STORAGE_ACCOUNT_NAME (the "
            "account must be in that resource group)" + PROVISION_HINT,
        ),
        (
            "FILE_SHARE_NAME",
            "no-such-share",
            "FILE_SHARE_NAME in {file} is 'no-such-share', but no file share of that name was found in "
            "storage account {account} (resource group rg-deploy of subscription {sub}). Correct "
            "FILE_SHARE_NAME" + PROVISION_HINT,
        ),
        (
            "RESOURCE_GROUP_NAME",
            "rg-nowhere",
            "RESOURCE_GROUP_NAME in {file} is 'rg-nowhere', but no resource group of that name was found "
            "in subscription {sub}. Correct RESOURCE_GROUP_NAME (or SUBSCRIPTION_ID)" + PROVISION_HINT,
        ),
        (
            "SUBSCRIPTION_ID",
            "00000000-0000-4000-8000-000000000000",
            "SUBSCRIPTION_ID in {file} is '00000000-0000-4000-8000-000000000000', but no subscription of "
            "that name was found in the subscriptions your account can see. Set SUBSCRIPTION_ID to a "
            "subscription you can use (`az account list` shows them), or sign in with the account that "
            "has access to it.",
        ),
    ],
)
async def test_a_resource_that_is_not_there_is_named_before_any_upload(
    emulator: Emulator, credential: Any, cloud: Cloud, project: Path, key: str, value: str, expect: str
) -> None:
    config = await provisioned(project, credential, cloud)
    file = write_config(project, config, **{key: value})
    error = await deploy_error(emulator, project, credential, cloud)
    assert str(error) == expect.format(file=file, sub=SUBSCRIPTION, account=config["STORAGE_ACCOUNT_NAME"])
    assert error.code == "NotFoundInAzure"


async def test_a_resource_group_in_another_subscription_is_not_created_again(
    emulator: Emulator, credential: Any, cloud: Cloud, project: Path
) -> None:
    config = await provisioned(project, credential, cloud)
    file = write_config(project, config, SUBSCRIPTION_ID=OTHER_SUBSCRIPTION)
    error = await deploy_error(emulator, project, credential, cloud)
    assert str(error) == (
        f"RESOURCE_GROUP_NAME in {file} is 'rg-deploy', which is not in subscription {OTHER_SUBSCRIPTION} "
        f"(SUBSCRIPTION_ID) but in subscription {SUBSCRIPTION} (Emulated Subscription). "
        f"Set SUBSCRIPTION_ID to {SUBSCRIPTION} in inference.config.json."
    )
    assert error.code == "WrongSubscription"
    assert "Provision" not in str(error)


async def test_hand_provisioned_project_is_not_sent_to_provision(
    emulator: Emulator, credential: Any, cloud: Cloud, project: Path
) -> None:
    config = await provisioned(project, credential, cloud)
    shutil.rmtree(project / "infra" / "provision")
    file = write_config(project, config, ACA_APP_NAME="no-such-app")
    error = await deploy_error(emulator, project, credential, cloud)
    assert error.hint == (
        "Correct ACA_APP_NAME (the app must be in that resource group), or run "
        "'AI Toolkit: Create inference project files' and then Provision to create the resources."
    )
    assert error.message.startswith(f"ACA_APP_NAME in {file} is 'no-such-app'")
