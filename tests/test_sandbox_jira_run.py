"""``run()``, behind ``augment sandbox``: prints where it listens, serves, stops on Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request

from tests.fixtures.service import free_port


def test_run_serves_until_interrupted(tmp_path) -> None:
    jira_port, llm_port = free_port(), free_port()
    snapshot = tmp_path / "site.json"
    code = (
        "from pathlib import Path; from bot.sandbox import run; "
        f"run('127.0.0.1', {jira_port}, {llm_port}, Path({str(snapshot)!r}))"
    )
    process = subprocess.Popen(
        [sys.executable, "-u", "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        lines = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any("Ctrl-C" in line for line in lines):
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
        output = "".join(lines)
        assert f"http://127.0.0.1:{jira_port}" in output
        assert "augment-bot@example.com" in output
        with urllib.request.urlopen(f"http://127.0.0.1:{jira_port}/rest/api/2/serverInfo", timeout=10) as response:
            assert response.status == 200
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
        process.stdout.close()
    assert process.returncode == 0
    assert snapshot.exists()
