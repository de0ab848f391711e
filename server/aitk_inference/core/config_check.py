"""Local checks of ``infra/inference.config.json`` (presence, type, GUID, Azure naming rules), so a
hand-filled config fails before any Azure call, with every problem listed at once."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from aitk_inference.core.naming import CONTAINER_APP, FILE_SHARE, RESOURCE_GROUP, STORAGE_ACCOUNT, NameRule

_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# A host name with an optional port, what ACA reports as the ingress FQDN.
_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::\d{1,5})?")

_RULES: dict[str, NameRule] = {
    "RESOURCE_GROUP_NAME": RESOURCE_GROUP,
    "STORAGE_ACCOUNT_NAME": STORAGE_ACCOUNT,
    "FILE_SHARE_NAME": FILE_SHARE,
    "ACA_APP_NAME": CONTAINER_APP,
}


@dataclass(frozen=True)
class ConfigProblem:
    key: str
    missing: bool  # absent or empty (Provision fills it) rather than a wrong value
    text: str  # "SUBSCRIPTION_ID is 'abc', not a subscription ID: set it to …"


def _value_problem(key: str, value: str) -> str | None:
    if key == "SUBSCRIPTION_ID" and not _GUID.fullmatch(value):
        return (
            f"SUBSCRIPTION_ID is {value!r}, not a subscription ID: set it to the GUID of your subscription "
            "(like 00000000-0000-0000-0000-000000000000; `az account show --query id` prints it)"
        )
    if key == "ACA_APP_ENDPOINT":
        host = value.removeprefix("https://").removeprefix("http://").rstrip("/")
        if not _HOST.fullmatch(host):
            return (
                f"ACA_APP_ENDPOINT is {value!r}, not a host name: set it to the app's URL "
                "(like myapp.<id>.<region>.azurecontainerapps.io, shown under Application Url in the portal)"
            )
        return None
    rule = _RULES.get(key)
    why = rule.problem(value) if rule is not None else None
    if rule is not None and why is not None:
        return f"{key} is {value!r}, not a valid {rule.resource} name: it {why}; set it to your {rule.resource}'s name"
    return None


def config_problems(data: Mapping[str, Any], keys: Iterable[str]) -> list[ConfigProblem]:
    """Every problem of ``data`` for ``keys``, in key order."""
    problems: list[ConfigProblem] = []
    for key in keys:
        value = data.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            state = "missing" if key not in data else "empty"
            problems.append(ConfigProblem(key, True, f"{key} is {state}"))
        elif not isinstance(value, str):
            problems.append(
                ConfigProblem(
                    key,
                    False,
                    f"{key} must be a string, not {type(value).__name__}: put the value in double quotes",
                )
            )
        elif (text := _value_problem(key, value.strip())) is not None:
            problems.append(ConfigProblem(key, False, text))
    return problems


def describe_problems(file: str, problems: list[ConfigProblem]) -> str:
    """``FILE: A is missing.`` or ``FILE has 3 problems: (1) …; (2) …; (3) ….``"""
    if len(problems) == 1:
        return f"{file}: {problems[0].text}."
    listed = "; ".join(f"({n}) {p.text}" for n, p in enumerate(problems, 1))
    return f"{file} has {len(problems)} problems: {listed}."
