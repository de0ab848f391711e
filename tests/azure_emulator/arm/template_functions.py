"""ARM template functions that depend only on their arguments (string, array, object, logic, numeric).

Functions that need the deployment (parameters, variables, resourceGroup, resourceId, reference,
list*) live in ``template_engine``.  Errors use ARM's wording; ``uniqueString`` and ``guid`` use
ARM's algorithms (MurmurHash64 variant + base32; UUIDv5 in ARM's namespace), so names match the
ones Azure would give for the same resource group.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urljoin

from tests.azure_emulator.arm.template_expr import ExpressionError

Fn = Callable[[list[Any]], Any]

HELP = "Please see https://aka.ms/arm-template-expressions/#{name} for usage details."


def arity_error(name: str, lo: int, hi: int | None) -> ExpressionError:
    if hi == lo:
        need = f"exactly '{lo}' parameter(s)"
    elif hi is None:
        need = f"at least '{lo}' parameter(s)"
    else:
        need = f"between '{lo}' and '{hi}' parameter(s)"
    return ExpressionError(
        f"The template language function '{name}' must have {need}. " + HELP.format(name=name)
    )


def type_name(value: Any) -> str:
    if value is None:
        return "Null"
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int):
        return "Integer"
    if isinstance(value, float):
        return "Float"
    if isinstance(value, str):
        return "String"
    if isinstance(value, list):
        return "Array"
    return "Object"


def bad_args(name: str, expected: str, got: Any) -> ExpressionError:
    return ExpressionError(
        f"The template language function '{name}' expects its parameter to be {expected}. "
        f"The provided value is of type '{type_name(got)}'. " + HELP.format(name=name)
    )


def _str(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise bad_args(name, "a string", value)
    return value


def _int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad_args(name, "an integer", value)
    return value


# --- uniqueString / guid ------------------------------------------------------------------------

_M32 = 0xFFFFFFFF
_BASE32 = "abcdefghijklmnopqrstuvwxyz234567"
_ARM_GUID_NAMESPACE = uuid.UUID("11fb06fb-712d-4ddd-98c7-e71bbd588830")


def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (32 - r))) & _M32


def _fmix(h: int) -> int:
    h = ((h ^ (h >> 16)) * 0x85EBCA6B) & _M32
    h = ((h ^ (h >> 13)) * 0xC2B2AE35) & _M32
    return h ^ (h >> 16)


def murmur64(data: bytes) -> int:
    """The 64-bit MurmurHash variant behind ARM's ``uniqueString`` (seed 0)."""
    c1, c2 = 0xAB0E9789, 0x239B961B  # ARM's constants (2869860233, 597399067)
    h1 = h2 = 0
    n = len(data)
    i = 0
    while i + 8 <= n:
        k1 = int.from_bytes(data[i : i + 4], "little")
        k2 = int.from_bytes(data[i + 4 : i + 8], "little")
        k1 = (_rotl((k1 * c2) & _M32, 15) * c1) & _M32
        h1 = ((_rotl(h1 ^ k1, 19) + h2) * 5 + 0x561CCD1B) & _M32
        k2 = (_rotl((k2 * c1) & _M32, 17) * c2) & _M32
        h2 = ((_rotl(h2 ^ k2, 13) + h1) * 5 + 0x0BCAA747) & _M32
        i += 8
    tail = n - i
    if tail:
        k1 = int.from_bytes(data[i : i + min(tail, 4)], "little")
        h1 ^= (_rotl((k1 * c2) & _M32, 15) * c1) & _M32
        if tail > 4:
            k2 = int.from_bytes(data[i + 4 : n], "little")
            h2 ^= (_rotl((k2 * c1) & _M32, 17) * c2) & _M32
    h1 ^= n
    h2 ^= n
    h1 = (h1 + h2) & _M32
    h2 = (h2 + h1) & _M32
    h1, h2 = _fmix(h1), _fmix(h2)
    h1 = (h1 + h2) & _M32
    h2 = (h2 + h1) & _M32
    return (h2 << 32) | h1


def unique_string(*values: str) -> str:
    h = murmur64("-".join(values).encode("utf-8"))
    # 13 five-bit digits from the top of the 64-bit hash; the last digit is padded with a zero bit.
    return "".join(_BASE32[((h << (5 * i)) & 0xFFFFFFFFFFFFFFFF) >> 59] for i in range(13))


def arm_guid(*values: str) -> str:
    return str(uuid.uuid5(_ARM_GUID_NAMESPACE, "-".join(values)))


# --- helpers ------------------------------------------------------------------------------------


