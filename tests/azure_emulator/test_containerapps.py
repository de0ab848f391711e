"""Container Apps through the real azure-mgmt-appcontainers client: environments, storages, apps,
revisions (Activating → Running after a restart), replicas, ingress (503 then 200), quota data."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from azure.core.exceptions import HttpResponseError
from azure.identity.aio import AzureCliCredential
from azure.mgmt.appcontainers.aio import ContainerAppsAPIClient
from azure.mgmt.resource.resources.aio import ResourceManagementClient
from azure.mgmt.storage.aio import StorageManagementClient

from tests.azure_emulator.ingress import AppInfo
from tests.azure_emulator.server import Emulator
from tests.azure_emulator.test_arm_resources import SUB, raw, sdk_kwargs

RG = "rg-aca"
LOC = "westus3"


@pytest.fixture
async def cred(azure_env: dict[str, str]) -> AsyncIterator[AzureCliCredential]:
    async with AzureCliCredential() as credential:
        yield credential


@pytest.fixture
async def aca(emulator: Emulator, cred: AzureCliCredential) -> AsyncIterator[ContainerAppsAPIClient]:
    async with ResourceManagementClient(cred, SUB, **sdk_kwargs(emulator)) as rm:
        await rm.resource_groups.create_or_update(RG, {"location": LOC})
    async with ContainerAppsAPIClient(cred, SUB, **sdk_kwargs(emulator)) as client:
        yield client


def env_body(gpu: str | None = "Consumption-GPU-NC8as-T4") -> dict[str, Any]:
    profiles = [{"workloadProfileType": "Consumption", "name": "Consumption"}]
    if gpu:
        profiles.append({"workloadProfileType": gpu, "name": "GPU"})
    return {"location": LOC, "properties": {"workloadProfiles": profiles}}


def app_body(env_id: str, profile: str = "Consumption", port: int = 7860) -> dict[str, Any]:
    return {
        "location": LOC,
        "properties": {
            "managedEnvironmentId": env_id,
            "workloadProfileName": profile,
            "configuration": {
                "ingress": {"external": True, "targetPort": port},
                "secrets": [{"name": "token", "value": "s3cret-value"}],
            },
            "template": {
                "containers": [
                    {
                        "name": "app",
                        "image": "mcr.microsoft.com/k8se/quickstart:latest",
                        "resources": {"cpu": 0.5, "memory": "1Gi"},
                        "env": [{"name": "TOKEN", "secretRef": "token"}],
                        "volumeMounts": [{"volumeName": "share", "mountPath": "/mount"}],
                    }
                ],
                "volumes": [{"name": "share", "storageType": "AzureFile", "storageName": "files"}],
                "scale": {"minReplicas": 0, "maxReplicas": 1},
            },
        },
    }


async def make_env(client: ContainerAppsAPIClient, gpu: str | None = "Consumption-GPU-NC8as-T4") -> Any:
    return await (await client.managed_environments.begin_create_or_update(RG, "env", env_body(gpu))).result()


async def http_get(emu: Emulator, fqdn: str, path: str = "/") -> tuple[int, str]:
    ctx = ssl.create_default_context(cafile=str(emu.ca_path))
    async with aiohttp.ClientSession() as session, session.get(f"https://{fqdn}{path}", ssl=ctx) as resp:
        return resp.status, await resp.text()


async def wait_for(predicate: Any, within: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


async def test_environment_storage_and_app_lifecycle(emulator: Emulator, aca: ContainerAppsAPIClient) -> None:
    emulator.settings.revision_activation_delay = 0.3
    env = await make_env(aca)
    assert env.provisioning_state == "Succeeded"
    assert [p.workload_profile_type for p in env.workload_profiles] == [
        "Consumption",
        "Consumption-GPU-NC8as-T4",
    ]
    storage = await aca.managed_environments_storages.create_or_update(
        RG,
        "env",
        "files",
        {
            "properties": {
                "azureFile": {
                    "accountName": "acct",
                    "accountKey": "k",
                    "shareName": "data",
                    "accessMode": "ReadWrite",
                }
            }
        },
    )
    assert storage.properties.azure_file.share_name == "data"
    assert storage.properties.azure_file.account_key is None  # write-only, as in Azure

    created = await (await aca.container_apps.begin_create_or_update(RG, "app", app_body(env.id))).result()
    assert created.provisioning_state == "Succeeded"
    fqdn = created.configuration.ingress.fqdn
    assert fqdn.startswith("127.0.0.1:") and created.latest_revision_fqdn == fqdn
    assert created.latest_revision_name.startswith("app--")
    assert [s.name for s in created.configuration.secrets] == ["token"] and created.configuration.secrets[
        0
    ].value is None

    revisions = [r async for r in aca.container_apps_revisions.list_revisions(RG, "app")]
    assert [r.name for r in revisions] == [created.latest_revision_name]
    rev = revisions[0].name
    assert revisions[0].running_state in ("Activating", "Running")

    async def running() -> bool:
        r = await aca.container_apps_revisions.get_revision(RG, "app", rev)
        return r.running_state == "Running" and r.health_state == "Healthy"

    await wait_for(running)
    status, page = await http_get(emulator, fqdn)
    assert status == 200 and "Azure Container Apps" in page
    replicas = (await aca.container_apps_revision_replicas.list_replicas(RG, "app", rev)).value
    assert len(replicas) == 1 and replicas[0].running_state == "Running"
    assert replicas[0].containers[0].ready and replicas[0].containers[0].started
    one = await aca.container_apps_revision_replicas.get_replica(RG, "app", rev, replicas[0].name)
    assert one.name == replicas[0].name

    # Restart: a new replica starts while the old one keeps serving (the revision still reads
    # Running); once the new one is ready the old one leaves.
    old = replicas[0]
    await aca.container_apps_revisions.restart_revision(RG, "app", rev)
    after = await aca.container_apps_revisions.get_revision(RG, "app", rev)
    assert after.running_state == "Running"
    assert (await http_get(emulator, fqdn))[0] == 200  # the old replica answers
    both = (await aca.container_apps_revision_replicas.list_replicas(RG, "app", rev)).value
    assert len(both) == 2 and both[0].name == old.name
    new = both[1]
    assert new.name != old.name and new.created_time >= old.created_time
    assert new.running_state == "NotRunning" and not new.containers[0].ready

    async def replaced() -> bool:
        now = (await aca.container_apps_revision_replicas.list_replicas(RG, "app", rev)).value
        return [r.name for r in now] == [new.name] and now[0].running_state == "Running"

    await wait_for(replaced)
    assert (await http_get(emulator, fqdn))[0] == 200

    # Re-PUT with the same template: same app, same revision, same ingress; createdAt kept.
    again = await (await aca.container_apps.begin_create_or_update(RG, "app", app_body(env.id))).result()
    assert again.id == created.id and again.latest_revision_name == rev
    assert again.configuration.ingress.fqdn == fqdn
    assert again.system_data.created_at == created.system_data.created_at
    listed = [a.name async for a in aca.container_apps.list_by_resource_group(RG)]
    assert listed == ["app"]


async def test_runtime_gets_mounts_secrets_and_port(
    emulator: Emulator, cred: AzureCliCredential, aca: ContainerAppsAPIClient
) -> None:
    seen: list[AppInfo] = []

    class Recording:
        async def start(self, info: AppInfo) -> None:
            seen.append(info)

        async def stop(self) -> None:
            pass

        async def ready(self) -> bool:
            return True

        async def handle(self, request: Any) -> Any:
            return aiohttp.web.Response(text="custom runtime")

    emulator.services["runtime_factory"] = lambda emu, app: Recording()
    async with StorageManagementClient(cred, SUB, **sdk_kwargs(emulator)) as st:
        await (
            await st.storage_accounts.begin_create(
                RG, "acct", {"sku": {"name": "Standard_LRS"}, "kind": "StorageV2", "location": LOC}
            )
        ).result()
        await st.file_shares.create(RG, "acct", "data", {"properties": {}})
        key = (await st.storage_accounts.list_keys(RG, "acct")).keys_property[0].value
    env = await make_env(aca, gpu=None)
    await aca.managed_environments_storages.create_or_update(
        RG,
        "env",
        "files",
        {
            "properties": {
                "azureFile": {
                    "accountName": "acct",
                    "accountKey": key,
                    "shareName": "data",
                    "accessMode": "ReadWrite",
                }
            }
        },
    )
    app = await (
        await aca.container_apps.begin_create_or_update(RG, "app", app_body(env.id, port=8000))
    ).result()

    async def started() -> bool:
        return bool(seen) and (await http_get(emulator, app.configuration.ingress.fqdn))[0] == 200

    await wait_for(started)
    info = seen[0]
    assert info.target_port == 8000 and info.env == {"TOKEN": "s3cret-value"}
    assert info.mounts == {"/mount": emulator.data_dir / "acct" / "data"}
    assert (await http_get(emulator, app.configuration.ingress.fqdn))[1] == "custom runtime"


async def test_revision_that_never_becomes_healthy(emulator: Emulator, aca: ContainerAppsAPIClient) -> None:
    emulator.settings.revision_becomes_healthy = False
    emulator.settings.revision_activation_delay = 0.0
    env = await make_env(aca, gpu=None)
    app = await (await aca.container_apps.begin_create_or_update(RG, "app", app_body(env.id))).result()
    rev = app.latest_revision_name

    async def unhealthy() -> bool:
        r = await aca.container_apps_revisions.get_revision(RG, "app", rev)
        return r.health_state == "Unhealthy"

    await wait_for(unhealthy)
    r = await aca.container_apps_revisions.get_revision(RG, "app", rev)
    assert r.running_state == "Activating"
    replica = (await aca.container_apps_revision_replicas.list_replicas(RG, "app", rev)).value[0]
    assert "Startup probe failed" in replica.running_state_details
    assert (await http_get(emulator, app.configuration.ingress.fqdn))[0] == 503


async def test_usages_and_workload_profile_types(emulator: Emulator, aca: ContainerAppsAPIClient) -> None:
    emulator.settings.gpu_quota = {"*": 96, "eastus": 0}
    emulator.settings.gpu_profile_types = {"*": ["Consumption-GPU-NC24-A100"], "eastus": []}
    types = {p.name: p async for p in aca.available_workload_profiles.get(LOC)}
    assert "Consumption-GPU-NC24-A100" in types and "Consumption-GPU-NC8as-T4" not in types
    assert types["Consumption-GPU-NC24-A100"].properties.gpus == 1
    assert types["Consumption"].properties.applicability == "LocationDefault"
    assert not [n async for n in _gpu_names(aca, "eastus")]
    usages = {u.name.value: u async for u in aca.usages.list(LOC)}
    assert usages["SubscriptionConsumptionNCA100Gpus"].limit == 96
    zero = {u.name.value: u async for u in aca.usages.list("eastus")}
    assert zero["SubscriptionConsumptionNCA100Gpus"].limit == 0


async def _gpu_names(aca: ContainerAppsAPIClient, loc: str) -> AsyncIterator[str]:
    async for p in aca.available_workload_profiles.get(loc):
        if p.properties.gpus:
            yield p.name


async def test_gpu_profile_without_quota_fails_with_max_regional_quota(
    emulator: Emulator, aca: ContainerAppsAPIClient
) -> None:
    emulator.settings.gpu_quota = {"*": 0}
    with pytest.raises(HttpResponseError) as err:
        await make_env(aca, gpu="Consumption-GPU-NC24-A100")
    assert err.value.error is not None and err.value.error.code == "MaxRegionalQuotaExceeded"
    assert "quota" in err.value.error.message.lower()


def test_direct_put_answers_201_with_async_operation(emulator: Emulator) -> None:
    raw(
        emulator, "PUT", f"/subscriptions/{SUB}/resourcegroups/{RG}?api-version=2025-04-01", {"location": LOC}
    )
    base = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.App"
    status, headers, env = raw(
        emulator, "PUT", f"{base}/managedEnvironments/env?api-version=2026-07-01", env_body(None)
    )
    assert (
        status == 201
        and "Azure-AsyncOperation" in headers
        and env["properties"]["provisioningState"] == "Waiting"
    )
    status, headers, app = raw(
        emulator, "PUT", f"{base}/containerApps/app?api-version=2026-07-01", app_body(env["id"])
    )
    assert status == 201 and app["properties"]["provisioningState"] == "InProgress"
    op_path = headers["Azure-AsyncOperation"].split("127.0.0.1", 1)[1].split("/", 1)[1]
    status, _, op = raw(emulator, "GET", "/" + op_path)
    assert status == 200 and op["status"] in ("InProgress", "Succeeded")
    status, _, body = raw(emulator, "GET", f"{base}/containerApps/app/revisions/nope?api-version=2026-07-01")
    assert status == 404 and body["error"]["code"] == "ContainerAppRevisionNotFound"


async def test_secrets_are_listed_only_by_list_secrets_and_a_patch_changes_them_for_the_next_start(
    emulator: Emulator, aca: ContainerAppsAPIClient
) -> None:
    seen: list[AppInfo] = []

    class Recording:
        async def start(self, info: AppInfo) -> None:
            seen.append(info)

        async def stop(self) -> None:
            pass

        async def ready(self) -> bool:
            return True

        async def handle(self, request: Any) -> Any:
            return aiohttp.web.Response(text="ok")

    emulator.services["runtime_factory"] = lambda emu, app: Recording()
    emulator.settings.revision_activation_delay = 0.0
    env = await make_env(aca, gpu=None)
    app = await (await aca.container_apps.begin_create_or_update(RG, "app", app_body(env.id))).result()
    got = await aca.container_apps.get(RG, "app")
    assert [(s.name, s.value) for s in got.configuration.secrets] == [("token", None)]
    listed = await aca.container_apps.list_secrets(RG, "app")
    assert [(s.name, s.value) for s in listed.value] == [("token", "s3cret-value")]

    updated = await (
        await aca.container_apps.begin_update(
            RG,
            "app",
            {
                "location": LOC,
                "properties": {"configuration": {"secrets": [{"name": "token", "value": "rotated"}]}},
            },
        )
    ).result()
    assert updated.latest_revision_name == app.latest_revision_name  # secrets make no new revision
    assert [(s.name, s.value) for s in updated.configuration.secrets] == [("token", None)]
    assert updated.configuration.ingress.fqdn == app.configuration.ingress.fqdn  # the rest is kept
    listed = await aca.container_apps.list_secrets(RG, "app")
    assert [(s.name, s.value) for s in listed.value] == [("token", "rotated")]
    patches = [x for x in emulator.traffic.snapshot() if x.method == "PATCH"]
    assert [x.status for x in patches] == [202]
    assert {"Azure-AsyncOperation", "Location"} <= set(patches[0].response_headers)

    await wait_for(lambda: asyncio.sleep(0, result=len(seen) == 1))
    assert seen[0].env == {"TOKEN": "s3cret-value"}  # the running replica keeps the old value
    await aca.container_apps_revisions.restart_revision(RG, "app", app.latest_revision_name)
    await wait_for(lambda: asyncio.sleep(0, result=len(seen) == 2))
    assert seen[1].env == {"TOKEN": "rotated"}


async def test_list_secrets_of_a_missing_app_is_not_found(
    emulator: Emulator, aca: ContainerAppsAPIClient
) -> None:
    with pytest.raises(HttpResponseError) as err:
        await aca.container_apps.list_secrets(RG, "nope")
    assert err.value.status_code == 404


async def test_patch_without_location_is_refused(emulator: Emulator, aca: ContainerAppsAPIClient) -> None:
    env = await make_env(aca, gpu=None)
    await (await aca.container_apps.begin_create_or_update(RG, "app", app_body(env.id))).result()
    with pytest.raises(HttpResponseError) as err:
        await aca.container_apps.begin_update(RG, "app", {"properties": {"configuration": {"secrets": []}}})
    assert err.value.status_code == 400 and err.value.error is not None
    assert err.value.error.code == "LocationRequired"
    listed = await aca.container_apps.list_secrets(RG, "app")
    assert [s.name for s in listed.value] == ["token"]
