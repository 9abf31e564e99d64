"""Jobs through submit → queue → worker → completed, measured against a real `augment serve`.

Prints: jobs/s for no-op jobs (async submit, many in flight), p50/p99 of a synchronous
call, how soon the service is ready after it starts, and its RSS. Everything runs on 127.0.0.1; the load comes from this
process, the service and nats-server are separate processes.

    .venv/bin/python bench/jobs.py [--jobs 2000] [--in-flight 64] [--sync-calls 300]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.machine import describe, rss_mib
from bot.jetstream.embedded import EmbeddedNats
from tests.fixtures.service import free_port, wait_until_up

DEADLINE_SECONDS = 600


async def throughput(session: aiohttp.ClientSession, url: str, jobs: int, in_flight: int) -> float:
    slots = asyncio.Semaphore(in_flight)

    async def submit() -> None:
        async with slots, session.post(url + "/diagnostics/ping", json={"async_mode": True}) as response:
            assert response.status == 202, await response.text()

    started = time.perf_counter()
    await asyncio.gather(*(submit() for _ in range(jobs)))
    while time.perf_counter() - started < DEADLINE_SECONDS:
        async with session.get(url + "/jobs", params={"status": "completed", "limit": "1"}) as response:
            if (await response.json())["total"] >= jobs:
                return jobs / (time.perf_counter() - started)
        await asyncio.sleep(0.02)
    raise SystemExit("jobs did not complete in time")


async def sync_latency(session: aiohttp.ClientSession, url: str, calls: int) -> list[float]:
    latencies = []
    for _ in range(calls):
        started = time.perf_counter()
        async with session.post(url + "/diagnostics/ping", json={}) as response:
            assert response.status == 200, await response.text()
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def main(arguments: argparse.Namespace) -> None:
    print(describe())
    with tempfile.TemporaryDirectory() as workdir:
        async with EmbeddedNats(Path(workdir) / "nats") as nats_server:
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            env = {**os.environ, **nats_server.client_environment(), "SERVER_PORT": str(port),
                   "SANDBOX_ENABLED": "false", "LOG_LEVEL": "warning",
                   "LIMITS_CONCURRENCY": str(arguments.concurrency)}  # fmt: skip
            launched = time.perf_counter()
            service = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "serve", env=env, cwd=workdir)
            try:
                async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=arguments.in_flight)) as session:
                    await wait_until_up(session, url, path="/health/ready", poll_seconds=0.01)
                    ready = time.perf_counter() - launched
                    idle_rss, _ = rss_mib(service.pid)
                    await sync_latency(session, url, 20)  # warm up
                    rate = await throughput(session, url, arguments.jobs, arguments.in_flight)
                    latencies = await sync_latency(session, url, arguments.sync_calls)
                    rss, peak = rss_mib(service.pid)
            finally:
                service.terminate()
                await asyncio.wait_for(service.wait(), 60)
    print(f"throughput: {arguments.jobs} no-op jobs, {arguments.in_flight} in flight, worker concurrency "
          f"{arguments.concurrency}: {rate:,.0f} jobs/s")  # fmt: skip
    print(f"sync call (POST /diagnostics/ping, sequential, n={len(latencies)}): "
          f"p50 {statistics.median(latencies):.1f} ms, p99 {percentile(latencies, 0.99):.1f} ms")  # fmt: skip
    print(f"ready (GET /health/ready answers 200) {ready:.2f} s after the process started")
    print(f"service RSS: idle {idle_rss:.0f} MiB, after the run {rss:.0f} MiB, peak {peak:.0f} MiB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--in-flight", type=int, default=64)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--sync-calls", type=int, default=300)
    asyncio.run(main(parser.parse_args()))
