"""Fail early when the location cannot run the GPU workload profile: the type is not offered
there, or the subscription's GPU quota there is used up (instead of ARM's MaxRegionalQuotaExceeded
after a long wait)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from aitk_inference.core.azure.clients import container_apps_client
from aitk_inference.core.azure.errors import azure_call
from aitk_inference.core.errors import AitkError
from aitk_inference.core.reporting import Progress

if TYPE_CHECKING:
    from azure.core.credentials_async import AsyncTokenCredential

    from aitk_inference.core.azure.cloud import Cloud

_GPU_MODELS = ("a100", "t4", "h100", "v100")


def _norm(text: str | None) -> str:
    return re.sub(r"[^a-z0-9]", "", (text or "").lower())


def _matching_usage(usages: list[Any], profile_type: str) -> Any | None:
    """The usage counter for ``profile_type``: exact name first, else a GPU counter of the same
    GPU model (and the same consumption/dedicated kind when the names say)."""
    wanted = _norm(profile_type)
    model = next((m for m in _GPU_MODELS if m in wanted), None)
    consumption = wanted.startswith("consumption")
    best: tuple[int, Any] | None = None
    for usage in usages:
        name = getattr(usage, "name", None)
        names = [_norm(getattr(name, "value", None)), _norm(getattr(name, "localized_value", None))]
        for n in names:
            if not n:
                continue
            if n == wanted or n.endswith(wanted):
                score = 3
            elif model and model in n and ("gpu" in n or wanted.replace("consumptiongpu", "") in n):
                score = 2 if ("consumption" in n) == consumption else 1
            else:
                continue
            if best is None or score > best[0]:
                best = (score, usage)
    return best[1] if best else None


async def check_gpu_capacity(
    credential: AsyncTokenCredential,
    cloud: Cloud,
    subscription_id: str,
    location: str,
    profile_type: str,
    *,
    replicas: int,
    progress: Progress,
) -> None:
    progress.log(
        f"Checking that {location} offers the {profile_type} workload profile and you have GPU quota there…"
    )
    async with container_apps_client(credential, subscription_id, cloud) as client:
        async with azure_call(f"listing the workload profile types offered in {location}"):
            offered = [p async for p in client.available_workload_profiles.get(location)]
        names = {str(p.name): p for p in offered if p.name}
        if profile_type not in names:
            gpu_types = sorted(
                n for n, p in names.items() if (p.properties and p.properties.gpus) or "GPU" in n.upper()
            )
            where = (
                f" It offers: {', '.join(gpu_types)}."
                if gpu_types
                else " It offers no GPU workload profiles."
            )
            raise AitkError(
                f"Location {location} does not offer the GPU workload profile type {profile_type}.{where}",
                hint=(
                    "Set gpuProfileType in infra/provision/inference.parameters.json to one it offers, "
                    "or provision into a resource group in a location with Container Apps GPUs (e.g. westus3, swedencentral)."
                ),
                code="WorkloadProfileTypeNotOffered",
            )
        profile = names[profile_type]
        cores_per_replica = int(profile.properties.cores or 0) if profile.properties else 0
        async with azure_call(f"reading your Container Apps quota in {location}"):
            usages = [u async for u in client.usages.list(location)]
    usage = _matching_usage(usages, profile_type)
    if usage is None:
        progress.log(
            f"Could not find a GPU quota counter for {profile_type} in {location}; going ahead without the quota check.",
            "warning",
        )
        return
    # Quota is counted in cores for core-based counters; one replica needs one profile's worth.
    unit_needed = cores_per_replica if cores_per_replica and float(usage.limit) >= cores_per_replica else 1
    needed = unit_needed * max(1, replicas)
    free = float(usage.limit) - float(usage.current_value)
    label = usage.name.localized_value or usage.name.value
    progress.log(f"GPU quota {label} in {location}: {usage.current_value:g} of {usage.limit:g} used.")
    if free < unit_needed:
        raise AitkError(
            f"Your subscription has no free GPU quota for {profile_type} in {location} "
            f"({label}: {usage.current_value:g} of {usage.limit:g} in use, one replica needs {unit_needed:g}). "
            "Provisioning would fail with MaxRegionalQuotaExceeded after a long wait, so it was not started.",
            hint=(
                "Request a quota increase for Container Apps GPUs in this region (Azure portal → Quotas, "
                "or a support request), free up GPU apps there, or choose another location or gpuProfileType."
            ),
            code="MaxRegionalQuotaExceeded",
        )
    if free < needed:
        progress.log(
            f"GPU quota allows {int(free // unit_needed)} replica(s) at once, fewer than maximumInstanceCount={replicas}.",
            "warning",
        )
