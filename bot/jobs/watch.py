"""One watcher of `augment_jobs` per API process.

It resolves synchronous requests waiting for their job to end, and keeps a small
index (type, status, creation time, tickets) so listing jobs never scans the bucket,
and the sweeper (`bot.jobs.sweeper`) finds the jobs that have not ended.
The index is rebuilt from the bucket at start: the store stays the only truth.

It also tells listeners (the dashboard's live pages) of every job that changes after it
loaded. A listener reads a bounded queue of its own at its own pace: one that falls
`LISTENER_QUEUE` changes behind is ended, never waited for, so a slow page can neither
hold up the watch nor grow its memory. At most `MAX_LISTENERS` listen at once, and all
are ended when the process shuts down (aiohttp waits for open requests before it cleans
up) or the watch restarts (changes may have been missed meanwhile).
"""

from __future__ import annotations

import asyncio
import base64
import bisect
import heapq
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import structlog
from nats.js.kv import KV_DEL, KV_PURGE, KeyValue
from pydantic import ValidationError

from schemas.jobs import JobRecord, JobStatus, JobType

log = structlog.get_logger(__name__)

# The server drops a watcher that stays idle longer than this after the process dies.
WATCHER_INACTIVE_THRESHOLD_SECONDS = 60.0
# Listeners at once per process, and the changes one may fall behind before it is ended.
MAX_LISTENERS = 100
LISTENER_QUEUE = 500


@dataclass(slots=True)
class IndexEntry:
    job_id: str
    job_type: JobType
    status: JobStatus
    created_at: datetime
    ticket_keys: tuple[str, ...]

    @property
    def sort_key(self) -> tuple[datetime, str]:
        return self.created_at, self.job_id


@dataclass(frozen=True)
class Page:
    job_ids: list[str]
    total: int
    next_cursor: str | None


Filter = tuple[JobStatus | None, JobType | None]


class JobIndex:
    """Jobs in creation order, once per filter a listing can ask for, with the ticket → jobs map
    for `GET /jobs/ticket/{key}`.

    Each job is in four lists — all jobs, its status, its type, its status and type — so a page
    of any filter reads only the jobs it shows, and its total is the list's length: asking for
    the newest completed job costs the same with 30,000 jobs still queued above it.
    """

    def __init__(self) -> None:
        self._entries: dict[str, IndexEntry] = {}
        # Sort keys, ascending; pages read them from the end.
        self._lists: dict[Filter, list[tuple[datetime, str]]] = defaultdict(list)
        self._by_ticket: dict[str, list[str]] = defaultdict(list)
        self._unfinished: set[str] = set()

    def __len__(self) -> int:
        return len(self._entries)

    def put(self, record: JobRecord) -> None:
        entry = self._entries.get(record.job_id)
        if entry is None:
            entry = IndexEntry(record.job_id, record.job_type, record.status, record.created_at, ())
            self._entries[record.job_id] = entry
            for filters in _filters(entry.status, entry.job_type):
                bisect.insort(self._lists[filters], entry.sort_key)
        elif entry.status != record.status:
            for filters in _filters(entry.status, entry.job_type, with_type=False):
                _discard(self._lists[filters], entry.sort_key)
            for filters in _filters(record.status, entry.job_type, with_type=False):
                bisect.insort(self._lists[filters], entry.sort_key)
        entry.status = record.status
        if record.status.is_final:
            self._unfinished.discard(record.job_id)
        else:
            self._unfinished.add(record.job_id)
        keys = tuple(record.ticket_keys)
        if keys != entry.ticket_keys:  # rare: a batch learns its tickets once, and may have 1,000
            known = set(entry.ticket_keys)
            for key in keys:
                if key not in known:
                    self._by_ticket[key].append(record.job_id)
            entry.ticket_keys = keys

    def add(self, record: JobRecord) -> None:
        """Index a job just submitted, unless the watcher got there first with a newer state."""
        if record.job_id not in self._entries:
            self.put(record)

    def remove(self, job_id: str) -> None:
        entry = self._entries.pop(job_id, None)
        if entry is None:
            return
        self._unfinished.discard(job_id)
        for filters in _filters(entry.status, entry.job_type):
            _discard(self._lists[filters], entry.sort_key)
        for key in entry.ticket_keys:
            jobs = self._by_ticket.get(key, [])
            if job_id in jobs:
                jobs.remove(job_id)
            if not jobs:
                self._by_ticket.pop(key, None)

    def page(
        self,
        *,
        status: JobStatus | None,
        job_type: JobType | None,
        limit: int,
        cursor: str | None,
        ticket_key: str | None = None,
    ) -> Page:
        """Newest first. The cursor names the last job of the previous page."""
        if ticket_key is not None:
            return self._ticket_page(ticket_key, status, job_type, limit, cursor)
        listed = self._lists.get((status, job_type), [])
        end = len(listed)
        if cursor is not None:
            end = bisect.bisect_left(listed, decode_cursor(cursor))
        page = [job_id for _, job_id in reversed(listed[max(0, end - limit) : end])]
        next_cursor = encode_cursor(listed[end - limit]) if end > limit else None
        return Page(job_ids=page, total=len(listed), next_cursor=next_cursor)

    def _ticket_page(
        self, ticket_key: str, status: JobStatus | None, job_type: JobType | None, limit: int, cursor: str | None
    ) -> Page:
        """A page of the jobs that worked on one ticket: one pass over that ticket's jobs, keeping
        only the newest `limit + 1`."""
        before = decode_cursor(cursor) if cursor is not None else None
        matching = [
            entry
            for job_id in self._by_ticket.get(ticket_key, ())
            if self._matches(entry := self._entries[job_id], status, job_type)
        ]
        candidates = (entry.sort_key for entry in matching if before is None or entry.sort_key < before)
        newest = heapq.nlargest(limit + 1, candidates)
        page = newest[:limit]
        next_cursor = encode_cursor(page[-1]) if len(newest) > limit else None
        return Page(job_ids=[job_id for _, job_id in page], total=len(matching), next_cursor=next_cursor)

    def unfinished(self) -> list[str]:
        """The jobs not yet completed, failed or cancelled."""
        return list(self._unfinished)

    def latest_for_ticket(self, ticket_key: str) -> str | None:
        jobs = self._by_ticket.get(ticket_key)
        if not jobs:
            return None
        return max(jobs, key=lambda job_id: self._entries[job_id].sort_key)

    @staticmethod
    def _matches(entry: IndexEntry, status: JobStatus | None, job_type: JobType | None) -> bool:
        return (status is None or entry.status == status) and (job_type is None or entry.job_type == job_type)


