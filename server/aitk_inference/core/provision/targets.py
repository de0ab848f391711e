"""Choosing the subscription and resource group to provision into (argument, fine-tuning config,
or asking the user among what the credential can see), creating the group when asked to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aitk_inference.core.azure.clients import resource_client, subscription_client
from aitk_inference.core.azure.errors import azure_call
from aitk_inference.core.azure.tenants import remember_tenant
from aitk_inference.core.errors import AitkError, OperationCancelled
from aitk_inference.core.naming import RESOURCE_GROUP
from aitk_inference.core.reporting import CREATE_NEW, CancellationToken, Choice, Progress, Prompter

if TYPE_CHECKING:
    from azure.core.credentials_async import AsyncTokenCredential

    from aitk_inference.core.azure.cloud import Cloud


@dataclass(frozen=True)
class ResourceGroupTarget:
    subscription_id: str
    name: str
    location: str
    created: bool


async def _tenant_subscriptions(
    credential: AsyncTokenCredential, cloud: Cloud, progress: Progress
) -> list[tuple[Any, str]]:
    """(subscription, tenant) for every tenant the user belongs to: ARM lists one tenant's
    subscriptions per token, so a guest's subscriptions come from a token for that tenant."""
    async with subscription_client(credential, cloud) as client, azure_call("listing your Azure tenants"):
        tenants = [t async for t in client.tenants.list()]
    found: list[tuple[Any, str]] = []
    for tenant in tenants:
        tid = str(tenant.tenant_id or "")
        if not tid:
            continue
        label = f"{tenant.display_name} ({tid})" if tenant.display_name else tid
        try:
            async with (
                subscription_client(credential, cloud, tenant_id=tid) as client,
                azure_call(f"listing the subscriptions of tenant {label}"),
            ):
                found += [(s, str(s.tenant_id or tid)) async for s in client.subscriptions.list()]
        except AitkError as err:
            if len(tenants) == 1:
                raise
            progress.log(f"Skipped tenant {label}: {err.message}")
    # A credential that cannot pick the tenant answers with its own each time: list each once.
    unique = {str(s.subscription_id): (s, tid) for s, tid in found if s.subscription_id}
    return list(unique.values())


async def choose_subscription(
    credential: AsyncTokenCredential, cloud: Cloud, prompter: Prompter, progress: Progress
) -> str:
    progress.log("Listing the subscriptions you can use…")
    listed = await _tenant_subscriptions(credential, cloud, progress)
    for s, tid in listed:
        if s.subscription_id:
            remember_tenant(cloud, str(s.subscription_id), tid)
    choices = [
        Choice(
            label=str(s.display_name or s.subscription_id),
            value=str(s.subscription_id),
            description=f"{s.subscription_id} · tenant {tid}",
        )
        for s, tid in listed
        if s.subscription_id
    ]
    if not choices:
        raise AitkError(
            "Your account cannot see any Azure subscription.",
            hint="Sign in with an account that has a subscription, or pass --subscription.",
        )
    if len(choices) == 1:
        progress.log(f"Using the only subscription you can see: {choices[0].label} ({choices[0].value}).")
        return choices[0].value
    picked = await prompter.pick("Select the Azure subscription", choices, placeholder="Subscription")
    if not picked:
        raise OperationCancelled("No subscription chosen; nothing was changed.")
    return picked


async def _pick_location(
    credential: AsyncTokenCredential, cloud: Cloud, subscription_id: str, prompter: Prompter
) -> str:
    async with (
        subscription_client(credential, cloud, subscription_id=subscription_id) as client,
        azure_call("listing Azure locations"),
    ):
        locations = [loc async for loc in client.subscriptions.list_locations(subscription_id)]
    choices = [
        Choice(label=str(loc.display_name or loc.name), value=str(loc.name), description=loc.name)
        for loc in locations
        if loc.name
    ]
    picked = await prompter.pick(
        "Select the location for the new resource group",
        choices,
        placeholder="Location (must offer GPU workload profiles)",
    )
    if not picked:
        raise OperationCancelled("No location chosen; nothing was changed.")
    return picked


def _check_group_name(name: str) -> None:
    problem = RESOURCE_GROUP.problem(name)
    if problem:
        raise AitkError(
            f"{name!r} is not a valid resource group name: it {problem}.", hint="Choose another name."
        )


async def choose_resource_group(
    credential: AsyncTokenCredential,
    cloud: Cloud,
    subscription_id: str,
    name: str | None,
    *,
    location: str | None,
    prompter: Prompter,
    progress: Progress,
    cancel: CancellationToken,
) -> ResourceGroupTarget:
    """The named group (created, after confirmation, when missing), or one the user picks or names."""
    from azure.core.exceptions import ResourceNotFoundError

    async with resource_client(credential, subscription_id, cloud) as client:
        if name is None:
            async with azure_call("listing resource groups"):
                groups = [g async for g in client.resource_groups.list()]
            picked = await prompter.pick(
                "Select the resource group for the inference resources",
                [
                    Choice(label=str(g.name), value=str(g.name), description=g.location)
                    for g in groups
                    if g.name
                ],
                placeholder="Resource group (the fine-tuning one reuses its storage and environment)",
                create_new_label="+ Create a new resource group",
            )
            if not picked:
                raise OperationCancelled("No resource group chosen; nothing was changed.")
            if picked == CREATE_NEW:
                entered = await prompter.input(
                    "Name of the new resource group", placeholder="e.g. rg-inference"
                )
                if not entered:
                    raise OperationCancelled("No resource group name given; nothing was changed.")
                name = entered.strip()
            else:
                name = picked
        _check_group_name(name)
        cancel.raise_if_cancelled()
        try:
            async with azure_call(f"reading resource group {name}"):
                group = await client.resource_groups.get(name)
            progress.log(f"Using resource group {name} ({group.location}).")
            return ResourceGroupTarget(subscription_id, name, str(group.location), created=False)
        except AitkError as err:
            if not isinstance(err.__cause__, ResourceNotFoundError):
                raise
        location = location or await _pick_location(credential, cloud, subscription_id, prompter)
        if not await prompter.confirm(f"Resource group {name} does not exist. Create it in {location}?"):
            raise OperationCancelled("Resource group not created; nothing was changed.")
        body: dict[str, Any] = {"location": location}
        async with azure_call(f"creating resource group {name}"):
            await client.resource_groups.create_or_update(name, body)
        progress.log(f"Created resource group {name} in {location}.")
        return ResourceGroupTarget(subscription_id, name, location, created=True)
