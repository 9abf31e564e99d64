"""`augment api` as several processes on one port (server.processes, SO_REUSEPORT): real
processes against the test nats-server, on a free loopback port."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import nats
import pytest

from bot.config import Settings
from bot.jetstream import layout
from tests.fixtures.service import (
    AugmentProcess,
    eventually,
    free_port,
    listening_sockets,
    service_environment,
    wait_until_up,
)

TOKEN = "processes-url-token"
# The demo administrator of the sandbox Jira (sandbox/data): a person, to create issues.
SANDBOX_ADMIN, SANDBOX_ADMIN_TOKEN = "alex@example.com", "ATATT3xSandboxAdminToken02"
ACCEPTED = re.compile(r'^augment_webhooks_total\{event="jira:issue_created",outcome="accepted"\} (\S+)$', re.MULTILINE)


class TwoProcesses:
    """`augment api` with SERVER_PROCESSES=2 on `port`, once both processes listen."""

    def __init__(self, first: AugmentProcess, port: int) -> None:
        self.first = first
        self.port = port
        self.url = f"http://127.0.0.1:{port}"

    def others(self) -> list[int]:
        return [int(pid) for pid in Path(f"/proc/{self.first.pid}/task/{self.first.pid}/children").read_text().split()]

    def listeners(self) -> set[int]:
        """The processes (of the first and its children) that hold a socket listening on the port."""
        sockets = {f"socket:[{inode}]" for inode in listening_sockets(self.port)}
        holders = set()
        for pid in (self.first.pid, *self.others()):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                try:
                    if os.readlink(fd) in sockets:
                        holders.add(pid)
                except FileNotFoundError:  # closed while listed
                    pass
        return holders

    async def post(self, session: aiohttp.ClientSession, number: int) -> str | None:
        """Deliver a webhook of its own; its identifier when the answer is 202, else None."""
        identifier = f"processes-{number}"
        issue = {"id": str(10_000 + number), "key": f"DEMO-{number + 1}", "fields": {}}
        stamp = int(datetime.now(UTC).timestamp() * 1000)
        body = {"webhookEvent": "jira:issue_created", "timestamp": stamp, "issue": issue}
        headers = {"X-Atlassian-Webhook-Identifier": identifier}
        async with session.post(f"{self.url}/webhooks/jira?token={TOKEN}", json=body, headers=headers) as response:
            return identifier if response.status == 202 else None


@pytest.fixture
async def two(augment_processes: Callable[..., AugmentProcess], settings: Settings) -> TwoProcesses:
    port = free_port()
    env = service_environment(settings, SERVER_PORT=str(port), SERVER_PROCESSES="2", WEBHOOKS_URL_TOKEN=TOKEN)
    started = TwoProcesses(augment_processes("api", env), port)
    async with aiohttp.ClientSession() as session:
        await wait_until_up(session, started.url)

    async def both_listen() -> bool:
        return len(started.listeners()) == 2

    await eventually(both_listen, "both processes listen on the port", seconds=60)
    return started


def gone(pid: int) -> bool:
    """Ended and reaped (a zombie would still be listed, with state Z)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z")
    except FileNotFoundError:
        return True


async def identifiers_in_stream(nats_url: str) -> list[str]:
    """The webhook identifier of every message on the Jira event subjects of AUGMENT_EVENTS."""
    connection = await nats.connect(nats_url)
    try:
        subscription = await connection.jetstream().pull_subscribe(
            layout.JIRA_EVENTS, durable=None, stream=layout.EVENTS_STREAM
        )
        found: list[str] = []
        while True:
            try:
                messages = await subscription.fetch(batch=500, timeout=1)
            except nats.errors.TimeoutError:
                return found
            found += [message.headers["Augment-Webhook-Identifier"] for message in messages if message.headers]
    finally:
        await connection.close()


async def test_two_processes_share_the_port_and_queue_each_webhook_once(two: TwoProcesses, nats_url: str) -> None:
    others = two.others()
    assert len(others) == 1
    assert two.listeners() == {two.first.pid, others[0]}

    # A connection per request: the kernel picks a listener per connection.
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True, limit=50)) as session:
        answered = await asyncio.gather(*(two.post(session, number) for number in range(200)))
        assert None not in answered
        counts = set()
        for _ in range(30):
            async with session.get(f"{two.url}/metrics") as response:
                found = ACCEPTED.search(await response.text())
                counts.add(float(found.group(1)) if found else 0.0)

    in_stream = await identifiers_in_stream(nats_url)
    assert sorted(in_stream) == sorted(answered)  # each once
    # Each process counts what it took: every answer is a share of the 200, none all of them.
    assert all(0 < count < 200 for count in counts), counts
    assert len(counts) == 1 or (len(counts) == 2 and sum(counts) == 200), counts
    assert two.first.terminate() == 0


async def test_sigterm_to_the_first_stops_them_all(two: TwoProcesses) -> None:
    pids = [two.first.pid, *two.others()]
    started = time.monotonic()
    assert two.first.terminate(timeout=30) == 0
    assert time.monotonic() - started < 30
    assert all(gone(pid) for pid in pids)
    assert not listening_sockets(two.port)
    starts = [json.loads(line) for line in two.first.output.splitlines() if '"augment starting"' in line]
    assert {line["pid"] for line in starts} == set(pids)