def _filters(status: JobStatus, job_type: JobType, *, with_type: bool = True) -> list[Filter]:
    """The lists a job of this status and type is in (those its status decides, without `with_type`)."""
    by_status: list[Filter] = [(status, None), (status, job_type)]
    return by_status + [(None, None), (None, job_type)] if with_type else by_status


def _discard(listed: list[tuple[datetime, str]], sort_key: tuple[datetime, str]) -> None:
    position = bisect.bisect_left(listed, sort_key)
    if position < len(listed) and listed[position] == sort_key:
        del listed[position]


class InvalidCursorError(ValueError):
    pass


def encode_cursor(sort_key: tuple[datetime, str]) -> str:
    created_at, job_id = sort_key
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{job_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created_at, job_id = raw.split("|", 1)
        return datetime.fromisoformat(created_at), job_id
    except (ValueError, UnicodeDecodeError) as err:
        raise InvalidCursorError("cursor is not one this API returned") from err


class ListenerEnd(StrEnum):
    """Why a listener was ended."""

    behind = "behind"  # it fell LISTENER_QUEUE changes behind
    restarted = "restarted"  # the watch restarted: changes may have been missed
    closing = "closing"  # the process shuts down


class TooManyListenersError(Exception):
    pass


class Listener:
    """One follower of job changes: the records changed since it began, in order."""

    def __init__(self, size: int) -> None:
        self._queue: asyncio.Queue[JobRecord | None] = asyncio.Queue(size)
        self.ended: ListenerEnd | None = None

    async def next(self) -> JobRecord | None:
        """The next changed record; None once the listener was ended (`ended` says why)."""
        return None if self.ended is not None else await self._queue.get()

    def offer(self, record: JobRecord) -> bool:
        try:
            self._queue.put_nowait(record)
        except asyncio.QueueFull:
            return False
        return True

    def end(self, reason: ListenerEnd) -> None:
        self.ended = reason
        while not self._queue.empty():  # what it did not read is stale now
            self._queue.get_nowait()
        self._queue.put_nowait(None)  # wakes a reader waiting in next()


class JobWatch:
    def __init__(self, jobs_bucket: KeyValue) -> None:
        self._bucket = jobs_bucket
        self.index = JobIndex()
        self._waiters: dict[str, list[asyncio.Future[JobRecord]]] = defaultdict(list)
        self._following: tuple[KeyValue.KeyWatcher, asyncio.Task[None]] | None = None
        self._listeners: set[Listener] = set()
        self._closing = False

    async def start(self) -> None:
        """Load the index from the bucket, then follow every change."""
        watcher = await self._bucket.watchall(inactive_threshold=WATCHER_INACTIVE_THRESHOLD_SECONDS)
        index = JobIndex()
        loaded = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(self._follow(watcher, index, loaded), name="job-watch")
        await loaded
        previous, self._following = self._following, (watcher, task)
        if previous is not None:
            await _stop(*previous)
            self._end_listeners(ListenerEnd.restarted)
        log.info("job index loaded", jobs=len(self.index))

    async def restart(self) -> None:
        """After a reconnection: a restarted server has forgotten the watcher's consumer."""
        await self.start()

    async def stop(self) -> None:
        self.close_listeners()
        if self._following is not None:
            await _stop(*self._following)
            self._following = None
        for futures in self._waiters.values():
            for future in futures:
                future.cancel()
        self._waiters.clear()

    def expect(self, job_id: str) -> asyncio.Future[JobRecord]:
        """A future resolved with the record once the job ends; register before publishing."""
        future: asyncio.Future[JobRecord] = asyncio.get_running_loop().create_future()
        self._waiters[job_id].append(future)
        return future

    def forget(self, job_id: str, future: asyncio.Future[JobRecord]) -> None:
        futures = self._waiters.get(job_id)
        if futures and future in futures:
            futures.remove(future)
            if not futures:
                del self._waiters[job_id]

    @contextmanager
    def listening(self, size: int = LISTENER_QUEUE) -> Iterator[Listener]:
        """A listener for the block's length; TooManyListenersError when MAX_LISTENERS listen
        already, or the process is shutting down."""
        if self._closing or len(self._listeners) >= MAX_LISTENERS:
            raise TooManyListenersError(f"{MAX_LISTENERS} pages follow the jobs already")
        listener = Listener(size)
        self._listeners.add(listener)
        try:
            yield listener
        finally:
            self._listeners.discard(listener)

    def close_listeners(self) -> None:
        """End every listener and refuse new ones: the process shuts down."""
        self._closing = True
        self._end_listeners(ListenerEnd.closing)

    def _end_listeners(self, reason: ListenerEnd) -> None:
        for listener in self._listeners:
            listener.end(reason)
        self._listeners.clear()

    def _tell(self, record: JobRecord) -> None:
        for listener in list(self._listeners):
            if not listener.offer(record):
                log.info("job listener fell behind; ended", queued=LISTENER_QUEUE)
                listener.end(ListenerEnd.behind)
                self._listeners.discard(listener)

    async def _follow(self, watcher: KeyValue.KeyWatcher, index: JobIndex, loaded: asyncio.Future[None]) -> None:
        async for entry in watcher:
            if entry is None:  # the end of the initial values: the new index is complete
                if not loaded.done():
                    self.index = index
                    loaded.set_result(None)
                continue
            if entry.operation in (KV_DEL, KV_PURGE):
                index.remove(entry.key)
                continue
            try:
                record = JobRecord.model_validate_json(entry.value)
            except ValidationError:
                log.warning("unreadable job record skipped", job_id=entry.key)
                continue
            index.put(record)
            if loaded.done():  # a change, not one of the values the index is loaded from
                self._tell(record)
            if record.status.is_final:
                for future in self._waiters.pop(record.job_id, []):
                    if not future.done():
                        future.set_result(record)
        if not loaded.done():
            loaded.set_result(None)


async def _stop(watcher: KeyValue.KeyWatcher, task: asyncio.Task[None]) -> None:
    try:
        await watcher.stop()
    except Exception as err:  # the server may be gone; the watcher's consumer expires by itself
        log.debug("watcher stop failed", error=str(err))
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
