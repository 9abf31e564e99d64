"""`augment api` as several processes on one port: `server.processes` (SERVER_PROCESSES, --processes).

The rules:
- Each process is a full `augment api` (webhooks, REST, its own job watch) listening on
  server.host:server.port with SO_REUSEPORT: the kernel spreads new connections between them.
- More than one needs an external NATS (nats.url): the embedded nats-server belongs to the one
  process that starts it. It also needs a fixed server.port (with 0 each would pick its own) and a
  platform with SO_REUSEPORT. `check` refuses anything else with one config-error line.
- The first process checks the port, opens its runtime (so the streams are provisioned once), then
  starts the others: `python -c` of `bot.cli.processes.further`, with the first's effective
  settings pickled on their stdin. The config file, .env, environment and flags are so read once,
  by the first; a sandbox the first started serves them all (its made-up webhook secret included);
  secrets go through a pipe, never a command line or an environment.
- Their stdin stays open while the first lives: when it ends, however (SIGKILL too), they stop.
- SIGTERM or SIGINT to the first: it sends SIGTERM to the others, each drains as `augment api`
  does, and the first waits for them up to STOP_SECONDS, then kills what is left. The others ignore
  SIGINT: a terminal's Ctrl-C, which reaches the whole process group, stops them once, through the
  first. In every process a second signal during the drain is ignored (aiohttp's own handler would
  cut the drain short).
- Another process that ends while the first is not stopping (a crash, a kill, a failed start): the
  first logs it, stops the others and exits 1. Nothing is restarted in place: an orchestrator
  (systemd `Restart=`, Kubernetes) restarts the whole, as it restarts a single `augment api`.
- /metrics: each process answers with its own counters; which one answers a scrape is the kernel's
  choice. No figures are summed across processes.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import signal
import socket
import sys
from collections.abc import AsyncIterator

import structlog
from aiohttp import web

from bot.config import ConfigError, Settings
from bot.services import SERVICES

log = structlog.get_logger("augment")

# aiohttp's time for open requests to end (run_app's shutdown_timeout), and then closing NATS.
STOP_SECONDS = 75.0
# SIGINT is ignored before anything is imported: Ctrl-C reaches these processes through the first.
FURTHER_CODE = (
    "import signal; signal.signal(signal.SIGINT, signal.SIG_IGN); from bot.cli.processes import further; further()"
)


def check(settings: Settings) -> None:
    """Raise ConfigError when `augment api` cannot run server.processes processes here."""
    count = settings.server.processes
    if count == 1:
        return
    key = f"server.processes (env SERVER_PROCESSES) is {count}"
    if not settings.nats.servers:
        raise ConfigError(
            f"{key}: several processes need an external NATS in nats.url (env NATS_URL); "
            "the embedded nats-server belongs to one process"
        )
    if settings.server.port == 0:
        raise ConfigError(f"{key}: several processes need a fixed server.port (env SERVER_PORT), not 0")
    if not hasattr(socket, "SO_REUSEPORT"):
        raise ConfigError(f"{key}: several processes share the port with SO_REUSEPORT, which this platform lacks")


class First:
    """The first process: it serves, starts the others once its runtime is open, and stops them."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.stopping = False
        self.failure: str | None = None
        self._others: list[asyncio.subprocess.Process] = []
        self._watching: list[asyncio.Task[None]] = []

    def prepare(self, app: web.Application, loop: asyncio.AbstractEventLoop) -> None:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.stop)
        # After the app's own lifecycle: the others start once this process's runtime is open.
        app.cleanup_ctx.append(self._supervise)

    def stop(self) -> None:
        """Start the drain here and in the others; a loop callback, so GracefulExit reaches run_app."""
        if self.stopping:
            return
        self._signal_others()
        raise web.GracefulExit

    def finish(self) -> None:
        """After run_app: exit 1 when another process ended on its own."""
        if self.failure:
            sys.exit(f"augment api stopped: {self.failure}; the other processes were stopped")

    def _signal_others(self) -> None:
        self.stopping = True
        for process in self._others:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)

    async def _supervise(self, app: web.Application) -> AsyncIterator[None]:
        settings = app[SERVICES].settings  # effective: aimed at the sandbox this process runs, if any
        shared = settings.model_copy(update={"sandbox": settings.sandbox.model_copy(update={"enabled": "false"})})
        payload = pickle.dumps(shared)
        try:
            for _ in range(self.count - 1):
                process = await asyncio.create_subprocess_exec(
                    sys.executable, "-c", FURTHER_CODE, stdin=asyncio.subprocess.PIPE
                )
                self._others.append(process)
                assert process.stdin is not None, "created with stdin=PIPE"
                process.stdin.write(payload)  # and left open: its end tells the process this one is gone
                await process.stdin.drain()
        except BaseException:  # a stop during the start cancels it, and no teardown follows: wait here
            self._signal_others()
            await self._wait_for_others()
            raise
        # Watched from here on: one that ends now stops a start that is complete (teardown included).
        self._watching = [asyncio.create_task(self._watch(process)) for process in self._others]
        log.info("augment api processes", count=self.count, pids=[os.getpid(), *(p.pid for p in self._others)])
        yield
        if not self.stopping:  # run_app ended without a signal (an error): stop the others all the same
            self._signal_others()
        await self._wait_for_others()

    async def _watch(self, process: asyncio.subprocess.Process) -> None:
        code = await process.wait()
        if self.stopping:
            if code != 0:
                log.warning("an augment api process stopped uncleanly", pid=process.pid, exit_code=code)
            return
        self.failure = f"process {process.pid} ended ({_exit_status(code)})"
        log.error("an augment api process ended: stopping the others", pid=process.pid, exit_code=code)
        asyncio.get_running_loop().call_soon(self.stop)

    async def _wait_for_others(self) -> None:
        running = [asyncio.ensure_future(process.wait()) for process in self._others]
        if running:
            await asyncio.wait(running, timeout=STOP_SECONDS)
        for process in self._others:
            if process.returncode is None:
                log.warning(
                    "an augment api process did not stop in time: killed", pid=process.pid, seconds=STOP_SECONDS
                )
                process.kill()
                await process.wait()


class Further:
    """One of the others: it serves, and stops on SIGTERM or when the first process is gone."""

    def __init__(self) -> None:
        self.stopping = False

    def prepare(self, app: web.Application, loop: asyncio.AbstractEventLoop) -> None:
        loop.add_signal_handler(signal.SIGTERM, self.stop)
        loop.add_reader(sys.stdin.fileno(), self._first_gone, loop)

    def stop(self) -> None:
        if self.stopping:
            return
        self.stopping = True
        raise web.GracefulExit

    def finish(self) -> None:
        """Nothing to report: the first process reports how the others ended."""

    def _first_gone(self, loop: asyncio.AbstractEventLoop) -> None:
        # The first never writes after the settings: stdin readable means its end of the pipe closed.
        loop.remove_reader(sys.stdin.fileno())  # an ended pipe stays readable: once is enough
        if not self.stopping:
            log.warning("the first augment api process is gone: stopping")
        self.stop()


def _exit_status(code: int) -> str:
    if code < 0:
        return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"
