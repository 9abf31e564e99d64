"""Comments the bot posts, each exactly once.

Every bot comment ends with a small signature naming what it answers (`ack 3f2c…`,
`reply 3f2c…`). Before posting, the ticket's recent comments are searched for that
signature: a retry after a crash between "Jira accepted" and "we recorded it" finds
its comment there and does not post it again.
"""

from __future__ import annotations

from bot.jira.client import JiraClient

SIGNED = "— Augment · "


def signature(marker: str) -> str:
    return f"{{color:#97a0af}}{SIGNED}{marker}{{color}}"


async def post_once(jira: JiraClient, ticket_key: str, body: str, marker: str) -> bool:
    """Post `body` signed with `marker` unless a comment with that signature exists; True if posted."""
    signed = signature(marker)
    if any(signed in existing for existing in await jira.comment_bodies(ticket_key)):
        return False
    await jira.add_comment(ticket_key, f"{body}\n\n{signed}")
    return True
