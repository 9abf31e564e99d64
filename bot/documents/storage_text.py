"""Confluence storage format → plain text an LLM reads well.

The output is light Markdown, because models read it fluently and it costs few tokens:
``#`` headings, ``-``/``1.`` lists indented two spaces per level, ``- [ ]`` tasks, fenced
code, pipe tables. Blocks are separated by one blank line; that is also where the budget
cutter looks for boundaries. What carries no meaning for a reader is dropped: images,
emoticons, macro settings, table-of-contents and other navigation macros. Inline
emphasis is dropped too (it would double the markup for little gain); inline code keeps
its backticks because identifiers and paths matter in RFCs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.documents.storage_tree import Element, parse_storage
from bot.documents.text_tables import render_table

_HEADINGS = {f"h{level}": level for level in range(1, 7)}
_LISTS = frozenset({"ul", "ol", "ac:task-list"})
_MACROS = frozenset({"ac:structured-macro", "ac:macro"})
# Elements whose content is rendered as blocks of their own (paragraph breaks around them).
_CONTAINERS = frozenset(
    {
        "root",
        "p",
        "div",
        "section",
        "article",
        "aside",
        "header",
        "footer",
        "details",
        "summary",
        "li",
        "tr",
        "td",
        "th",
        "ac:rich-text-body",
        "ac:layout",
        "ac:layout-section",
        "ac:layout-cell",
        "ac:adf-node",
        "ac:adf-content",
        "ac:task-body",
    }
)
_BLOCKS = _CONTAINERS | _LISTS | _HEADINGS.keys() | {"table", "pre", "blockquote", "hr", "ac:adf-extension"}
# Settings, pictures and editor scaffolding: no text a reader needs.
_SKIPPED = frozenset(
    {
        "ac:parameter",
        "ac:image",
        "img",
        "colgroup",
        "col",
        "ac:placeholder",
        "ac:emoticon",
        "ac:task-id",
        "ac:task-uuid",
        "ac:task-status",
        "ac:adf-attribute",
        "ac:adf-fallback",
        "script",
        "style",
    }
)
# Macros that sit inside a sentence: a status lozenge, a Jira issue, an anchor.
_INLINE_MACROS = frozenset({"status", "jira", "anchor"})
# Code-like macros whose body is text to keep verbatim.
_CODE_MACROS = frozenset({"code", "noformat"})

# Spaces the page needs for layout but a model does not: no-break spaces become spaces,
# invisible characters vanish, a no-break hyphen (as in dates) is a hyphen.
_INVISIBLES = str.maketrans(
    {"\u00a0": " ", "\u202f": " ", "\u2007": " ", "\u2011": "-", "\u00ad": None, "\u200b": None, "\u2060": None}
)
_WHITESPACE = re.compile(r"\s+")
_SPACES = re.compile(r" {2,}")
_LANGUAGE = re.compile(r"[^\w+#.-]")


def storage_to_text(storage_xml: str) -> str:
    """Readable plain text of a storage-format page body ("" for an empty page)."""
    return "\n\n".join(_Renderer().blocks(parse_storage(storage_xml).children))


def cell_lines(cell: Element) -> list[str]:
    """A table cell's text as lines: paragraphs and `<br>` breaks each a line, list items
    with their `- ` / `1. ` markers (indented two spaces per level)."""
    return [line for line in _Renderer().cell(cell).splitlines() if line.strip()]


class _Renderer:
    # --- blocks ----------------------------------------------------------------------

    def blocks(self, nodes: Iterable[Element | str]) -> list[str]:
        """Render a run of siblings; loose inline content between blocks is a paragraph."""
        out: list[str] = []
        inline: list[Element | str] = []
        for node in nodes:
            if isinstance(node, Element) and self._is_block(node):
                self._paragraph(inline, out)
                out.extend(block for block in self.block(node) if block)
            else:
                inline.append(node)
        self._paragraph(inline, out)
        return out

    def _is_block(self, element: Element) -> bool:
        if element.tag in _MACROS:
            return _macro_name(element) not in _INLINE_MACROS
        return element.tag in _BLOCKS

    def _paragraph(self, inline: list[Element | str], out: list[str]) -> None:
        text = _clean_lines("".join(self.inline(node) for node in inline))
        if text:
            out.append(text)
        inline.clear()

    def block(self, element: Element) -> list[str]:
        tag = element.tag
        if tag in _HEADINGS:
            text = _clean_lines(self.inline_children(element)).replace("\n", " ")
            return [f"{'#' * _HEADINGS[tag]} {text}"] if text else []
        if tag in _LISTS:
            return ["\n".join(self.list_lines(element, 0))]
        if tag == "table":
            return [render_table(element, self.cell)]
        if tag == "pre":
            return [_fence(element.raw_text(), "")]
        if tag == "blockquote":
            quoted = "\n\n".join(self.blocks(element.children)).splitlines()
            return ["\n".join(f"> {line}" if line else ">" for line in quoted)]
        if tag == "hr":
            return ["---"]
        if tag in _MACROS:
            return self.macro(element)
        if tag == "ac:adf-extension":
            # The node is the content; the fallback repeats it for old renderers.
            node = element.find("ac:adf-node")
            return self.blocks(node.children) if node else []
        return self.blocks(element.children)

    def macro(self, element: Element) -> list[str]:
        name = _macro_name(element)
        rich = element.find("ac:rich-text-body")
        plain = element.find("ac:plain-text-body")
        if name in _CODE_MACROS or (rich is None and plain is not None):
            language = _parameters(element).get("language", "") if name == "code" else ""
            return [_fence(plain.raw_text() if plain else "", language)]
        if rich is None:
            return []  # toc, children, include, ...: navigation or settings, no content of their own
        body = self.blocks(rich.children)
        # info/note/warning/panel/expand: the body is the content; a panel's or an
        # expand's title ("Out of scope") says what the body is about, so it stays.
        title = _clean_lines(_parameters(element).get("title", "")).replace("\n", " ")
        if title and body:
            return [title if title[-1] in ".:!?" else f"{title}:", *body]
        return body

    def list_lines(self, element: Element, depth: int) -> list[str]:
        if element.tag == "ac:task-list":
            return self._task_lines(element, depth)
        number = _int(element.attrs.get("start"), 1)
        lines: list[str] = []
        for child in element.elements():
            if child.tag == "li":
                marker = f"{number}. " if element.tag == "ol" else "- "
                lines.extend(self._item(child.children, depth, marker))
                number += 1
            elif child.tag in _LISTS:  # a list directly in a list: nested, as editors show it
                lines.extend(self.list_lines(child, depth + 1))
        return lines

    def _task_lines(self, element: Element, depth: int) -> list[str]:
        lines: list[str] = []
        for child in element.elements():
            if child.tag == "ac:task":
                status = child.find("ac:task-status")
                done = status is not None and status.raw_text().strip().lower() == "complete"
                body = child.find("ac:task-body")
                lines.extend(self._item(body.children if body else [], depth, "- [x] " if done else "- [ ] "))
            elif child.tag in _LISTS:
                lines.extend(self.list_lines(child, depth + 1))
        return lines

    def _item(self, children: list[Element | str], depth: int, marker: str) -> list[str]:
        """One list item: its first line carries the marker, later lines line up under it."""
        indent = "  " * depth
        lines: list[str] = []
        marked = False
        pending: list[Element | str] = []

        def flush() -> None:
            nonlocal marked
            for line in "\n".join(self.blocks(pending)).splitlines():
                lines.append(f"{indent}{' ' * len(marker) if marked else marker}{line}")
                marked = True
            pending.clear()

        for child in children:
            if isinstance(child, Element) and child.tag in _LISTS:
                flush()
                if not marked:  # an item that only holds a sub-list still shows as an item
                    lines.append(f"{indent}{marker.rstrip()}")
                    marked = True
                lines.extend(self.list_lines(child, depth + 1))
            else:
                pending.append(child)
        flush()
        return lines

    def cell(self, cell: Element) -> str:
        # Lines, not blocks: the table joins them with <br>, flattening nested lists.
        return "\n".join(self.blocks(cell.children))

    # --- inline ----------------------------------------------------------------------

    def inline(self, node: Element | str) -> str:
        if isinstance(node, str):
            return _WHITESPACE.sub(" ", node.translate(_INVISIBLES))
        tag = node.tag
        if tag in _SKIPPED or tag.startswith("ri:"):  # ri: resources mean something only in a link
            return ""
        if tag == "br":
            return "\n"
        if tag == "code":
            return _code_span(self.inline_children(node))
        if tag == "ac:link":
            return self.link(node)
        if tag in _MACROS:
            return self.inline_macro(node)
        if tag == "time":
            return node.attrs.get("datetime", "")
        if tag == "a":
            text = self.inline_children(node)
            return text if text.strip() else node.attrs.get("href", "")
        if tag in _BLOCKS:  # a block where only inline fits (a link body, a heading): keep words apart
            return f" {self.inline_children(node)} "
        return self.inline_children(node)

    def inline_children(self, element: Element) -> str:
        return "".join(self.inline(child) for child in element.children)

    def link(self, element: Element) -> str:
        body = element.find("ac:link-body") or element.find("ac:plain-text-link-body")
        text = self.inline_children(body).strip() if body else ""
        if text:
            return text
        for resource in element.elements():
            attrs = resource.attrs
            if resource.tag in ("ri:page", "ri:blog-post", "ri:content-entity"):
                text = attrs.get("ri:content-title", "")
            elif resource.tag == "ri:attachment":
                text = attrs.get("ri:filename", "")
            elif resource.tag == "ri:user":
                # Storage holds only the account id, which means nothing to a reader.
                text = f"@{attrs['ri:username']}" if attrs.get("ri:username") else "@user"
            elif resource.tag == "ri:space":
                text = attrs.get("ri:space-key", "")
            elif resource.tag == "ri:url":
                text = attrs.get("ri:value", "")
            if text:
                return text
        return element.attrs.get("ac:anchor", "")

    def inline_macro(self, element: Element) -> str:
        name = _macro_name(element)
        parameters = _parameters(element)
        if name == "status":
            title = parameters.get("title", "").strip()
            return f"[{title}]" if title else ""
        if name == "jira":
            return parameters.get("key", "").strip()
        if name in _INLINE_MACROS:
            return ""
        rich = element.find("ac:rich-text-body")
        if rich is not None:
            return f" {self.inline_children(rich)} "
        plain = element.find("ac:plain-text-body")
        return _code_span(plain.raw_text()) if plain is not None else ""


def _macro_name(element: Element) -> str:
    return element.attrs.get("ac:name", "").lower()


def _parameters(element: Element) -> dict[str, str]:
    return {
        child.attrs.get("ac:name", ""): child.raw_text().strip()
        for child in element.elements()
        if child.tag == "ac:parameter"
    }


def _clean_lines(text: str) -> str:
    """Collapse spaces, trim each line, drop empty lines (a run of <br> is one break)."""
    lines = (_SPACES.sub(" ", line.translate(_INVISIBLES)).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def _code_span(text: str) -> str:
    text = _WHITESPACE.sub(" ", text).strip()
    if not text:
        return ""
    ticks = "``" if "`" in text else "`"
    return f"{ticks}{text}{ticks}"


def _fence(code: str, language: str) -> str:
    code = "\n".join(line.rstrip() for line in code.strip("\n").splitlines())
    if not code.strip():
        return ""
    # A fence longer than any backtick run in the code, so the code cannot close it.
    longest = max((len(run) for run in re.findall(r"`+", code)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{_LANGUAGE.sub('', language)}\n{code}\n{fence}"


def _int(value: str | None, default: int) -> int:
    return int(value) if value and value.isascii() and value.isdigit() else default
