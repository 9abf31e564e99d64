"""One loop over a durable pull subscription: the worker's jobs and the event consumers use it.

Rules, all explicit here:
- at most `concurrency` messages are in hand at a time: a fetch asks only for the free
  slots, and waits for one to free when there is none;
- a fetch waits up to `FETCH_WAIT_SECONDS` for messages; a fetch that fails (NATS away)
  is tried again after `ERROR_BACKOFF_SECONDS`;
- each message goes to `handle` as its own task; `handle` acks, naks or terms it;
- `stop` ends fetching at once, even in the middle of a fetch's wait, and drops the
  subscription. Running handlers then get `drain_seconds` to finish and are cancelled
  past it (each handler decides what a cancel means: a job is handed back with a nak, an
  event is left unacked); messages a fetch returned after stop are nak'ed;
- a cancelled fetch leaves its pull request on the server until it expires
  (`FETCH_WAIT_SECONDS`), and the server may deliver a nak'ed message to it, into the
  dropped subscription, where it waits out `ack_wait`. So nothing is nak'ed before this
  loop's last pull request has expired: a stop with work to hand back takes up to
  `FETCH_WAIT_SECONDS` longer, an idle stop returns at once. (A message published in that
  window can still reach the expiring request, and is redelivered after `ack_wait`, as a
  crashed consumer's would be.)
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Literal, TypeVar

import structlog
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext

log = structlog.get_logger(__name__)

FETCH_WAIT_SECONDS = 0.5
ERROR_BACKOFF_SECONDS = 0.5

Handle = Callable[[Msg], Coroutine[Any, Any, None]]
T = TypeVar("T")


class PullLoop:
    def __init__(
        self, subscription: JetStreamContext.PullSubscription, handle: Handle, *, concurrency: int, name: str
    ) -> None:
        self._subscription = subscription
        self._handle = handle
        self._concurrency = concurrency
        self.name = name
        self._stopping = asyncio.Event()
        self._stopped: asyncio.Task[Literal[True]] | None = None
        self._loop: asyncio.Task[None] | None = None
        self._last_request_expires = 0.0
        self._fetched_after_stop: list[Msg] = []
        self.running: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        # One waiter for the whole loop: each fetch races it instead of making its own.
        self._stopped = asyncio.create_task(self._stopping.wait())
        self._loop = asyncio.create_task(self._fetch_until_stopped(), name=self.name)

    async def stop(self, drain_seconds: float) -> None:
        """Stop fetching now; give running handlers `drain_seconds` to finish, then cancel them."""
        self._stopping.set()
        if self._loop is not None:
            await self._loop
        with contextlib.suppress(NatsError):  # the connection is gone: so is the subscription
            await self._subscription.unsubscribe()
        unfinished: set[asyncio.Task[None]] = set()
        if self.running:
            _, unfinished = await asyncio.wait(set(self.running), timeout=drain_seconds)
        if unfinished or self._fetched_after_stop:
            await asyncio.sleep(self._last_request_expires - asyncio.get_running_loop().time())
        await _hand_back(self._fetched_after_stop)
        for task in unfinished:
            task.cancel()
        await asyncio.gather(*unfinished, return_exceptions=True)

    async def _fetch_until_stopped(self) -> None:
        while not self._stopping.is_set():
            free = self._concurrency - len(self.running)
            if free <= 0:
                await self._unless_stopped(asyncio.wait(set(self.running), return_when=asyncio.FIRST_COMPLETED))
                continue
            messages = await self._fetch(free)
            if self._stopping.is_set():
                self._fetched_after_stop = messages
                return
            for message in messages:
                task = asyncio.create_task(self._handle(message))
                self.running.add(task)
                task.add_done_callback(self.running.discard)

    async def _fetch(self, batch: int) -> list[Msg]:
        self._last_request_expires = asyncio.get_running_loop().time() + FETCH_WAIT_SECONDS
        try:
            messages = await self._unless_stopped(self._subscription.fetch(batch=batch, timeout=FETCH_WAIT_SECONDS))
        except (NatsTimeoutError, TimeoutError):  # nothing queued right now
            return []
        except Exception as err:
            log.warning("fetch failed; retrying", loop=self.name, error=str(err) or type(err).__name__)
            await self._unless_stopped(asyncio.sleep(ERROR_BACKOFF_SECONDS))
            return []
        return messages or []

    async def _unless_stopped(self, work: Awaitable[T]) -> T | None:
        """`work`'s result, or None when stop was requested first (`work` is then cancelled)."""
        assert self._stopped is not None, "started"
        task: asyncio.Future[T] = asyncio.ensure_future(work)
        racing: set[asyncio.Future[Any]] = {task, self._stopped}
        try:
            await asyncio.wait(racing, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not task.done():
                task.cancel()
                await asyncio.wait({task})
        return None if task.cancelled() else task.result()


async def _hand_back(messages: list[Msg]) -> None:
    """Messages fetched as the loop stopped: not handed to a handler, so redelivered at once."""
    for message in messages:
        with contextlib.suppress(NatsError):  # unacked all the same: redelivered after ack_wait
            await message.nak()
