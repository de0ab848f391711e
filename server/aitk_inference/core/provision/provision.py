"""Provision: deploy the project's inference template as an ARM deployment, write the config."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from azure.core.credentials_async import AsyncTokenCredential

from aitk_inference.core.azure.cloud import Cloud
from aitk_inference.core.config import (
    CONFIG_KEYS,
    check_project,
    read_finetuning_defaults,
    write_inference_config,
)
from aitk_inference.core.deploy.api_key import TEMPLATE_PARAMETER
from aitk_inference.core.errors import AzureOperationError
from aitk_inference.core.provision.api_key_param import choose_api_key, refuse_key_in_parameters_file
from aitk_inference.core.provision.arm_deployment import DeploymentRun
from aitk_inference.core.provision.gpu_check import check_gpu_capacity
from aitk_inference.core.provision.parameters import (
    gpu_profile_parameter,
    read_parameter_values,
    validate_parameters,
)
from aitk_inference.core.provision.targets import choose_resource_group, choose_subscription
from aitk_inference.core.provision.template import load_template
from aitk_inference.core.reporting import CancellationToken, Progress, Prompter


def _outputs_to_config(outputs: dict[str, Any]) -> dict[str, str | None]:
    missing = [key for key in CONFIG_KEYS if outputs.get(key) in (None, "")]
    if missing:
        raise AzureOperationError(
            f"The deployment succeeded but did not return {', '.join(missing)}.",
            hint="The template's outputs must include all six config keys; restore them in inference.bicep/inference.json.",
        )
    config: dict[str, str | None] = {key: str(outputs[key]) for key in CONFIG_KEYS}
    endpoint = str(outputs["ACA_APP_ENDPOINT"]).strip()
    # The config holds the bare FQDN; deploy adds the scheme.
    config["ACA_APP_ENDPOINT"] = endpoint.removeprefix("https://").removeprefix("http://").rstrip("/")
    return config


async def provision(
    project: Path,
    credential: AsyncTokenCredential,
    *,
    cloud: Cloud,
    progress: Progress,
    prompter: Prompter,
    cancel: CancellationToken,
    subscription_id: str | None = None,
    resource_group: str | None = None,
    location: str | None = None,
    api_key: str | None = None,
    poll_seconds: float = 2.0,
) -> dict[str, str | None]:
    """Returns the ``infra/inference.config.json`` content written on success (six keys and any
    user keys). Raises :class:`~aitk_inference.core.errors.AitkError` on any failure; the config is
    then untouched.

    ``location`` is used only when a new resource group has to be created (else the user is asked);
    the deployment's location is the template's ``location`` parameter (default: the group's).

    ``api_key``: the endpoint's key to set; without it the app's existing key is kept, or a new
    one created (see ``api_key_param``). It goes to Azure as a secure parameter only."""
    paths = check_project(project)

    # 1. Everything local is checked before the first Azure call.
    progress.report("Reading the template and parameters", 0)
    template = await load_template(paths)
    progress.log(f"Template: {template.source}")
    values = read_parameter_values(paths)
    refuse_key_in_parameters_file(paths.parameters, values)
    parameters = validate_parameters(paths.parameters, values, template)
    shown = ", ".join(f"{k}={json.dumps(v)}" for k, v in parameters.items()) or "(template defaults)"
    progress.log(f"Parameters: {shown}")
    cancel.raise_if_cancelled()

    # 2. Where to deploy.
    ft_subscription, ft_group = read_finetuning_defaults(paths)
    if subscription_id is None and ft_subscription:
        progress.log(f"Subscription from {paths.finetuning_config.name}: {ft_subscription}")
    if resource_group is None and ft_group:
        progress.log(f"Resource group from {paths.finetuning_config.name}: {ft_group}")
    progress.report("Choosing the subscription and resource group", 3)
    subscription_id = subscription_id or ft_subscription
    if not subscription_id:
        subscription_id = await choose_subscription(credential, cloud, prompter, progress)
    cancel.raise_if_cancelled()
    wanted_location = parameters.get("location")
    group = await choose_resource_group(
        credential,
        cloud,
        subscription_id,
        resource_group or ft_group,
        location=location or (wanted_location if isinstance(wanted_location, str) else None),
        prompter=prompter,
        progress=progress,
        cancel=cancel,
    )
    cancel.raise_if_cancelled()

    # 3. Fail early on GPU availability and quota.
    progress.report("Checking GPU availability and quota", 6)
    deploy_location = wanted_location if isinstance(wanted_location, str) else group.location
    gpu_param = gpu_profile_parameter(template)
    if gpu_param:
        spec = template.parameters.get(gpu_param, {})
        profile_type = parameters.get(gpu_param, spec.get("defaultValue"))
        replicas = parameters.get(
            "maximumInstanceCount", template.parameters.get("maximumInstanceCount", {}).get("defaultValue", 1)
        )
        if isinstance(profile_type, str):
            await check_gpu_capacity(
                credential,
                cloud,
                subscription_id,
                deploy_location,
                profile_type,
                replicas=replicas if isinstance(replicas, int) else 1,
                progress=progress,
            )
    cancel.raise_if_cancelled()

    # 4. The endpoint's API key: supplied, kept from the existing app, or new.
    if TEMPLATE_PARAMETER in template.parameters:
        progress.report("Choosing the endpoint's API key", 8)
        key = await choose_api_key(
            credential,
            cloud,
            subscription_id,
            group.name,
            template.body,
            parameters,
            supplied=api_key,
            progress=progress,
        )
        parameters = {**parameters, TEMPLATE_PARAMETER: key}
    else:
        progress.log(
            f"The template has no {TEMPLATE_PARAMETER} parameter: the endpoint gets no API key.", "warning"
        )
    cancel.raise_if_cancelled()

    # 5. Deploy and wait, reporting each resource.
    run = DeploymentRun(
        credential,
        cloud,
        subscription_id,
        group.name,
        progress=progress,
        cancel=cancel,
        poll_seconds=poll_seconds,
    )
    outputs = await run.run(template.body, parameters)

    # 6. Write the config (only now: a failure above leaves it untouched).
    config = _outputs_to_config(outputs)
    written = write_inference_config(paths, config)
    progress.log(f"Wrote {paths.inference_config}.")  # the endpoint is in the operation's result lines
    progress.report("Provisioning done", 100)
    return {key: (None if value is None else str(value)) for key, value in written.items()}
