"""Fit a document into a token budget without cutting it mid-thought.

Whole sections (a heading and what follows it, up to the next heading) are kept in order
while they fit. The first one that does not fit is cut at the last paragraph, sentence,
list item or table row that fits — never inside a sentence, a row or a code block — and
the rest is dropped. A marker then tells the model that text is missing, so it does not
take a truncated PRD for the whole PRD.

Tokens are estimated, not counted: tokenizers differ per provider, and the budget is a
guard against overflowing a context window, not an exact fit. ASCII runs at about four
characters a token in current tokenizers; other characters (CJK, Cyrillic, typographic
quotes and dashes) are counted as a token each, which overestimates, the safe side.
"""

from __future__ import annotations

import re

CHARS_PER_TOKEN = 4
_SEPARATOR = "\n\n"  # between blocks, as storage_to_text writes them
_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
_HEADING = re.compile(r"^#{1,6}\s")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s")
_TABLE_SEPARATOR = re.compile(r"^\|(?:\s*:?-{3,}:?\s*\|)+\s*$")
# A sentence ends at . ! ? or … (maybe closed by a quote or bracket) before whitespace and
# something that does not continue a sentence in lower case ("e.g. this" is not an end).
_SENTENCE_END = re.compile(r"[.!?…][)\]\"'’”]*(?=\s+[^\sa-z])")


def estimate_tokens(text: str) -> int:
    return -(-_weight(text) // CHARS_PER_TOKEN)


def cut_to_budget(text: str, max_tokens: int) -> str:
    """``text`` if it fits in ``max_tokens``; else its leading sections and a marker.

    The result always fits (``estimate_tokens(result) <= max_tokens``); when not even the
    marker fits, or the budget is not positive, it is "".
    """
    if max_tokens <= 0:
        return ""
    budget = max_tokens * CHARS_PER_TOKEN
    if _weight(text) <= budget:
        return text
    sections = _sections(_blocks(text))
    kept: list[list[str]] = []
    used = 0  # weight of the kept blocks joined by separators
    partial = False
    stop = len(sections)
    for index, section in enumerate(sections):
        after = len(sections) - index - 1
        cost = _joined_weight(section) + (len(_SEPARATOR) if kept else 0)
        tail = len(_SEPARATOR) + _weight(_marker(after, partial=False)) if after else 0
        if used + cost + tail <= budget:
            kept.append(section)
            used += cost
            continue
        stop = index
        # The first section that does not fit whole keeps the beginning that does: the
        # room would otherwise go unused, and a section too big for any budget (a long
        # story table) would be lost entirely.
        marker = len(_SEPARATOR) + _weight(_marker(after, partial=True))
        beginning = _cut_section(section, budget - used - (len(_SEPARATOR) if kept else 0) - marker)
        if beginning:
            kept.append(beginning)
            partial = True
        break
    omitted = len(sections) - stop - (1 if partial else 0)
    # A heading whose content was all omitted only wastes tokens and misleads.
    while kept and not partial and omitted and len(kept[-1]) == 1 and _is_heading(kept[-1][0]):
        kept.pop()
        omitted += 1
    blocks = [block for section in kept for block in section]
    if omitted or partial:
        blocks.append(_marker(omitted, partial=partial))
    result = _SEPARATOR.join(blocks)
    return result if _weight(result) <= budget else ""


def _marker(sections: int, *, partial: bool) -> str:
    parts = ["rest of this section"] if partial else []
    if sections:
        parts.append(f"{sections} more section{'' if sections == 1 else 's'}")
    return f"[… {' and '.join(parts)} omitted to fit the context budget]"


def _weight(text: str) -> int:
    """Additive size in quarter tokens: 1 per ASCII character, 4 per other character."""
    ascii_chars = len(text.encode("ascii", "ignore"))
    return ascii_chars + CHARS_PER_TOKEN * (len(text) - ascii_chars)


def _joined_weight(blocks: list[str]) -> int:
    return sum(_weight(block) for block in blocks) + len(_SEPARATOR) * max(len(blocks) - 1, 0)


def _blocks(text: str) -> list[str]:
    """Blank-line separated blocks; a fenced code block is one block, blank lines and all."""
    blocks: list[str] = []
    current: list[str] = []
    fence: str | None = None
    for line in text.splitlines():
        if fence is None and not line.strip():
            if current:
                blocks.append("\n".join(current))
                current = []
            continue
        current.append(line.rstrip())
        found = _FENCE.match(line)
        if found and fence is None:
            fence = found.group(1)
        elif found and fence is not None and _closes(fence, line):
            fence = None
    if current:
        blocks.append("\n".join(current))
    return blocks


def _closes(fence: str, line: str) -> bool:
    """A closing fence: only the opening's character, at least as many of them."""
    marker = line.strip()
    return set(marker) == {fence[0]} and len(marker) >= len(fence)


def _sections(blocks: list[str]) -> list[list[str]]:
    """Blocks grouped by heading; text before the first heading is a section too."""
    sections: list[list[str]] = []
    for block in blocks:
        if _is_heading(block) or not sections:
            sections.append([block])
        else:
            sections[-1].append(block)
    return sections


def _is_heading(block: str) -> bool:
    return "\n" not in block and bool(_HEADING.match(block))


def _cut_section(section: list[str], room: int) -> list[str] | None:
    """The longest beginning of ``section`` that fits in ``room``, cut only at boundaries;
    ``None`` if nothing beyond its heading would fit."""
    kept: list[str] = []
    used = 0
    for block in section:
        separator = len(_SEPARATOR) if kept else 0
        if used + separator + _weight(block) <= room:
            kept.append(block)
            used += separator + _weight(block)
            continue
        for point in reversed(_cut_points(block)):
            part = block[:point].rstrip()
            if used + separator + _weight(part) <= room:
                kept.append(part)
                break
        break
    content = kept[1:] if kept and _is_heading(kept[0]) else kept
    return kept if content else None


def _cut_points(block: str) -> list[int]:
    """Offsets where ``block`` may end early, in increasing order."""
    lines = block.split("\n")
    line_ends = []
    offset = 0
    for line in lines[:-1]:
        offset += len(line)
        line_ends.append(offset)
        offset += 1
    if _FENCE.match(lines[0]) or _is_heading(block):
        return []  # code is useless half-fenced; a heading is one unit
    if all(line.startswith("|") for line in lines):
        # Keep the header (and its separator line) plus at least one whole row.
        header = 2 if len(lines) > 1 and _TABLE_SEPARATOR.match(lines[1]) else 1
        return line_ends[header:]
    if _LIST_ITEM.match(lines[0]):
        return line_ends
    sentence_ends = {m.end() for m in _SENTENCE_END.finditer(block)}
    return sorted(sentence_ends.union(line_ends))
