"""ARM clients keep one TLS connection for all their requests when a CA bundle is configured
(azure-core's own ``connection_verify=<path>`` opened a new connection per request)."""

from __future__ import annotations

from pathlib import Path

from aitk_inference.core.azure.clients import storage_client, subscription_client
from aitk_inference.core.azure.cloud import Cloud

from tests.azure_emulator.server import Emulator


def established_client_sockets(server_port: int) -> int:
    """Open TCP connections from this machine to 127.0.0.1:``server_port`` (client ends)."""
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        remote, state = fields[2], fields[3]
        if state == "01" and int(remote.split(":")[1], 16) == server_port:  # 01: ESTABLISHED
            count += 1
    return count


async def test_arm_client_reuses_one_connection(
    emulator: Emulator, cloud: Cloud, credential: object, azure_env: dict[str, str]
) -> None:
    assert azure_env["REQUESTS_CA_BUNDLE"]  # the path the per-request SSL context came from
    async with subscription_client(credential, cloud) as client:  # type: ignore[arg-type]
        for _ in range(5):
            subscriptions = [s async for s in client.subscriptions.list()]
            assert subscriptions
        assert established_client_sockets(emulator.arm_port) == 1
    assert established_client_sockets(emulator.arm_port) == 0  # closed with the client


async def test_each_client_has_its_own_session(
    emulator: Emulator, cloud: Cloud, credential: object, azure_env: dict[str, str]
) -> None:
    sub_id = emulator.settings.subscriptions[0]["subscriptionId"]
    async with (
        storage_client(credential, sub_id, cloud) as storage,  # type: ignore[arg-type]
        subscription_client(credential, cloud) as subs,  # type: ignore[arg-type]
    ):
        for _ in range(3):
            assert [a async for a in storage.storage_accounts.list()] == []
            assert [s async for s in subs.subscriptions.list()]
        assert established_client_sockets(emulator.arm_port) == 2
