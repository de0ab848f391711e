"""Provision against the emulator through the real Azure SDKs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aitk_inference.core.azure.cloud import Cloud
from aitk_inference.core.config import CONFIG_KEYS
from aitk_inference.core.errors import AitkError, ConfigError, OperationCancelled
from aitk_inference.core.provision.provision import provision
from aitk_inference.core.reporting import CREATE_NEW, CancellationToken, RecordingProgress

from tests.azure_emulator import tokens
from tests.azure_emulator.server import Emulator
from tests.core.helpers import SUBSCRIPTION, ScriptedPrompter

SECOND_SUBSCRIPTION = "9a8b7c6d-1e2f-4a3b-8c5d-6e7f8a9b0c1d"
GUEST_SUBSCRIPTION = "c4e5f6a7-b8c9-4d0e-8f1a-2b3c4d5e6f70"  # in the tenant where the user is a guest


async def run_provision(
    project: Path, credential: Any, cloud: Cloud, **kwargs: Any
) -> tuple[dict[str, str | None], RecordingProgress]:
    progress = RecordingProgress()
    prompter = kwargs.pop("prompter", ScriptedPrompter())
    config = await provision(
        project,
        credential,
        cloud=cloud,
        progress=progress,
        prompter=prompter,
        cancel=kwargs.pop("cancel", CancellationToken()),
        poll_seconds=0.05,
        **kwargs,
    )
    return config, progress


def arm_get(emulator: Emulator, path: str) -> dict[str, Any]:
    """Read a resource through the emulator's own ARM state (not through the code under test)."""
    from tests.azure_emulator.arm import get_arm

    resource = get_arm(emulator).store.get(path.lower())  # type: ignore[attr-defined]
    assert resource is not None, path
    return dict(resource)


def deployment_puts(emulator: Emulator) -> list[str]:
    return [
        e.path
        for e in emulator.traffic.snapshot()
        if e.method == "PUT" and "/providers/microsoft.resources/deployments/" in e.path.lower()
    ]


async def test_provision_into_a_fresh_resource_group(
    emulator: Emulator, credential: Any, cloud: Cloud, project: Path
) -> None:
    user_config = json.loads((project / "infra" / "inference.config.json").read_text())
    user_config["MY_NOTE"] = "kept"
    (project / "infra" / "inference.config.json").write_text(json.dumps(user_config))
    prompter = ScriptedPrompter()
    config, progress = await run_provision(
        project,
        credential,
        cloud,
        subscription_id=SUBSCRIPTION,
        resource_group="rg-fresh",
        location="westus3",
        prompter=prompter,
    )
    assert prompter.confirmations and "rg-fresh" in prompter.confirmations[0]
    on_disk = json.loads((project / "infra" / "inference.config.json").read_text())
    assert on_disk == config
    assert on_disk["MY_NOTE"] == "kept"
    assert all(isinstance(on_disk[key], str) and on_disk[key] for key in CONFIG_KEYS)
    assert on_disk["SUBSCRIPTION_ID"] == SUBSCRIPTION and on_disk["RESOURCE_GROUP_NAME"] == "rg-fresh"
    assert not on_disk["ACA_APP_ENDPOINT"].startswith("https://")
    percentages = [p for _m, p in progress.reports if p is not None]
    assert percentages == sorted(percentages) and percentages[-1] == 100
    assert any("resources done" in m for m, _p in progress.reports)
    logs = "\n".join(m for m, _l in progress.logs)
    assert "DeploymentDetailsBlade" in logs and "aitk-inference-" in logs
    assert "Microsoft.App/containerApps" in logs  # per-resource progress lines
    assert len(deployment_puts(emulator)) == 1


async def test_provision_asks_for_subscription_and_new_group(
    emulator: Emulator, credential: Any, cloud: Cloud, project: Path
) -> None:
    prompter = ScriptedPrompter(answers=[SECOND_SUBSCRIPTION, CREATE_NEW, "rg-picked", "westus3"])
    config, _progress = await run_provision(project, credential, cloud, prompter=prompter)
    titles = [t for t, _items in prompter.asked]
    assert titles[0] == "Select the Azure subscription"
    # both tenants' subscriptions (ARM lists one tenant's per token)
    assert {c.value for c in prompter.asked[0][1]} == {SUBSCRIPTION, SECOND_SUBSCRIPTION, GUEST_SUBSCRIPTION}
    assert "resource group" in titles[1]
    assert config["SUBSCRIPTION_ID"] == SECOND_SUBSCRIPTION
    assert config["RESOURCE_GROUP_NAME"] == "rg-picked"


