"""The link between a story and a task split from it, for every pipeline that creates tasks.

Jira Cloud's "Work item split" link ("STORY split to TASK") is the story's link to a task
made from it. A site without that type gets a stand-in, the first it has of "Cloners" and
"Relates"; the answer then says which one was used (`stand_in_note`). With none of them
the pipeline refuses before anything is written (`NO_STORY_LINK`). The link goes in the
task's create itself, so the task and its link appear in one write.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.jira.client import JiraClient

# The link type between two tasks: the task needed first blocks the one waiting.
BLOCKS = "Blocks"
# (link type, whether the story is the link's inward side), the wanted type first.
STORY_LINK_TYPES = (("Work item split", True), ("Cloners", False), ("Relates", True))
NO_STORY_LINK = "this Jira has no " + " or ".join(f'"{name}"' for name, _ in STORY_LINK_TYPES) + " link type"


@dataclass(frozen=True)
class StoryLink:
    name: str  # the link type
    story_inward: bool  # the story is the link's inward side

    @classmethod
    def among(cls, types: set[str]) -> StoryLink | None:
        """The first of `STORY_LINK_TYPES` the site has (`types`: its link type names)."""
        return next((cls(name, inward) for name, inward in STORY_LINK_TYPES if name in types), None)

    def of(self, story_key: str) -> dict[str, Any]:
        """The link as a create's `links` entry: the new task to `story_key`."""
        story_end = "inwardIssue" if self.story_inward else "outwardIssue"
        return {"type": {"name": self.name}, story_end: {"key": story_key}}


def stand_in_note(link_type: str) -> str:
    """What the answer says when the story's link type is a stand-in; empty for the wanted one."""
    wanted = STORY_LINK_TYPES[0][0]
    if link_type == wanted:
        return ""
    return f' This Jira has no "{wanted}" link type: the story is linked with "{link_type}".'


async def link_type_names(jira: JiraClient) -> set[str]:
    """The names of the site's issue link types; a failed read raises `JiraError`."""
    return {kind["name"] for kind in await jira.link_types()}
