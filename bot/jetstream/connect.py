"""Connect to NATS: wait for it at start, then reconnect forever, whatever closed the connection."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable

import structlog
from nats import errors
from nats.aio.client import AUTHORIZATION_VIOLATION, PERMISSIONS_ERR, STALE_CONNECTION, Client

from bot import metrics
from bot.jetstream.credentials import ConnectOptions, NatsCredentials

log = structlog.get_logger(__name__)

RECONNECT_WAIT_SECONDS = 1
CONNECT_TIMEOUT_SECONDS = 2
DRAIN_TIMEOUT_SECONDS = 5


class NatsUnavailableError(Exception):
    pass


ReconnectHook = Callable[[], Awaitable[None]]


class ReconnectingClient(Client):
    """A client that survives the server closing its connection over a protocol error.

    nats-py closes the client for good on any `-ERR` but a stale connection — for example
    'Maximum Control Line Exceeded' after one over-long subject — although the server only
    dropped this connection. Here such an error is reported, then handled like a dropped
    socket: reconnect. A stale connection, bad credentials and any error while connecting or
    draining (the client is closing anyway) keep nats-py's handling; a permission error is
    reported and the connection kept, as the server keeps it (the server capitalises it,
    'Permissions Violation', which nats-py's own check misses).
    """

    async def _process_err(self, err_msg: str) -> None:
        kind = err_msg.lower()
        kept = STALE_CONNECTION in kind or AUTHORIZATION_VIOLATION in kind
        if kept or self.is_connecting or self.is_draining:
            await super()._process_err(err_msg)
            return
        error = errors.Error(f"nats: {err_msg.strip()}")
        await self._error_cb(error)
        if PERMISSIONS_ERR not in kind:
            await self._process_op_err(error)


class _ConnectionEvents:
    """Log connection changes (not the disconnect that closing causes) and run reconnect hooks."""

    def __init__(self, on_reconnected: list[ReconnectHook]) -> None:
        self.client: Client | None = None
        self._on_reconnected = on_reconnected
        self._hooks_running: set[asyncio.Task[None]] = set()

    async def error(self, err: Exception) -> None:
        log.warning("nats error", error=str(err) or type(err).__name__)

    async def disconnected(self) -> None:
        if self.client is not None and not (self.client.is_closed or self.client.is_draining):
            log.warning("nats disconnected; reconnecting")

    async def reconnected(self) -> None:
        log.info("nats reconnected")
        for hook in self._on_reconnected:
            # In the background: the client's reconnect callback must not wait on NATS itself.
            task = asyncio.create_task(_run_hook(hook))
            self._hooks_running.add(task)
            task.add_done_callback(self._hooks_running.discard)


async def _run_hook(hook: ReconnectHook) -> None:
    try:
        await hook()
    except Exception as err:
        log.warning("reconnect hook failed", hook=getattr(hook, "__qualname__", repr(hook)), error=str(err))


async def connect(
    servers: list[str],
    *,
    name: str,
    startup_timeout: float,
    on_reconnected: list[ReconnectHook] | None = None,
    credentials: NatsCredentials | None = None,
) -> Client:
    """Connect, trying for about `startup_timeout` seconds; once connected, reconnect forever.

    `on_reconnected` may be appended to later; each hook runs after every reconnection.
    `credentials` go as connect options, never in the server URLs (which are logged).
    """
    events = _ConnectionEvents(on_reconnected if on_reconnected is not None else [])
    try:
        client = ReconnectingClient()
        await client.connect(
            servers=servers,
            name=name,
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            reconnect_time_wait=RECONNECT_WAIT_SECONDS,
            max_reconnect_attempts=max(1, math.ceil(startup_timeout / RECONNECT_WAIT_SECONDS)),
            drain_timeout=DRAIN_TIMEOUT_SECONDS,
            error_cb=events.error,
            disconnected_cb=events.disconnected,
            reconnected_cb=events.reconnected,
            **(credentials.connect_options() if credentials is not None else ConnectOptions()),
        )
    except Exception as err:
        raise NatsUnavailableError(
            f"cannot reach NATS at {', '.join(servers)} within {startup_timeout:.0f}s: {err or type(err).__name__}"
        ) from err
    events.client = client
    metrics.watch_nats(client)  # augment_nats_connected reads its state at each scrape
    # The bounded attempts above only cover the start; a running service never gives up.
    client.options["max_reconnect_attempts"] = -1
    return client
