"""Replay a recording of real Azure traffic against the emulator and compare each response's structure.

Each recorded request is sent again (subscription id and api-version rewritten to the emulator's
and today's SDK's) over HTTPS with a bearer token. When Azure answered with a polling header the
emulator's own polling URL is followed, as an SDK poller would, and its in-progress and final
answers are compared with the recording's polls. Recorded polls are not replayed as such: their
URLs are Azure's.
"""

from __future__ import annotations

import json
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from tests.azure_emulator import tokens
from tests.azure_emulator.fidelity.allowlist import OPERATION_STATUS_SCHEMA, allowed_route
from tests.azure_emulator.fidelity.recordings import Entry, current_api_version
from tests.azure_emulator.fidelity.specs import SpecIndex
from tests.azure_emulator.fidelity.structure import Difference, SpecNode, compare_response

TERMINAL = {"succeeded", "failed", "canceled", "cancelled"}


@dataclass
class Step:
    label: str
    differences: list[Difference] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join([self.label, *(f"    {d}" for d in self.differences)])


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: Any


def _header(headers: dict[str, str], name: str) -> str | None:
    return next((v for k, v in headers.items() if k.lower() == name.lower()), None)


def _poll_url(headers: dict[str, str]) -> tuple[str, str] | None:
    """(header, URL) the SDK would follow: Azure-AsyncOperation first, then Location."""
    for name in ("Azure-AsyncOperation", "Location"):
        value = _header(headers, name)
        if value:
            return name, value
    return None


def _parse(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")


class Replayer:
    def __init__(
        self,
        arm_url: str,
        ca_path: Path,
        subscription_id: str,
        index: SpecIndex,
        *,
        rewrite: Callable[[Entry], Entry] | None = None,
        max_polls: int = 300,
    ) -> None:
        self.arm_url = arm_url.rstrip("/")
        self.ssl = ssl.create_default_context(cafile=str(ca_path))
        self.subscription_id = subscription_id
        self.index = index
        self.rewrite = rewrite
        self.max_polls = max_polls

    # -- HTTP -------------------------------------------------------------------
    def send(self, method: str, url: str, body: Any = None) -> Response:
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Authorization", tokens.bearer())
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, context=self.ssl, timeout=30) as resp:
                return Response(resp.status, dict(resp.headers), _parse(resp.read()))
        except urllib.error.HTTPError as err:
            return Response(err.code, dict(err.headers), _parse(err.read()))

    # -- mapping a recorded request onto the emulator ---------------------------
    def _localize(self, entry: Entry) -> Entry:
        recorded_sub = entry.path.split("/")[2] if entry.path.lower().startswith("/subscriptions/") else None
        path, body = entry.path, entry.request_body
        if recorded_sub:
            path = path.replace(recorded_sub, self.subscription_id)
            if body is not None:
                body = json.loads(json.dumps(body).replace(recorded_sub, self.subscription_id))
        query = dict(entry.query)
        if "api-version" in query:
            query["api-version"] = current_api_version(path)
        local = replace(entry, path=path, query=query, request_body=body)
        return self.rewrite(local) if self.rewrite else local

    def _spec(self, entry: Entry, status: int) -> SpecNode | None:
        """The spec's schema for this response, to tell declared extra keys from invented ones."""
        op = self.index.find(entry.method, entry.path, entry.query)
        if op is None or op.template.startswith("/{"):
            if allowed_route(entry.method, entry.path) and "operationstatuses" in entry.path.lower():
                return SpecNode(self.index.docs, Path("."), OPERATION_STATUS_SCHEMA)
            return None
        responses = op.responses
        key = str(status) if str(status) in responses else "default"
        if key not in responses:
            return None
        file, response = self.index.docs.deref(op.file, responses[key])
        return SpecNode(self.index.docs, file, response["schema"]) if "schema" in response else None

    # -- replay -----------------------------------------------------------------------
    def replay(self, entries: list[Entry]) -> list[Step]:
        steps: list[Step] = []
        poll_paths: set[str] = set()
        for i, recorded in enumerate(entries):
            if recorded.method == "GET" and recorded.path.lower() in poll_paths:
                continue  # consumed by the long-running operation that handed out this URL
            local = self._localize(recorded)
            url = f"{self.arm_url}{local.path}?{urlencode(local.query)}"
            actual = self.send(local.method, url, local.request_body)
            step = Step(
                f"#{i} {recorded.method} {local.path} (Azure: {recorded.status}, emulator: {actual.status})"
            )
            step.differences = self._compare(recorded, actual, local)
            steps.append(step)
            recorded_poll = _poll_url(recorded.response_headers) if recorded.status in (201, 202) else None
            if recorded_poll is not None:
                poll_path = urlsplit(recorded_poll[1]).path.lower()
                poll_paths.add(poll_path)
                recorded_polls = [
                    e for e in entries[i + 1 :] if e.method == "GET" and e.path.lower() == poll_path
                ]
                steps += self._polls(recorded_poll[0], recorded_polls, actual)
        return steps

    def _compare(self, recorded: Entry, actual: Response, local: Entry) -> list[Difference]:
        return compare_response(
            recorded.status,
            recorded.response_headers,
            recorded.response_body,
            actual.status,
            actual.headers,
            actual.body,
            self._spec(local, recorded.status),
        )

    def _polls(self, header: str, recorded: list[Entry], started: Response) -> list[Step]:
        emulator_poll = _poll_url(started.headers)
        if emulator_poll is None or not recorded:
            return []  # the start step already reports the missing polling header
        name, url = emulator_poll
        polls = self._follow(name, url)
        steps: list[Step] = []
        in_progress, final = polls[:-1], polls[-1]
        rec_progress, rec_final = recorded[:-1], recorded[-1]
        if in_progress and rec_progress:
            rep = self._localize(rec_progress[0])
            for n, resp in enumerate(in_progress):
                steps.append(
                    Step(
                        f"  poll {n + 1} via {name} (in progress)", self._compare(rec_progress[0], resp, rep)
                    )
                )
        step = Step(f"  final poll via {name}", self._compare(rec_final, final, self._localize(rec_final)))
        rec_state, act_state = _state(rec_final.response_body), _state(final.body)
        if rec_state != act_state:
            step.differences.append(
                Difference("body/status", f"operation ended {act_state!r}, Azure's {rec_state!r}")
            )
        steps.append(step)
        return steps

    def _follow(self, header: str, url: str) -> list[Response]:
        polls: list[Response] = []
        for _ in range(self.max_polls):
            resp = self.send("GET", url)
            polls.append(resp)
            if header == "Azure-AsyncOperation":
                if resp.status != 200 or str(_state(resp.body)).lower() in TERMINAL:
                    return polls
            elif resp.status != 202:
                return polls
            else:
                url = _header(resp.headers, "Location") or url
            time.sleep(0.02)
        raise AssertionError(f"{header} polling of {url} did not finish after {self.max_polls} polls")


def _state(body: Any) -> Any:
    return body.get("status") if isinstance(body, dict) else None


def report(steps: list[Step]) -> str:
    failing = [s for s in steps if s.differences]
    return "\n".join(
        [f"{len(failing)} of {len(steps)} replayed steps differ from the recording:", *map(str, failing)]
    )
