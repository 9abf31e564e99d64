"""Jira wiki markup ↔ Atlassian Document Format (ADF), and both to plain text.

The sandbox stores bodies as wiki markup (what REST v2 reads and writes) and converts
for REST v3, which speaks ADF. The ADF produced is small but honest: paragraphs,
headings, bullet/ordered lists (nested), code blocks, rules, block quotes and tables,
with strong/em/code/link marks. ADF received on v3 writes is flattened back to wiki
markup; nodes without a wiki equivalent keep their text.
"""

from __future__ import annotations

import re
from typing import Any

Node = dict[str, Any]

_HEADING = re.compile(r"^h([1-6])\.\s+(.*)$")
_LIST_ITEM = re.compile(r"^([*#-]+)\s+(.*)$")
_CODE_START = re.compile(r"^\{(code|noformat)(?::([^}]*))?\}(.*)$")
_QUOTE = re.compile(r"^bq\.\s+(.*)$")
_TABLE_ROW = re.compile(r"^\|\|?.*\|$")

# Inline markup, tried leftmost-first. Emphasis must hug its text, as in Jira.
_INLINE = re.compile(
    r"\{\{(?P<code>.+?)\}\}"
    r"|\[(?P<link_text>[^|\]]+)\|(?P<link_href>[^\]]+)\]"
    r"|\[(?P<bare_href>(?:https?|mailto):[^\]]+)\]"
    r"|(?<![\w*])\*(?P<strong>[^\s*](?:[^*]*[^\s*])?)\*(?![\w*])"
    r"|(?<![\w_])_(?P<em>[^\s_](?:[^_]*[^\s_])?)_(?![\w_])"
)


def wiki_to_adf(wiki: str | None) -> Node | None:
    """Convert a wiki-markup body to an ADF document (None stays None)."""
    if wiki is None:
        return None
    return {"type": "doc", "version": 1, "content": _blocks(wiki.replace("\r\n", "\n").split("\n"))}


def adf_to_wiki(document: Node) -> str:
    """Flatten an ADF document to wiki markup."""
    return "\n\n".join(part for part in (_block_to_wiki(node) for node in document.get("content", [])) if part)


def is_adf_document(value: object) -> bool:
    return isinstance(value, dict) and value.get("type") == "doc" and isinstance(value.get("content", []), list)


def wiki_to_text(wiki: str | None) -> str:
    """Plain text of a wiki-markup body: what a person reads, markup removed."""
    document = wiki_to_adf(wiki)
    return "" if document is None else adf_to_text(document)


def adf_to_text(node: Node) -> str:
    if node.get("type") == "text":
        return str(node.get("text", ""))
    if node.get("type") == "hardBreak":
        return "\n"
    children = [adf_to_text(child) for child in node.get("content", [])]
    inline_parent = node.get("type") in ("paragraph", "heading")
    return "".join(children) if inline_parent else "\n".join(child for child in children if child)


# --- wiki → ADF -------------------------------------------------------------------


def _blocks(lines: list[str]) -> list[Node]:
    blocks: list[Node] = []
    paragraph: list[str] = []
    index = 0

    def flush_paragraph() -> None:
        if paragraph:
            blocks.append({"type": "paragraph", "content": _inline_lines(paragraph)})
            paragraph.clear()

    while index < len(lines):
        line = lines[index]
        stripped = line.strip()
        if code := _CODE_START.match(stripped):
            flush_paragraph()
            index = _code_block(lines, index, code, blocks)
            continue
        if not stripped:
            flush_paragraph()
        elif heading := _HEADING.match(stripped):
            flush_paragraph()
            blocks.append({"type": "heading", "attrs": {"level": int(heading[1])}, "content": _inline(heading[2])})
        elif stripped == "----":
            flush_paragraph()
            blocks.append({"type": "rule"})
        elif quote := _QUOTE.match(stripped):
            flush_paragraph()
            blocks.append({"type": "blockquote", "content": [{"type": "paragraph", "content": _inline(quote[1])}]})
        elif _LIST_ITEM.match(stripped) and not stripped.startswith("----"):
            flush_paragraph()
            # A list runs while its lines keep the first item's kind of marker.
            end = index
            while end < len(lines) and _LIST_ITEM.match(lines[end].strip()) and lines[end].strip()[0] == stripped[0]:
                end += 1
            blocks.append(_list([_LIST_ITEM.match(item.strip()) for item in lines[index:end]]))  # type: ignore[misc]
            index = end
            continue
        elif _TABLE_ROW.match(stripped):
            flush_paragraph()
            end = index
            while end < len(lines) and _TABLE_ROW.match(lines[end].strip()):
                end += 1
            blocks.append(_table([row.strip() for row in lines[index:end]]))
            index = end
            continue
        else:
            paragraph.append(stripped)
        index += 1
    flush_paragraph()
    return blocks


