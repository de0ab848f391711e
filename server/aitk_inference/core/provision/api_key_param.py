"""The API key provisioning passes as the template's ``@secure()`` parameter.

A key the user supplies wins (that is how to choose or rotate it at provision time). Otherwise the
key of the container app this deployment will update is kept, so running Provision again never
rotates it silently; a new app gets a random key. Which apps the deployment touches is ARM's
answer (``validate`` lists the resource ids it would deploy), not a guess at the template's naming.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aitk_inference.core.azure.clients import container_apps_client, deployments_client
from aitk_inference.core.azure.errors import azure_call
from aitk_inference.core.deploy.api_key import TEMPLATE_PARAMETER, existing_app_key, new_api_key
from aitk_inference.core.errors import ConfigError
from aitk_inference.core.provision.arm_deployment import deployment_name
from aitk_inference.core.reporting import Progress

if TYPE_CHECKING:
    from pathlib import Path

    from azure.core.credentials_async import AsyncTokenCredential

    from aitk_inference.core.azure.cloud import Cloud

_APP_TYPE = "/providers/microsoft.app/containerapps/"


def refuse_key_in_parameters_file(path: Path, values: dict[str, Any]) -> None:
    """The parameters file is part of the repository: a key there would be committed."""
    if values.get(TEMPLATE_PARAMETER) is not None:
        raise ConfigError(
            f'{path}: parameter "{TEMPLATE_PARAMETER}" must not be set in this file: it would be committed '
            "with the project.",
            hint=(
                "Remove it. Provisioning keeps the app's existing key or creates one; to choose the key, "
                "run `aitk-inference provision --api-key-from-env VAR` with the key in the environment variable VAR."
            ),
        )


async def _planned_apps(
    credential: AsyncTokenCredential,
    cloud: Cloud,
    subscription_id: str,
    resource_group: str,
    template: dict[str, Any],
    parameters: dict[str, Any],
) -> list[str]:
    """Ids of the container apps the deployment would create or update."""
    from azure.mgmt.resource.deployments.models import Deployment, DeploymentParameter, DeploymentProperties

    body = Deployment(
        properties=DeploymentProperties(
            mode="Incremental",
            template=template,
            parameters={name: DeploymentParameter(value=value) for name, value in parameters.items()},
        )
    )
    async with deployments_client(credential, subscription_id, cloud) as client:
        async with azure_call("validating the deployment"):
            poller = await client.deployments.begin_validate(resource_group, deployment_name(), body)
            result = await poller.result()
    props = result.properties
    resources = (props.validated_resources if props is not None else None) or []
    return [str(r.id) for r in resources if r.id and _APP_TYPE in str(r.id).lower()]


async def choose_api_key(
    credential: AsyncTokenCredential,
    cloud: Cloud,
    subscription_id: str,
    resource_group: str,
    template: dict[str, Any],
    parameters: dict[str, Any],
    *,
    supplied: str | None,
    progress: Progress,
) -> str:
    if supplied is not None:
        progress.log("API key: using the key you supplied (it replaces the app's current key).")
        return supplied
    candidate = new_api_key()
    apps = await _planned_apps(
        credential,
        cloud,
        subscription_id,
        resource_group,
        template,
        {**parameters, TEMPLATE_PARAMETER: candidate},
    )
    async with container_apps_client(credential, subscription_id, cloud) as client:
        for app_id in apps:
            name = app_id.rstrip("/").rsplit("/", 1)[-1]
            async with azure_call(f"reading the API key of container app {name}"):
                existing = await existing_app_key(client, resource_group, name)
            if existing is not None:
                progress.log(f"API key: keeping the key of container app {name}.")
                return existing
    progress.log("API key: created a new key; `aitk-inference api-key` prints it.")
    return candidate
