"""Microsoft.App: managed environments (+ storages), container apps, revisions, replicas, locations.

Long-running PUTs answer 201/200 with ``Azure-AsyncOperation`` like the recorded Azure traffic
(``ContainerAppCollectionTests/CreateOrUpdate().json``). Revisions move Activating → Running/Healthy
after ``settings.revision_activation_delay`` once the app runtime reports ready (see ``ingress.py``).

Restarting a running revision starts a new replica (new name, new ``createdTime``) while the old
one keeps serving, as Container Apps replaces replicas: the revision still reads Running, the old
replica answers the ingress until the new one is ready, then it is stopped and leaves the replica
list. A client can therefore tell a restarted app from the old one only by its replicas.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import secrets
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.azure_emulator.arm.common import ResourceId, arm_route, iso, ok, retry_after
from tests.azure_emulator.arm.locations import display_location
from tests.azure_emulator.arm.state import ArmState, PutOutcome, TypeHandler
from tests.azure_emulator.ingress import AppInfo, AppIngress, AppRuntime, runtime_factory
from tests.azure_emulator.routing import ArmError, RequestContext
from tests.azure_emulator.storage_registry import get_registry

log = logging.getLogger("azure_emulator.containerapps")

# Workload profile types: (category, cores, memoryGiB, gpus, display name).
PROFILE_TYPES: dict[str, tuple[str, int, int, int, str]] = {
    "Consumption": ("Consumption", 4, 8, 0, "Consumption"),
    "D4": ("GeneralPurpose", 4, 16, 0, "Dedicated-D4"),
    "D8": ("GeneralPurpose", 8, 32, 0, "Dedicated-D8"),
    "E4": ("MemoryOptimized", 4, 32, 0, "Dedicated-E4"),
    "Consumption-GPU-NC24-A100": ("GPU", 24, 220, 1, "Consumption-GPU-NC24-A100"),
    "Consumption-GPU-NC8as-T4": ("GPU", 8, 56, 1, "Consumption-GPU-NC8as-T4"),
    "NC24-A100": ("GPU", 24, 220, 1, "Dedicated-NC24-A100"),
    "NC48-A100": ("GPU", 48, 440, 2, "Dedicated-NC48-A100"),
}
# GPU quota counters reported by locations/{loc}/usages, and which profile types draw on each.
GPU_USAGES: dict[str, tuple[str, tuple[str, ...]]] = {
    "SubscriptionConsumptionNCA100Gpus": (
        "Subscription Consumption NCA 100 GPUs",
        ("Consumption-GPU-NC24-A100",),
    ),
    "SubscriptionConsumptionT4Gpus": ("Subscription Consumption T 4 GPUs", ("Consumption-GPU-NC8as-T4",)),
    "SubscriptionNCA100Gpus": ("Subscription NCA 100 GPUs", ("NC24-A100", "NC48-A100")),
}


# Optional properties Azure sends as null when they are not set (recorded .NET SDK traffic:
# ManagedEnviromentStorageTests and ContainerAppCollectionTests CreateOrUpdate).
ENV_NULLS = (
    "daprAIInstrumentationKey",
    "daprAIConnectionString",
    "vnetConfiguration",
    "firstPartyConfiguration",
    "infrastructureResourceGroup",
)
ENV_CUSTOM_DOMAIN_NULLS = (
    "dnsSuffix",
    "certificateValue",
    "certificatePassword",
    "thumbprint",
    "subjectName",
    "expirationDate",
)
CONFIGURATION_NULLS = ("registries", "dapr", "maxInactiveRevisions", "service")
INGRESS_NULLS = (
    "customDomains",
    "ipSecurityRestrictions",
    "corsPolicy",
    "clientCertificateMode",
    "stickySessions",
)
TEMPLATE_NULLS = ("terminationGracePeriodSeconds", "initContainers", "volumes", "serviceBinds")


def fill_nulls(obj: dict[str, Any], keys: tuple[str, ...]) -> None:
    for key in keys:
        obj.setdefault(key, None)


def is_gpu(profile_type: str) -> bool:
    return "GPU" in profile_type.upper() or profile_type.upper().startswith("NC")


def _suffix() -> str:
    return "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(7))


def _loc_key(location: str) -> str:
    return location.replace(" ", "").lower()


# -- settings lookups -------------------------------------------------------------------------


def gpu_quota(arm: ArmState, location: str) -> int:
    quota = arm.emulator.settings.gpu_quota
    loc = _loc_key(location)
    for key, value in quota.items():
        if _loc_key(key) == loc:
            return int(value)
    return int(quota.get("*", 0))


def offered_gpu_types(arm: ArmState, location: str) -> list[str]:
    types = arm.emulator.settings.gpu_profile_types
    loc = _loc_key(location)
    for key, value in types.items():
        if _loc_key(key) == loc:
            return list(value)
    return list(types.get("*", []))


def quota_error(arm: ArmState, sub: str, location: str, profile_type: str, cores: int) -> ArmError:
    limit = gpu_quota(arm, location)
    return ArmError(
        400,
        "MaxRegionalQuotaExceeded",
        f"Operation would exceed the regional quota for workload profile type '{profile_type}' in location "
        f"'{location}' for subscription '{sub}'. Current limit: {limit} cores, current usage: 0 cores, "
        f"additional required: {cores} cores. Request a quota increase for Azure Container Apps GPUs: "
        "https://learn.microsoft.com/azure/container-apps/quota-requests",
    )


def normalize_template(template: dict[str, Any]) -> dict[str, Any]:
    """Defaults and normal forms Azure applies to a revision template (as the recordings show):
    container resources get ``ephemeralStorage`` (4 GiB per core, at least 1 GiB), custom ``http`` scale rules become
    ``http`` rules."""
    containers = []
    for c in template.get("containers") or []:
        c = dict(c)
        res = dict(c.get("resources") or {"cpu": 0.5, "memory": "1Gi"})
        cpu = float(res.get("cpu", 0.5))
        res.setdefault("ephemeralStorage", f"{max(1, round(cpu * 4))}Gi")
        c["resources"] = res
        containers.append(c)
    if containers:
        template["containers"] = containers
    scale = dict(template.get("scale") or {})
    rules = []
    for rule in scale.get("rules") or []:
        custom = rule.get("custom") or {}
        if str(custom.get("type", "")).lower() == "http":
            rule = {"name": rule.get("name"), "http": {"metadata": custom.get("metadata") or {}}}
        rules.append(rule)
    if rules:
        scale["rules"] = rules
        template["scale"] = scale
    return template


def merge_patch(target: Any, patch: Any) -> Any:
    """JSON merge patch (RFC 7396), the semantics ARM PATCH bodies follow."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged


