"""Resource types and api-versions of each provider the project touches, derived from the reference data.

The emulator's provider metadata (``arm/providers.py``) is a static table so that it runs without the
reference data; ``test_provider_metadata.py`` checks that table against what this module derives:

- every resource type a REST spec addresses under ``/providers/{namespace}/`` (a type segment followed
  by a name, or a collection that answers GET; POST-only actions such as ``listKeys`` are not types),
  with the spec's api-version; ``locations`` when a ``locations/...`` type exists;
- Resource Manager's own types outside ``/providers/`` (resource groups, subscriptions, tenants,
  locations, providers), from the resources and subscriptions specs;
- every type an ARM template schema declares (``resourceDefinitions``), with the schema's api-version.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

from tests.azure_emulator.fidelity.specs import SpecIndex, arm_index

SCHEMAS = "azure-resource-manager-schemas/schemas"
PROVIDERS = ("Microsoft.App", "Microsoft.Storage", "Microsoft.OperationalInsights", "Microsoft.Resources")

_PROVIDER_PATH = re.compile(r"/providers/(Microsoft\.[A-Za-z]+)/(.+)$")
# Resource Manager types addressed outside /providers/{namespace}/ (template regex → type).
_RESOURCES_TYPES = (
    (re.compile(r"^/subscriptions/\{[^}]+\}/resourcegroups/\{[^}]+\}$", re.IGNORECASE), "resourceGroups"),
    (re.compile(r"^/subscriptions/\{[^}]+\}$", re.IGNORECASE), "subscriptions"),
    (re.compile(r"^/tenants$", re.IGNORECASE), "tenants"),
    (re.compile(r"^/subscriptions/\{[^}]+\}/locations$", re.IGNORECASE), "locations"),
    (re.compile(r"^/subscriptions/\{[^}]+\}/providers/\{[^}]+\}$", re.IGNORECASE), "providers"),
)

Catalog = dict[str, dict[str, tuple[str, ...]]]


def _spec_types(index: SpecIndex) -> dict[str, dict[str, set[str]]]:
    found: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for op in index.operations:
        for pattern, rtype in _RESOURCES_TYPES:
            if pattern.match(op.template):
                found["Microsoft.Resources"][rtype].add(op.api_version)
        m = _PROVIDER_PATH.search(op.template)
        if m is None or "/providers/" in m.group(2) or m.group(1) not in PROVIDERS:
            continue
        segments = [s for s in m.group(2).split("/") if s]
        kinds = segments[0::2]
        if any(k.startswith("{") for k in kinds):
            continue
        for depth in range(1, len(kinds) + 1):
            addressed = len(segments) > 2 * depth - 1  # a name follows this type segment
            last = depth == len(kinds)
            if addressed or (last and op.method == "GET"):
                found[m.group(1)]["/".join(kinds[:depth])].add(op.api_version)
    for types in found.values():
        located = {v for t, vs in types.items() if t.startswith("locations/") for v in vs}
        if located:
            types["locations"] |= located
    return found


def _schema_types(root: Path) -> dict[str, dict[str, set[str]]]:
    found: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for file in sorted((root / SCHEMAS).glob("*/Microsoft.*.json")):
        doc = json.loads(file.read_text(encoding="utf-8"))
        for definition in (doc.get("resourceDefinitions") or {}).values():
            props = definition.get("properties") or {}
            for full_type in (props.get("type") or {}).get("enum") or []:
                namespace, _, rtype = str(full_type).partition("/")
                for version in (props.get("apiVersion") or {}).get("enum") or []:
                    found[namespace][rtype].add(str(version))
    return found


def derive(root: Path) -> Catalog:
    """namespace → resource type → api-versions, newest first."""
    merged: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for source in (_spec_types(arm_index(root)), _schema_types(root)):
        for namespace, types in source.items():
            for rtype, versions in types.items():
                merged[namespace][rtype] |= versions
    return {
        ns: {
            t: tuple(sorted(v, reverse=True)) for t, v in sorted(types.items(), key=lambda kv: kv[0].lower())
        }
        for ns, types in sorted(merged.items())
        if ns in PROVIDERS
    }
