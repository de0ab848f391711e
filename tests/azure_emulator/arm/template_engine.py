"""Evaluates ARM templates for the emulator's deployments endpoint: plan, then evaluate per resource.

``plan_deployment`` validates parameters, evaluates every resource's type/name/condition/dependsOn
and orders resources by their dependencies; the deployment then asks the plan for each resource's
PUT body (``resource_body``) and finally for the outputs, passing a ``ResourceResolver`` through
which ``reference()`` reads and ``list*()`` invokes the emulated resources.  Both classic templates
(resource arrays, nested ``resources``) and languageVersion 2.0 (symbolic names, ``existing``) work.

Errors are ``TemplateError`` with ARM's codes and message style.  One known difference: ARM quotes
the line and column of the offending JSON; a template given as parsed JSON has none, so messages
name the parameter, resource or output instead.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Protocol

from tests.azure_emulator.arm.template_expr import (
    Call,
    ExpressionError,
    Index,
    Literal,
    Member,
    Node,
    is_expression,
    parse_template_string,
    unescape_literal,
)
from tests.azure_emulator.arm.template_functions import PURE, arity_error, bad_args, type_name

ARM_HELP = "Please see https://aka.ms/arm-template-expressions for usage details."
BODY_KEYS = (
    "location",
    "tags",
    "sku",
    "kind",
    "identity",
    "plan",
    "zones",
    "extendedLocation",
    "managedBy",
    "properties",
)


class TemplateError(Exception):
    """A template or deployment error in ARM's error shape."""

    def __init__(
        self,
        code: str,
        message: str,
        target: str | None = None,
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.target = target
        self.details = details or []

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.target is not None:
            out["target"] = self.target
        if self.details:
            out["details"] = self.details
        return out


def _invalid(message: str) -> TemplateError:
    return TemplateError("InvalidTemplate", f"Deployment template validation failed: '{message}'.")


@dataclass
class DeploymentScope:
    subscription_id: str
    resource_group: str
    resource_group_location: str
    deployment_name: str
    tenant_id: str


class ResourceResolver(Protocol):
    def get(self, resource_id: str) -> dict[str, Any] | None:
        """The resource as a GET returns it, or None if it does not exist."""

    def invoke(
        self, resource_id: str, action: str, api_version: str, body: dict[str, Any] | None
    ) -> dict[str, Any]:
        """POST ``{resource_id}/{action}`` (listKeys, sharedKeys, list*) and return the response."""


@dataclass
class PlannedResource:
    symbolic_name: str | None
    id: str
    type: str
    name: str
    api_version: str
    existing: bool
    depends_on: list[str] = field(default_factory=list)
    condition: bool = True


@dataclass
class _ResourceDef:
    symbolic_name: str | None
    raw: dict[str, Any]
    parent: _ResourceDef | None = None  # classic nested "resources"


# --- evaluation ---------------------------------------------------------------------------------


class _Evaluator:
    """Evaluates template values; holds parameters, variables and the deployment scope."""

    def __init__(self, template: dict[str, Any], scope: DeploymentScope) -> None:
        self.template = template
        self.scope = scope
        self.symbolic = str(template.get("languageVersion", "")).startswith("2")
        self.param_defs: dict[str, dict[str, Any]] = template.get("parameters") or {}
        self.var_defs: dict[str, Any] = template.get("variables") or {}
        self.params: dict[str, Any] = {}
        self.vars: dict[str, Any] = {}
        self._var_stack: list[str] = []
        self.resolver: ResourceResolver | None = None
        self.runtime_calls = 0
        self.plan: TemplatePlan | None = None
        self.bind_parameter: Callable[[str], None] | None = None

    # values ------------------------------------------------------------------------------------

    def value(self, raw: Any) -> Any:
        if isinstance(raw, str):
            if is_expression(raw):
                return self.node(parse_template_string(raw))
            return unescape_literal(raw)
        if isinstance(raw, dict):
            return {k: self.value(v) for k, v in raw.items()}
        if isinstance(raw, list):
            return [self.value(v) for v in raw]
        return raw

    def node(self, node: Node) -> Any:
        if isinstance(node, Literal):
            return node.value
        if isinstance(node, Member):
            return _property(self.node(node.target), node.name)
        if isinstance(node, Index):
            return _index(self.node(node.target), self.node(node.index))
        return self.call(node)

    def call(self, node: Call) -> Any:
        name = node.name.lower()
        if name == "if":
            if len(node.args) != 3:
                raise arity_error("if", 3, 3)
            cond = self.node(node.args[0])
            if not isinstance(cond, bool):
                raise bad_args("if", "a boolean condition", cond)
            return self.node(node.args[1] if cond else node.args[2])
        args = [self.node(a) for a in node.args]
        special = self._special.get(name)
        if special is not None:
            lo, hi, fn = special
            _check_arity(node.name, args, lo, hi)
            return fn(self, node.name, args)
        if name.startswith("list") and len(name) > 4:
            _check_arity(node.name, args, 2, 3)
            return self._list_action(node.name, args)
        pure = PURE.get(name)
        if pure is None:
            raise ExpressionError(f"The template function '{node.name}' is not valid. {ARM_HELP}")
        lo, hi, impl = pure
        _check_arity(node.name, args, lo, hi)
        return impl(args)

    # deployment functions ---------------------------------------------------------------------------

    def parameter(self, name: str) -> Any:
        key = _find_key(self.param_defs, name)
        if key is None:
            raise ExpressionError(
                f"The template parameter '{name}' is not found. Please see https://aka.ms/arm-syntax-parameters for usage details."
            )
        if key not in self.params and self.bind_parameter is not None:
            self.bind_parameter(key)
        return self.params[key]

    def variable(self, name: str) -> Any:
        key = _find_key(self.var_defs, name)
        if key is None:
            raise ExpressionError(
                f"The template variable '{name}' is not found. Please see https://aka.ms/arm-syntax-variables for usage details."
            )
        if key in self.vars:
            return self.vars[key]
        if key in self._var_stack:
            cycle = " -> ".join([*self._var_stack[self._var_stack.index(key) :], key])
            raise ExpressionError(f"The template variable '{key}' has a circular reference: {cycle}.")
        self._var_stack.append(key)
        before = self.runtime_calls
        try:
            value = self.value(self.var_defs[key])
        finally:
            self._var_stack.pop()
        if self.runtime_calls == before:  # values read from live resources are not cached
            self.vars[key] = value
        return value

    def resource_group(self) -> dict[str, Any]:
        s = self.scope
        return {
            "id": f"/subscriptions/{s.subscription_id}/resourceGroups/{s.resource_group}",
            "name": s.resource_group,
            "type": "Microsoft.Resources/resourceGroups",
            "location": s.resource_group_location,
            "properties": {"provisioningState": "Succeeded"},
        }

    def subscription(self) -> dict[str, Any]:
        s = self.scope
        return {
            "id": f"/subscriptions/{s.subscription_id}",
            "subscriptionId": s.subscription_id,
            "tenantId": s.tenant_id,
        }

    def deployment(self) -> dict[str, Any]:
        return {
            "name": self.scope.deployment_name,
            "properties": {
                "template": {"contentVersion": self.template.get("contentVersion", "1.0.0.0")},
                "parameters": {k: {"value": v} for k, v in self.params.items()},
                "mode": "Incremental",
                "provisioningState": "Accepted",
            },
        }

    def resource_id(self, fn: str, args: list[Any]) -> str:
        strs = [a for a in args if isinstance(a, str)]
        if len(strs) != len(args):
            raise bad_args(fn, "strings", next(a for a in args if not isinstance(a, str)))
        type_at = next((i for i, a in enumerate(args) if "/" in a and "." in a.split("/", 1)[0]), None)
        if type_at is None or type_at > 2:
            raise ExpressionError(
                f"The template language function '{fn}' expects a fully qualified resource type "
                f"'{{namespace}}/{{type}}' among its parameters. {ARM_HELP}"
            )
        sub, rg = self.scope.subscription_id, self.scope.resource_group
        if type_at == 2:
            sub, rg = args[0], args[1]
        elif type_at == 1:
            rg = args[0]
        return build_resource_id(sub, rg, args[type_at], args[type_at + 1 :], fn)

    def subscription_resource_id(self, fn: str, args: list[Any]) -> str:
        if not all(isinstance(a, str) for a in args):
            raise bad_args(fn, "strings", next(a for a in args if not isinstance(a, str)))
        if "/" in args[0]:
            return build_resource_id(self.scope.subscription_id, None, args[0], args[1:], fn)
        return build_resource_id(args[0], None, args[1], args[2:], fn)

    def _target(self, fn: str, ref: Any) -> tuple[str, PlannedResource | None]:
        """A reference()/list*() target: a resource id, a symbolic name, or a template resource name."""
        if not isinstance(ref, str) or not ref:
            raise bad_args(fn, "a resource id or resource name string", ref)
        plan = self.plan
        if ref.startswith("/"):
            planned = plan.by_id(ref) if plan else None
            return ref, planned
        if plan is not None:
            for res in plan.resources:
                if res.symbolic_name == ref:
                    return res.id, res
            matches = [r for r in plan.resources if r.name.lower() == ref.lower()]
            if len(matches) == 1:
                return matches[0].id, matches[0]
        raise ExpressionError(
            f"The template function '{fn}' is not expected here: the resource '{ref}' is not defined in the "
            f"template and is not a resource id. {ARM_HELP}"
        )

    def _need_resolver(self, fn: str) -> ResourceResolver:
        if self.resolver is None:
            raise ExpressionError(
                f"The template function '{fn}' is not expected at this location. {ARM_HELP}"
            )
        if self._var_stack and not self.symbolic:
            raise ExpressionError(
                f"The template function '{fn}' is not expected at this location: variables of a template "
                f"without languageVersion 2.0 cannot read resources. {ARM_HELP}"
            )
        self.runtime_calls += 1
        return self.resolver

    def reference(self, fn: str, args: list[Any]) -> Any:
        resolver = self._need_resolver(fn)
        rid, planned = self._target(fn, args[0])
        api_version = args[1] if len(args) > 1 else (planned.api_version if planned else None)
        full = len(args) > 2 and isinstance(args[2], str) and args[2].lower() == "full"
        if len(args) > 2 and not full:
            raise ExpressionError(
                f"The template function 'reference' expects 'Full' as its third parameter. {ARM_HELP}"
            )
        body = resolver.get(rid)
        if body is None:
            raise _not_found(rid, self.scope)
        if full:
            return {**body, "apiVersion": api_version}
        return body.get("properties", {})

    def _list_action(self, fn: str, args: list[Any]) -> Any:
        resolver = self._need_resolver(fn)
        rid, _ = self._target(fn, args[0])
        api_version = args[1]
        if not isinstance(api_version, str):
            raise bad_args(fn, "an api-version string as its second parameter", api_version)
        body = args[2] if len(args) > 2 else None
        if body is not None and not isinstance(body, dict):
            raise bad_args(fn, "an object as its third parameter", body)
        return resolver.invoke(rid, fn, api_version, body)

    _special: ClassVar[dict[str, tuple[int, int | None, Callable[[_Evaluator, str, list[Any]], Any]]]] = {
        "parameters": (1, 1, lambda e, fn, a: e.parameter(_name_arg(fn, a[0]))),
        "variables": (1, 1, lambda e, fn, a: e.variable(_name_arg(fn, a[0]))),
        "resourcegroup": (0, 0, lambda e, fn, a: e.resource_group()),
        "subscription": (0, 0, lambda e, fn, a: e.subscription()),
        "tenant": (0, 0, lambda e, fn, a: {"tenantId": e.scope.tenant_id}),
        "deployment": (0, 0, lambda e, fn, a: e.deployment()),
        "environment": (
            0,
            0,
            lambda e, fn, a: {"name": "AzureCloud", "resourceManager": "https://management.azure.com/"},
        ),
        "resourceid": (2, None, lambda e, fn, a: e.resource_id(fn, a)),
        "subscriptionresourceid": (2, None, lambda e, fn, a: e.subscription_resource_id(fn, a)),
        "reference": (1, 3, lambda e, fn, a: e.reference(fn, a)),
        "newguid": (0, 0, lambda e, fn, a: str(uuid.uuid4())),
        "utcnow": (0, 1, lambda e, fn, a: datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")),
    }


def _check_arity(name: str, args: list[Any], lo: int, hi: int | None) -> None:
    if len(args) < lo or (hi is not None and len(args) > hi):
        raise arity_error(name, lo, hi)


def _name_arg(fn: str, value: Any) -> str:
    if not isinstance(value, str):
        raise bad_args(fn, "a string", value)
    return value


def _find_key(mapping: dict[str, Any], name: str) -> str | None:
    if name in mapping:
        return name
    lowered = name.lower()
    return next((k for k in mapping if k.lower() == lowered), None)


def _property(target: Any, name: str) -> Any:
    if not isinstance(target, dict):
        raise ExpressionError(
            f"The language expression property '{name}' can't be evaluated, the target is of type "
            f"'{type_name(target)}'. {ARM_HELP}"
        )
    key = _find_key(target, name)
    if key is None:
        available = ", ".join(target)
        raise ExpressionError(
            f"The language expression property '{name}' doesn't exist, available properties are '{available}'."
        )
    return target[key]


def _index(target: Any, index: Any) -> Any:
    if isinstance(target, list):
        if isinstance(index, bool) or not isinstance(index, int):
            raise ExpressionError(
                f"The language expression array index must be an integer, not '{type_name(index)}'. {ARM_HELP}"
            )
        if not 0 <= index < len(target):
            raise ExpressionError(f"The language expression property array index '{index}' is out of bounds.")
        return target[index]
    if isinstance(target, dict) and isinstance(index, str):
        return _property(target, index)
    raise ExpressionError(
        f"The language expression cannot index a value of type '{type_name(target)}' with "
        f"'{type_name(index)}'. {ARM_HELP}"
    )


def build_resource_id(sub: str, rg: str | None, rtype: str, names: list[Any], fn: str = "resourceId") -> str:
    namespace, _, rest = rtype.partition("/")
    types = rest.split("/") if rest else []
    if not types or len(names) != len(types):
        raise ExpressionError(
            f"Unable to evaluate template language function '{fn}': the type '{rtype}' requires "
            f"'{len(types)}' resource name argument(s). {ARM_HELP}"
        )
    path = "/".join(f"{t}/{n}" for t, n in zip(types, names, strict=True))
    scope = f"/subscriptions/{sub}" + (f"/resourceGroups/{rg}" if rg is not None else "")
    return f"{scope}/providers/{namespace}/{path}"


def _not_found(rid: str, scope: DeploymentScope) -> TemplateError:
    parts = rid.split("/providers/", 1)[-1]
    return TemplateError(
        "ResourceNotFound",
        f"The Resource '{parts}' under resource group '{scope.resource_group}' was not found. "
        "For more details please go to https://aka.ms/ARMResourceNotFoundFix",
    )


# --- parameters ---------------------------------------------------------------------------------

_TYPES: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "string": ("String", lambda v: isinstance(v, str)),
    "securestring": ("String", lambda v: isinstance(v, str)),
    "int": ("Integer", lambda v: isinstance(v, int) and not isinstance(v, bool)),
    "bool": ("Boolean", lambda v: isinstance(v, bool)),
    "object": ("Object", lambda v: isinstance(v, dict)),
    "secureobject": ("Object", lambda v: isinstance(v, dict)),
    "array": ("Array", lambda v: isinstance(v, list)),
}


def _bind_parameters(ev: _Evaluator, supplied: dict[str, Any]) -> None:
    defs = ev.param_defs
    unknown = [k for k in supplied if _find_key(defs, k) is None]
    if unknown:
        raise _invalid(
            f"The template parameters '{', '.join(unknown)}' in the parameters file are not valid; they are not "
            "present in the original template and can therefore not be provided at deployment time. The only "
            f"supported parameters for this template are '{', '.join(defs)}'. "
            "Please see https://aka.ms/arm-pass-parameter-values for usage details."
        )
    given = {_find_key(defs, k): v for k, v in supplied.items()}
    binding: list[str] = []

    def bind(name: str) -> None:
        if name in binding:
            raise ExpressionError(f"The template parameter '{name}' has a circular default value.")
        binding.append(name)
        try:
            _bind_one(ev, name, defs[name], given)
        finally:
            binding.pop()

    ev.bind_parameter = bind
    for name in defs:
        if name not in ev.params:
            try:
                bind(name)
            except ExpressionError as exc:
                raise _invalid(f"The template parameter '{name}' is not valid: {exc.message}") from None
    ev.bind_parameter = None


def _bind_one(ev: _Evaluator, name: str, spec: dict[str, Any], given: dict[Any, Any]) -> None:
    ptype = str(spec.get("type", "")).lower()
    if ptype not in _TYPES:
        raise _invalid(
            f"The template parameter '{name}' has type '{spec.get('type')}', which is not supported"
        )
    if name in given:
        entry = given[name]
        if not isinstance(entry, dict) or "value" not in entry:
            raise _invalid(
                f"The value of the template parameter '{name}' must be given as an object with a 'value' "
                "property. Key Vault references are not supported by the emulator"
            )
        value = entry["value"]
    elif "defaultValue" in spec:
        value = ev.value(spec["defaultValue"])
    elif spec.get("nullable"):
        value = None
    else:
        raise _invalid(
            f"The value for the template parameter '{name}' is not provided. "
            "Please see https://aka.ms/arm-create-parameter-file for usage details"
        )
    _check_parameter(name, spec, ptype, value)
    ev.params[name] = value


def _check_parameter(name: str, spec: dict[str, Any], ptype: str, value: Any) -> None:
    if value is None and spec.get("nullable"):
        return
    expected, ok = _TYPES[ptype]
    if not ok(value):
        raise _invalid(
            f"Template parameter '{name}' was provided an invalid value. Expected a value of type "
            f"'{expected}', but received a value of type '{type_name(value)}'. "
            "Please see https://aka.ms/arm-create-parameter-file for usage details"
        )
    allowed = spec.get("allowedValues")
    if allowed is not None:
        candidates = value if ptype == "array" else [value]
        bad = [v for v in candidates if v not in allowed]
        if bad:
            shown = ",".join(str(v) for v in allowed)
            raise _invalid(
                f"The provided value '{bad[0]}' for the template parameter '{name}' is not valid. "
                f"The parameter value is not part of the allowed value(s): '{shown}'"
            )
    if ptype == "int":
        if "minValue" in spec and value < spec["minValue"]:
            raise _invalid(
                f"The provided value '{value}' for the template parameter '{name}' is not valid. "
                f"The parameter value is less than the minimum value '{spec['minValue']}'"
            )
        if "maxValue" in spec and value > spec["maxValue"]:
            raise _invalid(
                f"The provided value '{value}' for the template parameter '{name}' is not valid. "
                f"The parameter value is greater than the maximum value '{spec['maxValue']}'"
            )
    if ptype in ("string", "securestring", "array"):
        if "minLength" in spec and len(value) < spec["minLength"]:
            raise _invalid(
                f"The provided value for the template parameter '{name}' is not valid. "
                f"Length of the value should be greater than or equal to '{spec['minLength']}'"
            )
        if "maxLength" in spec and len(value) > spec["maxLength"]:
            raise _invalid(
                f"The provided value for the template parameter '{name}' is not valid. "
                f"Length of the value should be less than or equal to '{spec['maxLength']}'"
            )


# --- resources ----------------------------------------------------------------------------------


def _resource_defs(template: dict[str, Any]) -> list[_ResourceDef]:
    raw = template.get("resources", [])
    if isinstance(raw, dict):
        return [_ResourceDef(sym, res) for sym, res in raw.items()]
    if not isinstance(raw, list):
        raise _invalid("The template 'resources' must be an array or, with languageVersion 2.0, an object")

    out: list[_ResourceDef] = []

    def walk(items: list[Any], parent: _ResourceDef | None) -> None:
        for res in items:
            if not isinstance(res, dict):
                raise _invalid("The template resource definition must be an object")
            d = _ResourceDef(None, res, parent)
            out.append(d)
            walk(res.get("resources", []), d)

    walk(raw, None)
    return out


class TemplatePlan:
    """Resources in deployment order, and the evaluation of their bodies and of the outputs."""

    def __init__(
        self, ev: _Evaluator, resources: list[PlannedResource], defs: dict[str, _ResourceDef]
    ) -> None:
        self._ev = ev
        self.resources = resources
        self._defs = defs  # by lower-cased resource id

    def by_id(self, resource_id: str) -> PlannedResource | None:
        lowered = resource_id.lower()
        return next((r for r in self.resources if r.id.lower() == lowered), None)

    @contextmanager
    def _with_resolver(self, resolver: ResourceResolver) -> Iterator[_Evaluator]:
        self._ev.resolver = resolver
        try:
            yield self._ev
        finally:
            self._ev.resolver = None

    def resource_body(self, res: PlannedResource, resolver: ResourceResolver) -> dict[str, Any]:
        raw = self._defs[res.id.lower()].raw
        with self._with_resolver(resolver) as ev:
            try:
                return {k: ev.value(raw[k]) for k in BODY_KEYS if k in raw}
            except ExpressionError as exc:
                raise TemplateError(
                    "InvalidTemplate",
                    f"Unable to process template language expressions for resource '{res.id}'. '{exc.message}'",
                    target=res.id,
                ) from None

    def outputs(self, resolver: ResourceResolver) -> dict[str, dict[str, Any]]:
        result: dict[str, dict[str, Any]] = {}
        failures: list[dict[str, Any]] = []
        with self._with_resolver(resolver) as ev:
            for name, spec in (ev.template.get("outputs") or {}).items():
                try:
                    if "condition" in spec and ev.value(spec["condition"]) is not True:
                        continue
                    value = ev.value(spec.get("value"))
                except ExpressionError as exc:
                    failures.append(
                        {
                            "code": "DeploymentOutputEvaluationFailed",
                            "target": name,
                            "message": f"The template output '{name}' is not valid: {exc.message}.",
                        }
                    )
                    continue
                otype = str(spec.get("type", "string")).lower()
                spelled = {"securestring": "SecureString", "secureobject": "SecureObject"}.get(
                    otype, otype.capitalize()
                )
                # ARM never returns the values of secure outputs.
                result[name] = (
                    {"type": spelled} if otype.startswith("secure") else {"type": spelled, "value": value}
                )
        if failures:
            raise TemplateError(
                "DeploymentOutputEvaluationFailed",
                f"Unable to evaluate template outputs: '{', '.join(f['target'] for f in failures)}'. Please see "
                "error details and deployment operations. Please see https://aka.ms/arm-common-errors for usage details.",
                details=failures,
            )
        return result


def _plan_one(ev: _Evaluator, d: _ResourceDef, names: dict[int, tuple[str, str]]) -> PlannedResource:
    raw = d.raw
    label = d.symbolic_name or str(raw.get("name", "?"))
    if "copy" in raw:
        raise _invalid(f"The template resource '{label}' uses 'copy', which the emulator does not support")
    try:
        rtype = ev.value(raw.get("type"))
        name = ev.value(raw.get("name"))
        api_version = ev.value(raw.get("apiVersion"))
        condition = ev.value(raw["condition"]) if "condition" in raw else True
    except ExpressionError as exc:
        raise _invalid(f"The template resource '{label}' is not valid: {exc.message}") from None
    if not isinstance(rtype, str) or not isinstance(name, str) or not name:
        raise _invalid(f"The template resource '{label}' must have a string 'type' and a non-empty 'name'")
    if not isinstance(api_version, str):
        raise _invalid(f"The template resource '{label}' must have an 'apiVersion'")
    if not isinstance(condition, bool):
        raise _invalid(f"The template resource '{label}' has a 'condition' that is not a boolean")
    if d.parent is not None:
        ptype, pname = names[id(d.parent)]
        if "." not in rtype.split("/", 1)[0]:
            rtype = f"{ptype}/{rtype}"
        if name.count("/") < pname.count("/") + 1:
            name = f"{pname}/{name}"
    names[id(d)] = (rtype, name)
    segments = rtype.split("/")
    name_parts = name.split("/")
    if len(segments) < 2 or len(segments) != len(name_parts) + 1:
        raise _invalid(
            f"The template resource '{name}' for type '{rtype}' has incorrect segment lengths. A nested resource "
            "type must have identical number of segments as its resource name. A root resource type must have "
            "segment length one greater than its resource name. Please see https://aka.ms/arm-syntax-resources "
            "for usage details"
        )
    rid = build_resource_id(ev.scope.subscription_id, ev.scope.resource_group, rtype, name_parts)
    return PlannedResource(
        symbolic_name=d.symbolic_name,
        id=rid,
        type=rtype,
        name=name,
        api_version=api_version,
        existing=bool(raw.get("existing", False)),
        condition=condition,
    )


def _resolve_dependency(
    ev: _Evaluator, entry: Any, owner: PlannedResource, planned: list[PlannedResource]
) -> str:
    if not isinstance(entry, str):
        raise _invalid(f"The template resource '{owner.name}' has a 'dependsOn' entry that is not a string")
    if not is_expression(entry):
        for res in planned:
            if res.symbolic_name is not None and res.symbolic_name == entry:
                return res.id
    try:
        ref = ev.value(entry)
    except ExpressionError as exc:
        raise _invalid(f"The template resource '{owner.name}' is not valid: {exc.message}") from None
    lowered = str(ref).lower()
    for res in planned:
        if res.id.lower() == lowered:
            return res.id
    for res in planned:  # "type/name" or a bare resource name, as ARM also accepts
        if f"{res.type}/{res.name}".lower() == lowered or res.name.lower() == lowered:
            return res.id
    raise _invalid(
        f"The resource '{ref}' is not defined in the template. Please see https://aka.ms/arm-syntax for usage details"
    )


def _symbolic_references(raw: Any, symbols: set[str]) -> Iterator[str]:
    """Symbolic names that reference()/list*() name literally: languageVersion 2.0 implies dependencies."""
    if isinstance(raw, dict):
        for v in raw.values():
            yield from _symbolic_references(v, symbols)
    elif isinstance(raw, list):
        for v in raw:
            yield from _symbolic_references(v, symbols)
    elif isinstance(raw, str) and is_expression(raw):
        try:
            yield from _calls_naming(parse_template_string(raw), symbols)
        except ExpressionError:
            return


def _calls_naming(node: Node, symbols: set[str]) -> Iterator[str]:
    if isinstance(node, Call):
        low = node.name.lower()
        first = node.args[0] if node.args else None
        if (
            (low == "reference" or low.startswith("list"))
            and isinstance(first, Literal)
            and first.value in symbols
        ):
            yield first.value
        for a in node.args:
            yield from _calls_naming(a, symbols)
    elif isinstance(node, Member):
        yield from _calls_naming(node.target, symbols)
    elif isinstance(node, Index):
        yield from _calls_naming(node.target, symbols)
        yield from _calls_naming(node.index, symbols)


def _order(resources: list[PlannedResource]) -> list[PlannedResource]:
    """Dependencies first, otherwise template order; a cycle is an InvalidTemplate error."""
    by_id = {r.id: r for r in resources}
    done: set[str] = set()
    visiting: list[str] = []
    out: list[PlannedResource] = []

    def visit(res: PlannedResource) -> None:
        if res.id in done:
            return
        if res.id in visiting:
            raise _invalid(
                f"Circular dependency detected on resource: '{res.id}'. "
                "Please see https://aka.ms/arm-syntax-resources for usage details"
            )
        visiting.append(res.id)
        for dep in res.depends_on:
            visit(by_id[dep])
        visiting.pop()
        done.add(res.id)
        out.append(res)

    for res in resources:
        visit(res)
    return out


def plan_deployment(
    template: dict[str, Any], parameters: dict[str, Any], scope: DeploymentScope
) -> TemplatePlan:
    """Validate ``template`` with ``parameters`` (``{"name": {"value": ...}}``) and order its resources."""
    if not isinstance(template, dict):
        raise _invalid("The template must be a JSON object")
    if not isinstance(parameters, dict):
        raise _invalid("The deployment parameters must be a JSON object")
    ev = _Evaluator(template, scope)
    _bind_parameters(ev, parameters)
    defs = _resource_defs(template)
    names: dict[int, tuple[str, str]] = {}
    planned = [_plan_one(ev, d, names) for d in defs]
    seen: dict[str, PlannedResource] = {}
    for res in planned:
        if res.id.lower() in seen:
            raise _invalid(
                f"The resource '{res.id}' is defined multiple times in a template. "
                "Please see https://aka.ms/arm-syntax-resources for usage details"
            )
        seen[res.id.lower()] = res
    symbols = {d.symbolic_name for d in defs if d.symbolic_name}
    by_symbol = {r.symbolic_name: r for r in planned if r.symbolic_name}
    for d, res in zip(defs, planned, strict=True):
        deps = [_resolve_dependency(ev, e, res, planned) for e in d.raw.get("dependsOn", [])]
        if ev.symbolic:
            deps += [by_symbol[s].id for s in _symbolic_references(d.raw, symbols) if s != d.symbolic_name]
        res.depends_on = list(dict.fromkeys(dep for dep in deps if dep != res.id))
    plan = TemplatePlan(ev, [], {r.id.lower(): d for d, r in zip(defs, planned, strict=True)})
    ev.plan = plan
    plan.resources = _order(planned)
    return plan
