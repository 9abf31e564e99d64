"""The long-running processes: `serve` (API + workers), `api` (one process or several:
`bot.cli.api_processes`), and `worker`."""

from __future__ import annotations

import asyncio
import errno
import os
import pickle
import signal
import socket
import sys
from functools import partial

import structlog
from aiohttp import web

from bot import plugins
from bot.app import create_app
from bot.cli.api_processes import First, Further, check
from bot.cli.collector import tune_for_serving
from bot.cli.event_loop import new_event_loop
from bot.config import ConfigError, Settings
from bot.jetstream.connect import NatsUnavailableError
from bot.jetstream.embedded import EmbeddedNatsError
from bot.jetstream.provision import ProvisionError
from bot.jobs.worker import Worker
from bot.logs import configure_logging
from bot.runtime import Runtime
from bot.worker_health import WorkerHealthServer

log = structlog.get_logger("augment")

STARTUP_ERRORS = (NatsUnavailableError, EmbeddedNatsError, ProvisionError, ConfigError)


def serve(settings: Settings) -> None:
    if settings.server.processes > 1:
        raise ConfigError(
            "server.processes (env SERVER_PROCESSES): `augment api` only; `augment serve` runs in one process "
            "(for more, run `augment api` and `augment worker`)"
        )
    _run_app(settings, with_worker=True)


def api(settings: Settings) -> None:
    check(settings)
    _run_app(
        settings, with_worker=False, several=First(settings.server.processes) if settings.server.processes > 1 else None
    )


def further() -> None:
    """One of the other processes of `augment api` with server.processes > 1: the first's
    settings arrive pickled on stdin (`bot.cli.api_processes`)."""
    settings: Settings = pickle.load(sys.stdin.buffer)
    configure_logging(settings.log.level, settings.log.format, settings.secrets())
    _run_app(settings, with_worker=False, several=Further())


def worker(settings: Settings) -> None:
    if not settings.nats.servers:
        sys.exit("config error: nats.url (env NATS_URL): `augment worker` needs the NATS server the API uses")
    try:
        with asyncio.Runner(loop_factory=partial(new_event_loop, settings.server.event_loop)) as runner:
            tune_for_serving()
            runner.run(_work(settings))
    except STARTUP_ERRORS as err:
        sys.exit(f"augment worker could not start: {err}")


def _run_app(settings: Settings, *, with_worker: bool, several: First | Further | None = None) -> None:
    """Serve until SIGTERM or SIGINT. `several`: this process is one of several on the port."""
    host, port = settings.server.host, settings.server.port
    loopback = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host
    app = create_app(settings, with_worker=with_worker, sandbox_webhook_url=f"http://{loopback}:{port}/webhooks/jira")
    if not isinstance(several, Further):  # the first process checked the port for the others
        _check_port(host, port)  # before NATS and the sandbox start (on startup), not after
    loop = new_event_loop(settings.server.event_loop)
    tune_for_serving()
    if several is not None:
        several.prepare(app, loop)
    log.info(
        "augment starting",
        url=f"http://{host}:{port}",
        docs=f"http://{host}:{port}/docs",
        workers=with_worker,
        event_loop=type(loop).__module__.split(".")[0],
        **({} if several is None else {"pid": os.getpid()}),
    )
    try:
        web.run_app(
            app,
            host=host,
            port=port,
            access_log=None,
            print=None,
            loop=loop,
            handle_signals=several is None,  # several: their own handlers (`bot.cli.api_processes`)
            reuse_port=several is not None or None,
        )
    except STARTUP_ERRORS as err:
        sys.exit(f"augment could not start: {err}")
    except OSError as err:
        if err.errno not in BIND_ERRNOS:
            raise
        sys.exit(_cannot_listen(host, port, err))
    if several is not None:
        several.finish()


BIND_ERRNOS = (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL)


def _check_port(host: str, port: int) -> None:
    """Exit with one line when server.host:port cannot be listened on (busy, privileged, not here)."""
    if port == 0:
        return
    try:
        addresses = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except OSError as err:
        sys.exit(f"augment could not start: server.host {host!r} (env SERVER_HOST): {err}")
    for family, kind, proto, _, address in addresses:
        with socket.socket(family, kind, proto) as probe:
            # As aiohttp binds: a port left in TIME_WAIT by a previous run is free.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as err:
                if err.errno in BIND_ERRNOS:
                    sys.exit(_cannot_listen(host, port, err))
                # Anything else (e.g. IPv6 off): leave it to the server's own bind.


def _cannot_listen(host: str, port: int, err: OSError) -> str:
    reason = {errno.EADDRINUSE: "the port is in use (another augment?)"}.get(err.errno or 0, err.strerror)
    return (
        f"augment could not start: cannot listen on {host}:{port}: {reason}; "
        "set server.port (env SERVER_PORT) or stop what listens there"
    )


async def _work(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    runtime = await Runtime.open(settings, name="augment-worker", with_sandbox=False)
    health = WorkerHealthServer(runtime, settings)
    try:
        worker = Worker(runtime, plugins.pipelines())
        await worker.start()
        try:
            await health.start()  # once the worker takes jobs: an answer means it runs
            if settings.worker.health_port:
                log.info("worker health", url=f"http://{settings.server.host}:{settings.worker.health_port}/health")
            await stop.wait()
            log.info("stopping: draining running jobs")
        finally:
            await worker.stop()
    finally:
        await health.stop()
        await runtime.close()
