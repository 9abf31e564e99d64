"""What the planning jobs write: a story's description in Jira wiki markup, and preview table cells.

A story's description is its text, then its acceptance criteria as a bullet list under an
"Acceptance Criteria" heading (none: no heading). A table cell holds one line of text with
the characters that would end the cell or open markup (`| { } [ ]`) escaped.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.formatting.jira_wiki import markdown_to_wiki


def story_wiki(description: str, acceptance_criteria: Sequence[str]) -> str:
    """The story's description in wiki markup, its criteria as an "Acceptance Criteria" list."""
    markdown = description
    if acceptance_criteria:
        items = "\n".join(f"- {criterion}" for criterion in acceptance_criteria)
        markdown += f"\n\n## Acceptance Criteria\n\n{items}"
    return markdown_to_wiki(markdown)


def table_cell(text: str) -> str:
    """Text that cannot end a table cell or open markup."""
    return "".join(f"\\{char}" if char in "|{}[]" else char for char in " ".join(text.split()))