def _code_block(lines: list[str], index: int, start: re.Match[str], blocks: list[Node]) -> int:
    """Append a code block opened at ``lines[index]``; return the index after it."""
    kind, language, rest = start[1], start[2], start[3]
    closing = "{" + kind + "}"
    body: list[str] = []
    if closing in rest:  # {code}one line{code}
        body.append(rest.split(closing, 1)[0])
        index += 1
    else:
        if rest:
            body.append(rest)
        index += 1
        while index < len(lines) and closing not in lines[index]:
            body.append(lines[index])
            index += 1
        if index < len(lines):
            before = lines[index].split(closing, 1)[0]
            if before:
                body.append(before)
            index += 1
    node: Node = {"type": "codeBlock", "content": [{"type": "text", "text": "\n".join(body)}] if body else []}
    if kind == "code" and language:
        node["attrs"] = {"language": language.split("|", 1)[0]}
    blocks.append(node)
    return index


def _list(items: list[re.Match[str]]) -> Node:
    """Build nested bullet/ordered lists from ``* a``, ``** b``, ``# c`` lines."""
    root = _new_list(items[0][1][-1])
    stack: list[tuple[int, Node]] = [(1, root)]
    for item in items:
        markers, text = item[1], item[2]
        depth = len(markers)
        while depth > stack[-1][0] and stack[-1][1]["content"]:
            nested = _new_list(markers[stack[-1][0]])
            stack[-1][1]["content"][-1]["content"].append(nested)
            stack.append((stack[-1][0] + 1, nested))
        while depth < stack[-1][0] and len(stack) > 1:
            stack.pop()
        stack[-1][1]["content"].append(
            {"type": "listItem", "content": [{"type": "paragraph", "content": _inline(text)}]}
        )
    return root


def _new_list(marker: str) -> Node:
    return {"type": "orderedList" if marker == "#" else "bulletList", "content": []}


def _table(rows: list[str]) -> Node:
    table_rows = []
    for row in rows:
        header = row.startswith("||")
        separator = "||" if header else "|"
        cells = row.strip("|").split(separator)
        cell_type = "tableHeader" if header else "tableCell"
        table_rows.append(
            {
                "type": "tableRow",
                "content": [
                    {"type": cell_type, "content": [{"type": "paragraph", "content": _inline(cell.strip())}]}
                    for cell in cells
                ],
            }
        )
    return {"type": "table", "content": table_rows}


def _inline_lines(lines: list[str]) -> list[Node]:
    nodes: list[Node] = []
    for number, line in enumerate(lines):
        if number:
            nodes.append({"type": "hardBreak"})
        nodes.extend(_inline(line))
    return nodes


def _inline(text: str) -> list[Node]:
    nodes: list[Node] = []
    position = 0
    for match in _INLINE.finditer(text):
        if match.start() > position:
            nodes.append({"type": "text", "text": text[position : match.start()]})
        nodes.append(_marked(match))
        position = match.end()
    if position < len(text):
        nodes.append({"type": "text", "text": text[position:]})
    return nodes


