"""Jira's size limits on what Augment writes, and how text is fitted to them.

Jira refuses (400) a rich-text field or comment of more than `JIRA_TEXT_LIMIT`
characters. Augment never sends more: a long text is cut at the last section
(heading) boundary that fits, failing that the last paragraph boundary, failing that the
last line; never inside a `{code}` or `{noformat}` block, and a `{panel}` or `{quote}`
left open by the cut is closed. It ends with a visible note saying it was cut and where
the full text is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

JIRA_TEXT_LIMIT = 32_767

_HEADING = re.compile(r"h[1-6]\. ")
_MACRO = re.compile(r"\{(code|noformat|quote|panel)(?::[^}]*)?\}")
_OPAQUE = frozenset({"code", "noformat"})


def job_ticket_path(job_id: str, ticket_key: str) -> str:
    """Where the API shows one ticket's full generated text: `/jobs/<id>/tickets/<key>`."""
    return f"/jobs/{job_id}/tickets/{ticket_key}"


def cut_note(full_text_at: str) -> str:
    return f"_… cut to fit Jira's {JIRA_TEXT_LIMIT:,}-character limit; the full text is at {full_text_at}_"


def fit_wiki(text: str, full_text_at: str, limit: int = JIRA_TEXT_LIMIT) -> str:
    """`text` unchanged when it fits in `limit`; else its longest head ending at a boundary,
    then the cut note, in at most `limit` characters."""
    if len(text) <= limit:
        return text
    note = "\n\n" + cut_note(full_text_at)
    cuts = _cuts(text)
    for rank in (_SECTION, _PARAGRAPH, _LINE):
        fitting = [cut for cut in cuts if cut.rank <= rank and len(_head(text, cut)) + len(note) <= limit]
        if fitting:
            return _head(text, max(fitting, key=lambda cut: cut.offset)) + note
    return text[: max(limit - len(note), 0)] + note


_SECTION, _PARAGRAPH, _LINE = 0, 1, 2


@dataclass(frozen=True)
class _Cut:
    offset: int
    rank: int  # _SECTION, _PARAGRAPH or _LINE
    closers: str  # closes the panels and quotes open at `offset`


def _head(text: str, cut: _Cut) -> str:
    return text[: cut.offset].rstrip() + cut.closers


def _cuts(text: str) -> list[_Cut]:
    """Where a line starts outside `{code}`/`{noformat}`, ranked by what starts there."""
    cuts: list[_Cut] = []
    open_blocks: list[str] = []
    offset = 0
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        opaque = bool(open_blocks) and open_blocks[-1] in _OPAQUE
        if not opaque and offset > 0:
            rank = _SECTION if _HEADING.match(line) else _PARAGRAPH if not stripped else _LINE
            closers = "".join(f"\n{{{name}}}" for name in reversed(open_blocks))
            cuts.append(_Cut(offset, rank, closers))
        _track(stripped, open_blocks)
        offset += len(line)
    return cuts


def _track(line: str, open_blocks: list[str]) -> None:
    """Update the stack of open blocks after `line` (macros open and close with the same tag)."""
    for macro in _MACRO.finditer(line):
        name = macro.group(1)
        if open_blocks and open_blocks[-1] in _OPAQUE:
            if name == open_blocks[-1] and macro.group(0) == f"{{{name}}}":
                open_blocks.pop()
        elif open_blocks and open_blocks[-1] == name and macro.group(0) == f"{{{name}}}":
            open_blocks.pop()
        else:
            open_blocks.append(name)
