"""Jira Software's agile API (`/rest/agile/1.0`): boards, sprints and the issues in them.

Calls go through `JiraClient.call`, so they share its session, thread pool and retry rules
(429 honours `Retry-After`, 5xx backs off, the rest fails at once with Jira's message).
Lists are read page by page (`startAt`, until `isLast`, or `total` for issue pages) and
never stop at Jira's first 50; every loop is bounded by `MAX_PAGES`.
Creating a sprint is not repeated after a 5xx or no answer, since Jira may have made it:
the caller looks for it by name first (`bot.jira.applier`). Moving issues into a sprint is
safe to repeat (an issue already there stays), and Jira moves at most `MAX_MOVE` per call.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from jira import JIRA

from bot.jira.client import JiraClient

PAGE_SIZE = 50  # Jira's own cap for sprint lists and sprint issues
MAX_MOVE = 50  # issues Jira moves into a sprint in one call
# At most this many pages are read of one list (25,000 sprints or issues): a bound, not a limit met.
MAX_PAGES = 500
SPRINT_STATES = ("future", "active", "closed")


def jira_date(day: date) -> str:
    """A date as the agile API takes it: the day's start, UTC."""
    return f"{day.isoformat()}T00:00:00.000Z"


def day_of(value: str | None) -> date | None:
    """The calendar date of an agile timestamp (`2015-04-11T15:22:00.000+10:00`), as Jira shows it."""
    return date.fromisoformat(value[:10]) if value else None


class AgileClient:
    def __init__(self, jira: JiraClient) -> None:
        self._jira = jira

    # -- reading ---------------------------------------------------------------------

    async def board(self, board_id: int) -> dict[str, Any]:
        return await self._get(f"read board {board_id}", f"board/{board_id}")

    async def sprints(self, board_id: int, states: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        """Every sprint of the board (only `states`, when given), in Jira's order."""
        params: dict[str, Any] = {"state": ",".join(states)} if states else {}
        found: list[dict[str, Any]] = []
        for _ in range(MAX_PAGES):
            answer = await self._get(
                f"read sprints of board {board_id}",
                f"board/{board_id}/sprint",
                params | {"startAt": len(found), "maxResults": PAGE_SIZE},
            )
            values = list(answer.get("values") or [])
            found += values
            if answer.get("isLast", True) or not values:
                break
        return found

    async def sprint(self, sprint_id: int) -> dict[str, Any]:
        return await self._get(f"read sprint {sprint_id}", f"sprint/{sprint_id}")

    async def sprint_issues(
        self, sprint_id: int, fields: tuple[str, ...] = ("key",), jql: str | None = None
    ) -> list[dict[str, Any]]:
        """Every issue in the sprint (`key` and `fields`), optionally narrowed by `jql`."""
        params: dict[str, Any] = {"fields": ",".join(fields)} | ({"jql": jql} if jql else {})
        found: list[dict[str, Any]] = []
        for _ in range(MAX_PAGES):
            answer = await self._get(
                f"read issues of sprint {sprint_id}",
                f"sprint/{sprint_id}/issue",
                params | {"startAt": len(found), "maxResults": PAGE_SIZE},
            )
            issues = list(answer.get("issues") or [])
            found += issues
            if not issues or len(found) >= int(answer.get("total") or 0):
                break
        return found

    async def keys_in_sprint(self, sprint_id: int, keys: list[str]) -> set[str]:
        """Which of `keys` (at most `MAX_MOVE`, all existing) are in the sprint now."""
        jql = f"key in ({', '.join(keys)})"
        return {issue["key"] for issue in await self.sprint_issues(sprint_id, jql=jql)}

    # -- writing ---------------------------------------------------------------------

    async def create_sprint(
        self, board_id: int, name: str, start: date | None, end: date | None, goal: str | None
    ) -> dict[str, Any]:
        """A new (future) sprint. Not retried after a 5xx or no answer: look for it first."""
        body: dict[str, Any] = {"name": name, "originBoardId": board_id}
        body |= {"startDate": jira_date(start)} if start else {}
        body |= {"endDate": jira_date(end)} if end else {}
        body |= {"goal": goal} if goal else {}
        return await self._send(f"create sprint {name!r}", "POST", "sprint", body, repeatable=False)

    async def update_sprint(self, sprint_id: int, changes: dict[str, Any]) -> dict[str, Any]:
        """Jira's partial update (`POST /sprint/{id}`): fields left out keep their values."""
        return await self._send(f"update sprint {sprint_id}", "POST", f"sprint/{sprint_id}", changes)

    async def move_issues(self, sprint_id: int, keys: list[str]) -> None:
        if not 0 < len(keys) <= MAX_MOVE:
            raise ValueError(f"Jira moves 1 to {MAX_MOVE} issues into a sprint in one call, not {len(keys)}")
        await self._send(f"move issues to sprint {sprint_id}", "POST", f"sprint/{sprint_id}/issue", {"issues": keys})

    # -- the calls -------------------------------------------------------------------

    async def _get(self, action: str, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        def get(jira: JIRA) -> dict[str, Any]:
            return dict(jira._get_json(path, params=params, base=JIRA.AGILE_BASE_URL))

        return await self._jira.call(action, get)

    async def _send(
        self, action: str, method: str, path: str, body: dict[str, Any], *, repeatable: bool = True
    ) -> dict[str, Any]:
        data = json.dumps(body)

        def send(jira: JIRA) -> dict[str, Any]:
            response = jira._session.request(method, jira._get_url(path, base=JIRA.AGILE_BASE_URL), data=data)
            return dict(response.json()) if response.content else {}

        return await self._jira.call(action, send, repeatable=repeatable)
