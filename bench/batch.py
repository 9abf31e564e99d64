"""A 1,000-ticket description batch against the sandbox, with the LLM answering in 300 ms.

Two processes on 127.0.0.1: this one runs the sandbox (Jira, Confluence, LLMs), creates
the tickets, starts the batch and follows it; `augment serve`, pointed at the sandbox with
its own embedded nats-server, does the work. Prints the wall time, the ideal time for the configured
concurrency (ceil(tickets / concurrency) x latency), their ratio, and the service's peak RSS.

    .venv/bin/python bench/batch.py [--tickets 1000] [--latency-ms 300] [--concurrency 16] [--update]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.machine import describe, rss_mib
from sandbox import Sandbox
from tests.fixtures.service import free_port, wait_until_up

DEADLINE_SECONDS = 1800
LABEL = "bench"


async def create_tickets(session: aiohttp.ClientSession, jira: str, admin: str, count: int) -> None:
    slots = asyncio.Semaphore(16)

    async def create(number: int) -> None:
        fields = {"project": {"key": "DEMO"}, "issuetype": {"name": "Story"}, "summary": f"Bench story {number}",
                  "labels": [LABEL], "parent": {"key": "DEMO-1"}}  # fmt: skip
        async with slots, session.post(f"{jira}/rest/api/2/issue", json={"fields": fields}, headers=admin) as response:
            assert response.status == 201, await response.text()

    await asyncio.gather(*(create(number) for number in range(count)))


async def main(arguments: argparse.Namespace) -> None:
    print(describe())
    api = f"http://127.0.0.1:{free_port()}"
    async with Sandbox() as sandbox:
        bot, admin = sandbox.bot, sandbox.admin
        admin_auth = {"Authorization": aiohttp.encode_basic_auth(admin.email, admin.api_token)}
        with tempfile.TemporaryDirectory() as workdir:
            env = {**os.environ, "SERVER_PORT": api.rsplit(":", 1)[1], "LOG_LEVEL": "warning",
                   "SANDBOX_ENABLED": "false", "JIRA_URL": sandbox.jira_url, "JIRA_EMAIL": bot.email,
                   "JIRA_TOKEN": bot.api_token, "OPENAI_API_KEY": "bench",
                   "OPENAI_BASE_URL": f"{sandbox.llm_url}/openai/v1",
                   "GENERATION_BATCH_CONCURRENCY": str(arguments.concurrency),
                   "LLM_CONCURRENCY": str(arguments.concurrency)}  # fmt: skip
            service = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "serve", env=env, cwd=workdir)
            try:
                async with aiohttp.ClientSession() as session:
                    await wait_until_up(session, api)
                    await create_tickets(session, sandbox.jira_url, admin_auth, arguments.tickets)
                    faults = {"latency_ms": arguments.latency_ms}
                    async with session.put(f"{sandbox.llm_url}/_sandbox/llm/faults", json=faults) as response:
                        assert response.status == 200
                    # A one-ticket batch first: the first LLM call imports the provider's SDK (about
                    # 0.3 s), once per process, which is not what a batch of 1,000 costs.
                    warm_up = {"jql": f"labels = {LABEL}", "max_results": 1}
                    async with session.post(f"{api}/generate/batch", json=warm_up) as response:
                        assert response.status == 202, await response.text()
                        await follow(session, f"{api}/jobs/{(await response.json())['job_id']}")
                    body = {"jql": f"labels = {LABEL}", "max_results": arguments.tickets}
                    body["update_jira"] = arguments.update
                    started = time.perf_counter()
                    async with session.post(f"{api}/generate/batch", json=body) as response:
                        assert response.status == 202, await response.text()
                        job_id = (await response.json())["job_id"]
                    job = await follow(session, f"{api}/jobs/{job_id}")
                    wall = time.perf_counter() - started
                    _, peak = rss_mib(service.pid)
            finally:
                service.terminate()
                await asyncio.wait_for(service.wait(), 60)
    ideal = math.ceil(arguments.tickets / arguments.concurrency) * arguments.latency_ms / 1000
    mode = "update" if arguments.update else "preview"
    print(f"batch ({mode}): {job['processed_tickets']} tickets, {job['successful_tickets']} successful, "
          f"{job['failed_tickets']} failed, {job['skipped_tickets']} skipped; status {job['status']}")  # fmt: skip
    print(f"wall time {wall:.1f} s; ideal for concurrency {arguments.concurrency} at {arguments.latency_ms} ms: "
          f"{ideal:.1f} s; ratio {wall / ideal:.2f}")  # fmt: skip
    print(f"service peak RSS: {peak:.0f} MiB; tokens {job['usage']['total_tokens']:,}")


async def follow(session: aiohttp.ClientSession, url: str) -> dict:
    deadline = time.perf_counter() + DEADLINE_SECONDS
    while time.perf_counter() < deadline:
        async with session.get(url) as response:
            job = await response.json()
        if job["status"] in ("completed", "failed", "cancelled"):
            return job
        await asyncio.sleep(0.02)  # the wall time is read to this interval
    raise SystemExit("the batch did not finish in time")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=1000)
    parser.add_argument("--latency-ms", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--update", action="store_true", help="write the descriptions (default: preview)")
    asyncio.run(main(parser.parse_args()))
