"""Confluence storage format → a small element tree.

Storage format is XHTML with ``ac:``/``ri:`` elements whose namespaces are never
declared and HTML entities (``&nbsp;``, ``&rsquo;``) that XML does not define, so an XML
parser rejects real pages. The stdlib ``html.parser`` accepts all of it, knows every HTML5
entity and never raises on malformed markup; we only add what it lacks: CDATA sections
(code macros keep their text in them) and a tree to walk.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

# XML's rule: a CDATA section ends at the first "]]>". Python versions differ in how
# html.parser reports CDATA (unknown_decl, or a bogus comment), so escape it up front.
_CDATA = re.compile(r"<!\[CDATA\[(.*?)\]\]>", re.DOTALL)
# Elements that never have content; an unclosed <br> must not swallow what follows.
_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"})
# Real pages nest a few dozen levels; deeper markup is flattened so that walking the tree
# recursively cannot exhaust Python's stack on a hostile or broken page.
_MAX_DEPTH = 100


@dataclass
class Element:
    tag: str
    attrs: dict[str, str] = field(default_factory=dict)
    children: list[Element | str] = field(default_factory=list)

    def find(self, tag: str) -> Element | None:
        """The first child element named ``tag``."""
        return next((c for c in self.children if isinstance(c, Element) and c.tag == tag), None)

    def elements(self) -> list[Element]:
        return [c for c in self.children if isinstance(c, Element)]

    def raw_text(self) -> str:
        """All text below this element, whitespace untouched (code bodies)."""
        return "".join(c if isinstance(c, str) else c.raw_text() for c in self.children)


def parse_storage(storage: str) -> Element:
    """The storage document as children of a synthetic ``root`` element."""
    builder = _TreeBuilder()
    builder.feed(_CDATA.sub(lambda m: html.escape(m.group(1), quote=False), storage))
    builder.close()
    return builder.root


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("root")
        self._open: list[Element] = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {name: value or "" for name, value in attrs})
        self._open[-1].children.append(element)
        if tag not in _VOID and len(self._open) < _MAX_DEPTH:
            self._open.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._open[-1].children.append(Element(tag, {name: value or "" for name, value in attrs}))

    def handle_endtag(self, tag: str) -> None:
        # Close up to the matching open element; a stray end tag closes nothing.
        for depth in range(len(self._open) - 1, 0, -1):
            if self._open[depth].tag == tag:
                del self._open[depth:]
                return

    def handle_data(self, data: str) -> None:
        self._open[-1].children.append(data)