# -- managed environments --------------------------------------------------------------------


class ManagedEnvironments(TypeHandler):
    type_name = "Microsoft.App/managedEnvironments"
    async_delete_kind = "managedEnvironmentOperationResults"

    def not_found(self, rid: ResourceId) -> ArmError:
        # Microsoft.App answers with its own code, worded like ContainerAppNotFound (recorded).
        return ArmError(404, "ManagedEnvironmentNotFound", f"ManagedEnvironment '{rid.name}' was not found.")

    async def put(
        self, rid: ResourceId, body: dict[str, Any], api_version: str, existing: dict[str, Any] | None
    ) -> PutOutcome:
        res = self.envelope(rid, body, existing)
        res["location"] = display_location(str(res.get("location") or ""))  # "eastus" → "East US"
        location = str(res["location"])
        old = (existing or {}).get("properties", {})
        props: dict[str, Any] = {**old, **(body.get("properties") or {})}
        profiles = props.get("workloadProfiles") or [
            {"workloadProfileType": "Consumption", "name": "Consumption"}
        ]
        offered = offered_gpu_types(self.arm, location)
        for p in profiles:
            ptype = str(p.get("workloadProfileType", ""))
            if ptype not in PROFILE_TYPES or (is_gpu(ptype) and ptype not in offered):
                raise ArmError(
                    400,
                    "WorkloadProfileTypeNotSupported",
                    f"Workload profile type '{ptype}' is not supported in location '{location}'. Supported "
                    f"GPU types there: {', '.join(offered) or 'none'}.",
                )
            if is_gpu(ptype) and gpu_quota(self.arm, location) < PROFILE_TYPES[ptype][1]:
                raise quota_error(self.arm, rid.subscription, location, ptype, PROFILE_TYPES[ptype][1])
        logs = dict(props.get("appLogsConfiguration") or {"destination": None})
        la = dict(logs.get("logAnalyticsConfiguration") or {})
        la.pop("sharedKey", None)  # secrets are write-only
        logs["logAnalyticsConfiguration"] = la or None  # Azure sends null when not configured
        unique = (
            old.get("defaultDomain")
            or f"{_suffix()}-{_suffix()[:6]}.{_loc_key(location)}.azurecontainerapps.io"
        )
        props.update(
            {
                "provisioningState": "Waiting",
                "workloadProfiles": profiles,
                "appLogsConfiguration": logs,
                "defaultDomain": unique,
                "staticIp": "127.0.0.1",
                "zoneRedundant": bool(props.get("zoneRedundant", False)),
                "kedaConfiguration": {"version": "2.17.0"},
                "daprConfiguration": {"version": "1.13.6"},
                "eventStreamEndpoint": f"https://{_loc_key(location)}.azurecontainerapps.dev{rid}/eventstream",
                "customDomainConfiguration": {
                    **dict.fromkeys(ENV_CUSTOM_DOMAIN_NULLS),
                    **(props.get("customDomainConfiguration") or {}),
                    "customDomainVerificationId": hashlib.sha256(rid.key.encode()).hexdigest()[:64].upper(),
                },
                "peerAuthentication": {"mtls": {"enabled": False}},
            }
        )
        fill_nulls(props, ENV_NULLS)
        res["properties"] = props
        self.arm.store.put(str(rid), res)

        def done() -> None:
            current = self.arm.store.get(str(rid))
            if current is not None:
                current["properties"]["provisioningState"] = "Succeeded"
                self.arm.store.put(str(rid), current)

        op, url = self.start_operation(
            rid, location, api_version, "managedEnvironmentOperationStatuses", steps=2, then=done
        )
        return PutOutcome(res, existing is None, operation=op, async_url=url)


