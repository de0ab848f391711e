"""Azure naming rules for the resources the template creates, checked before any Azure call."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class NameRule:
    resource: str
    min_len: int
    max_len: int
    pattern: re.Pattern[str]
    rule: str  # the rule in words, for the error message
    extra: Callable[[str], bool] | None = None  # an additional check the regex cannot say simply

    def problem(self, name: str) -> str | None:
        """None when ``name`` is valid, else what is wrong with it."""
        if not (self.min_len <= len(name) <= self.max_len):
            return f"must be {self.min_len}-{self.max_len} characters long (it has {len(name)})"
        if not self.pattern.fullmatch(name) or (self.extra is not None and not self.extra(name)):
            return f"must be {self.rule}"
        return None


def _no_double_hyphen(name: str) -> bool:
    return "--" not in name


STORAGE_ACCOUNT = NameRule(
    "storage account", 3, 24, re.compile(r"[a-z0-9]+"), "lowercase letters and digits only"
)
FILE_SHARE = NameRule(
    "file share",
    3,
    63,
    re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"),
    "lowercase letters, digits and single hyphens, starting and ending with a letter or digit",
    _no_double_hyphen,
)
CONTAINER_APP = NameRule(
    "container app",
    2,
    32,
    re.compile(r"[a-z](?:[a-z0-9-]*[a-z0-9])?"),
    "lowercase letters, digits and hyphens, starting with a letter, ending with a letter or digit, without '--'",
    _no_double_hyphen,
)
MANAGED_ENVIRONMENT = NameRule(
    "Container Apps environment",
    2,
    60,
    re.compile(r"[a-z](?:[a-z0-9-]*[a-z0-9])?"),
    "lowercase letters, digits and hyphens, starting with a letter, ending with a letter or digit, without '--'",
    _no_double_hyphen,
)
ENVIRONMENT_STORAGE = NameRule(
    "Container Apps environment storage",
    2,
    63,
    re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"),
    "lowercase letters, digits and hyphens, starting and ending with a letter or digit",
)
LOG_ANALYTICS = NameRule(
    "Log Analytics workspace",
    4,
    63,
    re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"),
    "letters, digits and hyphens, starting and ending with a letter or digit",
)
RESOURCE_GROUP = NameRule(
    "resource group",
    1,
    90,
    re.compile(r"[-\w.()]*[-\w()]"),
    "letters, digits, underscores, hyphens, periods and parentheses, not ending with a period",
)

# Template parameter → its naming rule.
PARAMETER_RULES: dict[str, NameRule] = {
    "storageAccountName": STORAGE_ACCOUNT,
    "fileShareName": FILE_SHARE,
    "acaAppName": CONTAINER_APP,
    "acaEnvironmentName": MANAGED_ENVIRONMENT,
    "acaEnvironmentStorageName": ENVIRONMENT_STORAGE,
    "acaLogAnalyticsName": LOG_ANALYTICS,
}