def _marked(match: re.Match[str]) -> Node:
    if match["code"] is not None:
        return {"type": "text", "text": match["code"], "marks": [{"type": "code"}]}
    if match["link_text"] is not None:
        return {"type": "text", "text": match["link_text"], "marks": [_link(match["link_href"])]}
    if match["bare_href"] is not None:
        return {"type": "text", "text": match["bare_href"], "marks": [_link(match["bare_href"])]}
    if match["strong"] is not None:
        return {"type": "text", "text": match["strong"], "marks": [{"type": "strong"}]}
    return {"type": "text", "text": match["em"], "marks": [{"type": "em"}]}


def _link(href: str) -> Node:
    return {"type": "link", "attrs": {"href": href.strip()}}


# --- ADF → wiki -------------------------------------------------------------------


def _block_to_wiki(node: Node, depth: str = "") -> str:
    kind = node.get("type")
    content = node.get("content", [])
    if kind == "paragraph":
        return _inline_to_wiki(content)
    if kind == "heading":
        level = min(max(int(node.get("attrs", {}).get("level", 1)), 1), 6)
        return f"h{level}. {_inline_to_wiki(content)}"
    if kind in ("bulletList", "orderedList"):
        marker = depth + ("#" if kind == "orderedList" else "*")
        return "\n".join(_list_item_to_wiki(item, marker) for item in content)
    if kind == "codeBlock":
        language = (node.get("attrs") or {}).get("language")
        opening = "{code:" + language + "}" if language else "{code}"
        return opening + "\n" + "".join(str(child.get("text", "")) for child in content) + "\n{code}"
    if kind == "rule":
        return "----"
    if kind == "blockquote":
        return "\n".join("bq. " + _block_to_wiki(child) for child in content)
    if kind == "table":
        return "\n".join(_row_to_wiki(row) for row in content)
    if kind in ("text", "hardBreak", "mention", "emoji", "inlineCard", "date", "status"):
        return _inline_to_wiki([node])
    return "\n\n".join(part for part in (_block_to_wiki(child, depth) for child in content) if part)


def _list_item_to_wiki(item: Node, marker: str) -> str:
    lines = []
    for child in item.get("content", []):
        if child.get("type") in ("bulletList", "orderedList"):
            lines.append(_block_to_wiki(child, marker))
        else:
            lines.append(f"{marker} {_block_to_wiki(child)}")
    return "\n".join(lines)


def _row_to_wiki(row: Node) -> str:
    cells = row.get("content", [])
    header = bool(cells) and all(cell.get("type") == "tableHeader" for cell in cells)
    separator = "||" if header else "|"
    texts = [" ".join(_block_to_wiki(child) for child in cell.get("content", [])) for cell in cells]
    return separator + separator.join(texts) + separator


def _inline_to_wiki(nodes: list[Node]) -> str:
    parts = []
    for node in nodes:
        kind = node.get("type")
        attrs = node.get("attrs") or {}
        if kind == "text":
            parts.append(_apply_marks(str(node.get("text", "")), node.get("marks", [])))
        elif kind == "hardBreak":
            parts.append("\n")
        elif kind == "mention":
            parts.append(f"[~accountid:{attrs.get('id', '')}]")
        elif kind == "emoji":
            parts.append(str(attrs.get("text") or attrs.get("shortName", "")))
        elif kind == "inlineCard":
            parts.append(f"[{attrs.get('url', '')}]")
        else:
            parts.append(adf_to_text(node))
    return "".join(parts)


def _apply_marks(text: str, marks: list[Node]) -> str:
    for mark in marks:
        kind = mark.get("type")
        if kind == "strong":
            text = f"*{text}*"
        elif kind == "em":
            text = f"_{text}_"
        elif kind == "code":
            text = "{{" + text + "}}"
        elif kind == "strike":
            text = f"-{text}-"
        elif kind == "link":
            text = f"[{text}|{(mark.get('attrs') or {}).get('href', '')}]"
    return text
