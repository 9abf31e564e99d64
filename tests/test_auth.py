"""HTTP Basic auth with an argon2 hash from `augment hash-password`; public paths stay public."""

from __future__ import annotations

import subprocess
import sys

import aiohttp
import pytest

from bot.app import create_app
from bot.config import ConfigError
from tests.fixtures.nats import make_settings

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def password_hash() -> str:
    made = subprocess.run(
        [sys.executable, "-m", "bot", "hash-password", "--stdin"],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        check=True,
    )
    return made.stdout.strip()


def test_hash_password_makes_a_salted_argon2_hash(password_hash: str) -> None:
    again = subprocess.run(
        [sys.executable, "-m", "bot", "hash-password", "--stdin"], input=PASSWORD + "\n", capture_output=True, text=True
    ).stdout.strip()
    assert password_hash.startswith("$argon2id$")
    assert again != password_hash  # salted
    assert PASSWORD not in password_hash


def test_hash_password_refuses_a_short_password() -> None:
    made = subprocess.run(
        [sys.executable, "-m", "bot", "hash-password", "--stdin"], input="short\n", capture_output=True, text=True
    )
    assert made.returncode == 1
    assert "at least 8 characters" in made.stderr


@pytest.fixture
async def protected(aiohttp_client, nats_url: str, password_hash: str):
    settings = make_settings(nats_url, auth={"enabled": True, "username": "admin", "password_hash": password_hash})
    return await aiohttp_client(create_app(settings))


@pytest.mark.parametrize(
    "path", ["/", "/health", "/health/ready", "/docs", "/redoc", "/openapi.json", "/docs/assets/swagger-ui-bundle.js"]
)
async def test_public_paths_need_no_credentials(protected, path: str) -> None:
    response = await protected.get(path)
    assert response.status in (200, 503)  # readiness may be 503 (no Jira here), never 401


async def test_everything_else_needs_credentials(protected) -> None:
    for method, path in (("GET", "/jobs"), ("GET", "/models"), ("POST", "/diagnostics/ping"), ("DELETE", "/jobs/x")):
        response = await protected.request(method, path)
        assert response.status == 401, path
        assert response.headers["WWW-Authenticate"] == 'Basic realm="Augment"'
        assert await response.json() == {"detail": "Not authenticated"}


async def test_right_credentials_pass_and_wrong_ones_do_not(protected) -> None:
    good = {"Authorization": aiohttp.encode_basic_auth("admin", PASSWORD)}
    assert (await protected.get("/jobs", headers=good)).status == 200
    assert (await protected.get("/jobs", headers=good)).status == 200  # the remembered check
    assert (await protected.post("/diagnostics/ping", json={}, headers=good)).status == 200
    for user, password in (("admin", "nope"), ("root", PASSWORD), ("admin", PASSWORD + " ")):
        wrong = {"Authorization": aiohttp.encode_basic_auth(user, password)}
        assert (await protected.get("/jobs", headers=wrong)).status == 401
    for header in ("Basic !!!notbase64", "Bearer abc", "Basic " + "YWRtaW4="):  # the last has no colon
        assert (await protected.get("/jobs", headers={"Authorization": header})).status == 401


async def test_auth_off_by_default(client) -> None:
    assert (await client.get("/jobs")).status == 200


def test_auth_on_without_a_usable_hash_stops_with_one_line(nats_url: str) -> None:
    with pytest.raises(ConfigError) as missing:
        make_settings(nats_url, auth={"enabled": True})
    assert str(missing.value).startswith(
        "auth.password_hash (env AUTH_PASSWORD_HASH): is required when auth.enabled is true"
    )
    with pytest.raises(ConfigError) as legacy:
        make_settings(
            nats_url,
            auth={"enabled": True, "password_hash": "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"},
        )
    assert "argon2" in str(legacy.value)