async def test_provision_into_a_guest_tenants_subscription(
    emulator: Emulator, credential: Any, cloud: Cloud, project: Path
) -> None:
    """Every request to the guest tenant's subscription carries a token issued for that tenant (ARM
    answers 401 InvalidAuthenticationTokenTenant to any other)."""
    prompter = ScriptedPrompter(answers=[GUEST_SUBSCRIPTION, CREATE_NEW, "rg-guest", "westus3"])
    config, _progress = await run_provision(project, credential, cloud, prompter=prompter)
    guest = next(c for c in prompter.asked[0][1] if c.value == GUEST_SUBSCRIPTION)
    assert guest.description == f"{GUEST_SUBSCRIPTION} · tenant {tokens.GUEST_TENANT}"
    assert config["SUBSCRIPTION_ID"] == GUEST_SUBSCRIPTION and config["RESOURCE_GROUP_NAME"] == "rg-guest"
    to_guest = [
        e
        for e in emulator.traffic.snapshot()
        if e.path.lower().startswith(f"/subscriptions/{GUEST_SUBSCRIPTION}")
    ]
    assert to_guest and not [e.path for e in to_guest if e.status == 401]
    tenants = {(tokens.claims(e.request_headers["Authorization"][7:]) or {}).get("tid") for e in to_guest}
    assert tenants == {tokens.GUEST_TENANT}


async def test_deploy_target_in_a_guest_tenant_found_without_a_listing(
    emulator: Emulator, credential: Any, cloud: Cloud, project: Path
) -> None:
    """A subscription given by ID (config, --subscription): its tenant comes from ARM's challenge
    to a request without a token; no token is sent to find it."""
    from aitk_inference.core.azure import tenants as tenant_cache

    config, _ = await run_provision(
        project,
        credential,
        cloud,
        subscription_id=GUEST_SUBSCRIPTION,
        resource_group="rg-g",
        location="westus3",
    )
    assert config["SUBSCRIPTION_ID"] == GUEST_SUBSCRIPTION
    probes = [e for e in emulator.traffic.snapshot() if e.path == f"/subscriptions/{GUEST_SUBSCRIPTION}"]
    assert probes[0].status == 401 and "Authorization" not in probes[0].request_headers
    assert tenant_cache.known_tenant(cloud, GUEST_SUBSCRIPTION) == tokens.GUEST_TENANT


async def test_provision_reuses_existing_finetuning_resources(
    emulator: Emulator, credential: Any, cloud: Cloud, project: Path
) -> None:
    first, _ = await run_provision(
        project, credential, cloud, subscription_id=SUBSCRIPTION, resource_group="rg-ft", location="westus3"
    )
    account, share = first["STORAGE_ACCOUNT_NAME"], first["FILE_SHARE_NAME"]
    assert account and share
    share_dir = emulator.data_dir / account / share
    (share_dir / "finetuned-model").mkdir(parents=True, exist_ok=True)
    (share_dir / "finetuned-model" / "adapter.bin").write_bytes(b"weights")
    account_id = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-ft/providers/Microsoft.Storage/storageAccounts/{account}"
    created_before = arm_get(emulator, account_id)
    # The fine-tuning project names the subscription and group; provision reads them from there.
    (project / "infra" / "finetuning.config.json").write_text(
        json.dumps(
            {"SUBSCRIPTION_ID": SUBSCRIPTION, "RESOURCE_GROUP_NAME": "rg-ft", "STORAGE_ACCOUNT_NAME": account}
        )
    )
    prompter = ScriptedPrompter()  # any question would fail the test
    second, progress = await run_provision(project, credential, cloud, prompter=prompter)
    assert prompter.asked == [] and prompter.confirmations == []
    assert second == first
    after = arm_get(emulator, account_id)
    # Re-PUT, not re-created: the creation time is kept (only lastModified* may move).
    assert after["systemData"]["createdAt"] == created_before["systemData"]["createdAt"]
    assert after["properties"].get("creationTime") == created_before["properties"].get("creationTime")
    assert (share_dir / "finetuned-model" / "adapter.bin").read_bytes() == b"weights"
    assert any("finetuning.config.json" in m for m, _l in progress.logs)


