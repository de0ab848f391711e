"""A comparable summary of a Bicep file and of its compiled ARM JSON, for drift checks.

``pycep-parser`` parses the Bicep; it drops the ``?`` of nullable parameter types, so
nullability is read from the ``param`` lines directly.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pycep import BicepParser

HASH_KEY = "aitk.bicepSha256"
_PARAM_LINE = re.compile(r"^param\s+(\w+)\s+(\w+)(\?)?", re.MULTILINE)
_NOT_LITERAL = object()  # a default that is an expression, compared only as "an expression"


@dataclass(frozen=True)
class TemplateSummary:
    parameters: dict[str, dict[str, Any]]
    variables: frozenset[str]
    resources: tuple[tuple[str, str], ...]  # sorted (type, apiVersion), one per resource
    outputs: dict[str, str]


def bicep_sha256(path: Path) -> str:
    """sha256 of the Bicep text with CRLF normalized, so a Windows checkout hashes the same."""
    return hashlib.sha256(path.read_bytes().replace(b"\r\n", b"\n")).hexdigest()


def _bicep_literal(value: Any) -> Any:
    if isinstance(value, dict) and ("function" in value or "operator" in value):
        return _NOT_LITERAL
    if isinstance(value, str) and "${" in value:
        return _NOT_LITERAL
    return value


def _arm_literal(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("[") and not value.startswith("[["):
        return _NOT_LITERAL
    return value


def summarize_bicep(path: Path) -> TemplateSummary:
    text = path.read_text(encoding="utf-8")
    tree = BicepParser().parse(text=text)
    nullable = {m.group(1): bool(m.group(3)) for m in _PARAM_LINE.finditer(text)}
    params: dict[str, dict[str, Any]] = {}
    for name, p in tree["parameters"].items():
        kinds = {deco["type"] for deco in p["decorators"]}
        # @secure() compiles to ARM's securestring/secureobject.
        ptype = ("secure" if "secure" in kinds else "") + p["type"].lower()
        entry: dict[str, Any] = {"type": ptype, "nullable": nullable[name]}
        if p["default"] is not None:
            entry["default"] = _bicep_literal(p["default"])
        for deco in p["decorators"]:
            kind = deco["type"]
            if kind == "allowed":
                entry["allowedValues"] = deco["argument"]
            elif kind in ("min_value", "max_value", "min_length", "max_length"):
                head, tail = kind.split("_")
                entry[head + tail.capitalize()] = deco["argument"]
        params[name] = entry
    resources = tuple(
        sorted((r["type"], r["api_version"]) for r in tree["resources"].values() if not r["existing"])
    )
    outputs = {name: o["type"].lower() for name, o in tree["outputs"].items()}
    return TemplateSummary(params, frozenset(tree["variables"]), resources, outputs)


def summarize_arm(template: dict[str, Any]) -> TemplateSummary:
    params: dict[str, dict[str, Any]] = {}
    for name, p in template["parameters"].items():
        entry: dict[str, Any] = {"type": p["type"].lower(), "nullable": bool(p.get("nullable", False))}
        if "defaultValue" in p:
            entry["default"] = _arm_literal(p["defaultValue"])
        for key in ("allowedValues", "minValue", "maxValue", "minLength", "maxLength"):
            if key in p:
                entry[key] = p[key]
        params[name] = entry
    raw = template["resources"]
    items = raw.values() if isinstance(raw, dict) else raw
    resources = tuple(sorted((r["type"], r["apiVersion"]) for r in items if not r.get("existing")))
    outputs = {name: o["type"].lower() for name, o in template["outputs"].items()}
    return TemplateSummary(params, frozenset(template.get("variables", {})), resources, outputs)
