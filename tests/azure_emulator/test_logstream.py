"""The log stream host and the app actions behind it, through the real SDK and raw HTTP: tokens,
``tailLines`` bounds, a stopped app's replicas, a followed stream closed when the replica goes."""

from __future__ import annotations

import asyncio
import ssl
import time

import aiohttp
from azure.mgmt.appcontainers.aio import ContainerAppsAPIClient

from tests.azure_emulator.server import Emulator
from tests.azure_emulator.test_containerapps import RG, aca, app_body, cred, make_env, wait_for  # noqa: F401


async def _replica_endpoint(client: ContainerAppsAPIClient) -> str:
    revisions = [r async for r in client.container_apps_revisions.list_revisions(RG, "app")]
    replicas = await client.container_apps_revision_replicas.list_replicas(RG, "app", revisions[0].name)
    return str(replicas.value[0].containers[0].log_stream_endpoint)


async def test_tokens_tail_bounds_and_stop_start(emulator: Emulator, aca: ContainerAppsAPIClient) -> None:  # noqa: F811
    client = aca
    env = await make_env(client)
    app = await (await client.container_apps.begin_create_or_update(RG, "app", app_body(env.id))).result()
    assert app.event_stream_endpoint == (
        f"{emulator.logstream_url}/subscriptions/{app.id.split('/')[2]}/resourceGroups/{RG}/containerApps/app/eventstream"
    )
    url = await _replica_endpoint(client)
    assert url.startswith(emulator.logstream_url) and url.endswith("/containers/app/logstream")
    token = (await client.container_apps.get_auth_token(RG, "app")).token
    assert token
    ctx = ssl.create_default_context(cafile=str(emulator.ca_path))
    auth = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession() as session:
        async with session.get(url, params={"tailLines": "301"}, headers=auth, ssl=ctx) as resp:
            assert resp.status == 400
            assert (await resp.json())["error"]["message"] == "tailLines must be between 0 and 300."
        # The quickstart runtime has no console output: the connection lines only, then the end.
        async with session.get(
            url, params={"tailLines": "5", "follow": "false"}, headers=auth, ssl=ctx
        ) as resp:
            assert resp.status == 200
            text = await resp.text()
        assert text.splitlines()[0].split(" ", 1)[1] == "Connecting to the container 'app'..."
        async with session.get(app.event_stream_endpoint, headers=auth, ssl=ctx) as resp:
            assert resp.status == 200 and '"RevisionName"' in await resp.text()

        # A followed stream ends when the app stops (its replica goes away).
        async with session.get(url, params={"follow": "true"}, headers=auth, ssl=ctx) as resp:
            assert resp.status == 200
            await resp.content.readline()
            started = time.monotonic()
            stopped = await (await client.container_apps.begin_stop(RG, "app")).result()
            assert stopped.running_status == "Stopped"
            await asyncio.wait_for(resp.read(), 5)
            assert time.monotonic() - started < 5
        async with session.get(url, headers=auth, ssl=ctx) as resp:
            assert resp.status == 404
    revisions = [r async for r in client.container_apps_revisions.list_revisions(RG, "app")]
    replicas = await client.container_apps_revision_replicas.list_replicas(RG, "app", revisions[0].name)
    assert replicas.value == [] and revisions[0].replicas == 0

    started_app = await (await client.container_apps.begin_start(RG, "app")).result()
    assert started_app.running_status == "Running"

    async def running() -> bool:
        r = await client.container_apps_revisions.get_revision(RG, "app", revisions[0].name)
        return bool(r.running_state == "Running")

    await wait_for(running)
