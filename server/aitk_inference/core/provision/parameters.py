"""``infra/provision/inference.parameters.json``: read and checked against the template before any
Azure call (unknown names, wrong types, values outside the allowed ones, invalid resource names)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aitk_inference.core.config import ProjectPaths
from aitk_inference.core.errors import ConfigError
from aitk_inference.core.jsonfile import read_json
from aitk_inference.core.naming import PARAMETER_RULES
from aitk_inference.core.provision.template import Template

_TYPE_CHECKS: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "securestring": (str,),
    "int": (int,),
    "bool": (bool,),
    "array": (list,),
    "object": (dict,),
    "secureobject": (dict,),
}


def read_parameter_values(paths: ProjectPaths) -> dict[str, Any]:
    """``{name: value}`` from the deployment-parameters file (a missing file means no overrides)."""
    path = paths.parameters
    if not path.exists():
        return {}
    data = read_json(path, what="parameters file")
    params = data.get("parameters", {}) if isinstance(data, dict) else None
    if not isinstance(params, dict):
        raise ConfigError(
            f'{path}: expected an object with a "parameters" object inside.',
            hint='Use the ARM parameters format: {"parameters": {"name": {"value": ...}}}.',
        )
    values: dict[str, Any] = {}
    for name, entry in params.items():
        if not isinstance(entry, dict) or "value" not in entry:
            raise ConfigError(
                f'{path}: parameter "{name}" must be an object with a "value".',
                hint=f'Write it as "{name}": {{"value": …}} (the ARM parameters format), or remove it.',
            )
        values[name] = entry["value"]
    return values


def _type_problem(declared: str, value: Any) -> str | None:
    expected = _TYPE_CHECKS.get(declared.lower())
    if expected is None:
        return None
    ok = isinstance(value, expected) and not (declared.lower() == "int" and isinstance(value, bool))
    return None if ok else f"must be of type {declared}, not {type(value).__name__}"


def validate_parameters(path: Path, values: dict[str, Any], template: Template) -> dict[str, Any]:
    """Checks ``values`` and returns those to send (nulls dropped, so template defaults apply)."""
    declared = template.parameters
    unknown = sorted(set(values) - set(declared))
    if unknown:
        raise ConfigError(
            f"{path}: unknown parameter {', '.join(repr(n) for n in unknown)}.",
            hint=f"The template's parameters are: {', '.join(sorted(declared))}. Check the spelling.",
        )
    send: dict[str, Any] = {}
    for name, value in values.items():
        if value is None:
            continue
        spec = declared[name] if isinstance(declared[name], dict) else {}
        problem = _type_problem(str(spec.get("type", "")), value)
        allowed = spec.get("allowedValues")
        if problem is None and isinstance(allowed, list) and value not in allowed:
            problem = f"must be one of {', '.join(repr(a) for a in allowed)}"
        if problem is None and isinstance(value, int) and not isinstance(value, bool):
            low, high = spec.get("minValue"), spec.get("maxValue")
            if isinstance(low, int) and value < low:
                problem = f"must be at least {low}"
            elif isinstance(high, int) and value > high:
                problem = f"must be at most {high}"
        rule = PARAMETER_RULES.get(name)
        if problem is None and rule is not None and isinstance(value, str):
            why = rule.problem(value)
            if why is not None:
                problem = f"is not a valid {rule.resource} name: it {why}"
        if problem is not None:
            raise ConfigError(
                f'{path}: parameter "{name}" = {json.dumps(value)} {problem}.',  # as written in the file
                hint="Fix the value (or set it to null to use the template's default) and try again.",
            )
        send[name] = value
    _check_replica_bounds(path, send, declared)
    return send


def _check_replica_bounds(path: Path, send: dict[str, Any], declared: dict[str, Any]) -> None:
    """ACA refuses minReplicas > maxReplicas only after the environment is built: say it now."""

    def effective(name: str) -> Any:
        spec = declared.get(name)
        return send.get(name, spec.get("defaultValue") if isinstance(spec, dict) else None)

    low, high = effective("minimumInstanceCount"), effective("maximumInstanceCount")
    if isinstance(low, int) and isinstance(high, int) and low > high:
        raise ConfigError(
            f'{path}: "minimumInstanceCount" ({low}) is larger than "maximumInstanceCount" ({high}).',
            hint="Lower minimumInstanceCount or raise maximumInstanceCount, then try again.",
            code="ParametersInvalid",
        )


def gpu_profile_parameter(template: Template) -> str | None:
    """Name of the parameter selecting the GPU workload profile type (the one whose default or
    allowed values are GPU profile types)."""
    for name, spec in template.parameters.items():
        if not isinstance(spec, dict):
            continue
        candidates = [spec.get("defaultValue"), *(spec.get("allowedValues") or [])]
        if any(isinstance(c, str) and "GPU" in c.upper() for c in candidates):
            return name
    return None
