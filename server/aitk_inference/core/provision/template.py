"""The ARM template to deploy: compiled from the user's Bicep when a compiler is at hand, else the
shipped ``inference.json`` (refused when the Bicep changed since that JSON was produced)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aitk_inference.core.config import CREATE_PROJECT_FILES, ProjectPaths
from aitk_inference.core.errors import ConfigError
from aitk_inference.core.jsonfile import read_json

# Where the Bicep source's hash is recorded in inference.json's metadata (first match wins).
_HASH_KEYS = ("aitk.bicepSha256", "bicepSha256", "bicepSourceSha256", "sourceSha256", "bicepHash")


@dataclass(frozen=True)
class Template:
    body: dict[str, Any]
    source: str  # what it came from, for the log

    @property
    def parameters(self) -> dict[str, dict[str, Any]]:
        params = self.body.get("parameters") or {}
        return params if isinstance(params, dict) else {}


def bicep_sha256(path: Path) -> str:
    """Hash of the Bicep source with line endings normalised (a CRLF checkout is the same source)."""
    return hashlib.sha256(path.read_bytes().replace(b"\r\n", b"\n")).hexdigest()


def recorded_bicep_hash(body: dict[str, Any]) -> str | None:
    metadata = body.get("metadata")
    if not isinstance(metadata, dict):
        return None
    for scope in (metadata, metadata.get("_generator")):
        if isinstance(scope, dict):
            for key in _HASH_KEYS:
                value = scope.get(key)
                if isinstance(value, str) and value:
                    return value.lower().removeprefix("sha256:")
    return None


async def _run(*argv: str) -> tuple[int, str, str]:
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
    except OSError as exc:
        return 127, "", str(exc)
    out, err = await proc.communicate()
    return proc.returncode or 0, out.decode(errors="replace"), err.decode(errors="replace")


async def find_bicep_compiler() -> list[str] | None:
    """The command prefix that compiles Bicep to stdout, or None. ``az`` counts only when its
    Bicep extension answers (a bare or minimal ``az`` cannot compile)."""
    bicep = shutil.which("bicep")
    if bicep:
        return [bicep, "build", "--stdout"]
    az = shutil.which("az")
    if az:
        rc, _out, _err = await _run(az, "bicep", "version")
        if rc == 0:
            return [az, "bicep", "build", "--stdout", "--file"]
    return None


def _json_template(paths: ProjectPaths) -> Template:
    if not paths.has_template:
        raise ConfigError(
            f"{paths.infra} has no provision/inference.bicep or provision/inference.json to provision from.",
            hint=(
                f"Run '{CREATE_PROJECT_FILES}' to add them (existing files are kept), then Provision; "
                f"or, for resources you made by hand, fill in {paths.inference_config.name} and Deploy."
            ),
            code="NoTemplate",
        )
    if not paths.arm_template.exists():
        raise ConfigError(
            f"Neither a Bicep compiler nor {paths.arm_template} is available.",
            hint="Install the Bicep CLI (or `az bicep install`), or restore inference.json from the template.",
        )
    body = read_json(paths.arm_template, what="ARM template")
    if not isinstance(body, dict):
        raise ConfigError(
            f"{paths.arm_template} must hold a JSON object (an ARM template).",
            hint=f"Restore it from the template ('{CREATE_PROJECT_FILES}' adds missing files), or rebuild it with `az bicep build`.",
        )
    if paths.bicep.exists():
        recorded = recorded_bicep_hash(body)
        if recorded is not None and recorded != bicep_sha256(paths.bicep):
            raise ConfigError(
                f"{paths.bicep} changed since {paths.arm_template.name} was produced, and no Bicep compiler was found.",
                hint=(
                    "Compile it: `az bicep build --file infra/provision/inference.bicep` (or `bicep build ...`), "
                    "or install the Bicep CLI so provisioning compiles it for you; "
                    "or undo the change to inference.bicep."
                ),
            )
    return Template(body, str(paths.arm_template))


async def load_template(paths: ProjectPaths) -> Template:
    compiler = await find_bicep_compiler() if paths.bicep.exists() else None
    if compiler is None:
        return _json_template(paths)
    rc, out, err = await _run(*compiler, str(paths.bicep))
    if rc != 0:
        detail = err.strip() or out.strip() or f"exit code {rc}"
        raise ConfigError(
            f"Compiling {paths.bicep} failed: {detail}", hint="Fix the Bicep errors above and try again."
        )
    try:
        body = json.loads(out)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"The Bicep compiler printed something that is not JSON ({exc.msg}).") from None
    return Template(body, f"{paths.bicep} (compiled with {Path(compiler[0]).name})")