class EnvironmentStorages(TypeHandler):
    type_name = "Microsoft.App/managedEnvironments/storages"

    def not_found(self, rid: ResourceId) -> ArmError:
        # As recorded (ManagedEnviromentStorageTests): the RP's own code, and no quotes around the name.
        return ArmError(
            404,
            "ManagedEnvironmentStorageNotFound",
            f"Storage {rid.name} not found under managed environment",
        )

    async def put(
        self, rid: ResourceId, body: dict[str, Any], api_version: str, existing: dict[str, Any] | None
    ) -> PutOutcome:
        props = dict(body.get("properties") or {})
        azure_file = dict(props.get("azureFile") or {})
        if azure_file:
            account = azure_file.get("accountName", "")
            key = azure_file.pop("accountKey", None)  # write-only, as in Azure's answers
            known = get_registry(self.arm.emulator).keys(account)
            if known is not None and key is not None and key not in known:
                raise ArmError(
                    400,
                    "ManagedEnvironmentStorageInvalidAccountKey",
                    f"The account key for storage account '{account}' is not valid.",
                )
            props["azureFile"] = azure_file
        res = {
            "id": existing["id"] if existing else self.canonical_id(rid),
            "name": existing["name"] if existing else rid.name,
            "type": self.type_name,
            "properties": props,
        }
        self.arm.store.put(str(rid), res)
        return PutOutcome(res, existing is None, status=200)  # Azure answers 200 for create too


# -- container apps ----------------------------------------------------------------------------


@dataclass
class Revision:
    name: str
    app_key: str
    template: dict[str, Any]
    created: str = field(default_factory=iso)
    active: bool = True
    running_state: str = "Activating"
    health_state: str = "None"
    details: str | None = None
    replica_name: str = ""
    replica_created: str = field(default_factory=iso)
    replica_ready: bool = False  # the newest replica passed its probes
    restart_count: int = 0
    runtime: AppRuntime | None = None  # the newest replica's
    previous: OldReplica | None = None  # the replica a restart replaces, serving until then
    task: asyncio.Task[Any] | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


@dataclass
class OldReplica:
    name: str
    created: str
    runtime: AppRuntime


@dataclass
class AppState:
    ingress: AppIngress | None = None
    revisions: dict[str, Revision] = field(default_factory=dict)
    latest: str | None = None
    template_digest: str | None = None
    secrets: dict[str, str] = field(default_factory=dict)


