"""Webhook intake and comment-command overhead, against real `augment` processes on 127.0.0.1.

1. Intake: `augment api` (no workers) with its own nats-server; the load comes from a
   separate process (this script with `--load`). Prints webhooks/s with p50/p99 at a fixed
   offered rate and at saturation, then checks that every accepted webhook is in
   `AUGMENT_EVENTS` exactly once.
2. Intake under `wrk` (Debian's, when it is installed): the same `augment api`, and beside it
   an empty aiohttp handler on uvloop under the same load, which is the ceiling of the load
   generator and this machine for any Python service; then the count check again. wrk cannot
   sign a body, so these deliveries use the URL token (`webhooks.url_token`) instead of the
   signature; each carries its own identifier. `--processes N` runs `augment api` as N processes
   on the one port (server.processes, SO_REUSEPORT; they all use the bench's nats-server).
3. Comment commands: `augment serve` aimed at a sandbox in this process, LLM latency 0.
   Prints p50/p99 from posting `/augment describe` to the bot's acknowledgement comment, and to
   the job's preview comment, each as the moment the sandbox Jira sends that comment's
   `comment_created` webhook to a listener of this script (polling the comments would add its
   own interval to every figure). One command at a time: the next once the preview is posted.

    .venv/bin/python bench/webhooks.py [--rate 300] [--seconds 10] [--connections 64] [--commands 40]
                                       [--only intake|wrk|commands] [--processes 1]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import aiohttp.web
import nats
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.machine import describe
from bot.config import Settings
from bot.jetstream import layout
from bot.jetstream.embedded import EmbeddedNats
from bot.runtime import subscribe_to_sandbox
from sandbox import Sandbox
from tests.fixtures.service import free_port, listening_sockets, wait_until_up

SECRET = "bench-secret"
DEADLINE_SECONDS = 120


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def summary(name: str, latencies: list[float], seconds: float) -> str:
    return (
        f"{name}: {len(latencies)} accepted in {seconds:.1f} s = {len(latencies) / seconds:,.0f} webhooks/s; "
        f"p50 {statistics.median(latencies):.1f} ms, p99 {percentile(latencies, 0.99):.1f} ms"
    )


# --- the load process -------------------------------------------------------------------


def delivery(number: int) -> tuple[bytes, dict[str, str]]:
    key = f"BENCH-{number + 1}"
    issue = {"id": str(10_000 + number), "key": key, "self": f"http://127.0.0.1/rest/api/2/issue/{key}", "fields": {}}
    body = json.dumps(
        {"webhookEvent": "jira:issue_created", "timestamp": int(time.time() * 1000), "issue": issue}
    ).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Atlassian-Webhook-Identifier": str(uuid.uuid4()),
        "X-Hub-Signature": "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest(),
    }
    return body, headers


async def post(session: aiohttp.ClientSession, url: str, number: int, latencies: list[float]) -> None:
    body, headers = delivery(number)
    started = time.perf_counter()
    async with session.post(url, data=body, headers=headers) as response:
        assert response.status == 202, await response.text()
    latencies.append((time.perf_counter() - started) * 1000)


async def load(url: str, rate: int, seconds: float, connections: int) -> None:
    """Open loop at `rate`/s, then closed loop with `connections` in flight; prints JSON."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=connections)) as session:
        fixed: list[float] = []
        started = time.perf_counter()
        tasks = []
        for number in range(int(rate * seconds)):
            await asyncio.sleep(max(0.0, started + number / rate - time.perf_counter()))
            tasks.append(asyncio.create_task(post(session, url, number, fixed)))
        await asyncio.gather(*tasks)
        fixed_seconds = time.perf_counter() - started

        saturated: list[float] = []
        offset = len(fixed)
        next_number = iter(range(offset, offset + 1_000_000))
        stop_at = time.perf_counter() + seconds

        async def worker() -> None:
            while time.perf_counter() < stop_at:
                await post(session, url, next(next_number), saturated)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        saturated_seconds = time.perf_counter() - started
    print(json.dumps({"fixed": [fixed, fixed_seconds], "saturated": [saturated, saturated_seconds]}))


# --- the measuring process ---------------------------------------------------------------


