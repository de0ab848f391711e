"""Turning Azure SDK exceptions and ARM error bodies into plain-words :class:`AitkError`s."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

from aitk_inference.core.azure.advice import TLS_HINT, is_tls_failure, sentence, server_error_hint
from aitk_inference.core.errors import AitkError, AzureOperationError

# Codes whose usual fix is known: what to tell the user.
_HINTS = {
    "MaxRegionalQuotaExceeded": "Request more GPU quota for this region in the Azure portal (Quotas → Container Apps), or pick another location.",
    "QuotaExceeded": "Request more quota in the Azure portal, or pick another location.",
    "AuthorizationFailed": "Your account lacks permission here; ask the subscription owner for Contributor on the resource group.",
    "SubscriptionNotFound": "Check the subscription ID, and that you are signed in to the right tenant.",
    "ResourceGroupNotFound": "Check the resource group name, or run Provision to create it.",
    "StorageAccountAlreadyTaken": "Storage account names are global: set storageAccountName to another name in inference.parameters.json.",
    "InvalidTemplate": "Fix the template (infra/provision/inference.bicep / inference.json) at the place named above.",
    "InvalidTemplateDeployment": "Fix the parameter or template problem named above.",
}


def _walk(error: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield error
    for detail in error.get("details") or []:
        if isinstance(detail, dict):
            yield from _walk(detail)


def describe_arm_error(error: dict[str, Any] | None) -> tuple[str, str | None, str | None]:
    """(message, hint, most specific code) from an ARM error object with nested ``details``.

    ARM wraps the real cause (e.g. ``MaxRegionalQuotaExceeded``) inside ``DeploymentFailed`` /
    ``ResourceDeploymentFailure``; the innermost details are what the user needs to read."""
    if not error:
        return "Azure reported a failure without details.", None, None
    errors = list(_walk(error))
    leaves = [e for e in errors if not e.get("details")] or errors
    parts: list[str] = []
    for e in leaves:
        msg = str(e.get("message") or "").strip()
        code = e.get("code")
        text = f"{code}: {msg}" if code and msg else (msg or str(code or ""))
        if text and text not in parts:
            parts.append(text)
    code = next((e.get("code") for e in reversed(leaves) if e.get("code")), error.get("code"))
    hint = next((_HINTS[c] for e in errors if (c := str(e.get("code"))) in _HINTS), None)
    return " ".join(parts), hint, code


def _error_body(exc: Any) -> dict[str, Any] | None:
    """The ARM ``error`` object from an HttpResponseError (via its parsed model or the raw body)."""
    model = getattr(exc, "error", None)
    if model is not None:

        def to_dict(m: Any) -> dict[str, Any]:
            return {
                "code": getattr(m, "code", None),
                "message": getattr(m, "message", None),
                "details": [to_dict(d) for d in (getattr(m, "details", None) or [])],
            }

        return to_dict(model)
    response = getattr(exc, "response", None)
    try:
        body = response.json() if response is not None else None
    except Exception:
        return None
    if isinstance(body, dict):
        inner = body.get("error", body)
        return inner if isinstance(inner, dict) else None
    return None


def from_azure_exception(exc: BaseException, action: str) -> AitkError:
    """One plain paragraph for an SDK exception raised while doing ``action``."""
    from azure.core.exceptions import (
        ClientAuthenticationError,
        HttpResponseError,
        ServiceRequestError,
        ServiceResponseError,
    )

    if isinstance(exc, AitkError):
        return exc
    if isinstance(exc, ClientAuthenticationError) and getattr(exc, "status_code", None) is None:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return AitkError(
            f"Could not sign in to Azure while {action}: {first_line}",
            hint="Sign in (e.g. `az login`) or set AZURE_TOKEN_CREDENTIALS to the credential you use, then retry.",
            code="NotSignedIn",
        )
    if isinstance(exc, HttpResponseError) and getattr(exc, "status_code", None) is not None:
        message, hint, code = describe_arm_error(_error_body(exc))
        if code is None:
            message = str(exc.message or exc.reason or exc).strip()
        return AzureOperationError(
            sentence(f"Azure refused {action} (HTTP {exc.status_code}): {message}"),
            hint=hint or server_error_hint(exc.status_code or 0),
            code=code,
        )
    if isinstance(exc, ServiceRequestError | ServiceResponseError) and is_tls_failure(exc):
        return AzureOperationError(
            f"Could not reach Azure while {action}: the server's TLS certificate was not trusted.",
            hint=TLS_HINT,
            code="TlsUntrusted",
        )
    if isinstance(exc, ServiceRequestError | ServiceResponseError):
        return AzureOperationError(
            f"Could not reach Azure while {action}: {exc}",
            hint="Check your network connection, proxy, AZURE_RESOURCE_MANAGER_ENDPOINT and CA bundle settings, then retry.",
            code="ConnectionFailed",
        )
    return AzureOperationError(f"{action[:1].upper()}{action[1:]} failed: {exc}")


@asynccontextmanager
async def azure_call(action: str) -> AsyncIterator[None]:
    """Re-raise SDK exceptions inside the block as plain-words errors about ``action``."""
    try:
        yield
    except AitkError:
        raise
    except Exception as exc:
        from azure.core.exceptions import AzureError

        if isinstance(exc, AzureError):
            raise from_azure_exception(exc, action) from exc
        raise
