"""The endpoint's API key: a Container Apps secret the app reads as ``INFERENCE_API_KEY``.

Read with ``listSecrets`` (the only Azure call that returns secret values), so an app provisioned
by hand works too: the secret is the one the container's ``INFERENCE_API_KEY`` refers to. Rotation
replaces the secret's value (PATCH of the app's secrets) and restarts the active revisions, since
running replicas keep the value they started with.

The key is a value for the person who asked, never a message: nothing here logs it, puts it in an
error or writes it to a file.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aitk_inference.core.azure.clients import container_apps_client
from aitk_inference.core.azure.errors import azure_call
from aitk_inference.core.config import DeployTarget, check_project, require_deploy_target
from aitk_inference.core.deploy.revisions import restart_active_revisions
from aitk_inference.core.errors import AitkError, OperationCancelled
from aitk_inference.core.reporting import Progress, Prompter

if TYPE_CHECKING:
    from azure.core.credentials_async import AsyncTokenCredential
    from azure.mgmt.appcontainers.aio import ContainerAppsAPIClient

    from aitk_inference.core.azure.cloud import Cloud

ENV_VAR = "INFERENCE_API_KEY"  # what the app reads
SECRET_NAME = "inference-api-key"  # the secret the template creates
TEMPLATE_PARAMETER = "inferenceApiKey"  # the template's @secure() parameter
MIN_LENGTH = 16  # the template parameter's minLength


def new_api_key() -> str:
    """256 random bits, URL-safe (fits a header and a shell variable without quoting)."""
    return secrets.token_urlsafe(32)


def check_user_key(key: str, source: str) -> str:
    """A key the user supplied: trimmed, and long enough for the template's minLength."""
    key = key.strip()
    if len(key) < MIN_LENGTH:
        raise AitkError(
            f"The API key in {source} is too short ({len(key)} characters; at least {MIN_LENGTH} are needed).",
            hint="Use a long random value, e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`.",
            code="ApiKeyTooShort",
        )
    return key


@dataclass(frozen=True)
class ApiKey:
    app_name: str
    resource_group: str
    subscription_id: str
    secret_name: str
    value: str = field(repr=False)  # never in a repr, a log line or an error
    rotated: bool = False
    revisions_restarted: tuple[str, ...] = ()


def _model_dict(model: Any) -> dict[str, Any]:
    return dict(model.as_dict()) if hasattr(model, "as_dict") else dict(model or {})


def key_secret_name(app: dict[str, Any]) -> str | None:
    """The secret the app's ``INFERENCE_API_KEY`` refers to (first container that sets it)."""
    template = app.get("properties", app).get("template") or {}
    for container in template.get("containers") or []:
        for var in container.get("env") or []:
            if var.get("name") == ENV_VAR and var.get("secretRef"):
                return str(var["secretRef"])
    return None


def _plain_value_set(app: dict[str, Any]) -> bool:
    template = app.get("properties", app).get("template") or {}
    return any(
        var.get("name") == ENV_VAR and "value" in var
        for container in template.get("containers") or []
        for var in container.get("env") or []
    )


async def list_app_secrets(
    client: ContainerAppsAPIClient, resource_group: str, app_name: str
) -> list[dict[str, Any]]:
    async with azure_call(f"reading the secrets of container app {app_name}"):
        result = await client.container_apps.list_secrets(resource_group, app_name)
    return [_model_dict(s) for s in result.value or []]


async def existing_app_key(client: ContainerAppsAPIClient, resource_group: str, app_name: str) -> str | None:
    """The value of the app's ``inference-api-key`` secret, or None when the app or the secret does
    not exist (provisioning then sets a new key)."""
    from azure.core.exceptions import ResourceNotFoundError

    try:
        values = await client.container_apps.list_secrets(resource_group, app_name)
    except ResourceNotFoundError:
        return None
    for item in values.value or []:
        if item.name == SECRET_NAME and item.value:
            return str(item.value)
    return None


