"""The one applier: carries out a plan's operations in order, recording each before the next.

A redelivered job calls it again with what was already recorded and it goes on from
there. An operation that reached Jira but was not recorded (a crash in between) is
recognised by Jira already holding the target value, so it is not done twice.

A field update carries the fingerprints of the values it was planned against
(`expect_sha256`), not the values: job records are readable by every API user and
must not copy ticket content they do not need. A field whose fingerprint changed was
edited by somebody meanwhile and is not overwritten. A link that exists already, or a
parent that is already the target, counts as done (`already_applied`); a parent someone
changed since the plan was made is a conflict, like a field.

A created issue carries its plan's `marker` as a label, and no plan holds two creates with
the same summary (the applier refuses such a plan): the marker AND the exact summary name
one create, even when a job creates many issues. Before creating, the applier looks for
that issue, so a crash after Jira made it but before it was recorded finds it instead of
making a second:
- a create with `links` (Jira's `update.issuelinks` `add` entries, sent in the create
  itself, so the issue and its links appear in one write) is looked for through the linked
  issue, read with GET, which is current: its links whose other end has the summary are
  read (GET) and the one carrying the marker is it;
- otherwise, and if that finds nothing, by JQL (`labels = <marker>`, the summary compared
  exactly). Jira's search lags writes, so the time of each create is recorded before Jira is
  asked (`attempt`), and for a create without links (whose issue only the search can find) a
  search is made no sooner than `jira.search_settle_seconds` after that attempt, sleeping the rest.
Later operations name the created issue as `created_by(<op id>)` and get its key when they
are applied.

Sprints (`bot.jira.agile`): a `create_sprint` names its board and a name no other sprint
of the plan has on that board (the applier refuses a plan with two), and that name is its
marker: before creating, the applier lists the board's sprints (GET, current) and one of
that name is the sprint a crashed run made, so none is made twice. Its outcome holds
`sprint_id`, which later operations get through `created_by(<op id>)`. A `move_to_sprint`
moves at most 50 issues (Jira's limit per call); it first reads which of them are in the
sprint already and moves only the others, so a chunk that reached Jira but was not
recorded is not sent again, and one whose issues are all there is `already_applied`.

No text over Jira's 32,767-character limit is sent: plans are made with fitted text
(`bot.formatting.limits`), and a longer value that reaches the applier anyway is cut
the same way, before it is compared with what Jira holds.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from bot.formatting.limits import fit_wiki
from bot.jira.agile import AgileClient, day_of
from bot.jira.client import JiraClient, JiraError, backoff_seconds
from bot.jira.comments import post_once
from schemas.jobs import AppliedOperation, PlanOperation

Record = Callable[[AppliedOperation], Awaitable[None]]
# Persists "the create `op_id` was sent to Jira at this time" before it is sent.
Attempt = Callable[[str, datetime], Awaitable[None]]
# How many issues carrying one marker a JQL look-up reads: more than a plan ever creates.
MARKED_ISSUES_READ = 500

APPLIED = "applied"
ALREADY_APPLIED = "already_applied"
CONFLICT = "conflict"


class Applier:
    def __init__(self, jira: JiraClient) -> None:
        self._jira = jira
        self._agile = AgileClient(jira)
        self._attempted: dict[str, datetime] = {}
        self._attempt: Attempt | None = None

    async def apply(
        self,
        plan: Sequence[PlanOperation],
        applied: Sequence[AppliedOperation],
        record: Record,
        *,
        attempted: Mapping[str, datetime] | None = None,
        attempt: Attempt | None = None,
    ) -> list[AppliedOperation]:
        """Apply what is not yet in `applied`; `record` must persist each result before this goes on.
        `attempted`: when earlier runs sent each unrecorded create; `attempt` persists a new one."""
        summaries = [op.payload["fields"].get("summary") for op in plan if op.kind == "create_issue"]
        if len(summaries) != len(set(summaries)):
            raise ValueError("a plan must not hold two create_issue operations with the same summary")
        sprints = [(op.payload["board_id"], op.payload["name"]) for op in plan if op.kind == "create_sprint"]
        if len(sprints) != len(set(sprints)):
            raise ValueError("a plan must not hold two create_sprint operations with the same name on one board")
        self._attempted = dict(attempted or {})
        self._attempt = attempt
        done = {entry.op_id for entry in applied}
        results = list(applied)
        for operation in plan:
            if operation.op_id in done:
                continue
            created = {entry.op_id: entry.outcome.get("key", entry.outcome.get("sprint_id")) for entry in results}
            resolved = _resolved(operation, created)
            entry = AppliedOperation(op_id=operation.op_id, outcome=await self._apply(resolved))
            await record(entry)
            results.append(entry)
        return results

    async def _apply(self, operation: PlanOperation) -> dict[str, Any]:
        if operation.kind == "update_fields":
            return await self._update_fields(operation)
        if operation.kind == "add_comment":
            posted = await post_once(self._jira, _key(operation), operation.payload["body"], operation.op_id)
            return {"status": APPLIED if posted else ALREADY_APPLIED}
        if operation.kind == "link_issues":
            return await self._link_issues(operation)
        if operation.kind == "set_parent":
            return await self._set_parent(operation)
        if operation.kind == "create_issue":
            return await self._create_issue(operation)
        if operation.kind == "create_sprint":
            return await self._create_sprint(operation)
        if operation.kind == "move_to_sprint":
            return await self._move_to_sprint(operation)
        raise ValueError(f"operation kind {operation.kind!r} cannot be applied yet")

    async def _update_fields(self, operation: PlanOperation) -> dict[str, Any]:
        """Write fields, unless someone changed them since the plan was made."""
        key = _key(operation)
        target = {name: _fitted(value) for name, value in operation.payload["fields"].items()}
        expected = _expected_fingerprints(operation.payload)
        current = await self._jira.field_values(key, sorted(set(target) | set(expected)))
        if all(_same(current[name], value) for name, value in target.items()):
            return {"status": ALREADY_APPLIED}
        changed = [name for name, digest in expected.items() if fingerprint(current[name]) != digest]
        if changed:
            return {"status": CONFLICT, "changed_fields": changed}
        await self._jira.update_fields(key, target)
        return {"status": APPLIED, "fields": sorted(target)}

    async def _link_issues(self, operation: PlanOperation) -> dict[str, Any]:
        """Link `inward_key` to `outward_key` ("A blocks B"), unless that very link exists."""
        link_type, inward, outward = (operation.payload[name] for name in ("link_type", "inward_key", "outward_key"))
        links = await self._jira.issue_links(inward)
        if any(
            (link.get("type") or {}).get("name") == link_type and (link.get("outwardIssue") or {}).get("key") == outward
            for link in links
        ):
            return {"status": ALREADY_APPLIED}
        await self._jira.create_link(link_type, inward, outward)
        return {"status": APPLIED}

    async def _set_parent(self, operation: PlanOperation) -> dict[str, Any]:
        """Make `parent_key` the parent, unless it is already, or someone changed the parent since
        the plan was made (`expect_parent_key`)."""
        key, target = _key(operation), operation.payload["parent_key"]
        current = ((await self._jira.field_values(key, ["parent"]))["parent"] or {}).get("key")
        if current == target:
            return {"status": ALREADY_APPLIED}
        if current != operation.payload.get("expect_parent_key"):
            return {"status": CONFLICT, "changed_fields": ["parent"]}
        await self._jira.set_parent(key, target)
        return {"status": APPLIED}

    async def _create_issue(self, operation: PlanOperation) -> dict[str, Any]:
        """Create the issue unless it exists already (see the module's rules); `key` is the issue's.
        A 5xx or no answer may follow an issue Jira made, so it looks again before retrying."""
        marker = operation.payload["marker"]
        fields = {name: _fitted(value) for name, value in operation.payload["fields"].items()}
        links: list[dict[str, Any]] = list(operation.payload.get("links") or [])
        for attempt in range(1, self._jira.attempts + 1):
            found = await self._created(operation.op_id, marker, fields["summary"], links)
            if found:
                return {"status": ALREADY_APPLIED, "key": found}
            now = datetime.now(UTC)
            if self._attempt is not None:
                await self._attempt(operation.op_id, now)
            self._attempted[operation.op_id] = now
            try:
                return {"status": APPLIED, "key": await self._jira.create_issue(fields, links)}
            except JiraError as err:
                if not err.transient or err.status == 429 or attempt == self._jira.attempts:
                    raise
            await asyncio.sleep(backoff_seconds(attempt))
        raise AssertionError("unreachable")

    async def _create_sprint(self, operation: PlanOperation) -> dict[str, Any]:
        """Create the sprint unless the board has one of its name (a crashed run made it);
        a 5xx or no answer may follow a sprint Jira made, so it looks again before retrying."""
        payload = operation.payload
        board_id, name = int(payload["board_id"]), str(payload["name"])
        start, end = (day_of(payload.get(field)) for field in ("start_date", "end_date"))
        for attempt in range(1, self._jira.attempts + 1):
            found = [sprint for sprint in await self._agile.sprints(board_id) if sprint.get("name") == name]
            if found:
                return {"status": ALREADY_APPLIED, "sprint_id": found[0]["id"]}
            try:
                made = await self._agile.create_sprint(board_id, name, start, end, payload.get("goal"))
                return {"status": APPLIED, "sprint_id": made["id"]}
            except JiraError as err:
                if not err.transient or err.status == 429 or attempt == self._jira.attempts:
                    raise
            await asyncio.sleep(backoff_seconds(attempt))
        raise AssertionError("unreachable")

    async def _move_to_sprint(self, operation: PlanOperation) -> dict[str, Any]:
        """Move the issues not yet in the sprint; all there already is `already_applied`."""
        sprint_id, keys = int(operation.payload["sprint_id"]), list(operation.payload["issue_keys"])
        inside = await self._agile.keys_in_sprint(sprint_id, keys)
        moving = [key for key in keys if key not in inside]
        if not moving:
            return {"status": ALREADY_APPLIED, "moved": []}
        await self._agile.move_issues(sprint_id, moving)
        return {"status": APPLIED, "moved": moving}

    async def _created(self, op_id: str, marker: str, summary: str, links: list[dict[str, Any]]) -> str | None:
        """The key of the issue this create made earlier, if it made one."""
        for link in links:
            found = await self._linked(marker, summary, link)
            if found:
                return found
        sent = self._attempted.get(op_id)
        if sent is not None and not links:
            # Jira's search may not show an issue made this recently yet.
            wait = (sent - datetime.now(UTC)).total_seconds() + self._jira.search_settle_seconds
            await asyncio.sleep(min(max(wait, 0.0), self._jira.search_settle_seconds))
        marked = await self._jira.search_issues(
            f'labels = "{marker}" ORDER BY key', MARKED_ISSUES_READ, fields=("summary",)
        )
        return next((issue["key"] for issue in marked if issue["fields"].get("summary") == summary), None)

    async def _linked(self, marker: str, summary: str, link: dict[str, Any]) -> str | None:
        """Through the issue `link` names, read with GET: its linked issue with this summary and marker."""
        other = (link.get("inwardIssue") or link.get("outwardIssue") or {}).get("key")
        if not other:
            return None
        link_type = (link.get("type") or {}).get("name")
        candidates = [
            end["key"]
            for held in await self._jira.issue_links(other)
            if (held.get("type") or {}).get("name") == link_type
            for end in (held.get("inwardIssue"), held.get("outwardIssue"))
            if end and (end.get("fields") or {}).get("summary") == summary
        ]
        for key in candidates:
            if marker in ((await self._jira.field_values(key, ["labels"]))["labels"] or []):
                return key
        return None


def created_by(op_id: str) -> dict[str, str]:
    """In a plan: the key of the issue the `create_issue` operation `op_id` creates."""
    return {"created_by": op_id}


def _resolved(operation: PlanOperation, created: dict[str, Any]) -> PlanOperation:
    """The operation with each `created_by(...)` in its payload replaced by the created key."""

    def key(value: Any) -> Any:
        if isinstance(value, dict) and set(value) == {"created_by"}:
            return created[value["created_by"]]
        return value

    return operation.model_copy(update={"payload": {name: key(value) for name, value in operation.payload.items()}})


def _fitted(value: Any) -> Any:
    return fit_wiki(value, UNFITTED_FULL_TEXT_AT) if isinstance(value, str) else value


# Where a cut note points when the plan itself held an over-long value.
UNFITTED_FULL_TEXT_AT = "the job record (GET /jobs/<job id>)"


def _key(operation: PlanOperation) -> str:
    assert operation.ticket_key is not None, f"{operation.kind} always names its ticket"
    return operation.ticket_key


def guarded_update(op_id: str, ticket_key: str, fields: Mapping[str, Any], read: Mapping[str, Any]) -> PlanOperation:
    """An `update_fields` that writes `fields` unless Jira no longer holds what was `read` of them
    at planning time (field id → value): kept as fingerprints, compared when it is applied."""
    return PlanOperation(
        op_id=op_id,
        kind="update_fields",
        ticket_key=ticket_key,
        payload={
            "fields": dict(fields),
            "expect_sha256": {field: fingerprint(value) for field, value in read.items()},
        },
    )


def fingerprint(value: Any) -> str:
    """What a plan keeps of a field's value read at planning time: enough to see a change."""
    # Jira gives null for an empty text field; a plan says "".
    return hashlib.sha256(str(value or "").encode()).hexdigest()


def _expected_fingerprints(payload: dict[str, Any]) -> dict[str, str]:
    # Previews recorded before fingerprints kept the values themselves (`expect`).
    kept_values = {name: fingerprint(value) for name, value in payload.get("expect", {}).items()}
    return kept_values | payload.get("expect_sha256", {})


def _same(current: Any, expected: Any) -> bool:
    # Jira gives null for an empty text field; a plan says "".
    return (current or "") == (expected or "")
