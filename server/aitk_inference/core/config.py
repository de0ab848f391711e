"""The project's config files under ``infra/``: what provision writes and deploy reads."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aitk_inference.core.config_check import config_problems, describe_problems
from aitk_inference.core.errors import ConfigError
from aitk_inference.core.jsonfile import read_json, write_json_atomic

# The six keys of infra/inference.config.json, in the order they are written.
CONFIG_KEYS = (
    "SUBSCRIPTION_ID",
    "RESOURCE_GROUP_NAME",
    "STORAGE_ACCOUNT_NAME",
    "FILE_SHARE_NAME",
    "ACA_APP_NAME",
    "ACA_APP_ENDPOINT",
)


INFERENCE_CONFIG = "inference.config.json"


@dataclass(frozen=True)
class ProjectPaths:
    root: Path

    @property
    def infra(self) -> Path:
        return self.root / "infra"

    @property
    def inference_config(self) -> Path:
        return self.infra / INFERENCE_CONFIG

    @property
    def finetuning_config(self) -> Path:
        return self.infra / "finetuning.config.json"

    @property
    def bicep(self) -> Path:
        return self.infra / "provision" / "inference.bicep"

    @property
    def arm_template(self) -> Path:
        return self.infra / "provision" / "inference.json"

    @property
    def parameters(self) -> Path:
        return self.infra / "provision" / "inference.parameters.json"

    @property
    def has_template(self) -> bool:
        """Provision can run here (a hand-provisioned project may have only the config)."""
        return self.bicep.exists() or self.arm_template.exists()


# Where to get infra/provision/ when a project has none (the VS Code command; see extension/).
CREATE_PROJECT_FILES = "AI Toolkit: Create inference project files"


def fill_in_hint(paths: ProjectPaths) -> str:
    """How to fill in the config: Provision when the project can, else by hand or from the template."""
    if paths.has_template:
        return "Run Provision to create the resources and fill it in, or set the keys by hand to your existing resources' values."
    return (
        "Set the keys by hand to your existing resources' values, or run "
        f"'{CREATE_PROJECT_FILES}' to add infra/provision/ and then Provision."
    )


def check_project(project: Path) -> ProjectPaths:
    paths = ProjectPaths(project.resolve())
    if not paths.root.is_dir():
        raise ConfigError(f"Project folder not found: {paths.root}.", hint="Open the project folder first.")
    if not paths.infra.is_dir():
        raise ConfigError(
            f"{paths.root} has no infra/ folder.",
            hint=f"Open the inference project folder, or run '{CREATE_PROJECT_FILES}' to add infra/ and inference/ here.",
            code="NoProjectFiles",
        )
    return paths


def _read_object(path: Path, what: str) -> dict[str, Any]:
    data = read_json(path, what=what)
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path} must hold a JSON object ({{...}}), not {type(data).__name__}.",
            hint='Wrap the keys in braces, e.g. {"SUBSCRIPTION_ID": "…", "RESOURCE_GROUP_NAME": "…"}.',
        )
    return data


def read_inference_config(paths: ProjectPaths) -> dict[str, Any]:
    """The whole file (six keys plus whatever the user added); ``{}`` when it does not exist yet."""
    if not paths.inference_config.exists():
        return {}
    return _read_object(paths.inference_config, "inference config")


@dataclass(frozen=True)
class DeployTarget:
    """The filled-in config deploy and status work with."""

    subscription_id: str
    resource_group: str
    storage_account: str
    file_share: str
    app_name: str
    app_endpoint: str  # bare FQDN (host[:port]), as ACA reports it

    @property
    def endpoint_url(self) -> str:
        return endpoint_url(self.app_endpoint)


def endpoint_url(endpoint: str) -> str:
    """``https://<fqdn>``; tolerate a hand-written value that already has a scheme or trailing slash."""
    host = endpoint.strip().removeprefix("https://").removeprefix("http://").rstrip("/")
    return f"https://{host}"


def require_deploy_target(paths: ProjectPaths) -> DeployTarget:
    """Every key deploy needs, or one ConfigError listing every problem (missing keys, wrong types,
    values that break Azure's rules) with the fix for each."""
    if not paths.inference_config.exists():
        raise ConfigError(
            f"{paths.inference_config} does not exist.",
            hint=fill_in_hint(paths),
            code="ConfigMissing",
        )
    data = read_inference_config(paths)
    problems = config_problems(data, CONFIG_KEYS)
    if problems:
        incomplete = any(p.missing for p in problems)
        raise ConfigError(
            describe_problems(str(paths.inference_config), problems),
            hint=fill_in_hint(paths)
            if incomplete
            else f"Fix the values in {paths.inference_config.name} and try again.",
            code="ConfigIncomplete" if incomplete else "ConfigInvalid",
        )
    values = {key: str(data[key]).strip() for key in CONFIG_KEYS}
    return DeployTarget(
        subscription_id=values["SUBSCRIPTION_ID"],
        resource_group=values["RESOURCE_GROUP_NAME"],
        storage_account=values["STORAGE_ACCOUNT_NAME"],
        file_share=values["FILE_SHARE_NAME"],
        app_name=values["ACA_APP_NAME"],
        app_endpoint=values["ACA_APP_ENDPOINT"],
    )


def write_inference_config(paths: ProjectPaths, outputs: dict[str, str | None]) -> dict[str, Any]:
    """Merge the six keys into the existing file (user keys kept) and write it atomically."""
    data = read_inference_config(paths)
    for key in CONFIG_KEYS:
        data[key] = outputs.get(key)
    write_json_atomic(paths.inference_config, data)
    return data


def read_finetuning_defaults(paths: ProjectPaths) -> tuple[str | None, str | None]:
    """SUBSCRIPTION_ID and RESOURCE_GROUP_NAME from ``infra/finetuning.config.json`` when present."""
    if not paths.finetuning_config.exists():
        return None, None
    data = _read_object(paths.finetuning_config, "fine-tuning config")

    def text(key: str) -> str | None:
        value = data.get(key)
        return value.strip() if isinstance(value, str) and value.strip() else None

    return text("SUBSCRIPTION_ID"), text("RESOURCE_GROUP_NAME")