async def test_provision_without_gpu_quota_fails_early_and_leaves_config(
    emulator: Emulator, credential: Any, cloud: Cloud, project: Path
) -> None:
    emulator.settings.gpu_quota = {"*": 0}
    before = (project / "infra" / "inference.config.json").read_bytes()
    with pytest.raises(AitkError) as exc:
        await run_provision(
            project,
            credential,
            cloud,
            subscription_id=SUBSCRIPTION,
            resource_group="rg-q",
            location="westus3",
        )
    assert exc.value.code == "MaxRegionalQuotaExceeded"
    assert "quota" in exc.value.message.lower() and "westus3" in exc.value.message
    assert exc.value.hint is not None and "quota" in exc.value.hint.lower()
    assert deployment_puts(emulator) == []
    assert (project / "infra" / "inference.config.json").read_bytes() == before


async def test_provision_gpu_profile_not_offered(
    emulator: Emulator, credential: Any, cloud: Cloud, project: Path
) -> None:
    emulator.settings.gpu_profile_types = {"*": ["Consumption-GPU-NC8as-T4"]}
    with pytest.raises(AitkError) as exc:
        await run_provision(
            project,
            credential,
            cloud,
            subscription_id=SUBSCRIPTION,
            resource_group="rg-p",
            location="westus3",
        )
    assert exc.value.code == "WorkloadProfileTypeNotOffered"
    assert (
        "Consumption-GPU-NC24-A100" in exc.value.message and "Consumption-GPU-NC8as-T4" in exc.value.message
    )
    assert deployment_puts(emulator) == []


async def test_provision_retries_throttled_arm_calls(
    emulator: Emulator, credential: Any, cloud: Cloud, project: Path
) -> None:
    emulator.faults.add(
        service="arm", method="GET", path="/deployments/aitk-inference-", status=429, retry_after=1
    )
    emulator.faults.add(service="arm", method="GET", path="/usages", status=503)
    config, _ = await run_provision(
        project, credential, cloud, subscription_id=SUBSCRIPTION, resource_group="rg-r", location="westus3"
    )
    assert config["ACA_APP_ENDPOINT"]
    assert all(rule.fired == 1 for rule in emulator.faults.rules)


async def test_cancel_while_deploying_stops_waiting_and_leaves_config(
    emulator: Emulator, credential: Any, cloud: Cloud, project: Path
) -> None:
    emulator.settings.operation_step_delay = 2.0
    before = (project / "infra" / "inference.config.json").read_bytes()
    cancel = CancellationToken()

    class CancelOnStart(RecordingProgress):
        """Presses Cancel as soon as the deployment has been started (as a user would)."""

        def log(self, message: str, level: str = "info") -> None:
            super().log(message, level)
            if message.startswith("Deployment aitk-inference-") and "started" in message:
                cancel.cancel()

    with pytest.raises(OperationCancelled) as exc:
        await provision(
            project,
            credential,
            cloud=cloud,
            progress=CancelOnStart(),
            prompter=ScriptedPrompter(),
            cancel=cancel,
            subscription_id=SUBSCRIPTION,
            resource_group="rg-c",
            location="westus3",
            poll_seconds=0.05,
        )
    assert len(deployment_puts(emulator)) == 1
    assert "goes on in Azure" in exc.value.message and "DeploymentDetailsBlade" in exc.value.message
    assert (project / "infra" / "inference.config.json").read_bytes() == before