async def intake(arguments: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as workdir:
        async with EmbeddedNats(Path(workdir) / "nats") as nats_server:
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            env = {**os.environ, **nats_server.client_environment(), "SERVER_PORT": str(port),
                   "SANDBOX_ENABLED": "false", "LOG_LEVEL": "warning", "WEBHOOKS_SECRET": SECRET}  # fmt: skip
            service = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "api", env=env, cwd=workdir)
            try:
                async with aiohttp.ClientSession() as session:
                    await wait_until_up(session, url)
                loader = await asyncio.create_subprocess_exec(
                    sys.executable, __file__, "--load", url + "/webhooks/jira", "--rate", str(arguments.rate),
                    "--seconds", str(arguments.seconds), "--connections", str(arguments.connections),
                    stdout=asyncio.subprocess.PIPE,
                )  # fmt: skip
                output, _ = await asyncio.wait_for(loader.communicate(), DEADLINE_SECONDS)
                assert loader.returncode == 0, "the load process failed"
                figures = json.loads(output)
                in_stream = await distinct_events(nats_server)
            finally:
                service.terminate()
                await asyncio.wait_for(service.wait(), 60)
    fixed, fixed_seconds = figures["fixed"]
    saturated, saturated_seconds = figures["saturated"]
    accepted = len(fixed) + len(saturated)
    print(summary(f"intake at a fixed {arguments.rate}/s offered", fixed, fixed_seconds))
    print(summary(f"intake at saturation ({arguments.connections} connections)", saturated, saturated_seconds))
    print(f"count check: {accepted} accepted, {in_stream[0]} in AUGMENT_EVENTS, {in_stream[1]} distinct identifiers: "
          f"{'OK' if accepted == in_stream[0] == in_stream[1] else 'MISMATCH'}")  # fmt: skip


async def distinct_events(server: EmbeddedNats) -> tuple[int, int]:
    """(messages, distinct webhook identifiers) on the Jira event subjects."""
    connection = await nats.connect(server.url, **server.credentials.connect_options())
    try:
        js = connection.jetstream()
        subscription = await js.pull_subscribe(layout.JIRA_EVENTS, durable=None, stream=layout.EVENTS_STREAM)
        identifiers: list[str] = []
        while True:
            try:
                messages = await subscription.fetch(batch=1000, timeout=1)
            except nats.errors.TimeoutError:
                break
            for message in messages:
                identifiers.append(message.headers["Augment-Webhook-Identifier"])
                await message.ack()
        return len(identifiers), len(set(identifiers))
    finally:
        await connection.close()


WRK_SCRIPT = """
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
function init(args)
  counter = 0
end
function request()
  counter = counter + 1
  wrk.headers["X-Atlassian-Webhook-Identifier"] = "wrk-" .. tid .. "-" .. counter
  return wrk.format()
end
"""
URL_TOKEN = "bench-url-token"


async def wrk_intake(arguments: argparse.Namespace) -> None:
    if shutil.which("wrk") is None:
        print("wrk: not installed (apt install wrk): skipped")
        return
    with tempfile.TemporaryDirectory() as workdir:
        script = Path(workdir) / "webhooks.lua"
        body, _ = delivery(0)
        setup = f"wrk.method = 'POST'\nwrk.body = {json.dumps(body.decode())}\n"
        setup += "wrk.headers['Content-Type'] = 'application/json'\n"
        script.write_text(setup + WRK_SCRIPT)
        port = free_port()
        empty = await asyncio.create_subprocess_exec(sys.executable, __file__, "--empty-handler", str(port))
        try:
            async with aiohttp.ClientSession() as session:
                await wait_until_up(session, f"http://127.0.0.1:{port}")
            ceiling = await run_wrk(arguments, script, f"http://127.0.0.1:{port}/webhooks/jira")
        finally:
            empty.terminate()
            await asyncio.wait_for(empty.wait(), 60)
        async with EmbeddedNats(Path(workdir) / "nats") as nats_server:
            port = free_port()
            env = {**os.environ, **nats_server.client_environment(), "SERVER_PORT": str(port),
                   "SANDBOX_ENABLED": "false", "LOG_LEVEL": "warning", "WEBHOOKS_URL_TOKEN": URL_TOKEN,
                   "SERVER_PROCESSES": str(arguments.processes)}  # fmt: skip
            service = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "api", env=env, cwd=workdir)
            try:
                async with aiohttp.ClientSession() as session:
                    await wait_until_up(session, f"http://127.0.0.1:{port}")
                await all_listening(port, arguments.processes)
                figures = await run_wrk(arguments, script, f"http://127.0.0.1:{port}/webhooks/jira?token={URL_TOKEN}")
                in_stream = await distinct_events(nats_server)
            finally:
                service.terminate()
                await asyncio.wait_for(service.wait(), 60)
    api = "augment api" if arguments.processes == 1 else f"augment api, {arguments.processes} processes"
    for name, measured in (("empty aiohttp handler (the ceiling)", ceiling), (api, figures)):
        print(f"wrk, {arguments.connections} connections, {arguments.seconds:g} s, {name}: "
              f"{measured['rate']:,.0f} requests/s; p50 {measured['p50']}, p99 {measured['p99']}; "
              f"{measured['refused']} not 2xx")  # fmt: skip
    # wrk stops reading at the deadline: up to one request per connection was accepted unseen.
    accepted, (events, distinct) = figures["requests"] - figures["refused"], in_stream
    good = accepted <= events <= accepted + arguments.connections and events == distinct
    print(f"count check: {accepted} accepted as wrk saw (+ at most {arguments.connections} in flight at its "
          f"deadline), {events} in AUGMENT_EVENTS, {distinct} distinct identifiers: "
          f"{'OK' if good else 'MISMATCH'}")  # fmt: skip


