"""Delivering webhooks the way Jira Cloud does: in the background, signed, retried.

- Headers: ``X-Atlassian-Webhook-Identifier`` (the same on every retry and on a
  duplicate), ``X-Atlassian-Webhook-Retry`` (absent on the first try, then 1, 2, ...),
  ``X-Atlassian-Webhook-Flow: Primary``, and ``X-Hub-Signature: sha256=<hex>`` (HMAC-SHA256
  of the raw body) when the webhook has a secret.
- Retries on 408, 409, 425, 429, 5xx, timeouts and connection failures; at most 5
  retries, 5–15 minutes apart, times ``time_scale`` (tests use e.g. 0.001). Any other
  answer ends the delivery.
- Every attempt is logged (``GET /_sandbox/webhooks/deliveries``).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import random
import uuid
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

import aiohttp

from sandbox.jira.clock import Clock, platform_time
from sandbox.jira.faults import FaultSettings

MAX_RETRIES = 5
RETRY_DELAY_SECONDS = (5 * 60, 15 * 60)
RETRYABLE_STATUSES = frozenset({408, 409, 425, 429})
_LOG_LIMIT = 10_000


def sign_body(secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature`` value Jira sends for a webhook saved with a secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def is_retryable(status: int) -> bool:
    return status in RETRYABLE_STATUSES or status >= 500


@dataclass(frozen=True)
class Delivery:
    """One event for one webhook; retries and duplicates share its identifier."""

    identifier: str
    webhook_id: int
    event: str
    url: str
    body: bytes
    secret: str | None


@dataclass(frozen=True)
class DeliveryAttempt:
    identifier: str
    webhook_id: int
    event: str
    url: str
    attempt: int  # 0 for the first try; the value of X-Atlassian-Webhook-Retry after
    duplicate: bool
    status: int | None
    error: str | None
    outcome: str  # "delivered", "rejected" (final non-retryable answer), "retrying", "gave_up"
    at: str


class WebhookDispatcher:
    def __init__(self, clock: Clock, faults: FaultSettings, rng: random.Random, time_scale: float) -> None:
        self.clock = clock
        self.faults = faults
        self.rng = rng
        self.time_scale = time_scale
        self.log: deque[DeliveryAttempt] = deque(maxlen=_LOG_LIMIT)
        self._tasks: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None

    def send(self, webhook_id: int, url: str, secret: str | None, event: str, payload: dict[str, Any]) -> str:
        """Queue one event for one webhook; returns its identifier. Never blocks."""
        delivery = Delivery(
            # Random, not from the seeded rng: Jira's identifiers never repeat, and a receiver
            # that remembers them (Augment does, for a day) must not meet one again after a restart.
            identifier=str(uuid.uuid4()),
            webhook_id=webhook_id,
            event=event,
            url=url,
            body=json.dumps(payload).encode(),
            secret=secret,
        )
        self._start(delivery, duplicate=False)
        if self.rng.random() < self.faults.duplicate_delivery_rate:
            self._start(delivery, duplicate=True)
        return delivery.identifier

    def attempts(self) -> list[dict[str, Any]]:
        return [asdict(attempt) for attempt in self.log]

    async def wait_idle(self, timeout: float) -> bool:
        """Wait until every queued delivery has finished; False if ``timeout`` passed first."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._tasks:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            await asyncio.wait(set(self._tasks), timeout=remaining)
        return True

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _start(self, delivery: Delivery, *, duplicate: bool) -> None:
        task = asyncio.get_running_loop().create_task(self._deliver(delivery, duplicate))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, delivery: Delivery, duplicate: bool) -> None:
        for attempt in range(MAX_RETRIES + 1):
            status, error = await self._post(delivery, attempt)
            retryable = error is not None or (status is not None and is_retryable(status))
            if not retryable:
                outcome = "delivered" if status is not None and status < 300 else "rejected"
            else:
                outcome = "retrying" if attempt < MAX_RETRIES else "gave_up"
            self.log.append(
                DeliveryAttempt(
                    delivery.identifier,
                    delivery.webhook_id,
                    delivery.event,
                    delivery.url,
                    attempt,
                    duplicate,
                    status,
                    error,
                    outcome,
                    platform_time(self.clock.now()),
                )
            )
            if outcome != "retrying":
                return
            await asyncio.sleep(self.rng.uniform(*RETRY_DELAY_SECONDS) * self.time_scale)

    async def _post(self, delivery: Delivery, attempt: int) -> tuple[int | None, str | None]:
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Atlassian Webhook HTTP Client",
            "X-Atlassian-Webhook-Identifier": delivery.identifier,
            "X-Atlassian-Webhook-Flow": "Primary",
        }
        if attempt:
            headers["X-Atlassian-Webhook-Retry"] = str(attempt)
        if delivery.secret:
            headers["X-Hub-Signature"] = sign_body(delivery.secret, delivery.body)
        timeout = aiohttp.ClientTimeout(total=self.faults.webhook_timeout_seconds)
        try:
            async with self._client().post(
                delivery.url, data=delivery.body, headers=headers, timeout=timeout
            ) as response:
                await response.read()
                return response.status, None
        except TimeoutError:
            return None, "timeout"
        except aiohttp.ClientError as failure:
            return None, f"connection failed: {type(failure).__name__}"

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session