@pytest.mark.parametrize(
    ("params_text", "expect"),
    [
        ('{"parameters": {"acaAppName": {"value": "ok"},}}', "line 1, column"),
        ('{"parameters": {"acaAppNmae": {"value": "ok"}}}', "unknown parameter 'acaAppNmae'"),
        ('{"parameters": {"storageAccountName": {"value": "Bad_Name"}}}', "storage account"),
        ('{"parameters": {"acaAppName": {"value": "9lives"}}}', "container app"),
        ('{"parameters": {"fileShareName": {"value": "a--b"}}}', "file share"),
        ('{"parameters": {"acaEnvironmentName": {"value": "Env_1"}}}', "environment"),
        ('{"parameters": {"acaLogAnalyticsName": {"value": "ab"}}}', "4-63"),
        ('{"parameters": {"gpuProfileType": {"value": "H100"}}}', "one of"),
    ],
)
async def test_bad_parameters_fail_before_any_azure_call(
    emulator: Emulator, credential: Any, cloud: Cloud, project: Path, params_text: str, expect: str
) -> None:
    (project / "infra" / "provision" / "inference.parameters.json").write_text(params_text)
    emulator.traffic.clear()
    with pytest.raises(ConfigError) as exc:
        await run_provision(project, credential, cloud, subscription_id=SUBSCRIPTION, resource_group="rg-x")
    assert expect in exc.value.message
    assert "inference.parameters.json" in exc.value.message
    assert [e for e in emulator.traffic.snapshot() if not e.path.startswith("/_emulator")] == []


async def test_deployment_failure_is_explained_and_config_untouched(
    emulator: Emulator, credential: Any, cloud: Cloud, project: Path
) -> None:
    """Quota taken by someone else between the early check and the environment's creation: ARM fails
    the deployment with DeploymentFailed wrapping MaxRegionalQuotaExceeded; the user reads the cause."""
    emulator.settings.operation_step_delay = 0.3
    before = (project / "infra" / "inference.config.json").read_bytes()

    class QuotaVanishes(RecordingProgress):
        def log(self, message: str, level: str = "info") -> None:
            super().log(message, level)
            if message.startswith("Deployment aitk-inference-") and "started" in message:
                emulator.settings.gpu_quota = {"*": 0}

    progress = QuotaVanishes()
    with pytest.raises(AitkError) as exc:
        await provision(
            project,
            credential,
            cloud=cloud,
            progress=progress,
            prompter=ScriptedPrompter(),
            cancel=CancellationToken(),
            subscription_id=SUBSCRIPTION,
            resource_group="rg-f",
            location="westus3",
            poll_seconds=0.05,
        )
    assert exc.value.code == "MaxRegionalQuotaExceeded"
    assert "regional quota" in exc.value.message and "Microsoft.App/managedEnvironments" in exc.value.message
    assert "DeploymentDetailsBlade" in exc.value.message
    assert exc.value.hint is not None and "quota" in exc.value.hint.lower()
    assert "DeploymentFailed" not in exc.value.message  # the wrapper code says nothing useful
    assert (project / "infra" / "inference.config.json").read_bytes() == before


class _NoSignInToGuestTenant:
    """A credential whose account cannot sign in to the guest tenant (e.g. its MFA policy)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def get_token_info(self, *scopes: str, options: Any = None) -> Any:
        from azure.core.exceptions import ClientAuthenticationError

        if (options or {}).get("tenant_id") == tokens.GUEST_TENANT:
            raise ClientAuthenticationError("AADSTS50076: you must use multi-factor authentication.")
        return await self.inner.get_token_info(*scopes, options=options)

    async def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        raise AssertionError("get_token_info is used")


async def test_subscription_picker_skips_a_tenant_the_user_cannot_sign_in_to(
    emulator: Emulator, credential: Any, cloud: Cloud
) -> None:
    from aitk_inference.core.provision.targets import choose_subscription

    progress = RecordingProgress()
    prompter = ScriptedPrompter(answers=[SECOND_SUBSCRIPTION])
    picked = await choose_subscription(_NoSignInToGuestTenant(credential), cloud, prompter, progress)  # type: ignore[arg-type]
    assert picked == SECOND_SUBSCRIPTION
    assert {c.value for c in prompter.asked[0][1]} == {SUBSCRIPTION, SECOND_SUBSCRIPTION}
    guest = f"Emulated Guest Tenant ({tokens.GUEST_TENANT})"
    assert (
        f"Skipped tenant {guest}: Could not sign in to Azure while listing the subscriptions of tenant {guest}: "
        "AADSTS50076: you must use multi-factor authentication."
    ) in [message for message, _level in progress.logs]
