"""`augment sandbox`: prints where it listens, serves, and stops on SIGTERM or SIGINT, saving its data.

SIGINT is ignored by the child before it starts, as it is for a background job or on
some CI runners: the sandbox must stop on it all the same.
"""

from __future__ import annotations

import base64
import json
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.fixtures.service import free_port

START_SECONDS = 30.0
STOP_SECONDS = 15.0
ADMIN = ("alex@example.com", "ATATT3xSandboxAdminToken02")
# Runs the rest of the command line with SIGINT ignored, inherited through exec.
WITH_SIGINT_IGNORED = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); os.execv(sys.argv[1], sys.argv[1:])"
)


def wait_for_output(log: Path, text: str, process: subprocess.Popen[bytes]) -> str:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline and process.poll() is None:
        output = log.read_text()
        if text in output:
            return output
        time.sleep(0.05)
    raise AssertionError(f"the sandbox never printed {text!r}; output: {log.read_text()}")


def add_comment(jira_port: int, body: str) -> None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{jira_port}/rest/api/2/issue/DEMO-3/comment",
        data=json.dumps({"body": body}).encode(),
        headers={
            "Content-Type": "application/json",
            "Authorization": "Basic " + base64.b64encode(":".join(ADMIN).encode()).decode(),
        },
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_the_sandbox_stops_on_a_signal_and_saves_its_snapshot(tmp_path: Path, signum: signal.Signals) -> None:
    jira_port, llm_port = free_port(), free_port()
    snapshot = tmp_path / "site.json"
    log = tmp_path / "sandbox.log"
    command = [sys.executable, "-c", WITH_SIGINT_IGNORED, sys.executable, "-u", "-m", "bot", "sandbox"]
    arguments = ["--jira-port", str(jira_port), "--llm-port", str(llm_port), "--snapshot", str(snapshot)]
    with log.open("w") as output:
        process = subprocess.Popen([*command, *arguments], stdout=output, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        printed = wait_for_output(log, "Ctrl-C", process)
        assert f"http://127.0.0.1:{jira_port}" in printed
        assert "augment-bot@example.com" in printed
        add_comment(jira_port, "a change made before the stop")
        snapshot.unlink()  # what is there after the stop was written by the stop

        process.send_signal(signum)
        assert process.wait(timeout=STOP_SECONDS) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=STOP_SECONDS)
    assert "Stopped." in log.read_text()
    assert "a change made before the stop" in snapshot.read_text()