async def all_listening(port: int, processes: int) -> None:
    """The first process answers before the others listen: wait for a socket of each."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while len(listening_sockets(port)) < processes:
        assert time.monotonic() < deadline, f"{processes} processes never listened on {port}"
        await asyncio.sleep(0.1)


async def run_wrk(arguments: argparse.Namespace, script: Path, url: str) -> dict[str, Any]:
    """wrk's requests/s, p50/p99 and answers that were not 2xx, from its report."""
    done = await asyncio.create_subprocess_exec(
        "wrk", "-t1", f"-c{arguments.connections}", f"-d{arguments.seconds:g}s", "--latency", "-s", str(script), url,
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    output, _ = await asyncio.wait_for(done.communicate(), DEADLINE_SECONDS)
    report = output.decode()
    assert done.returncode == 0, report

    def found(pattern: str) -> str:
        match = re.search(pattern, report, re.MULTILINE)
        return match.group(1) if match else "0"

    return {
        "rate": float(found(r"^Requests/sec:\s+([\d.]+)")),
        "requests": int(found(r"^\s+(\d+) requests in")),
        "refused": int(found(r"Non-2xx or 3xx responses: (\d+)")),
        "p50": found(r"^\s+50%\s+(\S+)"),
        "p99": found(r"^\s+99%\s+(\S+)"),
    }


def empty_handler(port: int) -> None:
    """What any Python service could answer at most here: a 202 and nothing else, on uvloop."""

    async def accepted(request: aiohttp.web.Request) -> aiohttp.web.Response:
        await request.read()
        return aiohttp.web.json_response({"status": "accepted"}, status=202)

    async def up(request: aiohttp.web.Request) -> aiohttp.web.Response:
        return aiohttp.web.json_response({"status": "ready"})

    app = aiohttp.web.Application()
    app.router.add_post("/webhooks/jira", accepted)
    app.router.add_get("/", up)
    uvloop.install()
    aiohttp.web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


async def commands(arguments: argparse.Namespace) -> None:
    port, listener_port = free_port(), free_port()
    url = f"http://127.0.0.1:{port}"
    acknowledged = Acknowledgements()
    async with Sandbox() as sandbox, aiohttp.ClientSession() as session, acknowledged.listening(listener_port):
        bot, admin = sandbox.bot, sandbox.admin
        auth = {"Authorization": aiohttp.encode_basic_auth(admin.email, admin.api_token)}
        hook = {"name": "bench", "url": f"http://127.0.0.1:{listener_port}/", "events": ["comment_created"]}
        async with session.post(f"{sandbox.jira_url}/rest/webhooks/1.0/webhook", json=hook, headers=auth) as answer:
            answer.raise_for_status()
        with tempfile.TemporaryDirectory() as workdir:
            env = {**os.environ, "SERVER_PORT": str(port), "LOG_LEVEL": "warning", "SANDBOX_ENABLED": "false",
                   "JIRA_URL": sandbox.jira_url, "JIRA_EMAIL": bot.email, "JIRA_TOKEN": bot.api_token,
                   "OPENAI_API_KEY": "bench", "OPENAI_BASE_URL": f"{sandbox.llm_url}/openai/v1",
                   "WEBHOOKS_SECRET": SECRET, "COMMANDS_USERS": '["*"]', "COMMANDS_PROJECTS": '["*"]',
                   # One person types every command here: the per-person rate limit would refuse most.
                   "COMMANDS_MAX_PER_USER_PER_MINUTE": "1000"}  # fmt: skip
            service = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "serve", env=env, cwd=workdir)
            try:
                await wait_until_up(session, url)
                await subscribe_to_sandbox(
                    sandbox, Settings.model_validate({"webhooks": {"secret": SECRET}}), f"{url}/webhooks/jira"
                )
                timings = [
                    await command_round_trip(session, sandbox.jira_url, auth, acknowledged)
                    for _ in range(arguments.commands)
                ]
            finally:
                service.terminate()
                await asyncio.wait_for(service.wait(), 60)
    for name, latencies in (("acknowledgement comment", [ack for ack, _ in timings]),
                            ("the preview's comment", [answer for _, answer in timings])):  # fmt: skip
        print(f"comment command (/augment describe → {name}, LLM latency 0, n={len(latencies)}): "
              f"p50 {statistics.median(latencies):.0f} ms, p99 {percentile(latencies, 0.99):.0f} ms")  # fmt: skip


