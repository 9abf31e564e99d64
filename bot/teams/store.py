"""Teams in the `augment_teams` bucket, one key per team (`layout.team_key`).

Every write is a compare-and-set on the key's revision, so two writers (an import and an API
call replacing the same team) never silently overwrite each other: a write that names the
revision it read (`If-Match`) fails with `RevisionMismatchError` when another came first; one
that does not re-reads and tries again, at most `CAS_ATTEMPTS` times. The revision is the KV
entry's, so it also serves as the team's `ETag`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
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
    def __init__(self, bucket: KeyValue, js: JetStreamContext) -> None:
        self._bucket = bucket
        self._js = js

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
        return [stored.team.id for stored in await self._all()]

    async def _all(self) -> list[StoredTeam]:
        """Every team, in id order.

        The keys come from the stream's subjects, not `KeyValue.keys()`: nats-py's watcher behind
        it can report "no keys" when the server delivers before its own count is read (seen under
        load). A deleted team leaves a tombstone subject, so each is read to see it still exists."""
        info = await self._js.stream_info(layout.TEAMS_STREAM, subjects_filter=layout.TEAM_SUBJECTS)
        candidates = sorted(
            team_id for subject in (info.state.subjects or {}) if (team_id := layout.team_id_from_subject(subject))
        )
        found = [await self.get(team_id) for team_id in candidates]
        return [stored for stored in found if stored is not None]

    # Last in the class: below it, `list` in an annotation would name this method.
    async def list(self, limit: int) -> tuple[list[StoredTeam], int]:
        """The first `limit` teams in id order, and how many there are."""
        teams = await self._all()
        return teams[:limit], len(teams)
