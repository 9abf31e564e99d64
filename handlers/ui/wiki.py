"""Jira wiki markup as the dashboard shows it: rendered as Jira would, and what a plan changes in it.

Rendering: jira2markdown (a grammar of Jira's wiki markup) turns the text into Markdown, and
markdown-it-py renders that with raw HTML off, so markup in the text arrives escaped (`<script>`
is shown, never run); only the link schemes markdown-it allows are linked (no `javascript:`).
Images are not rendered: a ticket's picture would be fetched from another host, and the
dashboard makes no outside request.

The diff compares the wiki text itself (what Jira stores), by lines and then by words within
the lines that changed (when they stay alike), so two long descriptions compare quickly and a
one-word edit shows as one word. A marker for screen readers says where a removal or an insertion begins and ends.

Both libraries load on the first preview page, like Jinja2.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import cache
from typing import TYPE_CHECKING, Literal

from markupsafe import Markup

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

Change = Literal["same", "del", "ins"]
WORDS = re.compile(r"\s+|[^\s]+")
# Rewritten lines sharing less than this part of their words read better as old, then new.
ALIKE = 0.5


@dataclass(frozen=True)
class Piece:
    """A run of the diff: text both hold (`same`), only the current one (`del`), or only the planned one (`ins`)."""

    change: Change
    text: str


def to_html(wiki: str | None) -> Markup:
    """The HTML Jira would show for `wiki` (empty for no text)."""
    if not wiki or not wiki.strip():
        return Markup("")
    from jira2markdown import convert  # type: ignore[import-untyped]  # it ships no type hints

    return Markup(_renderer().render(convert(wiki)))  # safe: markdown-it escapes the text (html off)


def diff(before: str | None, after: str | None) -> list[Piece]:
    """What changes from `before` to `after`, in order; adjacent runs of one kind are joined."""
    old, new = _lines(before), _lines(after)
    pieces: list[Piece] = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        removed, added = "".join(old[i1:i2]), "".join(new[j1:j2])
        if tag == "equal":
            pieces.append(Piece("same", removed))
        elif tag == "replace":
            pieces.extend(_words(removed, added))
        else:
            pieces.extend([Piece("del", removed)] if removed else [Piece("ins", added)])
    return _joined(pieces)


def _lines(text: str | None) -> list[str]:
    """The text's lines, each ending in a line break (the last one too), so a change to the
    last line does not run into the next line."""
    lines = (text or "").splitlines(keepends=True)
    if lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += "\n"
    return lines


def _words(before: str, after: str) -> list[Piece]:
    """Lines rewritten: word by word when they stay alike, else the old lines, then the new."""
    old, new = WORDS.findall(before), WORDS.findall(after)
    matcher = SequenceMatcher(None, old, new, autojunk=False)
    if matcher.ratio() < ALIKE:
        return [Piece("del", before), Piece("ins", after)]
    pieces: list[Piece] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            pieces.append(Piece("same", "".join(old[i1:i2])))
            continue
        if i2 > i1:
            pieces.append(Piece("del", "".join(old[i1:i2])))
        if j2 > j1:
            pieces.append(Piece("ins", "".join(new[j1:j2])))
    return pieces


def _joined(pieces: list[Piece]) -> list[Piece]:
    joined: list[Piece] = []
    for piece in pieces:
        if not piece.text:
            continue
        if joined and joined[-1].change == piece.change:
            joined[-1] = Piece(piece.change, joined[-1].text + piece.text)
        else:
            joined.append(piece)
    return joined


@cache
def _renderer() -> MarkdownIt:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"]).disable("image")
