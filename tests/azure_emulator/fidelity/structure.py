"""Compare an emulator response with a recorded Azure response by structure, not values.

- Status codes must be equal, and so must an error's ``error.code`` (a value callers branch on).
- Headers the SDKs read: a recorded one must be present; a polling header (Azure-AsyncOperation,
  Location) the recording lacks must be absent too, since it changes how the SDK polls; the
  Content-Type media types must agree and Retry-After must be an integer of seconds in both.
- Bodies: same JSON type at every JSON pointer (int and float are both "number"). A key of the
  recording missing from the emulator is a difference, also one Azure sent as null (Azure's answers
  carry their unset fields as null; a key only some recorded array items have is optional). A key the
  recording lacks is a difference unless the spec declares it there.
  Where the spec says an object is a map (``additionalProperties`` without ``properties``: tags,
  deployment outputs and parameters), its keys are data, so only value types are compared.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.azure_emulator.fidelity.specs import SpecDocuments

SDK_HEADERS = ("Azure-AsyncOperation", "Location", "Retry-After", "x-ms-request-id", "Content-Type")
POLLING_HEADERS = ("Azure-AsyncOperation", "Location")


@dataclass(frozen=True)
class Difference:
    where: str  # "status", "header Location", "body/properties/outputs"
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _header(headers: dict[str, str], name: str) -> str | None:
    return next((v for k, v in headers.items() if k.lower() == name.lower()), None)


def compare_headers(recorded: dict[str, str], actual: dict[str, str]) -> list[Difference]:
    out: list[Difference] = []
    for name in SDK_HEADERS:
        rec, act = _header(recorded, name), _header(actual, name)
        if rec is not None and act is None:
            out.append(Difference(f"header {name}", "present in the recording, missing from the emulator"))
        elif rec is None and act is not None and name in POLLING_HEADERS:
            out.append(
                Difference(
                    f"header {name}", "sent by the emulator but not by Azure (it changes how the SDK polls)"
                )
            )
        elif rec is not None and act is not None:
            if name == "Content-Type" and _media(rec) != _media(act):
                out.append(
                    Difference(f"header {name}", f"media type {_media(act)!r}, Azure sends {_media(rec)!r}")
                )
            if name == "Retry-After" and not act.strip().isdigit():
                out.append(
                    Difference(f"header {name}", f"{act!r} is not an integer of seconds (Azure: {rec!r})")
                )
    return out


def _media(content_type: str) -> str:
    return content_type.split(";")[0].strip().lower()


class SpecNode:
    """A position in a Swagger schema, to ask which keys it declares (following $ref and allOf)."""

    def __init__(self, docs: SpecDocuments, file: Path, node: Any) -> None:
        self.docs, self.file = docs, file
        while isinstance(node, dict) and "$ref" in node:
            self.file, _, node = docs.resolve(self.file, node["$ref"])
        self.node = node if isinstance(node, dict) else {}

    def _merged(self) -> tuple[dict[str, tuple[Path, Any]], Any]:
        props: dict[str, tuple[Path, Any]] = {}
        extra = self.node.get("additionalProperties")
        for parent in self.node.get("allOf", []):
            p_props, p_extra = SpecNode(self.docs, self.file, parent)._merged()
            props.update(p_props)
            extra = extra if extra is not None else p_extra
        props.update({k: (self.file, v) for k, v in self.node.get("properties", {}).items()})
        return props, extra

    def declares(self, key: str) -> bool:
        return key in self._merged()[0]

    def is_map(self) -> bool:
        props, extra = self._merged()
        return not props and (extra is True or isinstance(extra, dict))

    def child(self, key: str) -> SpecNode | None:
        props, extra = self._merged()
        if key in props:
            file, node = props[key]
            return SpecNode(self.docs, file, node)
        if isinstance(extra, dict):
            return SpecNode(self.docs, self.file, extra)
        return None

    def items(self) -> SpecNode | None:
        return SpecNode(self.docs, self.file, self.node["items"]) if "items" in self.node else None


def _merge_items(items: list[Any]) -> tuple[Any, frozenset[str]]:
    """One example of the recorded items' shape, and the object keys not every item has (optional)."""
    objects = [item for item in items if isinstance(item, dict)]
    if len(objects) != len(items):
        return items[0], frozenset()
    merged: dict[str, Any] = {}
    for obj in objects:
        for key, value in obj.items():
            if merged.get(key) is None:
                merged[key] = value
    optional = frozenset(k for k in merged if any(k not in obj for obj in objects))
    return merged, optional


def compare_bodies(
    recorded: Any,
    actual: Any,
    spec: SpecNode | None,
    where: str = "body",
    optional: frozenset[str] = frozenset(),
) -> list[Difference]:
    rec_t, act_t = json_type(recorded), json_type(actual)
    if rec_t == "null":
        return []  # Azure sent no value here: nothing to compare against
    if rec_t != act_t:
        return [Difference(where, f"emulator sends {act_t}, Azure sends {rec_t}")]
    if rec_t == "array":
        if not recorded:
            return []
        example, item_optional = _merge_items(recorded)
        item_spec = spec.items() if spec else None
        out: list[Difference] = []
        for i, item in enumerate(actual):
            out += compare_bodies(example, item, item_spec, f"{where}/{i}", item_optional)
        return out
    if rec_t != "object":
        return []
    if spec is not None and spec.is_map():
        shared = [k for k in recorded if k in actual]
        return [
            d for k in shared for d in compare_bodies(recorded[k], actual[k], spec.child(k), f"{where}/{k}")
        ]
    out = []
    for key, value in recorded.items():
        if key not in actual:
            if key not in optional:
                what = "sent as null by Azure" if value is None else "in the recording"
                out.append(Difference(f"{where}/{key}", f"{what}, missing from the emulator"))
            continue
        out += compare_bodies(value, actual[key], spec.child(key) if spec else None, f"{where}/{key}")
    for key in actual:
        if key not in recorded and not (spec is not None and spec.declares(key)):
            out.append(
                Difference(f"{where}/{key}", "sent by the emulator, but neither Azure nor the spec has it")
            )
    return out


def compare_response(
    recorded_status: int,
    recorded_headers: dict[str, str],
    recorded_body: Any,
    status: int,
    headers: dict[str, str],
    body: Any,
    spec: SpecNode | None,
) -> list[Difference]:
    out: list[Difference] = []
    if recorded_status != status:
        out.append(Difference("status", f"emulator answers {status}, Azure answered {recorded_status}"))
    out += compare_headers(recorded_headers, headers)
    out += compare_bodies(recorded_body, body, spec)
    out += compare_error_codes(recorded_body, body)
    return out


def _error_code(body: Any) -> Any:
    error = body.get("error") if isinstance(body, dict) else None
    return error.get("code") if isinstance(error, dict) else None


def compare_error_codes(recorded: Any, actual: Any) -> list[Difference]:
    """An error's code is a value SDKs and callers branch on (``ContainerAppNotFound``,
    ``ManagedEnvironmentStorageNotFound``): unlike other values, it must be Azure's."""
    rec, act = _error_code(recorded), _error_code(actual)
    if rec is None or rec == act:
        return []
    return [Difference("body/error/code", f"emulator answers {act!r}, Azure answered {rec!r}")]
