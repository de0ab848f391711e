"""The endpoint's API key: /v1 needs it (Bearer or api-key), /health does not, no API docs, the chat UI
behind a login whose password is the key, and the key in no log line."""

from __future__ import annotations

import sys

import httpx
import openai
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from tests.conftest import REPO
from tests.inference.conftest import RunningApp

sys.path.insert(0, str(REPO / "inference"))
from auth import ApiKey, RequireApiKey

CHAT = {"messages": [{"role": "user", "content": "hello"}], "max_tokens": 2}
INVALID = {
    "message": "Missing or incorrect API key. Send the endpoint's key as 'Authorization: Bearer <key>' "
    "or 'api-key: <key>'.",
    "type": "invalid_request_error",
    "param": None,
    "code": "invalid_api_key",
}


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong-key"}, {"api-key": "wrong-key"}, {"Authorization": "Basic x"}],
    ids=["none", "wrong-bearer", "wrong-api-key", "other-scheme"],
)
@pytest.mark.parametrize(("method", "path"), [("GET", "/v1/models"), ("POST", "/v1/chat/completions")])
def test_v1_without_the_right_key_is_401(
    lora_app: RunningApp, headers: dict[str, str], method: str, path: str
) -> None:
    resp = httpx.request(method, lora_app.url + path, json=CHAT, headers=headers)
    assert resp.status_code == 401
    assert resp.json() == {"error": INVALID}


def test_openai_client_with_a_wrong_key_raises_authentication_error(lora_app: RunningApp) -> None:
    wrong = openai.OpenAI(base_url=lora_app.url + "/v1", api_key="wrong-key", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as info:
        wrong.models.list()
    assert info.value.status_code == 401


@pytest.mark.parametrize("header", ["Authorization", "api-key"])
def test_v1_with_the_key_is_200(lora_app: RunningApp, header: str) -> None:
    value = f"Bearer {lora_app.key}" if header == "Authorization" else lora_app.key
    resp = httpx.post(lora_app.url + "/v1/chat/completions", json=CHAT, headers={header: value})
    assert resp.status_code == 200
    assert resp.json()["usage"]["completion_tokens"] == 2


def test_health_is_open_and_api_docs_are_gone(lora_app: RunningApp) -> None:
    assert httpx.get(lora_app.url + "/health").status_code == 200
    for path in ("/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"):
        assert httpx.get(lora_app.url + path).status_code == 404, path
    # Gradio's own API schema and config need the login.
    assert httpx.get(lora_app.url + "/gradio_api/openapi.json").status_code == 401


def test_chat_ui_asks_for_the_key(lora_app: RunningApp) -> None:
    page = httpx.get(lora_app.url + "/")
    assert page.status_code == 200 and "gradio" in page.text.lower()
    config = httpx.get(lora_app.url + "/config")
    assert config.status_code == 401
    assert config.json()["detail"]["auth_message"] == (
        "Enter the endpoint's API key as the password (any user name)."
    )
    refused = httpx.post(lora_app.url + "/login", data={"username": "me", "password": "wrong-key"})
    assert refused.status_code == 400 and refused.json() == {"detail": "Incorrect credentials."}
    with httpx.Client(base_url=lora_app.url) as browser:
        login = browser.post("/login", data={"username": "me", "password": lora_app.key})
        assert login.status_code == 200 and login.json() == {"success": True}
        assert browser.get("/config").status_code == 200  # the session cookie opens the chat


def test_key_is_in_no_log_line(lora_app: RunningApp) -> None:
    # Traffic that carries the key, right and wrong, in both headers and the chat login.
    httpx.get(lora_app.url + "/v1/models", headers={"api-key": lora_app.key})
    httpx.get(lora_app.url + "/v1/models", headers={"Authorization": f"Bearer {lora_app.key}x"})
    httpx.post(lora_app.url + "/login", data={"username": "me", "password": lora_app.key})
    log = lora_app.log.read_text(errors="replace")
    assert "GET /v1/models" in log  # the log is the app's, and it is written
    assert lora_app.key not in log


async def test_without_a_configured_key_v1_is_503() -> None:
    async def ok(_: object) -> PlainTextResponse:
        return PlainTextResponse("ok")

    inner = Starlette(routes=[Route("/v1/models", ok), Route("/health", ok)])
    app = RequireApiKey(inner, ApiKey(""))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app") as http:
        resp = await http.get("/v1/models", headers={"Authorization": "Bearer anything"})
        assert resp.status_code == 503
        assert resp.json() == {
            "error": {
                "message": "This endpoint has no API key configured, so it answers no requests. "
                "Run Provision again to create one.",
                "type": "server_error",
                "param": None,
                "code": "api_key_not_configured",
            }
        }
        assert (await http.get("/health")).text == "ok"
        # /v1x is not under /v1: the prefix is matched on whole path segments.
        assert (await http.get("/v1x")).status_code == 404


def test_chat_answers_after_login_with_the_key(lora_app: RunningApp) -> None:
    from gradio_client import Client

    chat = Client(lora_app.url + "/", auth=("me", lora_app.key), verbose=False)
    answer = chat.predict("hello world", 8, 0.0, 1.0, api_name="/respond")
    assert isinstance(answer, str) and len(answer.split()) == 8
    with pytest.raises(ValueError, match="Could not login"):
        Client(lora_app.url + "/", auth=("me", "wrong-key"), verbose=False)
