"""Team-based tasks for an epic of 20 stories, in preview, with the sandbox LLM answering in 300 ms.

Two processes on 127.0.0.1: this one runs the sandbox (Jira, Confluence, LLMs), creates an
epic and its stories, asks `POST /plan/tasks/team-based` for all of them and follows the job;
`augment serve`, pointed at the sandbox with its own embedded nats-server, does the work (one
LLM call per story, at most `llm.concurrency` at a time). Prints the wall time, the bound the
concurrency sets (ceil(stories / concurrency) x latency), their ratio, and the service's peak RSS.

    .venv/bin/python bench/planning.py [--stories 20] [--latency-ms 300] [--concurrency 8]
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

DEADLINE_SECONDS = 600


async def create(session: aiohttp.ClientSession, jira: str, admin: dict[str, str], fields: dict) -> str:
    async with session.post(f"{jira}/rest/api/2/issue", json={"fields": fields}, headers=admin) as response:
        assert response.status == 201, await response.text()
        return (await response.json())["key"]


async def create_epic(session: aiohttp.ClientSession, jira: str, admin: dict[str, str], count: int) -> list[str]:
    """A new epic and `count` stories under it; the story keys."""
    project = {"key": "DEMO"}
    epic = await create(session, jira, admin, {"project": project, "issuetype": {"name": "Epic"},
                                               "summary": "Bench: self-serve billing"})  # fmt: skip
    return [
        await create(
            session,
            jira,
            admin,
            {
                "project": project,
                "issuetype": {"name": "Story"},
                "parent": {"key": epic},
                "summary": f"Bench story {number}: invoices by email",
                "description": "As a customer I want my invoices by email.",
            },
        )  # fmt: skip
        for number in range(count)
    ]


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
                   "LLM_CONCURRENCY": str(arguments.concurrency)}  # fmt: skip
            service = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "serve", env=env, cwd=workdir)
            try:
                async with aiohttp.ClientSession() as session:
                    await wait_until_up(session, api)
                    stories = await create_epic(session, sandbox.jira_url, admin_auth, arguments.stories)
                    faults = {"latency_ms": arguments.latency_ms}
                    async with session.put(f"{sandbox.llm_url}/_sandbox/llm/faults", json=faults) as response:
                        assert response.status == 200
                    body = {"story_keys": stories, "async_mode": True}
                    started = time.perf_counter()
                    async with session.post(f"{api}/plan/tasks/team-based", json=body) as response:
                        assert response.status == 202, await response.text()
                        job_id = (await response.json())["job_id"]
                    job = await follow(session, f"{api}/jobs/{job_id}")
                    wall = time.perf_counter() - started
                    _, peak = rss_mib(service.pid)
            finally:
                service.terminate()
                await asyncio.wait_for(service.wait(), 60)
    if job["status"] != "completed":
        raise SystemExit(f"the job {job['status']}: {job.get('error')}")
    bound = math.ceil(arguments.stories / arguments.concurrency) * arguments.latency_ms / 1000
    statistics = job["result"]["summary_statistics"]
    print(f"team-based tasks (preview): {arguments.stories} stories, {statistics['total_tasks']} tasks, "
          f"{statistics['total_estimated_days']:g} man-days, {len(statistics['by_team'])} teams")  # fmt: skip
    print(f"wall time {wall:.2f} s; bound for llm.concurrency {arguments.concurrency} at {arguments.latency_ms} ms: "
          f"{bound:.2f} s; ratio {wall / bound:.2f}")  # fmt: skip
    usage = job["usage"]
    print(f"service peak RSS: {peak:.0f} MiB; tokens {usage['input_tokens'] + usage['output_tokens']:,}")


async def follow(session: aiohttp.ClientSession, url: str) -> dict:
    deadline = time.perf_counter() + DEADLINE_SECONDS
    while time.perf_counter() < deadline:
        async with session.get(url) as response:
            job = await response.json()
        if job["status"] in ("completed", "failed", "cancelled"):
            return job
        await asyncio.sleep(0.05)
    raise SystemExit("the job did not finish in time")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stories", type=int, default=20)
    parser.add_argument("--latency-ms", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    asyncio.run(main(parser.parse_args()))
