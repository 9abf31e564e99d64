"""Logging in to NATS: the embedded server refuses strangers; a configured one takes credentials."""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import nats
import pytest
from nats.errors import Error as NatsError

from bot.app import create_app
from bot.config import ConfigError, load_settings
from bot.jetstream.connect import NatsUnavailableError
from bot.jetstream.embedded import read_client_url
from bot.runtime import Runtime
from tests.fixtures.nats import NatsServer, make_settings
from tests.fixtures.service import finished, free_port, service_environment, wait_for_job, wait_until_up

USER, PASSWORD, TOKEN = "augment-test", "a-password-of-the-test", "a-token-of-the-test"


async def _quiet(_: Exception) -> None:
    """nats-py prints a traceback for every refused connection without an error callback."""


async def connect_once(url: str, **credentials: str) -> nats.NATS:
    return await nats.connect(url, allow_reconnect=False, connect_timeout=2, error_cb=_quiet, **credentials)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def command_line(pid: int) -> str:
    """What `ps` shows every local user."""
    return Path(f"/proc/{pid}/cmdline").read_bytes().decode()


async def test_the_embedded_nats_refuses_clients_without_its_made_up_credentials(
    augment_processes: Callable[..., Any], tmp_path: Path
) -> None:
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("NATS_")}
    env.update(SERVER_PORT=str(port), SANDBOX_ENABLED="false", LOG_FORMAT="json", LOG_LEVEL="info")
    service = augment_processes("serve", env)
    async with aiohttp.ClientSession() as session:
        await wait_until_up(session, f"http://127.0.0.1:{port}")
        async with session.post(f"http://127.0.0.1:{port}/diagnostics/ping", json={"steps": 1}) as response:
            assert response.status == 200  # the service itself logs in

    store = tmp_path / ".augment" / "nats"
    nats_url = read_client_url(store / "ports")
    assert nats_url is not None
    with pytest.raises(NatsError, match="Authorization Violation"):
        await connect_once(nats_url)
    with pytest.raises(NatsError, match="Authorization Violation"):
        await connect_once(nats_url, user="augment", password="a-guess")

    config = store / "nats-server.conf"
    assert mode(config) & 0o077 == 0, "only its owner may read the server's config"
    assert mode(store) & 0o077 == 0, "only its owner may read the job store"
    password = re.search(r'password: "([^"]+)"', config.read_text())
    assert password is not None
    owner = await connect_once(nats_url, user="augment", password=password.group(1))
    await owner.close()

    started = next(
        json.loads(line)
        for line in service.output.splitlines()
        if line.startswith("{") and json.loads(line)["event"] == "embedded nats-server started"
    )
    assert password.group(1) not in command_line(started["pid"]), "ps shows every process's command line"
    assert service.terminate() == 0
    assert password.group(1) not in service.output
    assert not config.exists()


@pytest.fixture
def guarded_nats(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[NatsServer]:
    """A nats-server of its own that wants user/password or a token (`request.param`)."""
    server = NatsServer(tmp_path / "guarded-nats")
    server.start(extra=["--user", USER, "--pass", PASSWORD] if request.param == "password" else ["--auth", TOKEN])
    yield server
    server.stop()


LOGINS = {"password": {"NATS_USER": USER, "NATS_PASSWORD": PASSWORD}, "token": {"NATS_TOKEN": TOKEN}}


@pytest.mark.parametrize("guarded_nats", ["password", "token"], indirect=True)
async def test_api_and_worker_log_in_to_a_configured_nats(
    guarded_nats: NatsServer, aiohttp_client: Callable[..., Any], augment_processes: Callable[..., Any], request
) -> None:
    login = LOGINS[request.node.callspec.params["guarded_nats"]]
    with pytest.raises(NatsError, match="Authorization Violation"):
        await connect_once(guarded_nats.url)

    nats_section = {key.removeprefix("NATS_").lower(): value for key, value in login.items()}
    settings = make_settings(guarded_nats.url, nats=nats_section)
    api = await aiohttp_client(create_app(settings, with_worker=False))
    worker = augment_processes("worker", service_environment(settings, **login))
    submitted = await api.post("/diagnostics/ping", json={"ticket_key": "DEMO-30", "async_mode": True})
    assert submitted.status == 202
    job = await wait_for_job(api, (await submitted.json())["job_id"], finished, timeout=60)
    assert job["status"] == "completed", job
    assert worker.terminate() == 0
    for secret in login.values():
        if secret != USER:
            assert secret not in worker.output


@pytest.mark.parametrize("guarded_nats", ["password"], indirect=True)
async def test_a_wrong_password_stops_the_start(guarded_nats: NatsServer) -> None:
    settings = make_settings(
        guarded_nats.url, nats={"user": USER, "password": "not-the-password", "startup_timeout_seconds": 1}
    )
    with pytest.raises(NatsUnavailableError, match="cannot reach NATS"):
        await Runtime.open(settings, name="augment-test", with_sandbox=False)


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        (
            {"NATS_CREDS_FILE": "/nowhere/augment.creds"},
            "nats.creds_file (env NATS_CREDS_FILE): /nowhere/augment.creds does not exist",
        ),
        ({"NATS_USER": USER}, "nats.password (env NATS_PASSWORD): is required when nats.user is set"),
        ({"NATS_PASSWORD": PASSWORD}, "nats.user (env NATS_USER): is required when nats.password is set"),
        (
            {"NATS_USER": USER, "NATS_PASSWORD": PASSWORD, "NATS_TOKEN": TOKEN},
            "nats.token (env NATS_TOKEN): cannot be combined with nats.user",
        ),
    ],
)
def test_nats_login_settings_are_checked_at_start(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], message: str
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert str(err.value).startswith(message)


def test_nats_secrets_are_redacted_from_logs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NATS_URL", "nats://127.0.0.1:4222")
    monkeypatch.setenv("NATS_TOKEN", TOKEN)
    assert TOKEN in load_settings().secrets()
    assert TOKEN not in repr(load_settings())