class ContainerApps(TypeHandler):
    type_name = "Microsoft.App/containerApps"
    async_delete_kind = "containerappOperationResults"

    def not_found(self, rid: ResourceId) -> ArmError:
        # As recorded (ContainerAppCollectionTests): GET of a deleted app.
        return ArmError(404, "ContainerAppNotFound", f"ContainerApp '{rid.name}' was not found.")

    def __init__(self, arm: ArmState) -> None:
        super().__init__(arm)
        self.apps: dict[str, AppState] = {}
        arm.emulator.on_stop(self._stop_all)

    async def _stop_all(self) -> None:
        for state in self.apps.values():
            await self._teardown(state)

    async def _teardown(self, state: AppState) -> None:
        for rev in state.revisions.values():
            await self._deactivate(rev)
        if state.ingress is not None:
            await state.ingress.stop()
            state.ingress = None

    # -- PUT --------------------------------------------------------------------------------
    async def put(
        self, rid: ResourceId, body: dict[str, Any], api_version: str, existing: dict[str, Any] | None
    ) -> PutOutcome:
        res = self.envelope(rid, body, existing)
        res["location"] = display_location(str(res.get("location") or ""))  # "eastus" → "East US"
        location = str(res["location"])
        old = (existing or {}).get("properties", {})
        given = body.get("properties") or {}
        props: dict[str, Any] = {**old, **given}
        env_id = props.get("managedEnvironmentId") or props.get("environmentId")
        if not env_id:
            raise ArmError(
                400, "ManagedEnvironmentIdRequired", "properties.managedEnvironmentId is required."
            )
        env = self.arm.store.get(str(env_id))
        if env is None:
            raise ArmError(
                404,
                "ManagedEnvironmentNotFound",
                f"Managed environment '{str(env_id).rstrip('/').split('/')[-1]}' was not found.",
            )
        profile_name = props.get("workloadProfileName")
        if profile_name:
            profiles = {p["name"]: p for p in env["properties"].get("workloadProfiles", [])}
            if profile_name not in profiles:
                raise ArmError(
                    400,
                    "WorkloadProfileNotFound",
                    f"Workload profile '{profile_name}' was not found in managed environment '{env['name']}'.",
                )
            ptype = str(profiles[profile_name].get("workloadProfileType", ""))
            cores = PROFILE_TYPES.get(ptype, ("", 0, 0, 0, ""))[1]
            if is_gpu(ptype) and gpu_quota(self.arm, location) < cores:
                raise quota_error(self.arm, rid.subscription, location, ptype, cores)

        state = self.apps.setdefault(rid.key, AppState())
        config = dict(props.get("configuration") or {})
        secret_list = config.get("secrets") or []
        if "secrets" in (given.get("configuration") or {}):
            # A secret named without a value (as GET shows them) keeps the value it has.
            state.secrets = {
                s["name"]: str(s["value"]) if "value" in s else state.secrets.get(s["name"], "")
                for s in secret_list
                if "name" in s
            }
        config["secrets"] = [{"name": name} for name in state.secrets] or None  # values are write-only
        config.setdefault("activeRevisionsMode", "Single")
        ingress = config.get("ingress")
        if ingress:
            if state.ingress is None:
                state.ingress = AppIngress(self.arm.emulator, lambda key=rid.key: self.upstream(key))
                await state.ingress.start()
            ingress = dict(ingress)
            ingress.update({"fqdn": state.ingress.fqdn})
            ingress.setdefault("external", False)
            ingress.setdefault("transport", "Auto")
            ingress.setdefault("exposedPort", 0)
            ingress.setdefault("allowInsecure", False)
            ingress.setdefault("traffic", [{"weight": 100, "latestRevision": True}])
            fill_nulls(ingress, INGRESS_NULLS)
            config["ingress"] = ingress
        fill_nulls(config, CONFIGURATION_NULLS)
        template = normalize_template(dict(props.get("template") or {}))
        fill_nulls(template, TEMPLATE_NULLS)
        scale = dict(template.get("scale") or {})
        scale.setdefault("minReplicas", 0)
        scale.setdefault("maxReplicas", 10)
        template["scale"] = scale
        template.setdefault("revisionSuffix", "")
        digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()
        new_revision = digest != state.template_digest
        state.template_digest = digest
        props.update(
            {
                "provisioningState": "InProgress",
                "runningStatus": "Running",
                "managedEnvironmentId": env["id"],
                "environmentId": env["id"],
                "outboundIpAddresses": ["127.0.0.1"],
                "customDomainVerificationId": env["properties"]["customDomainConfiguration"][
                    "customDomainVerificationId"
                ],
                "configuration": config,
                "template": template,
                "eventStreamEndpoint": f"{self.stream_base(res)}/eventstream",
            }
        )
        props.setdefault("latestRevisionName", "")
        props.setdefault("latestReadyRevisionName", "")
        props.setdefault("latestRevisionFqdn", "")
        res["properties"] = props
        res.setdefault("identity", {"type": "None"})
        self.arm.store.put(str(rid), res)
        if new_revision:
            self._new_revision(rid, state, template)
        elif state.latest:
            state.revisions[state.latest].template = template

        def done() -> None:
            current = self.arm.store.get(str(rid))
            if current is not None:
                current["properties"]["provisioningState"] = "Succeeded"
                self.arm.store.put(str(rid), current)

        op, url = self.start_operation(rid, location, api_version, "containerappOperationStatuses", then=done)
        return PutOutcome(res, existing is None, operation=op, async_url=url)

    async def patch(self, rid: ResourceId, body: dict[str, Any], api_version: str) -> PutOutcome:
        """``ContainerApps_Update``: the body is merged into the app (objects key by key, arrays
        replaced), then applied like a PUT. A secrets-only change makes no new revision: running
        replicas keep the old values until a revision restarts, as in Azure."""
        existing = self.arm.require(rid)
        current = {k: v for k, v in existing.items() if k not in ("id", "name", "type", "systemData")}
        outcome = await self.put(rid, merge_patch(current, body), api_version, existing)
        if outcome.operation is not None:
            outcome.operation.result_id = str(rid)
        return outcome

    def action(
        self, rid: ResourceId, action: str, body: dict[str, Any] | None, api_version: str
    ) -> tuple[int, Any]:
        if action.lower() != "listsecrets":
            return super().action(rid, action, body, api_version)
        state = self.apps.get(rid.key, AppState())
        return 200, {"value": [{"name": name, "value": value} for name, value in state.secrets.items()]}

    def _new_revision(self, rid: ResourceId, state: AppState, template: dict[str, Any]) -> None:
        suffix = template.get("revisionSuffix") or _suffix()
        name = f"{rid.name}--{suffix}"
        if name in state.revisions:
            name = f"{rid.name}--{_suffix()}"
        mode_single = True
        for old in state.revisions.values():
            if mode_single and old.active:
                old.active = False
                old.running_state = "Stopped"
                old.health_state = "None"
                self.arm.spawn(self._deactivate(old))
        rev = Revision(name=name, app_key=rid.key, template=template)
        state.revisions[name] = rev
        state.latest = name
        self._activate(rev)

    # -- revision lifecycle ---------------------------------------------------------------------
    def _activate(self, rev: Revision) -> None:
        serving = rev.running_state == "Running" and rev.replica_ready
        if rev.previous is None and serving and rev.runtime is not None:
            # A restart: the running replica keeps serving until its replacement is ready.
            rev.previous = OldReplica(rev.replica_name, rev.replica_created, rev.runtime)
            rev.runtime = None
        elif rev.previous is None:
            rev.running_state = "Activating"
            rev.health_state = "None"
        # else a restart during a restart: the old replica still serves, the starting one is replaced
        rev.details = None
        rev.replica_ready = False
        rev.replica_name = f"{rev.name}-{_suffix()}{_suffix()[:3]}"
        rev.replica_created = iso()
        if rev.task is not None and not rev.task.done():
            rev.task.cancel()
        rev.task = self.arm.spawn(self._run_activation(rev))

    async def _run_activation(self, rev: Revision) -> None:
        settings = self.arm.emulator.settings
        async with rev.lock:
            if rev.runtime is not None:
                await rev.runtime.stop()
                rev.runtime = None
            app = self.arm.get(self._app_id(rev))
            if app is None:
                return
            runtime = runtime_factory(self.arm.emulator)(self.arm.emulator, app)
            rev.runtime = runtime
            try:
                await runtime.start(self.app_info(app, rev))
            except Exception as exc:  # the runtime failing to start is the app's failure, not ours
                log.warning("revision %s failed to start: %s", rev.name, exc)
                rev.running_state = "Failed"
                rev.health_state = "Unhealthy"
                rev.details = f"Container failed to start: {exc}"
                return
        await asyncio.sleep(settings.revision_activation_delay)
        while rev.active:
            if self._failed(rev, runtime):
                return
            if settings.revision_becomes_healthy and await runtime.ready():
                rev.running_state = "Running"
                rev.health_state = "Healthy"
                rev.details = None
                rev.replica_ready = True
                await self._retire_previous(rev)
                await self._watch_failure(rev, runtime)
                return
            if not settings.revision_becomes_healthy:
                rev.health_state = "Unhealthy"
                port = self._target_port(app) or 80
                rev.details = (
                    f"Startup probe failed: the container did not respond on port {port} "
                    f"(connection refused). The revision stays Activating until its probes pass."
                )
            await asyncio.sleep(0.05)

    @staticmethod
    async def _retire_previous(rev: Revision) -> None:
        old, rev.previous = rev.previous, None
        if old is not None:
            await old.runtime.stop()

    @staticmethod
    def _failed(rev: Revision, runtime: AppRuntime) -> bool:
        """A runtime whose container can die (optional ``failure`` attribute, e.g. the process runtime's
        exit) fails the revision, as ACA reports a crashed container."""
        failure = getattr(runtime, "failure", None)
        if not failure:
            return False
        rev.running_state = "Failed"
        rev.health_state = "Unhealthy"
        rev.details = str(failure)
        rev.replica_ready = False
        return True

    async def _watch_failure(self, rev: Revision, runtime: AppRuntime) -> None:
        while hasattr(runtime, "failure") and rev.active and rev.runtime is runtime:
            if self._failed(rev, runtime):
                return
            await asyncio.sleep(0.2)

    async def _deactivate(self, rev: Revision) -> None:
        if rev.task is not None and not rev.task.done() and rev.task is not asyncio.current_task():
            rev.task.cancel()
        async with rev.lock:
            if rev.runtime is not None:
                await rev.runtime.stop()
                rev.runtime = None
            await self._retire_previous(rev)

    def _app_id(self, rev: Revision) -> str:
        return rev.app_key

    @staticmethod
    def _target_port(app: dict[str, Any]) -> int | None:
        ingress = (app.get("properties", {}).get("configuration") or {}).get("ingress") or {}
        port = ingress.get("targetPort")
        return int(port) if port else None

    def app_info(self, app: dict[str, Any], rev: Revision) -> AppInfo:
        """Container, port, resolved secrets and /mount-style volume folders for a runtime."""
        template = rev.template
        containers = template.get("containers") or [{}]
        container = dict(containers[0])
        state = self.apps.get(rev.app_key, AppState())
        env: dict[str, str] = {}
        for var in container.get("env") or []:
            if "secretRef" in var:
                env[var["name"]] = state.secrets.get(var["secretRef"], "")
            else:
                env[var["name"]] = str(var.get("value", ""))
        mounts: dict[str, Path] = {}
        volumes = {v.get("name"): v for v in template.get("volumes") or []}
        env_id = app["properties"]["managedEnvironmentId"]
        for vm in container.get("volumeMounts") or []:
            vol = volumes.get(vm.get("volumeName"))
            if not vol or vol.get("storageType") != "AzureFile":
                continue
            storage = self.arm.store.get(f"{env_id}/storages/{vol.get('storageName')}")
            azure_file = (storage or {}).get("properties", {}).get("azureFile") or {}
            if azure_file.get("accountName") and azure_file.get("shareName"):
                mounts[vm["mountPath"]] = get_registry(self.arm.emulator).share_path(
                    azure_file["accountName"], azure_file["shareName"]
                )
        return AppInfo(
            app_id=app["id"],
            app_name=app["name"],
            revision_name=rev.name,
            resource=app,
            container=container,
            target_port=self._target_port(app),
            mounts=mounts,
            env=env,
        )

    def upstream(self, app_key: str) -> AppRuntime | None:
        state = self.apps.get(app_key)
        if state is None or state.latest is None:
            return None
        rev = state.revisions[state.latest]
        if rev.replica_ready and rev.runtime is not None:
            return rev.runtime
        return rev.previous.runtime if rev.previous is not None else None

    # -- views ----------------------------------------------------------------------------------
    def render(self, resource: dict[str, Any]) -> dict[str, Any]:
        state = self.apps.get(resource["id"].lower())
        if state is None or state.latest is None:
            return resource
        props = resource["properties"]
        latest = state.revisions[state.latest]
        props["latestRevisionName"] = latest.name
        ready = [r for r in state.revisions.values() if r.running_state == "Running"]
        props["latestReadyRevisionName"] = ready[-1].name if ready else ""
        props["latestRevisionFqdn"] = state.ingress.fqdn if state.ingress else ""
        return resource

    def revision_body(self, app: dict[str, Any], rev: Revision) -> dict[str, Any]:
        state = self.apps[rev.app_key]
        body: dict[str, Any] = {
            "id": f"{app['id']}/revisions/{rev.name}",
            "name": rev.name,
            "type": "Microsoft.App/containerApps/revisions",
            "properties": {
                "createdTime": rev.created,
                "lastActiveTime": rev.replica_created,
                "fqdn": state.ingress.fqdn if state.ingress else "",
                "template": rev.template,
                "active": rev.active,
                "replicas": (1 + (rev.previous is not None))
                if rev.active and rev.running_state != "Stopped"
                else 0,
                "trafficWeight": 100 if rev.name == state.latest else 0,
                "healthState": rev.health_state,
                "provisioningState": "Provisioned",
                "runningState": rev.running_state,
            },
        }
        return body

    def stream_base(self, app: dict[str, Any]) -> str:
        """The app on the log stream host (``logstream.py``; ``<region>.azurecontainerapps.dev`` in
        Azure), which names it without ``providers/Microsoft.App``."""
        rid = ResourceId.parse(app["id"])
        return (
            f"{self.arm.emulator.logstream_url}/subscriptions/{rid.subscription}"
            f"/resourceGroups/{rid.resource_group}/containerApps/{rid.name}"
        )

    def replica_bodies(self, app: dict[str, Any], rev: Revision) -> list[dict[str, Any]]:
        """The revision's replicas: the one a restart replaces (while it still serves), then the newest."""
        if not rev.active or rev.running_state == "Stopped":  # a stopped app has no replica
            return []
        bodies = []
        if rev.previous is not None:
            old = rev.previous
            bodies.append(self._replica(app, rev, old.name, old.created, True, True, None))
        running = rev.replica_ready and rev.running_state == "Running"
        started = rev.running_state in ("Running", "Activating") and rev.runtime is not None
        bodies.append(
            self._replica(app, rev, rev.replica_name, rev.replica_created, running, started, rev.details)
        )
        return bodies

    def _replica(
        self,
        app: dict[str, Any],
        rev: Revision,
        name: str,
        created: str,
        running: bool,
        started: bool,
        details: str | None,
    ) -> dict[str, Any]:
        containers = []
        for c in rev.template.get("containers") or []:
            containers.append(
                {
                    "name": c.get("name", "app"),
                    "containerId": hashlib.sha256(f"{name}/{c.get('name')}/{created}".encode()).hexdigest(),
                    "ready": running,
                    "started": started,
                    "restartCount": rev.restart_count,
                    "runningState": "Running" if started else "Waiting",
                    "runningStateDetails": details or ("Running" if running else "Starting"),
                    "logStreamEndpoint": f"{self.stream_base(app)}/revisions/{rev.name}/replicas/{name}/containers/{c.get('name', 'app')}/logstream",
                    "execEndpoint": f"{self.arm.emulator.arm_url}{app['id']}/revisions/{rev.name}/replicas/{name}/exec",
                }
            )
        return {
            "id": f"{app['id']}/revisions/{rev.name}/replicas/{name}",
            "name": name,
            "type": "Microsoft.App/containerApps/revisions/replicas",
            "properties": {
                "createdTime": created,
                "runningState": "Running" if running else "NotRunning",
                "runningStateDetails": details or ("Running" if running else "Activating"),
                "containers": containers,
                "initContainers": [],
            },
        }

    async def delete(self, rid: ResourceId, resource: dict[str, Any]) -> None:
        state = self.apps.pop(rid.key, None)
        if state is not None:
            await self._teardown(state)

    # -- revisions API (called by routes) --------------------------------------------------------
    def revision(self, rid: ResourceId, name: str) -> tuple[dict[str, Any], Revision]:
        app = self.arm.require(rid)
        state = self.apps.get(rid.key)
        for rev_name, rev in (state.revisions if state else {}).items():
            if rev_name.lower() == name.lower():
                return app, rev
        raise ArmError(
            404,
            "ContainerAppRevisionNotFound",
            f"Revision '{name}' was not found for container app '{rid.name}'.",
        )

    def revisions(self, rid: ResourceId) -> tuple[dict[str, Any], list[Revision]]:
        app = self.arm.require(rid)
        state = self.apps.get(rid.key)
        return app, list(state.revisions.values()) if state else []

    def restart(self, rev: Revision) -> None:
        rev.restart_count += 1
        rev.active = True
        self._activate(rev)


