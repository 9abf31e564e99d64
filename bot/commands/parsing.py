"""`/augment` commands in Jira comments.

A command is a line of a comment whose first non-blank text is ``/augment`` (any case)
followed by whitespace or the end of the line: ``/augment describe``, ``/AUGMENT apply 3f2c``.
The first word after it is the command name (lower-cased); the other words are its
arguments, as typed. ``/augmentation`` is not a command, nor is ``/augment`` later in a line.

Comment bodies come in two shapes, and code and quotes never hold commands in either:

- Wiki markup strings (REST v2, webhooks). ``{code}``/``{code:lang}``, ``{noformat}`` and
  ``{quote}`` blocks are skipped, wherever on a line their tags are (a block can open and
  close on one line). A block left open runs to the end of the comment: a command that may
  be quoted text is not run. Markdown fences (```) that people paste are skipped as well.
  ``bq.`` and ``>`` quote lines, ``{{monospace}}`` and formatted lines such as
  ``*/augment describe*`` or ``* /augment describe`` do not start with ``/augment``, so they are
  not commands either: only whitespace is stripped, never markup, which keeps the rule
  predictable ("the line starts with /augment").
- ADF documents (REST v3, some webhooks). ``codeBlock`` and ``blockquote`` nodes are skipped,
  and so is a line that starts with ``code``-marked text. Formatting is not part of the text
  in ADF, so a bold, heading or list-item ``/augment describe`` is a command there.

A comment yields at most ``MAX_COMMANDS_PER_COMMENT`` commands, and a line is kept (to echo and
record) cut to 200 characters.

Arguments are outside input: a job named in ``/augment cancel <job>`` or ``/augment apply
<job>`` must have a job id's shape (``job_argument``) before it is looked up anywhere.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from schemas.keys import is_job_id

MAX_COMMANDS_PER_COMMENT = 10
_COMMAND = re.compile(r"/augment(?=\s|\Z)", re.IGNORECASE)
_PREFIX_LENGTH = len("/augment")


@dataclass(frozen=True)
class CommandLine:
    """One ``/augment`` line of a comment."""

    name: str  # lower-cased first word after /augment, "" when the line is just "/augment"
    arguments: tuple[str, ...]  # the remaining whitespace-separated words, as typed
    text: str  # the line as typed, stripped, cut to _TEXT_LENGTH: it is echoed and recorded


def find_commands(body: str | dict[str, Any] | None) -> list[CommandLine]:
    """The commands in a comment body (wiki markup or ADF), in the order they appear; at most
    MAX_COMMANDS_PER_COMMENT (a 32 KiB comment could hold thousands)."""
    if isinstance(body, str):
        candidates: Iterator[str] = _wiki_candidate_lines(body)
    elif isinstance(body, dict):
        candidates = _adf_candidate_lines(body)
    else:
        return []
    commands = (command for line in candidates if (command := _parse_line(line)) is not None)
    return list(itertools.islice(commands, MAX_COMMANDS_PER_COMMENT))


class CommandArgumentError(ValueError):
    """An argument that cannot be what the command expects; the message says what it should be."""


# Enough of a bad argument, or of a line, to recognise it in an answer, never a wall of text.
_ECHO_LENGTH = 40
_TEXT_LENGTH = 200


def _cut(text: str, length: int) -> str:
    return text if len(text) <= length else text[:length] + "…"


def job_argument(line: CommandLine) -> str | None:
    """The job a command names as its first argument (lower-cased), or None when it names none.

    Raises `CommandArgumentError` when the argument is not a job id, so that nothing
    malformed (or kilobytes long) is ever looked up.
    """
    if not line.arguments:
        return None
    word = line.arguments[0]
    if not is_job_id(word):
        raise CommandArgumentError(
            f"{_cut(word, _ECHO_LENGTH)} is not a job id; a job id looks like 3f2c1a9e-5b7d-4c1e-9f0a-2b3c4d5e6f70"
        )
    return word.lower()


def comment_text(body: str | dict[str, Any] | None) -> str:
    """Readable plain text of a comment body, for logs and echoes.

    Wiki markup is returned as is. ADF becomes its text, code and quotes included, with a
    newline between blocks and at each hard break.
    """
    if isinstance(body, str):
        return body
    if isinstance(body, dict):
        return "\n".join("".join(segment.text for segment in line) for line in _adf_lines(body))
    return ""


def _parse_line(line: str) -> CommandLine | None:
    text = line.strip()
    if not _COMMAND.match(text):
        return None
    words = text[_PREFIX_LENGTH:].split()
    name = words[0].lower() if words else ""
    return CommandLine(name=name, arguments=tuple(words[1:]), text=_cut(text, _TEXT_LENGTH))


# --- wiki markup ----------------------------------------------------------------------

# Block macros. Jira's own tags are lower-case; matching any case errs towards skipping text.
_MACRO = re.compile(r"\{(code|noformat|quote)(:[^}]*)?\}", re.IGNORECASE)
_LITERAL_MACROS = ("code", "noformat")  # their content is verbatim: no tags inside count
# As in CommonMark, an opening fence's info string has no backticks: "```x```" is inline code.
_FENCE_OPEN = re.compile(r"\s*(`{3,})[^`]*\Z")
_FENCE_CLOSE = re.compile(r"\s*(`{3,})\s*\Z")


def _wiki_candidate_lines(body: str) -> Iterator[str]:
    """Each line that begins outside code and quotes, cut where a block opens on it."""
    # Innermost last: "code", "noformat", "quote", or an open fence's backticks.
    open_blocks: list[str] = []
    for line in body.splitlines():
        began_outside = not open_blocks
        innermost = open_blocks[-1] if open_blocks else ""

        if innermost.startswith("`"):  # inside a fence only a long enough fence matters
            closing = _FENCE_CLOSE.match(line)
            if closing and len(closing.group(1)) >= len(innermost):
                open_blocks.pop()
            continue
        if innermost not in _LITERAL_MACROS and (opening := _FENCE_OPEN.match(line)):
            open_blocks.append(opening.group(1))
            continue

        visible_end = len(line)
        for tag in _MACRO.finditer(line):
            name, has_parameters = tag.group(1).lower(), tag.group(2) is not None
            innermost = open_blocks[-1] if open_blocks else ""
            if innermost in _LITERAL_MACROS:
                if name == innermost and not has_parameters:
                    open_blocks.pop()
            elif name == "quote" and innermost == "quote":
                open_blocks.pop()
            else:
                if not open_blocks:
                    visible_end = min(visible_end, tag.start())
                open_blocks.append(name)
        if began_outside:
            yield line[:visible_end]


# --- ADF ------------------------------------------------------------------------------

_SKIPPED_BLOCKS = frozenset({"codeBlock", "blockquote"})
# Inline nodes without text nodes of their own, and the attributes that hold their text.
_ATOM_TEXT_ATTRIBUTES = {
    "mention": ("text",),
    "emoji": ("text", "shortName"),
    "status": ("text",),
    "inlineCard": ("url",),
    "date": ("timestamp",),
}


@dataclass(frozen=True)
class _Segment:
    text: str
    skipped: bool  # code or quoted text: in comment_text, but never the start of a command


def _adf_candidate_lines(document: dict[str, Any]) -> Iterator[str]:
    for line in _adf_lines(document):
        first = next((segment for segment in line if segment.text.strip()), None)
        if first is not None and not first.skipped:
            # Code-marked words later in the line are arguments: "/augment apply `3f2c`".
            yield "".join(segment.text for segment in line)


class _LineBuilder:
    def __init__(self) -> None:
        self.lines: list[list[_Segment]] = []
        self._current: list[_Segment] = []

    def add(self, text: str, skipped: bool) -> None:
        first, *rest = text.split("\n")  # text nodes of a codeBlock hold several lines
        self._current.append(_Segment(first, skipped))
        for part in rest:
            self.break_line()
            self._current.append(_Segment(part, skipped))

    def break_line(self) -> None:
        self.lines.append(self._current)
        self._current = []

    def end_block(self) -> None:
        if self._current:
            self.break_line()


def _adf_lines(document: dict[str, Any]) -> list[list[_Segment]]:
    """The lines of an ADF document, in order, each as the segments of text it is made of.

    Any node with a ``content`` list is walked, so unknown and future node types keep their
    text; nodes and fields of the wrong shape are ignored. An explicit stack rather than
    recursion: a comment body is outside input and may nest deeper than the recursion limit.
    """
    builder = _LineBuilder()
    # None marks the end of a block: its last line ends there.
    stack: list[tuple[dict[str, Any], bool] | None] = [(document, False)]
    while stack:
        entry = stack.pop()
        if entry is None:
            builder.end_block()
            continue
        node, skipped = entry
        kind = node.get("type")
        skipped = skipped or kind in _SKIPPED_BLOCKS
        if kind == "text":
            text = node.get("text")
            if isinstance(text, str):
                builder.add(text, skipped or _has_code_mark(node))
        elif kind == "hardBreak":
            builder.break_line()
        elif kind in _ATOM_TEXT_ATTRIBUTES:
            builder.add(_atom_text(node), skipped)
        elif isinstance(children := node.get("content"), list):
            builder.end_block()  # a block starts on a line of its own
            stack.append(None)
            stack.extend((child, skipped) for child in reversed(children) if isinstance(child, dict))
    builder.end_block()
    return builder.lines


def _has_code_mark(node: dict[str, Any]) -> bool:
    marks = node.get("marks")
    return isinstance(marks, list) and any(isinstance(mark, dict) and mark.get("type") == "code" for mark in marks)


def _atom_text(node: dict[str, Any]) -> str:
    attributes = node.get("attrs")
    if not isinstance(attributes, dict):
        return ""
    for key in _ATOM_TEXT_ATTRIBUTES[node["type"]]:
        value = attributes.get(key)
        if isinstance(value, str) and value:
            return _date_text(value) if node["type"] == "date" else value
    return ""


def _date_text(timestamp: str) -> str:
    """ADF dates are epoch milliseconds (as a string); Jira shows them as a UTC day."""
    try:
        return datetime.fromtimestamp(int(timestamp) / 1000, tz=UTC).date().isoformat()
    except (ValueError, OverflowError, OSError):
        return timestamp