def _no_key_error(target: DeployTarget, plain: bool) -> AitkError:
    if plain:
        return AitkError(
            f"Container app {target.app_name} sets {ENV_VAR} as a plain environment value, not from a secret, "
            "so its key cannot be read or rotated safely.",
            hint=(
                "Run Provision again: it stores the key as the secret "
                f"'{SECRET_NAME}' and passes it to the app by secretRef."
            ),
            code="ApiKeyNotASecret",
        )
    return AitkError(
        f"Container app {target.app_name} has no API key: none of its containers gets {ENV_VAR} from a secret.",
        hint=(
            f"Run Provision again (it adds the secret '{SECRET_NAME}' and the {ENV_VAR} setting), or by hand: "
            f"`az containerapp secret set -g {target.resource_group} -n {target.app_name} "
            f"--secrets {SECRET_NAME}=<key>` then `az containerapp update -g {target.resource_group} "
            f"-n {target.app_name} --set-env-vars {ENV_VAR}=secretref:{SECRET_NAME}`."
        ),
        code="ApiKeyMissing",
    )


async def api_key(
    project: Path,
    credential: AsyncTokenCredential,
    *,
    cloud: Cloud,
    progress: Progress,
    prompter: Prompter,
    rotate: bool = False,
    new_value: str | None = None,
) -> ApiKey:
    """The app's API key from ``infra/inference.config.json``'s app; with ``rotate``, a new one
    (``new_value``, else random) is set first and the active revisions restarted."""
    paths = check_project(project)
    target = require_deploy_target(paths)
    app_name, group = target.app_name, target.resource_group
    async with container_apps_client(credential, target.subscription_id, cloud) as client:
        progress.report(f"Reading container app {app_name}", 10)
        async with azure_call(f"reading container app {app_name}"):
            app = _model_dict(await client.container_apps.get(group, app_name))
        secret_name = key_secret_name(app)
        if secret_name is None:
            raise _no_key_error(target, _plain_value_set(app))
        progress.report(f"Reading the secrets of container app {app_name}", 30)
        listed = await list_app_secrets(client, group, app_name)
        current = next((s for s in listed if s.get("name") == secret_name), None)
        if current is None:
            raise AitkError(
                f"Container app {app_name} passes the secret '{secret_name}' as {ENV_VAR}, but has no such secret.",
                hint="Run Provision again to set it, or add it: "
                f"`az containerapp secret set -g {group} -n {app_name} --secrets {secret_name}=<key>`.",
                code="ApiKeyMissing",
            )
        if current.get("keyVaultUrl"):
            raise AitkError(
                f"The API key of container app {app_name} is a Key Vault reference ({current['keyVaultUrl']}).",
                hint="Read or rotate it in Key Vault; this command handles keys stored in the app itself.",
                code="ApiKeyInKeyVault",
            )
        if not rotate:
            progress.report("Read the API key", 100)
            return ApiKey(
                app_name, group, target.subscription_id, secret_name, str(current.get("value") or "")
            )

        question = (
            f"Replace the API key of container app {app_name}? Clients still using the current key "
            "get 401 once its revisions restart."
        )
        if not await prompter.confirm(question):
            raise OperationCancelled(f"The API key of container app {app_name} was not changed.")
        value = new_value or new_api_key()
        from azure.mgmt.appcontainers.models import ContainerApp

        # PATCH replaces the whole secrets array: send every secret, the others unchanged.
        updated: list[dict[str, Any]] = [
            {"name": secret_name, "value": value}
            if item.get("name") == secret_name
            else {k: item[k] for k in ("name", "value", "keyVaultUrl", "identity") if item.get(k)}
            for item in listed
        ]
        progress.report(f"Setting a new API key on container app {app_name}", 50)
        envelope = ContainerApp(
            {"location": app["location"], "properties": {"configuration": {"secrets": updated}}}
        )
        async with azure_call(f"updating the secrets of container app {app_name}"):
            poller = await client.container_apps.begin_update(group, app_name, envelope)
            await poller.result()
        progress.log(f"Set a new value for secret '{secret_name}' of container app {app_name}.")
        progress.report("Restarting the active revisions so they read the new key", 75)
        restarted = await restart_active_revisions(client, group, app_name, progress=progress)
        progress.report("New API key set", 100)
        return ApiKey(app_name, group, target.subscription_id, secret_name, value, True, tuple(restarted))
