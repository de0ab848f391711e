"""Load the official Swagger 2.0 specs (with cross-file ``$ref``s) and index their operations.

Operations are keyed by (HTTP method, path template, api-version). ARM paths match
case-insensitively, as ARM routes them; ``x-ms-paths`` keys may carry fixed query values
(``/{share}?restype=share``) that must be present in the request.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote

SPECS = "azure-rest-api-specs/specification"

# The api-versions the pinned SDKs send (see the specs' MANIFEST.md): ARM + Container Apps.
ARM_SPEC_FILES: tuple[str, ...] = (
    "app/resource-manager/Microsoft.App/ContainerApps/stable/2026-07-01/openapi.json",
    "resources/resource-manager/Microsoft.Resources/deployments/stable/2026-06-01/deployments.json",
    "resources/resource-manager/Microsoft.Resources/resources/stable/2025-04-01/resources.json",
    "resources/resource-manager/Microsoft.Resources/subscriptions/stable/2022-12-01/subscriptions.json",
    "storage/resource-manager/Microsoft.Storage/stable/2026-09-01/openapi.json",
    "operationalinsights/resource-manager/Microsoft.OperationalInsights/OperationalInsights/stable/2025-07-01/Workspaces.json",
    "operationalinsights/resource-manager/Microsoft.OperationalInsights/OperationalInsights/stable/2025-07-01/SharedKeys.json",
)

HTTP_METHODS = ("get", "put", "post", "patch", "delete", "head", "options")


class SpecDocuments:
    """Parsed spec files by absolute path, loaded on first use; resolves ``$ref`` strings."""

    def __init__(self) -> None:
        self._docs: dict[Path, Any] = {}

    def load(self, path: Path) -> Any:
        path = path.resolve()
        if path not in self._docs:
            try:
                self._docs[path] = json.loads(path.read_text(encoding="utf-8"))
            except FileNotFoundError as exc:
                raise FileNotFoundError(
                    f"Spec file {path} is missing: the Azure reference copy under ../shared/azure-reference "
                    "is incomplete (see its MANIFEST.md)."
                ) from exc
        return self._docs[path]

    def loaded(self) -> list[Path]:
        return list(self._docs)

    def resolve(self, base: Path, ref: str) -> tuple[Path, str, Any]:
        """``(file, json-pointer, node)`` for a ``$ref`` written in ``base``."""
        file_part, _, pointer = ref.partition("#")
        target = (base.parent / file_part).resolve() if file_part else base.resolve()
        node = self.load(target)
        for raw in [p for p in pointer.split("/") if p]:
            key = unquote(raw).replace("~1", "/").replace("~0", "~")
            try:
                node = node[int(key)] if isinstance(node, list) else node[key]
            except (KeyError, IndexError, ValueError) as exc:
                raise KeyError(f"$ref {ref!r} in {base} does not resolve (no {key!r})") from exc
        return target, pointer, node

    def deref(self, base: Path, node: Any) -> tuple[Path, Any]:
        """Follow ``$ref`` chains of a non-schema object (parameter, response)."""
        while isinstance(node, dict) and "$ref" in node:
            base, _, node = self.resolve(base, node["$ref"])
        return base, node


@dataclass
class Parameter:
    name: str
    location: str  # path | query | header | body | formData
    required: bool
    spec: dict[str, Any]  # the parameter object (``schema`` for body parameters)
    file: Path  # where it was written, so its ``$ref``s resolve


@dataclass
class Operation:
    operation_id: str
    method: str
    template: str
    api_version: str
    file: Path
    definition: dict[str, Any]
    parameters: list[Parameter]
    fixed_query: dict[str, str]
    regex: re.Pattern[str]
    literal_chars: int  # more literal text = more specific template
    param_names: list[str] = field(default_factory=list)
    long_running: bool = field(default=False)

    @property
    def responses(self) -> dict[str, Any]:
        return dict(self.definition.get("responses", {}))

    def path_params(self, path: str) -> dict[str, str] | None:
        m = self.regex.match(path)
        return (
            None if m is None else {n: unquote(v) for n, v in zip(self.param_names, m.groups(), strict=True)}
        )


def _template_regex(template: str, skip_encoding: set[str]) -> tuple[re.Pattern[str], int, list[str]]:
    """Regex for a path template, its count of literal characters, and its parameter names in order."""
    regex, literal, names = "", 0, []
    for part in re.split(r"(\{[^}]+\})", template):
        if part.startswith("{") and part.endswith("}"):
            names.append(part[1:-1])
            # Parameters marked x-ms-skip-url-encoding (e.g. {scope}) span several segments.
            regex += f"({'.+' if names[-1] in skip_encoding else '[^/]+'})"
        else:
            regex += re.escape(part)
            literal += len(part)
    return re.compile(f"^{regex}/?$", re.IGNORECASE), literal, names


class SpecIndex:
    """All operations of a set of spec files."""

    def __init__(self, root: Path, files: tuple[str, ...] = ARM_SPEC_FILES) -> None:
        self.root = root
        self.docs = SpecDocuments()
        self.operations: list[Operation] = []
        for rel in files:
            self._index(root / SPECS / rel)

    def _index(self, file: Path) -> None:
        doc = self.docs.load(file)
        api_version = str(doc["info"]["version"])
        for section in ("paths", "x-ms-paths"):
            for key, item in (doc.get(section) or {}).items():
                template, _, fixed = key.partition("?")
                fixed_query = dict(
                    kv.split("=", 1) if "=" in kv else (kv, "") for kv in fixed.split("&") if kv
                )
                common = item.get("parameters", [])
                for method, op in item.items():
                    if method not in HTTP_METHODS:
                        continue
                    params = self._parameters(file, [*common, *op.get("parameters", [])])
                    skip = {
                        p.name
                        for p in params
                        if p.location == "path" and p.spec.get("x-ms-skip-url-encoding")
                    }
                    regex, literal, names = _template_regex(template, skip)
                    self.operations.append(
                        Operation(
                            operation_id=op.get("operationId", f"{method.upper()} {key}"),
                            method=method.upper(),
                            template=template,
                            api_version=api_version,
                            file=file,
                            definition=op,
                            parameters=params,
                            fixed_query=fixed_query,
                            regex=regex,
                            literal_chars=literal,
                            param_names=names,
                            long_running=bool(op.get("x-ms-long-running-operation")),
                        )
                    )

    def _parameters(self, file: Path, raw: list[Any]) -> list[Parameter]:
        by_key: dict[tuple[str, str], Parameter] = {}
        for node in raw:
            where, spec = self.docs.deref(file, node)
            param = Parameter(spec["name"], spec["in"], bool(spec.get("required")), spec, where)
            by_key[(param.location, param.name.lower())] = param  # operation level overrides path level
        return list(by_key.values())

    def _matching(self, method: str, path: str, query: dict[str, str]) -> list[Operation]:
        lowered = {k.lower(): v for k, v in query.items()}
        found = [
            op
            for op in self.operations
            if op.method == method.upper()
            and op.regex.match(path)
            and all(
                k.lower() in lowered and (not v or lowered[k.lower()] == v) for k, v in op.fixed_query.items()
            )
        ]
        return sorted(found, key=lambda op: (-len(op.fixed_query), -op.literal_chars))

    def find(self, method: str, path: str, query: dict[str, str]) -> Operation | None:
        """The most specific operation for this request at the request's api-version."""
        version = next((v for k, v in query.items() if k.lower() == "api-version"), None)
        for op in self._matching(method, path, query):
            if op.api_version == version:
                return op
        return None

    def other_versions(self, method: str, path: str, query: dict[str, str]) -> list[Operation]:
        """Operations matching method and path at any api-version (to explain a version mismatch).

        Generic by-id templates (``/{resourceId}``, ``/{scope}/...``) match every path, so they only
        explain a mismatch for a path no specific template matches... which is none: they are left out.
        """
        return [op for op in self._matching(method, path, query) if not op.template.startswith("/{")]


@lru_cache(maxsize=4)
def arm_index(reference_root: Path) -> SpecIndex:
    """Loaded once per process: the whole suite validates against the same specs."""
    return SpecIndex(reference_root, ARM_SPEC_FILES)
