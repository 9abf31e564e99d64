"""A PRD's story table (Confluence storage format) → the stories it lists. No LLM needed.

The rules, as PRDs are really written:

- **The table** is the first table after a heading (h1–h6) whose text, normalised (case,
  emoji, punctuation and a leading section number dropped), names a story list: "Story
  Ticket List", "Story Tickets", "Story List", "User Stories", "Stories", "Story Table"
  and the like (`_STORY_HEADING`), before the next heading. Document order is what counts, so a table inside an
  expand macro or a page-layout cell under that heading is found; a table nested in a
  table's cell is part of that cell, not a candidate.
- **The header** is the table's first row with any text: `<th>` cells, or `<td>` cells in
  bold, as Confluence writes either. Columns are matched case-insensitively: the title is
  Title, Summary, Name or Story; the description Description or Details; the criteria
  Acceptance Criteria, AC or Criteria. Other columns (Notes, Owner, ...) are ignored.
- **Rows**: a blank row is skipped; a row without a title is skipped with a warning. The
  description defaults to the title. Acceptance criteria become a list: each list item and
  each line (paragraph or `<br>`) is one criterion, except that a Given/When/Then scenario
  is one criterion however many lines it takes (a line starting with When, Then, And or But
  continues the scenario above it). Entities are decoded (`&amp;`, `&nbsp;`).
- **Bounds**: at most `MAX_ROWS` stories; a title is cut to Jira's 255 characters, a
  description and each criterion to its 32,767, at most `MAX_CRITERIA` criteria a story.

No table found is a `StoryTableError` that names the headings looked for.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from bot.documents.storage_text import cell_lines
from bot.documents.storage_tree import Element, parse_storage
from bot.documents.text_tables import table_rows

MAX_ROWS = 200
MAX_CRITERIA = 50
SUMMARY_LIMIT = 255
TEXT_LIMIT = 32_767
HEADINGS_LOOKED_FOR = ("Story Ticket List", "Story Tickets", "Story List", "User Stories", "Stories")

_HEADING_TAGS = frozenset(f"h{level}" for level in range(1, 7))
# Normalised heading text (lower case, words only) that names a story list.
_STORY_HEADING = re.compile(r"(user |product )?(story|stories)( ticket| tickets)?( list| table| backlog| breakdown)?")
_SECTION_NUMBER = re.compile(r"^[0-9]+(\s+[0-9]+)*\s+")
_COLUMNS = {
    "acceptance_criteria": ("acceptance criteria", "acceptance criterion", "acceptance", "ac", "criteria"),
    "description": ("description", "details", "story description", "desc"),
    "title": ("title", "summary", "name", "story", "story title", "story name", "user story", "ticket"),
}
_LIST_MARKER = re.compile(r"^\s*(?:- \[[ x]\] |- |[0-9]+\. )")
_GHERKIN_START = re.compile(r"^(given|when)\b", re.IGNORECASE)
_GHERKIN_GOES_ON = re.compile(r"^(when|then|and|but)\b", re.IGNORECASE)


class StoryTableError(ValueError):
    """The page has no story table this module can read; the message says what was looked for."""


@dataclass(frozen=True)
class PrdStory:
    title: str
    description: str
    acceptance_criteria: tuple[str, ...]
    row: int  # the table's data row, from 1, for messages


@dataclass(frozen=True)
class StoryTable:
    heading: str
    stories: list[PrdStory]
    warnings: list[str] = field(default_factory=list)


def find_story_table(storage: str) -> StoryTable:
    """The stories of the first story table of a page's storage body."""
    heading, table, seen = _story_table(parse_storage(storage))
    if table is None:
        looked_for = ", ".join(f'"{name}"' for name in HEADINGS_LOOKED_FOR)
        if heading is None:
            shown = (
                "; its headings: " + ", ".join(f'"{text}"' for text in seen[:20]) if seen else "; it has no headings"
            )
            raise StoryTableError(f"No story table found: no heading named {looked_for} or similar{shown}")
        raise StoryTableError(f'No story table found: the heading "{heading}" has no table under it')
    return _stories(heading or "", table)


def normalise_title(title: str) -> str:
    """How two titles are compared: case, spacing and trailing punctuation do not count."""
    return " ".join(unicodedata.normalize("NFKC", title).casefold().split()).rstrip(".!?:;")


