"""Validate captured emulator exchanges against the official Swagger specs.

Rules, per exchange (``service == "arm"``, control routes ``/_emulator/*`` excluded):

1. Find the spec operation for (method, path, api-version). Paths match case-insensitively.
2. None found: an ARM async-operation URL from :mod:`allowlist` is checked against the RPC's contract;
   a path the spec knows at *another* api-version is a failure (wrong api-version); a route the
   emulator serves that no spec declares is a failure; a 404/405 the emulator answered because it
   has no such route is fine (Azure answers unknown routes the same way).
3. Request: required path/query/header parameters, parameter constraints, and the body against the
   body parameter's schema. Request problems count only when the emulator *accepted* the request
   (2xx): rejecting an invalid request is what Azure does; accepting it would hide client bugs.
4. Response: the status must be declared, else (4xx/5xx only) match the ``default`` error schema,
   and every 4xx/5xx body must have ARM's ``{"error": {"code", "message"}}`` shape;
   the body must match the status's schema; declared headers must have their declared type; a
   long-running operation's 201/202 must carry a polling header (``Azure-AsyncOperation`` or
   ``Location``), and a 202 whose spec declares ``Location`` must carry it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema.exceptions import ValidationError
from jsonschema.protocols import Validator

from tests.azure_emulator.fidelity import rules
from tests.azure_emulator.fidelity.allowlist import UNDECLARED_BUT_REAL, allowed_route
from tests.azure_emulator.fidelity.schema import FORMATS, ArmValidator, SchemaConverter
from tests.azure_emulator.fidelity.specs import Operation, Parameter, SpecIndex, arm_index
from tests.azure_emulator.fidelity.structure import SpecNode
from tests.azure_emulator.traffic import Exchange

POLLING_HEADERS = ("Azure-AsyncOperation", "Location")


@dataclass(frozen=True)
class Mismatch:
    operation: str  # operationId, or a description when no operation matched
    exchange: str  # "PUT /subscriptions/... → 201"
    pointer: str  # where: "request", "response", "response/properties/x", "response header Location"
    reason: str

    def __str__(self) -> str:
        return f"{self.operation}: {self.exchange}\n    at {self.pointer}: {self.reason}"


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _pointer(prefix: str, error: ValidationError) -> str:
    parts = [str(p).replace("~", "~0").replace("/", "~1") for p in error.absolute_path]
    return prefix + ("/" + "/".join(parts) if parts else "")


def _describe(error: ValidationError) -> ValidationError:
    """The most specific error: inside an anyOf (e.g. the null-or-value wrapper) the deepest
    failure of a non-null branch explains the problem."""
    while error.context:
        branches = [e for e in error.context if not (e.validator == "type" and e.validator_value == "null")]
        if not branches:
            break
        error = max(branches, key=lambda e: len(e.absolute_path))
    return error


def _cascade(error: ValidationError, all_errors: list[ValidationError]) -> bool:
    """An unevaluatedProperties error next to another error in the same object is its echo: keys
    checked by a failing subschema count as unevaluated."""
    here = list(error.absolute_path)
    return any(
        other is not error
        and other.validator != "unevaluatedProperties"
        and list(other.absolute_path)[: len(here)] == here
        for other in all_errors
    )


def _undeclared_keys(error: ValidationError) -> list[str] | None:
    """Keys of the object the spec does not declare, less those real Azure is known to send; None if none left."""
    instance = error.instance if isinstance(error.instance, dict) else {}
    declared = _evaluated_keys(error)
    keys = sorted(k for k in instance if k not in declared and k not in UNDECLARED_BUT_REAL)
    return keys or None


def _evaluated_keys(error: ValidationError) -> set[str]:
    match = re.search(r"\((.*) (?:was|were) unexpected\)", error.message)
    unexpected = set(re.findall(r"'([^']*)'", match.group(1))) if match else set()
    instance = error.instance if isinstance(error.instance, dict) else {}
    return {k for k in instance if k not in unexpected}


def _header(headers: dict[str, str], name: str) -> str | None:
    lowered = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lowered), None)


class TrafficValidator:
    def __init__(self, index: SpecIndex) -> None:
        self.index = index
        self.converter = SchemaConverter(index.docs)
        self._validators: dict[tuple[int, str, str], Validator] = {}

    # -- entry points -----------------------------------------------------------
    def validate_all(self, exchanges: list[Exchange]) -> list[Mismatch]:
        found: list[Mismatch] = []
        existence = rules.Existence()
        for exchange in exchanges:
            if exchange.service != "arm" or exchange.path.lower().startswith("/_emulator"):
                continue
            found.extend(self.validate(exchange, existed=existence.existed(exchange)))
            existence.record(exchange)
        return found

    def validate(self, ex: Exchange, *, existed: bool | None = None) -> list[Mismatch]:
        """``existed``: whether earlier traffic showed the PUT/DELETE target to exist (None: unknown)."""
        label = f"{ex.method} {ex.path}?api-version={ex.query.get('api-version', '<none>')} → {ex.status}"
        op = self.index.find(ex.method, ex.path, ex.query)
        # Generic by-id templates (/{resourceId}) match async-operation URLs too; the RPC's contract is the precise one.
        if op is None or (op.template.startswith("/{") and allowed_route(ex.method, ex.path)):
            return self._unspecified(ex, label)
        out: list[Mismatch] = []
        if 200 <= ex.status < 300:
            out += [Mismatch(op.operation_id, label, where, why) for where, why in self._request(op, ex)]
        out += [Mismatch(op.operation_id, label, where, why) for where, why in self._response(op, ex)]
        behaviour = rules.synchronous_lro(op, ex, existed) + rules.provider_metadata(op, ex)
        out += [Mismatch(op.operation_id, label, where, why) for where, why in behaviour]
        return out

    # -- no spec operation ------------------------------------------------------
    def _unspecified(self, ex: Exchange, label: str) -> list[Mismatch]:
        allowed = allowed_route(ex.method, ex.path)
        if allowed is not None:
            return [
                Mismatch(allowed.name, label, w, r)
                for w, r in self._allowed(allowed.statuses, allowed.body_schema, ex)
            ]
        version = ex.query.get("api-version")
        others = self.index.other_versions(ex.method, ex.path, ex.query)
        if others and ex.status >= 400:
            # Azure rejects a missing/unknown api-version too (400 MissingApiVersionParameter, ...).
            return [Mismatch(others[0].operation_id, label, w, r) for w, r in self._error_shape(ex)]
        if others:
            known = sorted({f"{o.operation_id} @ {o.api_version}" for o in others})
            return [
                Mismatch(
                    others[0].operation_id,
                    label,
                    "query api-version",
                    f"api-version {version!r} is not in the spec for this operation; the spec has: {', '.join(known)}",
                )
            ]
        if ex.route is None and ex.status in (404, 405):
            return []  # no such route in Azure either: ARM answers 404 (or 405) the same way
        return [
            Mismatch(
                "<no spec operation>",
                label,
                "path",
                f"the emulator serves route {ex.route!r} but no spec declares {ex.method} {ex.path}; "
                "fix the route or add it, with a reason, to tests/azure_emulator/fidelity/allowlist.py",
            )
        ]

    def _allowed(
        self, statuses: frozenset[int], schema: dict[str, Any] | None, ex: Exchange
    ) -> list[tuple[str, str]]:
        if ex.status >= 400:
            return self._error_shape(ex)
        if ex.status not in statuses:
            return [("response status", f"{ex.status} is not an allowed status here ({sorted(statuses)})")]
        problems: list[tuple[str, str]] = []
        if schema is not None:
            problems += self._check_body(
                ArmValidator(schema, format_checker=FORMATS), ex.response_body, "response"
            )
        return problems

    def _error_shape(self, ex: Exchange) -> list[tuple[str, str]]:
        """ARM's error contract (RPC "Error response content"), which the SDKs' ARMErrorFormat reads;
        some specs (e.g. Microsoft.App's DefaultErrorResponse) leave ``error`` optional."""
        schema = {
            "type": "object",
            "required": ["error"],
            "properties": {"error": {"type": "object", "required": ["code", "message"]}},
        }
        return self._check_body(ArmValidator(schema), ex.response_body, "response")

    # -- request ----------------------------------------------------------------
    def _request(self, op: Operation, ex: Exchange) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        path_values = op.path_params(ex.path) or {}
        query = {k.lower(): v for k, v in ex.query.items()}
        for param in op.parameters:
            if param.location == "body":
                problems += self._request_body(op, param, ex)
                continue
            if param.location == "path":
                value: str | None = path_values.get(param.name)
            elif param.location == "query":
                value = query.get(param.name.lower())
            elif param.location == "header":
                value = _header(ex.request_headers, param.name)
            else:
                continue
            where = f"request {param.location} parameter {param.name!r}"
            if value is None:
                if param.required:
                    problems.append((where, "required by the spec but missing"))
                continue
            problems += [(where, why) for why in self._scalar(param, value)]
        return problems

    def _scalar(self, param: Parameter, raw: str) -> list[str]:
        # A non-body parameter is its own (scalar) schema; ``required`` there is a boolean.
        spec = {k: v for k, v in param.spec.items() if k not in ("required", "name", "in")}
        schema = self.converter.convert(spec, param.file, "request")
        value: Any = raw
        kind = param.spec.get("type")
        try:
            if kind == "integer":
                value = int(raw)
            elif kind == "number":
                value = float(raw)
            elif kind == "boolean":
                value = {"true": True, "false": False}[raw.lower()]
        except (ValueError, KeyError):
            return [f"{raw!r} is not a valid {kind}"]
        if kind == "array":  # csv-encoded in a query/header
            value = raw.split(",")
        errors = sorted(ArmValidator(schema, format_checker=FORMATS).iter_errors(value), key=str)
        return [_short(_describe(e).message) for e in errors]

    def _request_body(self, op: Operation, param: Parameter, ex: Exchange) -> list[tuple[str, str]]:
        if ex.request_length == 0:
            return [("request body", "required by the spec but empty")] if param.required else []
        validator = self._validator(op, "request", "body", param.spec.get("schema", {}), param.file)
        return self._check_body(validator, ex.request_body, "request")

    # -- response ---------------------------------------------------------------
    def _response(self, op: Operation, ex: Exchange) -> list[tuple[str, str]]:
        responses = op.responses
        status = str(ex.status)
        if status in responses:
            key = status
        elif ex.status >= 400 and "default" in responses:
            key = "default"
        else:
            declared = ", ".join(sorted(responses))
            return [("response status", f"{ex.status} is not declared by the spec (declared: {declared})")]
        response_file, response = self.index.docs.deref(op.file, responses[key])
        problems = self._response_headers(op, ex, response)
        if op.method == "HEAD":
            return problems  # HEAD responses carry no body, whatever the schema says
        if ex.status >= 400:
            problems += self._error_shape(ex)
        schema = response.get("schema")
        if schema is not None:
            validator = self._validator(op, "response", key, schema, op.file)
            problems += self._check_body(validator, ex.response_body, "response")
            node = SpecNode(self.index.docs, response_file, schema)
            problems += rules.resource_read_only(op, ex, node)
        return problems

    def _response_headers(
        self, op: Operation, ex: Exchange, response: dict[str, Any]
    ) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        declared = {name.lower(): (name, spec) for name, spec in (response.get("headers") or {}).items()}
        for name, spec in declared.values():
            value = _header(ex.response_headers, name)
            if value is None:
                continue
            param = Parameter(name, "header", False, spec, op.file)
            problems += [(f"response header {name}", why) for why in self._scalar(param, value)]
        if op.long_running and ex.status in (201, 202):
            problems += self._polling(ex, declared)
        return problems

    def _polling(self, ex: Exchange, declared: dict[str, Any]) -> list[tuple[str, str]]:
        """ARM RPC: a 202 says where to poll; a 201 does too when its spec declares a polling header,
        otherwise the SDK polls the resource itself until ``properties.provisioningState`` is terminal."""
        if any(_header(ex.response_headers, h) for h in POLLING_HEADERS):
            return []
        if ex.status == 202 or any(h.lower() in declared for h in POLLING_HEADERS):
            return [
                (
                    "response headers",
                    f"a long-running operation's {ex.status} must carry Azure-AsyncOperation or Location "
                    "(the SDK poller needs one)",
                )
            ]
        try:
            state = (json.loads(ex.response_body or b"{}").get("properties") or {}).get("provisioningState")
        except (ValueError, AttributeError):
            state = None
        if state is None:
            return [
                (
                    "response headers",
                    "a long-running 201 without Azure-AsyncOperation/Location needs properties.provisioningState "
                    "in its body (the SDK polls the resource until it is terminal)",
                )
            ]
        return []

    # -- bodies -------------------------------------------------------------------
    def _validator(self, op: Operation, part: str, key: str, schema: dict[str, Any], file: Path) -> Validator:
        cache_key = (id(op), part, key)
        if cache_key not in self._validators:
            self._validators[cache_key] = self.converter.validator(schema, file, part)
        return self._validators[cache_key]

    def _check_body(self, validator: Validator, body: bytes | None, prefix: str) -> list[tuple[str, str]]:
        if body is None:
            return [
                (prefix + " body", "not JSON (no JSON Content-Type), but the spec declares a JSON schema")
            ]
        try:
            instance = json.loads(body) if body else None
        except ValueError as exc:
            return [(prefix + " body", f"not valid JSON: {exc}")]
        if instance is None and body == b"":
            return [(prefix + " body", "empty, but the spec declares a schema for it")]
        leaves = [_describe(e) for e in validator.iter_errors(instance)]
        problems = []
        for leaf in sorted(leaves, key=lambda e: [str(p) for p in e.absolute_path]):
            if leaf.validator == "unevaluatedProperties":
                if _cascade(leaf, leaves):
                    continue
                unexpected = _undeclared_keys(leaf)
                if unexpected is not None:
                    problems.append(
                        (_pointer(prefix, leaf), f"undeclared by the spec: {', '.join(unexpected)}")
                    )
                continue
            problems.append((_pointer(prefix, leaf), _short(leaf.message)))
        return problems


_VALIDATORS: dict[Path, TrafficValidator] = {}


def arm_validator(reference_root: Path) -> TrafficValidator:
    """One per process: specs are parsed and schemas converted once for the whole suite."""
    if reference_root not in _VALIDATORS:
        _VALIDATORS[reference_root] = TrafficValidator(arm_index(reference_root))
    return _VALIDATORS[reference_root]


def report(mismatches: list[Mismatch]) -> str:
    lines = [f"{len(mismatches)} exchange(s) differ from the official Azure REST specs:"]
    lines += [str(m) for m in mismatches]
    return "\n".join(lines)