def arm_equals(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(arm_equals(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(arm_equals(x, y) for x, y in zip(a, b, strict=True))
    if _num(a) and _num(b):
        return bool(a == b)
    return type(a) is type(b) and bool(a == b)


def _num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def to_string(value: Any) -> str:
    """``string()`` semantics: JSON for objects and arrays, .NET spelling for booleans."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "True" if value else "False"
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


_FORMAT_ITEM = re.compile(r"\{\{|\}\}|\{(\d+)(?:,(-?\d+))?(?::([^}]*))?\}")


def arm_format(template: str, args: list[Any]) -> str:
    """.NET composite formatting as ``format()`` uses it: ``{0}``, ``{0,5}``, ``{0:N2}``, ``{{``."""

    def item(m: re.Match[str]) -> str:
        text = m.group(0)
        if text == "{{":
            return "{"
        if text == "}}":
            return "}"
        idx = int(m.group(1))
        if idx >= len(args):
            raise ExpressionError(
                "Unable to evaluate template language function 'format'. Index (zero based) must be "
                "greater than or equal to zero and less than the size of the argument list. "
                + HELP.format(name="format")
            )
        value, spec = args[idx], m.group(3)
        if spec and _num(value):
            kind, digits = spec[0].upper(), spec[1:]
            if kind == "N":
                out = f"{value:,.{int(digits or 2)}f}"
            elif kind == "D":
                out = f"{int(value):0{int(digits or 1)}d}"
            elif kind == "X":
                out = f"{int(value):0{int(digits or 1)}{'X' if spec[0] == 'X' else 'x'}}"
            else:
                out = to_string(value)
        else:
            out = to_string(value)
        if m.group(2):
            width = int(m.group(2))
            out = out.rjust(width) if width > 0 else out.ljust(-width)
        return out

    return _FORMAT_ITEM.sub(item, template)


def _union(name: str, args: list[Any]) -> Any:
    if all(isinstance(a, dict) for a in args):
        out: dict[str, Any] = {}
        for a in args:
            for k, v in a.items():
                if isinstance(v, dict) and isinstance(out.get(k), dict):
                    out[k] = _union(name, [out[k], v])
                else:
                    out[k] = v
        return out
    if all(isinstance(a, list) for a in args):
        merged: list[Any] = []
        for a in args:
            for v in a:
                if not any(arm_equals(v, m) for m in merged):
                    merged.append(v)
        return merged
    raise bad_args(name, "all arrays or all objects", next(a for a in args if not isinstance(a, dict | list)))


def _intersection(name: str, args: list[Any]) -> Any:
    first = args[0]
    if all(isinstance(a, dict) for a in args):
        return {k: v for k, v in first.items() if all(k in a and arm_equals(a[k], v) for a in args[1:])}
    if all(isinstance(a, list) for a in args):
        out: list[Any] = []
        for v in first:
            if all(any(arm_equals(v, x) for x in a) for a in args[1:]) and not any(
                arm_equals(v, o) for o in out
            ):
                out.append(v)
        return out
    raise bad_args(name, "all arrays or all objects", first)


def _concat(args: list[Any]) -> Any:
    if args and all(isinstance(a, list) for a in args):
        return [v for a in args for v in a]
    if any(isinstance(a, list | dict) for a in args):
        raise ExpressionError(
            "The template language function 'concat' expects all of its parameters to be arrays or "
            "all to be strings, integers or booleans. " + HELP.format(name="concat")
        )
    return "".join(to_string(a) for a in args)


def _length(v: Any) -> int:
    if isinstance(v, str | list | dict):
        return len(v)
    raise bad_args("length", "an array, object or string", v)


def _substring(args: list[Any]) -> str:
    text = _str("substring", args[0])
    start = _int("substring", args[1])
    length = _int("substring", args[2]) if len(args) > 2 else len(text) - start
    where = "Unable to evaluate the template language function 'substring'."
    if start < 0:
        raise ExpressionError(f"{where} The index parameter cannot be less than zero. The index: '{start}'.")
    if start > len(text):
        raise ExpressionError(
            f"{where} The index parameter cannot be larger than the length of the string. "
            f"The index parameter: '{start}', the length of the string parameter: '{len(text)}'."
        )
    if length < 0 or start + length > len(text):
        raise ExpressionError(
            f"{where} The index and length parameters must refer to a location within the string. "
            f"The index parameter: '{start}', the length parameter: '{length}', "
            f"the length of the string parameter: '{len(text)}'. " + HELP.format(name="substring")
        )
    return text[start : start + length]


def _first(v: Any) -> Any:
    if isinstance(v, str):
        return v[:1]
    if isinstance(v, list):
        return v[0] if v else None
    raise bad_args("first", "an array or a string", v)


def _last(v: Any) -> Any:
    if isinstance(v, str):
        return v[-1:]
    if isinstance(v, list):
        return v[-1] if v else None
    raise bad_args("last", "an array or a string", v)


def _contains(container: Any, item: Any) -> bool:
    if isinstance(container, str):
        return to_string(item) in container
    if isinstance(container, list):
        return any(arm_equals(item, v) for v in container)
    if isinstance(container, dict):
        key = to_string(item).lower()
        return any(k.lower() == key for k in container)
    raise bad_args("contains", "an array, object or string", container)


def _empty(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, str | list | dict):
        return len(v) == 0
    raise bad_args("empty", "an array, object, string or null", v)


def _split(text: Any, delims: Any) -> list[str]:
    text = _str("split", text)
    parts = [delims] if isinstance(delims, str) else delims
    if not isinstance(parts, list) or not all(isinstance(p, str) for p in parts):
        raise bad_args("split", "a string or an array of strings as delimiter", delims)
    if not parts:
        return [text]
    return re.split("|".join(re.escape(p) for p in parts), text)


def _to_int(v: Any) -> int:
    if isinstance(v, bool):
        raise bad_args("int", "a string or an integer", v)
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        return int(v)
    if isinstance(v, str):
        try:
            return int(v.strip())
        except ValueError:
            raise ExpressionError(
                f"The template language function 'int' was invoked with a parameter that is not valid. "
                f"The value cannot be converted to the target type. {HELP.format(name='int')}"
            ) from None
    raise bad_args("int", "a string or an integer", v)


def _to_bool(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, int):
        return v != 0
    if isinstance(v, str) and v.strip().lower() in ("true", "false"):
        return v.strip().lower() == "true"
    raise ExpressionError(
        "The template language function 'bool' was invoked with a parameter that is not valid. "
        "The value cannot be converted to the target type. " + HELP.format(name="bool")
    )


def _json(v: Any) -> Any:
    try:
        return json.loads(_str("json", v))
    except json.JSONDecodeError as exc:
        raise ExpressionError(
            f"The template language function 'json' parameter is not valid JSON: {exc.msg}. "
            + HELP.format(name="json")
        ) from None


def _create_object(args: list[Any]) -> dict[str, Any]:
    if len(args) % 2:
        raise ExpressionError(
            "The template language function 'createObject' must have an even number of parameters. "
            + HELP.format(name="createObject")
        )
    return {_str("createObject", args[i]): args[i + 1] for i in range(0, len(args), 2)}


def _bool_args(name: str, args: list[Any]) -> list[bool]:
    for a in args:
        if not isinstance(a, bool):
            raise bad_args(name, "a boolean", a)
    return args


def _compare(name: str, a: Any, b: Any) -> int:
    if (_num(a) and _num(b)) or (isinstance(a, str) and isinstance(b, str)):
        return (a > b) - (a < b)
    raise bad_args(name, "two integers or two strings", b if _num(a) or isinstance(a, str) else a)


def _div(a: Any, b: Any) -> int:
    a, b = _int("div", a), _int("div", b)
    if b == 0:
        raise ExpressionError("The template language function 'div' cannot divide by zero.")
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q  # .NET truncates toward zero


def _mod(a: Any, b: Any) -> int:
    a, b = _int("mod", a), _int("mod", b)
    if b == 0:
        raise ExpressionError("The template language function 'mod' cannot divide by zero.")
    return a - b * _div(a, b)


def _take(v: Any, n: Any) -> Any:
    n = max(0, _int("take", n))
    if isinstance(v, str | list):
        return v[:n]
    raise bad_args("take", "an array or a string", v)


def _skip(v: Any, n: Any) -> Any:
    n = max(0, _int("skip", n))
    if isinstance(v, str | list):
        return v[n:]
    raise bad_args("skip", "an array or a string", v)


def _min_max(name: str, args: list[Any], pick: Callable[[list[Any]], Any]) -> Any:
    values = args[0] if len(args) == 1 and isinstance(args[0], list) else args
    if not values:
        raise ExpressionError(f"The template language function '{name}' expects a non-empty array.")
    for v in values:
        _int(name, v)
    return pick(values)


def _items(v: Any) -> list[dict[str, Any]]:
    if not isinstance(v, dict):
        raise bad_args("items", "an object", v)
    return [{"key": k, "value": v[k]} for k in sorted(v, key=str.lower)]


# name -> (min args, max args or None, implementation over the evaluated argument list)
PURE: dict[str, tuple[int, int | None, Fn]] = {
    "true": (0, 0, lambda a: True),
    "false": (0, 0, lambda a: False),
    "null": (0, 0, lambda a: None),
    "concat": (1, None, _concat),
    "format": (1, None, lambda a: arm_format(_str("format", a[0]), a[1:])),
    "substring": (2, 3, _substring),
    "tolower": (1, 1, lambda a: _str("toLower", a[0]).lower()),
    "toupper": (1, 1, lambda a: _str("toUpper", a[0]).upper()),
    "trim": (1, 1, lambda a: _str("trim", a[0]).strip()),
    "join": (2, 2, lambda a: _str("join", a[1]).join(to_string(v) for v in _list("join", a[0]))),
    "split": (2, 2, lambda a: _split(a[0], a[1])),
    "replace": (3, 3, lambda a: _str("replace", a[0]).replace(_str("replace", a[1]), _str("replace", a[2]))),
    "startswith": (
        2,
        2,
        lambda a: _str("startsWith", a[0]).lower().startswith(_str("startsWith", a[1]).lower()),
    ),
    "endswith": (2, 2, lambda a: _str("endsWith", a[0]).lower().endswith(_str("endsWith", a[1]).lower())),
    "indexof": (2, 2, lambda a: _str("indexOf", a[0]).lower().find(_str("indexOf", a[1]).lower())),
    "lastindexof": (
        2,
        2,
        lambda a: _str("lastIndexOf", a[0]).lower().rfind(_str("lastIndexOf", a[1]).lower()),
    ),
    "padleft": (2, 3, lambda a: to_string(a[0]).rjust(_int("padLeft", a[1]), a[2] if len(a) > 2 else " ")),
    "length": (1, 1, lambda a: _length(a[0])),
    "empty": (1, 1, lambda a: _empty(a[0])),
    "coalesce": (1, None, lambda a: next((v for v in a if v is not None), None)),
    "equals": (2, 2, lambda a: arm_equals(a[0], a[1])),
    "not": (1, 1, lambda a: not _bool_args("not", a)[0]),
    "and": (2, None, lambda a: all(_bool_args("and", a))),
    "or": (2, None, lambda a: any(_bool_args("or", a))),
    "less": (2, 2, lambda a: _compare("less", a[0], a[1]) < 0),
    "lessorequals": (2, 2, lambda a: _compare("lessOrEquals", a[0], a[1]) <= 0),
    "greater": (2, 2, lambda a: _compare("greater", a[0], a[1]) > 0),
    "greaterorequals": (2, 2, lambda a: _compare("greaterOrEquals", a[0], a[1]) >= 0),
    "union": (1, None, lambda a: _union("union", a)),
    "intersection": (2, None, lambda a: _intersection("intersection", a)),
    "createobject": (0, None, _create_object),
    "createarray": (0, None, lambda a: list(a)),
    "array": (1, 1, lambda a: a[0] if isinstance(a[0], list) else [a[0]]),
    "contains": (2, 2, lambda a: _contains(a[0], a[1])),
    "first": (1, 1, lambda a: _first(a[0])),
    "last": (1, 1, lambda a: _last(a[0])),
    "take": (2, 2, lambda a: _take(a[0], a[1])),
    "skip": (2, 2, lambda a: _skip(a[0], a[1])),
    "range": (2, 2, lambda a: list(range(_int("range", a[0]), _int("range", a[0]) + _int("range", a[1])))),
    "min": (1, None, lambda a: _min_max("min", a, min)),
    "max": (1, None, lambda a: _min_max("max", a, max)),
    "add": (2, 2, lambda a: _int("add", a[0]) + _int("add", a[1])),
    "sub": (2, 2, lambda a: _int("sub", a[0]) - _int("sub", a[1])),
    "mul": (2, 2, lambda a: _int("mul", a[0]) * _int("mul", a[1])),
    "div": (2, 2, lambda a: _div(a[0], a[1])),
    "mod": (2, 2, lambda a: _mod(a[0], a[1])),
    "items": (1, 1, lambda a: _items(a[0])),
    "uniquestring": (1, None, lambda a: unique_string(*[_str("uniqueString", v) for v in a])),
    "guid": (1, None, lambda a: arm_guid(*[_str("guid", v) for v in a])),
    "uri": (2, 2, lambda a: urljoin(_str("uri", a[0]), _str("uri", a[1]))),
    "string": (1, 1, lambda a: to_string(a[0])),
    "int": (1, 1, lambda a: _to_int(a[0])),
    "bool": (1, 1, lambda a: _to_bool(a[0])),
    "json": (1, 1, lambda a: _json(a[0])),
    "base64": (1, 1, lambda a: base64.b64encode(_str("base64", a[0]).encode()).decode()),
    "base64tostring": (1, 1, lambda a: base64.b64decode(_str("base64ToString", a[0])).decode()),
}


def _list(name: str, value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise bad_args(name, "an array", value)
    return value