def _story_table(root: Element) -> tuple[str | None, Element | None, list[str]]:
    """(matching heading, its table, every heading seen), walking in document order."""
    seen: list[str] = []
    heading: str | None = None
    pending: list[Element | str] = list(reversed(root.children))
    while pending:
        node = pending.pop()
        if isinstance(node, str):
            continue
        if node.tag in _HEADING_TAGS:
            text = " ".join(node.raw_text().split())
            seen.append(text)
            if _STORY_HEADING.fullmatch(_words(text)):
                heading = text
            elif heading is not None:
                return heading, None, seen  # the story section ended without a table
            continue
        if node.tag == "table":
            if heading is not None:
                return heading, node, seen
            continue  # a table elsewhere, and the tables in its cells, are not the story table
        pending.extend(reversed(node.children))
    return heading, None, seen


def _words(text: str) -> str:
    """Lower-case words only: emoji, punctuation and a leading "3." or "2.1" dropped."""
    kept = "".join(char if char.isalnum() else " " for char in unicodedata.normalize("NFKC", text).casefold())
    return _SECTION_NUMBER.sub("", " ".join(kept.split()))


def _stories(heading: str, table: Element) -> StoryTable:
    rows = [[cell_lines(cell) for cell in _spread(row)] for row in table_rows(table)]
    rows = [row for row in rows if any(row)]
    if not rows:
        raise StoryTableError(f'The story table under "{heading}" is empty')
    header = [" ".join(" ".join(lines).split()) for lines in rows[0]]
    columns = _columns(header)
    if "title" not in columns:
        shown = ", ".join(f'"{name}"' for name in header if name) or "none"
        raise StoryTableError(
            f'The story table under "{heading}" has no Title, Summary, Name or Story column (its columns: {shown})'
        )
    warnings: list[str] = []
    body = rows[1:]
    if len(body) > MAX_ROWS:
        warnings.append(f"The story table has {len(body)} rows; only the first {MAX_ROWS} are read")
        body = body[:MAX_ROWS]
    stories: list[PrdStory] = []
    for number, row in enumerate(body, start=1):
        cells = {name: row[index] if index < len(row) else [] for name, index in columns.items()}
        title = " ".join(" ".join(cells["title"]).split())
        if not title:
            warnings.append(f"Row {number} of the story table has no title; it was skipped")
            continue
        description = "\n".join(line.strip() for line in cells.get("description", [])).strip() or title
        stories.append(
            PrdStory(
                title=_cut(title, SUMMARY_LIMIT),
                description=_cut(description, TEXT_LIMIT),
                acceptance_criteria=_criteria(cells.get("acceptance_criteria", [])),
                row=number,
            )
        )
    return StoryTable(heading=heading, stories=stories, warnings=warnings)


def _spread(row: list[Element]) -> list[Element]:
    """A spanning cell stands in every column it spans, so later columns stay aligned."""
    cells: list[Element] = []
    for cell in row:
        span = cell.attrs.get("colspan", "1")
        cells += [cell] + [Element("td")] * (min(int(span), 50) - 1 if span.isascii() and span.isdigit() else 0)
    return cells


def _columns(header: list[str]) -> dict[str, int]:
    """Column role → index: an exact name first, then a name that starts with one ("Title (short)")."""
    found: dict[str, int] = {}
    names = [_words(name) for name in header]
    for exact in (True, False):
        for role, aliases in _COLUMNS.items():
            if role in found:
                continue
            for index, name in enumerate(names):
                taken = index in found.values()
                if not taken and any(
                    name == alias or (not exact and name.startswith(f"{alias} ")) for alias in aliases
                ):
                    found[role] = index
                    break
    return found


def _criteria(lines: list[str]) -> tuple[str, ...]:
    """Each list item and line one criterion; the lines of one Given/When/Then scenario one."""
    criteria: list[str] = []
    in_scenario = False
    for line in lines:
        text = _LIST_MARKER.sub("", line).strip()
        if not text:
            continue
        if in_scenario and _GHERKIN_GOES_ON.match(text):
            criteria[-1] += " " + text[:1].lower() + text[1:]
            continue
        criteria.append(text)
        in_scenario = bool(_GHERKIN_START.match(text))
    return tuple(_cut(text, TEXT_LIMIT) for text in criteria[:MAX_CRITERIA])


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