# -- routes --------------------------------------------------------------------------------------


def register_containerapps(arm: ArmState) -> None:
    arm.add_handler(ManagedEnvironments)
    arm.add_handler(EnvironmentStorages)
    apps = arm.add_handler(ContainerApps)
    assert isinstance(apps, ContainerApps)
    r = arm.emulator.arm_router
    app_base = "/subscriptions/{sub}/resourcegroups/{rg}/providers/Microsoft.App/containerApps/{app}"

    def app_rid(ctx: RequestContext) -> ResourceId:
        p = ctx.params
        return ResourceId(p["sub"], p["rg"], "Microsoft.App", ("containerApps",), (p["app"],))

    @arm_route()
    async def patch_app(ctx: RequestContext) -> web.StreamResponse:
        body = ctx.json()
        if not isinstance(body, dict):
            raise ArmError(
                400, "InvalidRequestContent", "The request content was invalid: a JSON object is required."
            )
        if not body.get("location"):  # the spec's ContainerApp body requires it, PATCH included
            raise ArmError(400, "LocationRequired", "The location property is required for this definition.")
        rid = app_rid(ctx)
        outcome = await apps.patch(rid, body, ctx.api_version or "")
        assert outcome.operation is not None and outcome.async_url is not None
        location = str(outcome.resource.get("location") or "").replace(" ", "").lower()
        results = (
            f"{arm.emulator.arm_url}/subscriptions/{rid.subscription}/providers/Microsoft.App/locations/"
            f"{location}/containerappOperationResults/{outcome.operation.id}?api-version={ctx.api_version}"
        )
        # 202 with both polling URLs, as Container Apps answers an update.
        headers = {
            "Azure-AsyncOperation": outcome.async_url,
            "Location": results,
            "Retry-After": retry_after(arm.emulator),
        }
        return ok(None, status=202, headers=headers)

    @arm_route()
    async def list_revisions(ctx: RequestContext) -> web.StreamResponse:
        app, revs = apps.revisions(app_rid(ctx))
        return ok({"value": [apps.revision_body(app, rev) for rev in revs]})

    @arm_route()
    async def get_revision(ctx: RequestContext) -> web.StreamResponse:
        app, rev = apps.revision(app_rid(ctx), ctx.params["rev"])
        return ok(apps.revision_body(app, rev))

    @arm_route()
    async def restart_revision(ctx: RequestContext) -> web.StreamResponse:
        _, rev = apps.revision(app_rid(ctx), ctx.params["rev"])
        apps.restart(rev)
        return ok(None)

    @arm_route()
    async def list_replicas(ctx: RequestContext) -> web.StreamResponse:
        app, rev = apps.revision(app_rid(ctx), ctx.params["rev"])
        return ok({"value": apps.replica_bodies(app, rev)})

    @arm_route()
    async def get_replica(ctx: RequestContext) -> web.StreamResponse:
        app, rev = apps.revision(app_rid(ctx), ctx.params["rev"])
        for body in apps.replica_bodies(app, rev):
            if body["name"].lower() == ctx.params["rep"].lower():
                return ok(body)
        raise ArmError(404, "ContainerAppReplicaNotFound", f"Replica '{ctx.params['rep']}' was not found.")

    @arm_route()
    async def workload_profile_types(ctx: RequestContext) -> web.StreamResponse:
        sub = arm.subscription(ctx.params["sub"])["subscriptionId"]
        loc = ctx.params["loc"]
        names = [n for n in PROFILE_TYPES if not is_gpu(n)] + [
            n for n in offered_gpu_types(arm, loc) if n in PROFILE_TYPES
        ]
        value = []
        for n in names:
            category, cores, mem, gpus, display = PROFILE_TYPES[n]
            value.append(
                {
                    "id": f"/subscriptions/{sub}/providers/Microsoft.App/locations/{loc}/availableManagedEnvironmentsWorkloadProfileTypes/{n}",
                    "name": n,
                    "type": "Microsoft.App/locations/availableManagedEnvironmentsWorkloadProfileTypes",
                    "location": loc,
                    "properties": {
                        "category": category,
                        "applicability": "LocationDefault" if n == "Consumption" else "Custom",
                        "cores": cores,
                        "memoryGiB": mem,
                        "gpus": gpus,
                        "displayName": display,
                    },
                }
            )
        return ok({"value": value})

    @arm_route()
    async def usages(ctx: RequestContext) -> web.StreamResponse:
        sub = arm.subscription(ctx.params["sub"])["subscriptionId"]
        loc = ctx.params["loc"]
        limit = gpu_quota(arm, loc)
        in_loc = [
            res
            for _, res in arm.store.under(f"/subscriptions/{sub}")
            if res.get("type") == ManagedEnvironments.type_name
            and _loc_key(str(res.get("location"))) == _loc_key(loc)
        ]
        value: list[dict[str, Any]] = [
            {
                "unit": "Count",
                "currentValue": len(in_loc),
                "limit": 15,
                "name": {"value": "ManagedEnvironmentCount", "localizedValue": "Managed Environment Count"},
            }
        ]
        for name, (localized, _types) in GPU_USAGES.items():
            # Limits are GPU cores (settings.gpu_quota); nothing is counted as in use.
            value.append(
                {
                    "unit": "Count",
                    "currentValue": 0,
                    "limit": limit,
                    "name": {"value": name, "localizedValue": localized},
                }
            )
        return ok({"value": value})

    r.add("PATCH", app_base, patch_app)
    r.add("GET", app_base + "/revisions", list_revisions)
    r.add("GET", app_base + "/revisions/{rev}", get_revision)
    r.add("POST", app_base + "/revisions/{rev}/restart", restart_revision)
    r.add("GET", app_base + "/revisions/{rev}/replicas", list_replicas)
    r.add("GET", app_base + "/revisions/{rev}/replicas/{rep}", get_replica)
    loc_base = "/subscriptions/{sub}/providers/Microsoft.App/locations/{loc}"
    r.add("GET", loc_base + "/availableManagedEnvironmentsWorkloadProfileTypes", workload_profile_types)
    r.add("GET", loc_base + "/usages", usages)
