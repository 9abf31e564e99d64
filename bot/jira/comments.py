"""Comments the bot posts, each exactly once, each within Jira's size limit.

Every bot comment ends with a small signature naming what it answers (`ack 3f2c…`,
`reply 3f2c…`). Before posting, the ticket's recent comments are searched for that
signature: a retry after a crash between "Jira accepted" and "we recorded it" finds
its comment there and does not post it again. A POST answered 5xx (or not at all) may
still have made the comment, so it is retried only after looking again.

A body that would take the signed comment over 32,767 characters is shortened (see
`bot.formatting.limits`) with a note saying where the full text is.
"""

from __future__ import annotations

import asyncio

from bot.formatting.limits import JIRA_TEXT_LIMIT, fit_wiki
from bot.jira.client import JiraClient, JiraError, backoff_seconds

SIGNED = "— Augment · "
SEPARATOR = "\n\n"


def signature(marker: str) -> str:
    return f"{{color:#97a0af}}{SIGNED}{marker}{{color}}"


async def post_once(
    jira: JiraClient,
    ticket_key: str,
    body: str,
    marker: str,
    *,
    full_text_at: str = "the job record",
    surely_new: bool = False,
) -> bool:
    """Post `body` signed with `marker` unless a comment with that signature exists; True if
    this call posted it. A body too long for Jira is cut, pointing at `full_text_at`.
    `surely_new`: the caller knows nothing can have posted it yet, so the first try does not
    read the ticket's comments (a retry after a failed post always does)."""
    signed = signature(marker)
    text = fit_wiki(body, full_text_at, JIRA_TEXT_LIMIT - len(SEPARATOR + signed)) + SEPARATOR + signed
    for attempt in range(1, jira.attempts + 1):
        look = attempt > 1 or not surely_new
        if look and any(signed in existing for existing in await jira.comment_bodies(ticket_key)):
            return attempt > 1  # found: posted by an earlier attempt of this call, or before it
        try:
            await jira.add_comment(ticket_key, text)
            return True
        except JiraError as err:
            if not err.transient or err.status == 429 or attempt == jira.attempts:
                raise
        await asyncio.sleep(backoff_seconds(attempt))
    raise AssertionError("unreachable")