class Acknowledgements:
    """The bot's comments on the benchmark's tickets, as the sandbox Jira announces them by webhook:
    the acknowledgement of a command, then the job's answer (the preview)."""

    def __init__(self) -> None:
        self._waiting: dict[tuple[str, str], asyncio.Future[float]] = {}

    def expect(self, key: str, text: str) -> asyncio.Future[float]:
        future = self._waiting[key, text] = asyncio.get_running_loop().create_future()
        return future

    async def receive(self, request: aiohttp.web.Request) -> aiohttp.web.Response:
        arrived = time.perf_counter()
        payload = await request.json()
        key, body = payload.get("issue", {}).get("key", ""), payload.get("comment", {}).get("body", "")
        for (expected_key, text), future in self._waiting.items():
            if expected_key == key and text in body and not future.done():
                future.set_result(arrived)
        return aiohttp.web.Response(status=204)

    @contextlib.asynccontextmanager
    async def listening(self, port: int) -> AsyncIterator[None]:
        app = aiohttp.web.Application()
        app.router.add_post("/", self.receive)
        runner = aiohttp.web.AppRunner(app, access_log=None)
        await runner.setup()
        await aiohttp.web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            yield
        finally:
            await runner.cleanup()


async def command_round_trip(
    session: aiohttp.ClientSession, jira: str, auth: dict[str, str], acknowledged: Acknowledgements
) -> tuple[float, float]:
    """(ms to the acknowledgement, ms to the preview). The next command is sent once this one's job
    has answered, so each acknowledgement is timed on a service that is not still working off
    the jobs of the commands before it."""
    fields = {"project": {"key": "DEMO"}, "issuetype": {"name": "Task"}, "summary": "Bench command"}
    async with session.post(f"{jira}/rest/api/2/issue", json={"fields": fields}, headers=auth) as response:
        key = (await response.json())["key"]
    acknowledgement = acknowledged.expect(key, "Writing a description")
    preview = acknowledged.expect(key, "Preview: a description")
    started = time.perf_counter()
    async with session.post(
        f"{jira}/rest/api/2/issue/{key}/comment", json={"body": "/augment describe"}, headers=auth
    ) as response:
        assert response.status == 201
    try:
        acknowledged_at = await asyncio.wait_for(acknowledgement, DEADLINE_SECONDS)
        previewed_at = await asyncio.wait_for(preview, DEADLINE_SECONDS)
    except TimeoutError:
        raise SystemExit(f"no acknowledgement or no preview on {key}") from None
    return (acknowledged_at - started) * 1000, (previewed_at - started) * 1000


async def main(arguments: argparse.Namespace) -> None:
    print(describe())
    for name, phase in (("intake", intake), ("wrk", wrk_intake), ("commands", commands)):
        if arguments.only in (None, name):
            await phase(arguments)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=int, default=300, help="offered webhooks/s in the fixed-rate phase")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--commands", type=int, default=40)
    parser.add_argument("--only", choices=["intake", "wrk", "commands"], help="run one phase")
    parser.add_argument("--processes", type=int, default=1, help="`augment api` processes in the wrk phase")
    parser.add_argument("--load", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--empty-handler", metavar="PORT", type=int, help=argparse.SUPPRESS)
    parsed = parser.parse_args()
    if parsed.empty_handler:
        empty_handler(parsed.empty_handler)
    elif parsed.load:
        asyncio.run(load(parsed.load, parsed.rate, parsed.seconds, parsed.connections))
    else:
        asyncio.run(main(parsed))