async def test_a_killed_process_stops_the_others_and_the_first_exits_1(two: TwoProcesses, nats_url: str) -> None:
    [other] = two.others()
    accepted: list[str] = []
    numbers = iter(range(1_000_000))

    async def deliver(session: aiohttp.ClientSession) -> None:
        while two.first.running():
            try:
                if identifier := await two.post(session, next(numbers)):
                    accepted.append(identifier)
            except aiohttp.ClientError:  # a connection to a process that was killed or stops
                await asyncio.sleep(0.01)

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session:
        delivering = [asyncio.create_task(deliver(session)) for _ in range(8)]

        async def some_accepted() -> bool:
            return len(accepted) >= 100

        await eventually(some_accepted, "100 webhooks were accepted")
        os.kill(other, signal.SIGKILL)
        assert await asyncio.to_thread(two.first.wait, 30) == 1
        await asyncio.wait_for(asyncio.gather(*delivering), 30)

    assert gone(other)
    assert not listening_sockets(two.port)
    assert f"augment api stopped: process {other} ended (killed by SIGKILL)" in two.first.output
    in_stream = await identifiers_in_stream(nats_url)
    assert set(accepted) <= set(in_stream)  # none of the accepted lost, before or after the kill
    assert len(in_stream) == len(set(in_stream))


async def test_the_others_stop_when_the_first_is_killed(two: TwoProcesses) -> None:
    [other] = two.others()
    two.first.kill()

    async def other_gone() -> bool:
        return gone(other)

    # An orphan is reaped by init or the reaper of this container; gone() counts a zombie as ended.
    await eventually(other_gone, "the other process stopped", seconds=30)
    assert not listening_sockets(two.port)


async def test_a_sandbox_the_first_started_serves_every_process(
    augment_processes: Callable[..., AugmentProcess], settings: Settings, nats_url: str
) -> None:
    port, jira_port = free_port(), free_port()
    env = service_environment(
        settings, SERVER_PORT=str(port), SERVER_PROCESSES="2", SANDBOX_ENABLED="true",
        SANDBOX_JIRA_PORT=str(jira_port), SANDBOX_LLM_PORT="0",
    )  # fmt: skip
    two = TwoProcesses(augment_processes("api", env), port)
    jira = f"http://127.0.0.1:{jira_port}"
    admin = {"Authorization": aiohttp.encode_basic_auth(SANDBOX_ADMIN, SANDBOX_ADMIN_TOKEN)}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session:
        await wait_until_up(session, two.url)

        async def both_listen() -> bool:
            return len(two.listeners()) == 2

        await eventually(both_listen, "both processes listen on the port", seconds=60)
        # Each process checks Jira at start: the others too are aimed at the first's sandbox.
        for _ in range(20):
            async with session.get(f"{two.url}/health") as response:
                health = await response.json()
                assert health["services"]["jira"] == "connected", health

        async def create(number: int) -> None:
            fields = {"project": {"key": "DEMO"}, "issuetype": {"name": "Task"}, "summary": f"Processes {number}"}
            async with session.post(f"{jira}/rest/api/2/issue", json={"fields": fields}, headers=admin) as response:
                assert response.status == 201, await response.text()

        await asyncio.gather(*(create(number) for number in range(20)))

        async def delivered() -> list[int] | None:
            async with session.get(f"{jira}/_sandbox/webhooks/deliveries", headers=admin) as response:
                attempts = await response.json()
            created = [attempt["status"] for attempt in attempts if attempt["event"] == "jira:issue_created"]
            return created if len(created) >= 20 else None

        statuses = await eventually(delivered, "the sandbox sent its 20 webhooks")
    # Signed with the webhook secret the first made up: whichever process took one, it was accepted.
    assert statuses == [202] * 20
    assert len(await identifiers_in_stream(nats_url)) == 20
    assert two.first.terminate() == 0


@pytest.mark.parametrize(
    ("arguments", "env", "error"),
    [
        (
            ["api", "--processes", "2"],
            {},
            "server.processes (env SERVER_PROCESSES) is 2: several processes need an external NATS in nats.url "
            "(env NATS_URL); the embedded nats-server belongs to one process",
        ),
        (
            ["api"],
            {"SERVER_PROCESSES": "3", "NATS_URL": "nats://127.0.0.1:9", "SERVER_PORT": "0"},
            "server.processes (env SERVER_PROCESSES) is 3: several processes need a fixed server.port "
            "(env SERVER_PORT), not 0",
        ),
        (
            ["serve"],
            {"SERVER_PROCESSES": "2"},
            "server.processes (env SERVER_PROCESSES): `augment api` only; `augment serve` runs in one process "
            "(for more, run `augment api` and `augment worker`)",
        ),
        (
            ["api", "--processes", "0"],
            {},
            "server.processes (env SERVER_PROCESSES): Input should be greater than or equal to 1",
        ),
    ],
)
async def test_what_cannot_run_several_processes_is_one_config_error(
    arguments: list[str], env: dict[str, str], error: str, tmp_path: Path
) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *arguments, env={**os.environ, **env}, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 1
    assert stderr.decode() == f"config error: {error}\n"
    assert not stdout
