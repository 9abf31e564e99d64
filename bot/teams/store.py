"""Teams in the `augment_teams` bucket, one key per team (`layout.team_key`).

Every write is a compare-and-set on the key's revision, so two writers (an import and an API
call replacing the same team) never silently overwrite each other: a write that names the
revision it read (`If-Match`) fails with `RevisionMismatchError` when another came first; one
that does not re-reads and tries again, at most `CAS_ATTEMPTS` times. The revision is the KV
entry's, so it also serves as the team's `ETag`.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError, NoKeysError
from nats.js.kv import KeyValue

from bot.jetstream import layout
from bot.jetstream.entries import read
from schemas.teams import Team

CAS_ATTEMPTS = 20
CAS_BACKOFF_SECONDS = 0.002


@dataclass(frozen=True)
class StoredTeam:
    team: Team
    revision: int


@dataclass(frozen=True)
class Replaced:
    revision: int
    created: bool


class TeamExistsError(Exception):
    def __init__(self, team_id: str) -> None:
        super().__init__(f"Team {team_id} already exists")


class RevisionMismatchError(Exception):
    def __init__(self, team_id: str, expected: int, current: int | None) -> None:
        now = f"it is at revision {current}" if current is not None else "it does not exist"
        super().__init__(f"Team {team_id} is not at revision {expected}: {now}")
        self.current = current


class TeamConflictError(Exception):
    """Too many concurrent writers on one team; the caller may retry."""


class TeamStore:
    def __init__(self, bucket: KeyValue) -> None:
        self._bucket = bucket

    async def get(self, team_id: str) -> StoredTeam | None:
        try:
            entry = await read(self._bucket, layout.team_key(team_id))
        except KeyNotFoundError:
            return None
        return StoredTeam(Team.model_validate_json(entry.value), entry.revision)

    async def create(self, team: Team) -> int:
        """Write a new team; `TeamExistsError` if its id is taken."""
        try:
            return await self._bucket.create(layout.team_key(team.id), team.model_dump_json().encode())
        except KeyWrongLastSequenceError:
            raise TeamExistsError(team.id) from None

    async def replace(self, team: Team, expected_revision: int | None = None) -> Replaced:
        """Write `team` whole, creating it if absent; with `expected_revision`, only over that revision."""
        key, value = layout.team_key(team.id), team.model_dump_json().encode()
        if expected_revision is not None:
            try:
                return Replaced(await self._bucket.update(key, value, last=expected_revision), created=False)
            except KeyWrongLastSequenceError:
                current = await self.get(team.id)
                revision = current.revision if current is not None else None
                raise RevisionMismatchError(team.id, expected_revision, revision) from None
        for attempt in range(CAS_ATTEMPTS):
            current = await self.get(team.id)
            try:
                if current is None:
                    return Replaced(await self._bucket.create(key, value), created=True)
                return Replaced(await self._bucket.update(key, value, last=current.revision), created=False)
            except KeyWrongLastSequenceError:
                await asyncio.sleep(CAS_BACKOFF_SECONDS * (attempt + 1))
        raise TeamConflictError(f"team {team.id}: gave up after {CAS_ATTEMPTS} concurrent writes")

    async def delete(self, team_id: str) -> bool:
        """Delete the team; False when there is none."""
        for attempt in range(CAS_ATTEMPTS):
            current = await self.get(team_id)
            if current is None:
                return False
            try:
                await self._bucket.delete(layout.team_key(team_id), last=current.revision)
            except KeyWrongLastSequenceError:
                await asyncio.sleep(CAS_BACKOFF_SECONDS * (attempt + 1))
                continue
            return True
        raise TeamConflictError(f"team {team_id}: gave up after {CAS_ATTEMPTS} concurrent writes")

    async def ids(self) -> list[str]:
        """Every team's id, sorted."""
        keys: list[str] = []
        # nats-py's `keys(filters=...)` matches substrings, not subjects: filter here instead.
        with contextlib.suppress(NoKeysError):
            keys = await self._bucket.keys()
        return sorted(team_id for key in keys if (team_id := layout.team_id_from_key(key)) is not None)

    async def list(self, limit: int) -> tuple[list[StoredTeam], int]:
        """The first `limit` teams in id order, and how many there are."""
        ids = await self.ids()
        found = [await self.get(team_id) for team_id in ids[:limit]]
        # A team deleted between listing and reading is simply not there.
        return [stored for stored in found if stored is not None], len(ids)
