"""The command line on a first run: every ending is one line and a conventional exit code.

Each test runs the real `augment` (`python -m bot`) in a subprocess, in an empty directory (no
config.yaml, no .env) and with no AUGMENT_/SERVER_/SANDBOX_ variables of the test's own. Waits are
for output, never for time; every read is bounded.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from aiohttp.test_utils import TestClient

from bot.cli.jobs import _tickets, progress_line
from bot.config import TriggerRule
from tests.fixtures.service import finished, wait_for_job

EXAMPLE = Path(__file__).resolve().parent.parent / "config.yaml.example"
SECONDS = 60


def clean_env(**extra: str) -> dict[str, str]:
    prefixes = ("AUGMENT_", "SERVER_", "SANDBOX_", "COLUMNS")
    env = {key: value for key, value in os.environ.items() if not key.startswith(prefixes)}
    return {**env, **extra}


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port on 127.0.0.1 that something else listens on."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


async def augment(*args: str, env: dict[str, str], cwd: Path, stdin: int | None = None) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, env=env, cwd=cwd, stdin=stdin,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(process.communicate(), SECONDS)
    return process.returncode or 0, stdout.decode(), stderr.decode()


async def read_until(stream: asyncio.StreamReader, marker: bytes) -> bytes:
    """What the stream says up to and including `marker` (bounded: SECONDS, then the test fails)."""
    seen = b""
    async with asyncio.timeout(SECONDS):
        while marker not in seen:
            chunk = await stream.read(4096)
            assert chunk, f"the stream ended before {marker!r}: {seen!r}"
            seen += chunk
    return seen


def api_url(client: TestClient) -> str:
    return str(client.make_url("")).rstrip("/")


# --- augment serve ---------------------------------------------------------------------


async def test_a_busy_main_port_is_one_line(busy_port: int, tmp_path: Path) -> None:
    env = clean_env(SERVER_PORT=str(busy_port), SANDBOX_JIRA_PORT="0", SANDBOX_LLM_PORT="0")
    code, _, err = await augment("serve", env=env, cwd=tmp_path)
    assert code == 1
    assert "Traceback" not in err
    assert err.strip().splitlines() == [
        f"augment could not start: cannot listen on 127.0.0.1:{busy_port}: the port is in use (another augment?); "
        "set server.port (env SERVER_PORT) or stop what listens there"
    ]
    assert not (tmp_path / ".augment").exists(), "nothing started before the port was checked"


# --- augment hash-password -------------------------------------------------------------


async def test_hash_password_without_a_terminal_says_to_use_stdin(tmp_path: Path) -> None:
    # A new session has no controlling terminal: getpass reads standard input, here empty.
    code, out, err = await augment("hash-password", env=clean_env(), cwd=tmp_path, stdin=subprocess.DEVNULL)
    assert code == 1
    assert out == ""
    assert "Traceback" not in err
    assert "no password given" in err and "--stdin" in err


async def test_ctrl_c_at_the_password_prompt_exits_130(tmp_path: Path) -> None:
    primary, secondary = os.openpty()
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "hash-password", env=clean_env(), cwd=tmp_path,
            stdin=secondary, stdout=secondary, stderr=secondary, start_new_session=True,
        )  # fmt: skip
        os.close(secondary)
        seen = b""
        async with asyncio.timeout(SECONDS):
            while b"Password: " not in seen:
                seen += await asyncio.to_thread(os.read, primary, 4096)
        process.send_signal(signal.SIGINT)
        code = await asyncio.wait_for(process.wait(), SECONDS)
        rest = b""
        try:
            while chunk := os.read(primary, 4096):
                rest += chunk
        except OSError:  # EIO: the terminal's last reader left
            pass
    finally:
        os.close(primary)
    assert code == 130
    assert b"Traceback" not in seen + rest and b"KeyboardInterrupt" not in seen + rest


# --- augment jobs ----------------------------------------------------------------------


async def test_jobs_follow_server_port_and_url_after_the_action(client: TestClient, tmp_path: Path) -> None:
    job = await (await client.post("/diagnostics/ping", json={"async_mode": True, "ticket_key": "DEMO-41"})).json()
    await wait_for_job(client, job["job_id"], finished)
    port = str(client.make_url("").port)

    code, out, err = await augment("jobs", "list", env=clean_env(SERVER_PORT=port), cwd=tmp_path)
    assert (code, err) == (0, "")
    assert job["job_id"] in out

    # config.yaml's server section, as `augment serve` here would read it
    (tmp_path / "config.yaml").write_text(f"server:\n  port: {port}\n")
    code, out, _ = await augment("jobs", "show", job["job_id"], env=clean_env(), cwd=tmp_path)
    assert code == 0 and '"DEMO-41"' in out

    nowhere = clean_env(AUGMENT_URL="http://127.0.0.1:9")
    code, out, err = await augment("jobs", "list", "--url", api_url(client), env=nowhere, cwd=tmp_path)
    assert (code, err) == (0, "")
    assert job["job_id"] in out
    code, out, _ = await augment("jobs", "show", job["job_id"], "--url", api_url(client), env=nowhere, cwd=tmp_path)
    assert code == 0 and job["job_id"] in out
    code, _, err = await augment("jobs", "--url", api_url(client), "list", env=nowhere, cwd=tmp_path)
    assert (code, err) == (0, "")
    # `augment teams` shares the options: after the action too, and SERVER_PORT
    code, out, err = await augment("teams", "list", "--url", api_url(client), env=nowhere, cwd=tmp_path)
    assert (code, err) == (0, "") and out.strip().endswith("teams")
    code, out, err = await augment("teams", "export", env=clean_env(SERVER_PORT=port), cwd=tmp_path)
    assert (code, err) == (0, "") and out.startswith("teams:")


async def test_jobs_list_pages_with_the_cursor_it_prints(client: TestClient, tmp_path: Path) -> None:
    ids = []
    for number in range(3):
        body = {"async_mode": True, "ticket_key": f"DEMO-{50 + number}"}
        job = await (await client.post("/diagnostics/ping", json=body)).json()
        await wait_for_job(client, job["job_id"], finished)
        ids.append(job["job_id"])
    env = clean_env(AUGMENT_URL=api_url(client))

    code, out, _ = await augment("jobs", "list", "--limit", "2", env=env, cwd=tmp_path)
    assert code == 0
    last = out.strip().splitlines()[-1]
    match = re.search(r"--cursor (\S+)", last)
    assert last.startswith("2 of 3 jobs") and match, last
    assert ids[2] in out and ids[1] in out and ids[0] not in out

    code, out, _ = await augment("jobs", "list", "--limit", "2", "--cursor", match.group(1), env=env, cwd=tmp_path)
    assert code == 0
    assert ids[0] in out and ids[2] not in out
    assert "--cursor" not in out


def test_a_batch_of_tickets_is_cut_to_the_room_there_is() -> None:
    keys = [f"DEMO-{number}" for number in range(1, 51)]
    shown = _tickets(keys, 30)
    assert len(shown) <= 30
    assert shown.startswith("DEMO-1,DEMO-2") and shown.endswith(" more")
    assert int(re.search(r"\+(\d+) more", shown).group(1)) == 50 - shown.split(" ")[0].count(",") - 1  # type: ignore[union-attr]
    assert _tickets(["DEMO-1", "DEMO-2"], 30) == "DEMO-1,DEMO-2"
    assert _tickets([], 30) == "-"


async def test_jobs_show_into_a_reader_that_left_is_quiet(client: TestClient, tmp_path: Path) -> None:
    job = await (await client.post("/diagnostics/ping", json={"async_mode": True})).json()
    await wait_for_job(client, job["job_id"], finished)
    env = clean_env(AUGMENT_URL=api_url(client))

    # `| head -1` as the shell runs it: whether head leaves before or after the write, no traceback.
    command = f"{sys.executable} -m bot jobs show {job['job_id']} | head -1"
    process = await asyncio.create_subprocess_shell(
        command, env=env, cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), SECONDS)
    assert stdout.decode() == "{\n"
    assert stderr.decode() == ""

    # A reader that left before the first write: the write fails for certain.
    reading, writing = os.pipe()
    os.close(reading)
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "jobs", "show", job["job_id"], env=env, cwd=tmp_path,
            stdout=writing, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
    finally:
        os.close(writing)
    _, stderr = await asyncio.wait_for(process.communicate(), SECONDS)
    assert process.returncode == 141
    assert stderr.decode() == ""


async def test_watch_fits_80_columns_and_shows_time_and_spend(client: TestClient, tmp_path: Path) -> None:
    job = await (
        await client.post("/diagnostics/ping", json={"async_mode": True, "steps": 6, "step_seconds": 0.1})
    ).json()
    env = clean_env(AUGMENT_URL=api_url(client), COLUMNS="80")
    code, _, err = await augment("jobs", "watch", job["job_id"], env=env, cwd=tmp_path)
    assert code == 0
    lines = err.splitlines()  # \r and \n alike
    assert lines and all(len(line) <= 80 for line in lines), [len(line) for line in lines]
    final = [line for line in lines if line.strip()][-1]
    assert "6/6 100.0% completed" in final
    assert re.search(r"completed \d+:\d\d 0 tok \$0\.0000", final), final


async def test_ctrl_c_in_watch_exits_130(client: TestClient, tmp_path: Path) -> None:
    job = await (
        await client.post("/diagnostics/ping", json={"async_mode": True, "steps": 200, "step_seconds": 0.1})
    ).json()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "jobs", "watch", job["job_id"], env=clean_env(AUGMENT_URL=api_url(client)),
        cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    assert process.stderr is not None
    seen = await read_until(process.stderr, b"\r[")  # the first frame is drawn
    process.send_signal(signal.SIGINT)
    _, rest = await asyncio.wait_for(process.communicate(), SECONDS)
    assert process.returncode == 130
    assert b"Traceback" not in seen + rest
    await client.delete(f"/jobs/{job['job_id']}")


def test_progress_line_has_elapsed_eta_tokens_and_cost_in_its_width() -> None:
    job = {
        "status": "processing",
        "progress": {"processed": 5, "total": 20, "percent": 25.0, "message": "describing DEMO-7 " * 10},
        "usage": {"input_tokens": 1000, "output_tokens": 234, "cost_usd": 0.0123},
        "created_at": "2026-01-01T10:00:00Z",
        "started_at": "2026-01-01T10:00:00Z",
    }
    now = datetime(2026, 1, 1, 10, 1, 0, tzinfo=UTC)
    for width in (40, 80, 200):
        line = progress_line(job, width, now)
        assert len(line) == width - 1
    line = progress_line(job, 80, now)
    assert "] 5/20  25.0% processing 1:00 ETA 3:00 1,234 tok $0.0123 describing" in line
    assert line.rstrip().endswith("…")
    assert "\n" not in progress_line({**job, "progress": {**job["progress"], "message": "a\nb"}}, 80, now)


# --- augment sandbox -------------------------------------------------------------------


async def test_sandbox_prints_the_settings_for_serve_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    env = clean_env(SANDBOX_JIRA_PORT="0", SANDBOX_LLM_PORT="0")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "sandbox", env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    assert process.stdout is not None
    banner = (await read_until(process.stdout, b"SIGTERM stops.")).decode()
    process.send_signal(signal.SIGINT)
    rest, err = await asyncio.wait_for(process.communicate(), SECONDS)
    assert process.returncode == 0
    assert rest.decode().strip() == "Stopped."
    assert "Traceback" not in err.decode()

    settings = dict(re.findall(r"^([A-Z_]+)=(\S+)$", banner, re.MULTILINE))
    jira = settings["JIRA_URL"]
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", jira) and not jira.endswith((":8001", ":0"))
    assert settings["CONFLUENCE_URL"] == f"{jira}/wiki"
    assert settings["JIRA_EMAIL"] == settings["CONFLUENCE_EMAIL"] == "augment-bot@example.com"
    assert settings["JIRA_TOKEN"] == settings["CONFLUENCE_TOKEN"]
    assert settings["OPENAI_BASE_URL"].endswith("/openai/v1") and settings["OPENAI_API_KEY"]
    assert "{" not in banner, "no Python dict"
    assert "prd customfield_" in banner


async def test_sandbox_takes_its_ports_from_the_environment(busy_port: int, tmp_path: Path) -> None:
    env = clean_env(SANDBOX_JIRA_PORT=str(busy_port), SANDBOX_LLM_PORT="0")
    code, out, err = await augment("sandbox", env=env, cwd=tmp_path)
    assert code == 1
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert err.startswith(f"augment sandbox could not start: cannot listen on 127.0.0.1 port {busy_port} (Jira)")

    code, _, err = await augment("sandbox", env=clean_env(SANDBOX_JIRA_PORT="eighty"), cwd=tmp_path)
    assert code == 2 and "--jira-port: invalid int value: 'eighty'" in err


# --- config.yaml.example ---------------------------------------------------------------


def test_the_example_config_turns_on_no_rule_and_its_commented_rules_are_valid() -> None:
    text = EXAMPLE.read_text()
    assert yaml.safe_load(text)["triggers"]["rules"] == []
    section = text[text.index("\ntriggers:") : text.index("\n  max_runs_per_ticket_per_hour")]
    uncommented = re.sub(r"^    # (- |  )", r"    \1", section, flags=re.MULTILINE)
    rules = yaml.safe_load(uncommented.replace("rules: []", "rules:"))["triggers"]["rules"]
    assert len(rules) >= 3
    lines = section.splitlines()
    for rule in rules:
        TriggerRule.model_validate(rule)
        said = lines[lines.index(f"    # - name: {rule['name']}") - 1]  # the comment above each rule
        assert said.startswith("    # Writes:" if rule["action"]["update_jira"] else "    # Preview:"), said
