"""Swagger 2.0 schema objects → JSON Schema (2020-12), the way Azure's SDKs and oav read them.

Rules (each mirrors how AutoRest-generated SDKs deserialize):
- ``$ref`` (also across files) becomes a ``#/definitions/dN`` reference into one shared map.
- ``x-nullable: true`` allows ``null``; an optional property may be ``null`` unless ``x-nullable:
  false`` (Azure really sends them, see the recordings); a required one may not.
- ``x-ms-enum.modelAsString: true`` is an extensible enum: any string is accepted; a fixed enum
  is compared case-insensitively, as the SDKs' deserializers do.
- ``readOnly`` never restricts responses; in requests a required read-only property is not required.
- ``discriminator`` dispatches on the discriminator value to the sub-type that declares it with
  ``x-ms-discriminator-value`` (or its definition name); a sub-type's ``allOf`` parent is the plain base.
- ``format`` date-time/date/uuid/int32/int64/duration are checked (see :data:`FORMATS`).
- In responses an object that declares its properties is closed (``unevaluatedProperties: false``,
  which sees through ``allOf`` and discriminator dispatch) unless it declares
  ``additionalProperties``: a key the spec does not know is one the emulator invented (oav's
  OBJECT_ADDITIONAL_PROPERTIES). Requests stay open: rejecting them is the emulator's job.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker, validators
from jsonschema.exceptions import ValidationError
from jsonschema.protocols import Validator

from tests.azure_emulator.fidelity.specs import SpecDocuments

# Keywords copied unchanged (same meaning in Swagger 2.0 and JSON Schema Draft 7).
_COPIED = (
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "uniqueItems",
    "multipleOf",
)

FORMATS = FormatChecker(formats=())

# ISO 8601 as Azure emits it (.NET "o" format: up to 7 fractional digits); the SDKs parse these.
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_DURATION = re.compile(
    r"^(-?P(?=\d|T\d)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?|\d{2}:\d{2}:\d{2}(\.\d+)?)$"
)


def _is_date_time(value: object) -> bool:
    return not isinstance(value, str) or bool(_DATE_TIME.match(value))


def _is_date(value: object) -> bool:
    return not isinstance(value, str) or bool(_DATE.match(value))


def _is_uuid(value: object) -> bool:
    return not isinstance(value, str) or bool(_UUID.match(value))


def _is_duration(value: object) -> bool:
    return not isinstance(value, str) or bool(_DURATION.match(value))


def _is_int32(value: object) -> bool:
    return not isinstance(value, int) or -(2**31) <= value < 2**31


def _is_int64(value: object) -> bool:
    return not isinstance(value, int) or -(2**63) <= value < 2**63


for _name, _check in {
    "date-time": _is_date_time,
    "date": _is_date,
    "uuid": _is_uuid,
    "duration": _is_duration,
    "int32": _is_int32,
    "int64": _is_int64,
}.items():
    FORMATS.checks(_name)(_check)


def _enum_ignoring_case(
    validator: Any, values: list[Any], instance: Any, schema: Any
) -> Iterator[ValidationError]:
    """A fixed enum, compared as the SDKs deserialize it: case-insensitively (Azure sends e.g. "FULL")."""
    if isinstance(instance, str) and instance.lower() in {str(v).lower() for v in values}:
        return
    if instance not in values:
        yield ValidationError(
            f"{instance!r} is not one of {values} (compared case-insensitively, as the SDKs do)"
        )


# Draft 7 plus the one Azure-specific keyword above.
ArmValidator: type[Validator] = validators.extend(
    Draft202012Validator, {"enumIgnoringCase": _enum_ignoring_case}
)


def _regex_ok(pattern: str) -> bool:
    try:
        re.compile(pattern)
    except re.error:
        return False  # an ECMA-only construct: skip the check rather than misjudge
    return True


class SchemaConverter:
    """Converts schemas on demand; every referenced definition is converted once per mode."""

    def __init__(self, docs: SpecDocuments) -> None:
        self.docs = docs
        self.definitions: dict[str, Any] = {}
        self._ids: dict[tuple[Path, str, str, bool, bool], str] = {}
        self._subtypes: dict[tuple[Path, str], list[tuple[str, Path, str]]] | None = None

    # -- public ---------------------------------------------------------------
    def validator(self, schema: dict[str, Any], file: Path, mode: str) -> Validator:
        """A validator for a Swagger schema written in ``file``; ``mode`` is request|response."""
        root = self.convert(schema, file, mode)
        # The definitions map is shared and grows lazily; lookups happen at validation time.
        return ArmValidator({**root, "definitions": self.definitions}, format_checker=FORMATS)

    def convert(self, node: Any, file: Path, mode: str, *, plain: bool = False) -> dict[str, Any]:
        if not isinstance(node, dict):
            return {}
        if "$ref" in node:
            ref = self._ref(file, node["$ref"], mode, plain=plain)
            return {"anyOf": [{"type": "null"}, ref]} if node.get("x-nullable") is True else ref
        out: dict[str, Any] = {}
        kind = node.get("type")
        if kind and kind != "file":
            out["type"] = kind
        if "format" in node:
            out["format"] = node["format"]
        if "enum" in node and not (node.get("x-ms-enum") or {}).get("modelAsString"):
            out["enumIgnoringCase"] = list(node["enum"])
        for key in _COPIED:
            if key in node:
                out[key] = node[key]
        for bound, exclusive in (("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum")):
            if (
                node.get(exclusive) is True and bound in node
            ):  # Swagger's boolean form → JSON Schema's numeric one
                out[exclusive] = out.pop(bound)
        if "pattern" in node and _regex_ok(node["pattern"]):
            out["pattern"] = node["pattern"]
        required = list(node.get("required", []))
        if "properties" in node:
            out["properties"] = {
                name: self._property(sub, file, mode, optional=name not in required)
                for name, sub in node["properties"].items()
            }
        if mode == "request":
            props = node.get("properties", {})
            required = [
                r for r in required if not (isinstance(props.get(r), dict) and props[r].get("readOnly"))
            ]
        if required:
            out["required"] = required
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):
            out["additionalProperties"] = self.convert(extra, file, mode)
        elif isinstance(extra, bool):
            out["additionalProperties"] = extra
        if "items" in node:
            out["items"] = self.convert(node["items"], file, mode)
        if "allOf" in node:
            # A parent named in allOf is the plain base: the child is already the dispatched type.
            out["allOf"] = [self.convert(sub, file, mode, plain=True) for sub in node["allOf"]]
        if (
            mode == "response"
            and not plain
            and "additionalProperties" not in node
            and ("properties" in node or "allOf" in node)
        ):
            out["unevaluatedProperties"] = False  # see the module docstring: undeclared keys are invented
        if node.get("x-nullable") is True:
            return {"anyOf": [{"type": "null"}, out]}
        return out

    def _property(self, node: Any, file: Path, mode: str, *, optional: bool) -> dict[str, Any]:
        converted = self.convert(node, file, mode)
        # Azure serializes absent optional values as null (real responses are full of them) and the
        # SDKs read null as "not set"; as in oav, only an explicit x-nullable: false forbids it.
        if (
            optional
            and isinstance(node, dict)
            and node.get("x-nullable") is not False
            and "anyOf" not in converted
        ):
            return {"anyOf": [{"type": "null"}, converted]}
        return converted

    # -- references -----------------------------------------------------------
    def _ref(self, base: Path, ref: str, mode: str, *, plain: bool) -> dict[str, Any]:
        file, pointer, target = self.docs.resolve(base, ref)
        polymorphic = isinstance(target, dict) and "discriminator" in target and not plain
        key = (file, pointer, mode, polymorphic, plain)
        if key not in self._ids:
            ident = f"d{len(self._ids)}"
            self._ids[key] = ident
            self.definitions[ident] = {}  # placeholder: recursion refers to it before it is filled
            # A polymorphic base is open itself; its dispatching wrapper is closed (it sees the sub-type's keys).
            converted = self.convert(target, file, mode, plain=plain or polymorphic)
            if polymorphic:
                converted = self._dispatch(converted, target, file, pointer, mode)
            self.definitions[ident] = converted
        return {"$ref": f"#/definitions/{self._ids[key]}"}

    def _dispatch(
        self, base: dict[str, Any], target: dict[str, Any], file: Path, pointer: str, mode: str
    ) -> dict[str, Any]:
        prop = target["discriminator"]
        branches = []
        for value, sub_file, sub_pointer in self._subtypes_of(file, pointer):
            sub_ref = self._ref(sub_file, f"#{sub_pointer}", mode, plain=True)
            branches.append(
                {"if": {"properties": {prop: {"const": value}}, "required": [prop]}, "then": sub_ref}
            )
        wrapper: dict[str, Any] = {"allOf": [base, *branches]}
        if mode == "response" and "additionalProperties" not in target:
            wrapper["unevaluatedProperties"] = False
        return wrapper

    def _subtypes_of(self, file: Path, pointer: str) -> list[tuple[str, Path, str]]:
        """Definitions (in any loaded file) whose allOf names this base: (discriminator value, file, pointer)."""
        if self._subtypes is None:
            self._subtypes = {}
            for doc_file in self.docs.loaded():
                doc = self.docs.load(doc_file)
                for name, definition in (doc.get("definitions") or {}).items():
                    for parent in definition.get("allOf", []) if isinstance(definition, dict) else []:
                        if not isinstance(parent, dict) or "$ref" not in parent:
                            continue
                        pfile, ppointer, _ = self.docs.resolve(doc_file, parent["$ref"])
                        value = definition.get("x-ms-discriminator-value", name)
                        self._subtypes.setdefault((pfile, ppointer), []).append(
                            (value, doc_file, f"/definitions/{name}")
                        )
        return self._subtypes.get((file, pointer), [])
