"""`augment jobs list|show|cancel|watch` against a running API."""

from __future__ import annotations

import asyncio
import json
import os
import sys

from aiohttp.test_utils import TestClient

from tests.fixtures.service import finished, wait_for_job


async def augment(client: TestClient, *args: str) -> tuple[int, str, str]:
    env = {**os.environ, "AUGMENT_URL": str(client.make_url("")).rstrip("/")}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "jobs", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode or 0, stdout.decode(), stderr.decode()


async def test_list_show_and_cancel(client: TestClient) -> None:
    done = await (await client.post("/diagnostics/ping", json={"async_mode": True, "ticket_key": "DEMO-40"})).json()
    await wait_for_job(client, done["job_id"], finished)
    running = await (
        await client.post("/diagnostics/ping", json={"async_mode": True, "steps": 100, "step_seconds": 0.1})
    ).json()

    code, out, _ = await augment(client, "list")
    assert code == 0
    assert done["job_id"] in out and running["job_id"] in out
    assert "DEMO-40" in out
    assert out.strip().endswith("2 of 2 jobs")

    code, out, _ = await augment(client, "list", "--status", "completed")
    assert running["job_id"] not in out

    code, out, _ = await augment(client, "show", done["job_id"])
    assert code == 0
    assert json.loads(out)["status"] == "completed"

    code, out, _ = await augment(client, "cancel", running["job_id"])
    assert code == 0
    assert out.strip() == f"Job {running['job_id']} cancelled successfully"

    code, _, err = await augment(client, "cancel", done["job_id"])
    assert code == 1
    assert "HTTP 409" in err and "already completed" in err


async def test_watch_draws_progress_until_the_end(client: TestClient) -> None:
    job = await (
        await client.post("/diagnostics/ping", json={"async_mode": True, "steps": 10, "step_seconds": 0.15})
    ).json()
    code, _, err = await augment(client, "watch", job["job_id"])
    assert code == 0
    frames = err.split("\r")
    assert any("/10" in frame and "processing" in frame for frame in frames)
    assert "10/10 100.0% completed" in frames[-1]


async def test_watch_exits_1_when_the_job_fails(client: TestClient) -> None:
    job = await (await client.post("/diagnostics/ping", json={"async_mode": True, "fail_attempts": 9})).json()
    code, _, err = await augment(client, "watch", job["job_id"])
    assert code == 1
    assert "job failed: ping failed on purpose" in err


async def test_unreachable_api_is_one_clear_line() -> None:
    env = {**os.environ, "AUGMENT_URL": "http://127.0.0.1:9"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "jobs", "list", env=env, stderr=asyncio.subprocess.PIPE
    )
    _, stderr = await process.communicate()
    assert process.returncode == 1
    assert stderr.decode().startswith("cannot reach Augment at http://127.0.0.1:9")
