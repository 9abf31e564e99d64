"""Markdown (CommonMark + GFM tables and strikethrough) to Jira wiki markup.

LLMs write Markdown; Jira REST v2 description and comment fields read wiki markup, where
raw Markdown shows up as literal ``##`` and ``**``. markdown-it-py parses the document and
this module renders its syntax tree as wiki markup.

The rules were checked against Jira Cloud's own wiki parser (Atlassian's
``@atlaskit/editor-wikimarkup-transformer``, which turns v2 wiki input into ADF) and the
Jira Server/DC renderer's phrase rules:

- Text is escaped only where Jira would read it as markup: braces, brackets and pipes always;
  ``* _ - + ^ ~ ! ??`` only where they could open or close a phrase (so "well-known", "a_b_c"
  and "2 * 3" stay as they are); list, rule, heading and quote markers at a line start; and
  Jira's emoticons such as ``(i)`` and ``:)``. Bare URLs are left alone, Jira links them.
- Jira has no backslash escape for some constructs (``h1.`` or ``bq.`` at a line start,
  ``:D``, a literal backslash): an invisible WORD JOINER (U+2060) keeps them literal. Jira
  Cloud also reads a phrase's content twice, spending a backslash on the first reading, so
  escapes inside bold, italic or strikethrough get word joiners around them.
- Bold and the like next to a word character take the braced form (``foo{*}bar{*}``); a
  phrase that needs braces but contains its own delimiter cannot be written and loses its
  formatting (never its text).
- Task list items become ``☐ text`` (open) and ``☑ text`` (done): wiki markup has no
  checkbox, and Jira's ``(x)`` icon would read as "failed".
- Jira Cloud cannot escape ``|`` inside a table cell, nor ``[``, ``]`` or ``|`` in a link's
  label: there a pipe becomes "∣" (U+2223) and brackets become parentheses. It links only
  URLs with a scheme, ``/paths`` and ``#anchors``; other link targets stay as text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from urllib.parse import quote

from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode

_PARSER = MarkdownIt("commonmark").enable(["table", "strikethrough"])

WORD_JOINER = "\u2060"
_NO_BREAK_SPACE = "\u00a0"

# --- inline pieces --------------------------------------------------------------------
# Inline Markdown becomes a small tree of pieces first; escaping needs the finished line
# around each character, so it happens when a whole line is assembled.


@dataclass(frozen=True)
class _Text:
    """Literal text: escaped where Jira would take it for markup."""

    text: str


@dataclass(frozen=True)
class _Url:
    """A bare URL in text: Jira links it, and a backslash inside would end up in the link."""

    text: str


@dataclass(frozen=True)
class _Markup:
    """Wiki markup written as is."""

    text: str


@dataclass(frozen=True)
class _Code:
    """Monospace content, escaped by its own rules."""

    text: str


@dataclass(frozen=True)
class _Phrase:
    """Text between a pair of delimiters: bold, italic, strikethrough, monospace or an image."""

    delimiter: str
    children: tuple[_Piece, ...]


@dataclass(frozen=True)
class _Break:
    """A soft or hard line break."""


_Piece = _Text | _Url | _Markup | _Code | _Phrase | _Break
_BREAK = _Break()

_PHRASE_DELIMITERS = {"strong": "*", "em": "_", "s": "-"}
# Jira reads a phrase delimiter only next to a non-word character; the braced form ({*}bold{*})
# works inside a word. An image has no braced form: a space keeps it apart from a word.
_FORMS = {  # delimiter: (opening, closing, braced opening, braced closing)
    "*": ("*", "*", "{*}", "{*}"),
    "_": ("_", "_", "{_}", "{_}"),
    "-": ("-", "-", "{-}", "{-}"),
    "{{": ("{{", "}}", "{{{}", "{}}}"),
    "!": ("!", "!", " !", "! "),
}
# Characters that cannot appear in a table cell or a link label at all, escaped or not.
_IN_CELL = str.maketrans({"|": "∣"})
_IN_LINK = str.maketrans({"|": "∣", "[": "(", "]": ")"})
# Jira Cloud's pattern for a bare link in text (link-text.js), with its trimmed end.
_URL_BODY = r"[\w?!~^/\\#$%&'()*+,\-.:;<=@]*[\w~^/\\#$%&'()*+,\-:;<=@]"
_BARE_URL = re.compile(r"(?:(?:https?|ftps?|irc)://|mailto:)" + _URL_BODY, re.IGNORECASE | re.ASCII)  # JS's \w
_URL_TAIL = re.compile(_URL_BODY, re.ASCII)
_LINKABLE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:|[/#]")
_URL_BAD_END = re.compile(r"[.,>)\];}\"'!]+$")
_TASK = re.compile(r"\[([ xX])\](?:[ \t]+|$)")
_HTML_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_HTML_TAG = re.compile(r"</?[A-Za-z][^>]*>|<[!?][^>]*>")


def markdown_to_wiki(markdown: str) -> str:
    """Jira wiki markup for a Markdown (CommonMark + GFM tables/strikethrough) document."""
    return _blocks(SyntaxTreeNode(_PARSER.parse(markdown)).children)


# --- blocks -----------------------------------------------------------------------------


def _blocks(nodes: list[SyntaxTreeNode]) -> str:
    return "\n\n".join(text for text in map(_block, nodes) if text)


def _block(node: SyntaxTreeNode) -> str:
    if node.type == "paragraph":
        return _inline(node.children[0].children)
    if node.type == "heading":
        # A heading is one line in Jira: line breaks inside it become spaces.
        text = _inline(node.children[0].children, line_separator=" ")
        return f"h{node.tag[1]}. {text}" if text else ""
    if node.type in ("fence", "code_block"):
        return _code_block(node.content, node.info.split()[0] if node.info.strip() else "")
    if node.type in ("bullet_list", "ordered_list"):
        return _list(node, "")
    if node.type == "blockquote":
        return "{quote}\n" + _blocks(list(_quoted(node))) + "\n{quote}"
    if node.type == "hr":
        return "----"
    if node.type == "table":
        return "\n".join(_table_row(row) for section in node.children for row in section.children)
    if node.type == "html_block":
        return _html_block(node.content)
    return ""


# Jira Cloud highlights these (code-macro.js); any other language, or none, gets {code}.
_CODE_LANGUAGES = frozenset(
    (  # noqa: SIM905 - a word list reads better than 70 quoted strings
        "abap actionscript ada arduino autoit c c++ clojure coffeescript csharp css cuda d dart delphi "
        "elixir erlang fortran foxpro go groovy haskell haxe html java javascript json julia kotlin latex "
        "livescript lua mathematica matlab objective-c objective-j objectpascal ocaml octave perl php "
        "powershell prolog puppet python qml r racket restructuredtext ruby rust sass scala scheme shell "
        "smalltalk sql standardml swift tcl tex typescript vala vbnet verilog vhdl xml xquery"
    ).split()
)
_CODE_ALIASES = {
    "bash": "shell",
    "c#": "csharp",
    "console": "shell",
    "cpp": "c++",
    "cs": "csharp",
    "golang": "go",
    "js": "javascript",
    "jsx": "javascript",
    "kt": "kotlin",
    "objc": "objective-c",
    "ps1": "powershell",
    "py": "python",
    "python3": "python",
    "rb": "ruby",
    "rs": "rust",
    "sh": "shell",
    "ts": "typescript",
    "tsx": "typescript",
    "zsh": "shell",
}


def _code_block(content: str, language: str) -> str:
    language = _CODE_ALIASES.get(language.lower(), language.lower())
    if content and not content.endswith("\n"):
        content += "\n"
    if "{code}" not in content:
        opening = f"{{code:{language}}}" if language in _CODE_LANGUAGES else "{code}"
        return f"{opening}\n{content}{{code}}"
    # Code that quotes Jira's {code} macro would end a {code} block early; {noformat} is
    # ended only by {noformat}, which a word joiner breaks up.
    return "{noformat}\n" + content.replace("{noformat}", "{" + WORD_JOINER + "noformat}") + "{noformat}"


def _list(node: SyntaxTreeNode, markers: str) -> str:
    marker = markers + ("#" if node.type == "ordered_list" else "*")
    return "\n".join(_list_item(item, marker) for item in node.children)


def _list_item(item: SyntaxTreeNode, marker: str) -> str:
    """One item: its first block after the marker, later paragraphs as continuation lines."""
    parts: list[str] = []
    for child in item.children:
        if child.type in ("bullet_list", "ordered_list"):
            parts.append(_list(child, marker))
        elif child.type == "table":
            # A table cannot sit in a Jira list item, and its last row would swallow the next
            # item: blank lines end the list around it.
            parts.append("\n" + _block(child) + "\n")
        elif parts:
            parts.append(_block(child))
        elif child.type == "paragraph":
            parts.append(f"{marker} {_inline(child.children[0].children, task=True)}")
        else:
            parts.append(f"{marker} {_block(child)}")
    return "\n".join(parts) if parts else f"{marker} "


def _quoted(quote: SyntaxTreeNode) -> Iterator[SyntaxTreeNode]:
    """A quote's blocks, with nested quotes merged in: Jira cannot nest {quote}."""
    for child in quote.children:
        if child.type == "blockquote":
            yield from _quoted(child)
        else:
            yield child


def _table_row(row: SyntaxTreeNode) -> str:
    separator = "||" if row.children and row.children[0].type == "th" else "|"
    # Jira drops an empty cell's column; a space keeps it. `\\` is Jira's line break in a cell.
    cells = [_inline(cell.children[0].children, line_separator="\\\\", table=True) or " " for cell in row.children]
    return separator + separator.join(cells) + separator


def _html_block(content: str) -> str:
    """Raw HTML: tags stripped, text kept (escaped like any text)."""
    text = html.unescape(_HTML_TAG.sub("", _HTML_BREAK.sub("\n", _HTML_COMMENT.sub("", content))))
    paragraphs = []
    for paragraph in re.split(r"\n[ \t]*\n", text):
        lines = [line.strip() for line in paragraph.splitlines() if line.strip()]
        if lines:
            pieces: list[_Piece] = [_Text(lines[0])]
            for line in lines[1:]:
                pieces += [_BREAK, _Text(line)]
            paragraphs.append(_render(pieces, "\n"))
    return "\n\n".join(paragraphs)


# --- inline -------------------------------------------------------------------------------


def _inline(nodes: list[SyntaxTreeNode], line_separator: str = "\n", table: bool = False, task: bool = False) -> str:
    pieces = _pieces(nodes, _IN_CELL if table else {}, in_link=False)
    if task and pieces and isinstance(pieces[0], _Text) and (match := _TASK.match(pieces[0].text)):
        box = "☐ " if match[1] == " " else "☑ "
        pieces = [_Markup(box), _Text(pieces[0].text[match.end() :]), *pieces[1:]]
    return _render(pieces, line_separator)


def _pieces(nodes: list[SyntaxTreeNode], translation: dict[int, str], in_link: bool) -> list[_Piece]:
    pieces: list[_Piece] = []
    for node in nodes:
        kind = node.type
        if kind == "text":
            pieces += _text_pieces(node.content.translate(translation), in_link)
        elif kind in ("softbreak", "hardbreak"):
            pieces.append(_Text(" ") if in_link else _BREAK)
        elif kind == "code_inline":
            pieces.append(_Phrase("{{", (_Code(node.content.translate(translation)),)))
        elif kind in _PHRASE_DELIMITERS:
            pieces.append(_Phrase(_PHRASE_DELIMITERS[kind], tuple(_pieces(node.children, translation, in_link))))
        elif kind == "link":
            pieces += _link(node, translation)
        elif kind == "image" and node.attrs["src"]:
            pieces.append(_Phrase("!", (_Markup(_safe_url(str(node.attrs["src"]))),)))
        elif kind == "html_inline" and _HTML_BREAK.fullmatch(node.content):
            pieces.append(_Text(" ") if in_link else _BREAK)
        # Other inline HTML is a tag (or comment) whose text, if any, arrives as text nodes.
    return pieces


def _text_pieces(text: str, in_link: bool) -> list[_Piece]:
    if in_link:  # Jira does not auto-link inside a link's label
        return [_Text(text)]
    pieces: list[_Text | _Url] = []
    position = 0
    for match in _BARE_URL.finditer(text):
        url = _URL_BAD_END.sub("", match[0])
        pieces += [_Text(text[position : match.start()]), _Url(url)]
        position = match.start() + len(url)
    pieces.append(_Text(text[position:]))
    return [piece for piece in pieces if piece.text]


def _link(node: SyntaxTreeNode, translation: dict[int, str]) -> list[_Piece]:
    href = _safe_url(str(node.attrs["href"]))
    if not _LINKABLE.match(href):
        # Jira links only URLs with a scheme, /paths and #anchors; keep a relative target as text.
        return [*_pieces(node.children, translation, in_link=False), _Text(f" ({href})")]
    label = _pieces(node.children, translation | _IN_LINK, in_link=True)
    if not label or label == [_Text(href)]:
        return [_Markup(f"[{href}]")]
    return [_Markup("["), *label, _Markup(f"|{href}]")]


def _safe_url(url: str) -> str:
    """Percent-encode what would end or split Jira's [label|url] and !image! syntax."""
    return re.sub(r"[\s!|\[\]{}^]", lambda match: quote(match[0]), url)


def _code_span(code: str, nested: bool) -> str:
    """Monospace content: Jira still reads braces and backslash escapes inside {{ }}."""
    out = []
    for index, char in enumerate(code):
        if char in "{}":
            out.append(_escaped(char, nested))
        elif char == "\\" and code[index + 1 : index + 2] in _ESCAPABLE_OR_END:
            out.append("\\" + WORD_JOINER)
        else:
            out.append(char)
    # {{ x}} and {{x }} are not monospace to Jira; a no-break space looks the same.
    for edge in (0, -1):
        if out and out[edge] == " ":
            out[edge] = _NO_BREAK_SPACE
    return "".join(out)


# --- lines ---------------------------------------------------------------------------------


def _render(pieces: list[_Piece], line_separator: str) -> str:
    return line_separator.join(_render_line(_tidy(line, frozenset())) for line in _split_lines(pieces))


def _split_lines(pieces: list[_Piece] | tuple[_Piece, ...]) -> list[list[_Piece]]:
    """Split at line breaks; a phrase spanning a break is closed before it and reopened after,
    since Jira phrases end at the end of a line."""
    lines: list[list[_Piece]] = [[]]
    for piece in pieces:
        if isinstance(piece, _Break):
            lines.append([])
        elif isinstance(piece, _Phrase):
            first, *rest = _split_lines(piece.children)
            lines[-1].append(_Phrase(piece.delimiter, tuple(first)))
            lines += [[_Phrase(piece.delimiter, tuple(part))] for part in rest]
        else:
            lines[-1].append(piece)
    return lines


def _tidy(pieces: list[_Piece] | tuple[_Piece, ...], active: frozenset[str]) -> list[_Piece]:
    """Make every phrase one Jira accepts: no space just inside its delimiters, no empty phrase,
    no phrase inside one of the same kind (Jira cannot nest those)."""
    out: list[_Piece] = []
    for piece in pieces:
        if not isinstance(piece, _Phrase):
            out.append(piece)
            continue
        inner = _tidy(piece.children, active | {piece.delimiter})
        if piece.delimiter in active:
            out += inner
            continue
        leading, body, trailing = _strip_spaces(inner)
        out += leading
        if body:
            out.append(_Phrase(piece.delimiter, tuple(body)))
        out += trailing
    return out


def _strip_spaces(pieces: list[_Piece]) -> tuple[list[_Piece], list[_Piece], list[_Piece]]:
    """(leading spaces, body, trailing spaces) of a phrase's content."""
    body = list(pieces)
    leading: list[_Piece] = []
    trailing: list[_Piece] = []
    while body and isinstance(first := body[0], _Text) and first.text[:1] in (" ", "\t"):
        body.pop(0)
        text = first.text
        kept = text.lstrip(" \t")
        leading.append(_Text(text[: len(text) - len(kept)]))
        if kept:
            body.insert(0, _Text(kept))
    while body and isinstance(last := body[-1], _Text) and last.text[-1:] in (" ", "\t"):
        body.pop()
        text = last.text
        kept = text.rstrip(" \t")
        trailing.insert(0, _Text(text[len(kept) :]))
        if kept:
            body.append(_Text(kept))
    return leading, body, trailing


@dataclass(frozen=True)
class _Atom:
    """One unit of a line: a text character (escaped later), a bare URL's character, markup,
    or a phrase delimiter (plain until its neighbours decide whether it needs braces)."""

    kind: str  # "text", "url", "markup", "open" or "close"
    raw: str  # the character, the markup, or the plain delimiter
    delimiter: str = ""
    closers: frozenset[str] = frozenset()  # delimiters of the phrases around a text character
    braceable: bool = True  # Jira finds a braced closing only if the content lacks the bare delimiter


def _atoms(pieces: list[_Piece] | tuple[_Piece, ...], closers: frozenset[str]) -> list[_Atom]:
    atoms: list[_Atom] = []
    for piece in pieces:
        if isinstance(piece, _Text):
            atoms += [_Atom("text", char, closers=closers) for char in piece.text]
        elif isinstance(piece, _Url):
            atoms += [_Atom("url", char, closers=closers) for char in piece.text]
        elif isinstance(piece, _Markup):
            atoms.append(_Atom("markup", piece.text))
        elif isinstance(piece, _Code):
            atoms.append(_Atom("markup", _code_span(piece.text, nested=len(closers) > 1)))
        elif isinstance(piece, _Phrase):
            opening, closing, _, _ = _FORMS[piece.delimiter]
            inner = _atoms(piece.children, closers | {piece.delimiter})
            braceable = all(opening not in atom.raw for atom in inner)
            atoms.append(_Atom("open", opening, piece.delimiter, braceable=braceable))
            atoms += inner
            atoms.append(_Atom("close", closing, piece.delimiter, braceable=braceable))
    return atoms


def _with_forms(atoms: list[_Atom]) -> list[_Atom]:
    """Give each pair of delimiters its markup: braced ({*}) where a neighbour would keep Jira
    from reading the plain one. A phrase that needs braces but contains its own delimiter
    cannot be written; it loses its formatting rather than show stray delimiters, and since
    that gives its neighbours new neighbours, the pass runs again."""
    while True:
        out = list(atoms)
        unwritable: list[tuple[int, int]] = []
        openings: list[int] = []
        for index, atom in enumerate(atoms):
            if atom.kind == "open":
                openings.append(index)
            elif atom.kind == "close":
                start = openings.pop()
                opening, closing, braced_opening, braced_closing = _FORMS[atom.delimiter]
                brace_opening = _sticky_atom(atoms, start - 1, atom.delimiter, last=True)
                brace_closing = _sticky_atom(atoms, index + 1, atom.delimiter, last=False)
                if (brace_opening or brace_closing) and not atom.braceable:
                    unwritable.append((start, index))
                out[start] = replace(atoms[start], raw=braced_opening if brace_opening else opening)
                out[index] = replace(atom, raw=braced_closing if brace_closing else closing)
        if not unwritable:
            return out
        for start, end in unwritable:
            delimiter = atoms[start].delimiter
            for index in range(start + 1, end):  # no longer inside that phrase
                atoms[index] = replace(atoms[index], closers=atoms[index].closers - {delimiter})
        dropped = {index for pair in unwritable for index in pair}
        atoms = [atom for index, atom in enumerate(atoms) if index not in dropped]


def _sticky_atom(atoms: list[_Atom], index: int, delimiter: str, last: bool) -> bool:
    """Whether the atom beside a delimiter (its ``last`` or first character) would stop Jira
    from reading the plain delimiter."""
    if not 0 <= index < len(atoms):
        return False
    atom = atoms[index]
    char = atom.raw[-1:] if last else atom.raw[:1]
    if delimiter == "-" and char == "-":
        return True  # Jira reads "--" as a dash
    if atom.kind == "url":
        return True  # a plain delimiter would continue Jira Cloud's link; a brace ends it
    if atom.kind == "text" and atom.closers and atom.raw in _ESCAPABLE:
        return True  # it may be escaped with word joiners around it
    return _sticky(char)


def _render_line(pieces: list[_Piece]) -> str:
    atoms = _with_forms(_atoms(pieces, frozenset()))
    line = "".join(atom.raw for atom in atoms)
    start = len(line) - len(line.lstrip())  # Jira looks for line markers after leading spaces
    last_closer = _last_closers(line)
    out: list[str] = []
    url_ends: list[int] = []  # offsets in the output where a bare URL ends
    length = position = 0
    for index, atom in enumerate(atoms):
        if atom.kind == "text":
            # Jira Cloud parses a phrase's content as a line of its own: it has a line start too.
            line_start = position == start or (index > 0 and atoms[index - 1].kind == "open")
            text = _escape(line, position, atom.closers, line_start, last_closer)
        elif atom.kind == "url" and _phrase_edge(line, position, atom.closers, {}):
            # A URL's character that would end the phrase around it. In one phrase, Jira Cloud
            # spends the backslash on its first reading and links the whole URL on the second;
            # deeper, only word joiners hold, and the link stops there.
            text = "\\" + atom.raw if len(atom.closers) == 1 else _escaped(atom.raw, nested=True)
        else:
            text = atom.raw
        out.append(text)
        length += len(text)
        position += len(atom.raw)
        if atom.kind == "url" and (index + 1 == len(atoms) or atoms[index + 1].kind != "url"):
            url_ends.append(length)
    return _end_urls("".join(out), url_ends)


def _end_urls(line: str, url_ends: list[int]) -> str:
    """Jira Cloud's link pattern may run on into what follows a URL (an escape's backslash, a
    delimiter): a word joiner ends each link where Markdown ended it."""
    parts = []
    previous = 0
    for end in url_ends:
        tail = _URL_TAIL.match(line, end)
        if tail and _URL_BAD_END.sub("", tail[0]):
            parts += [line[previous:end], WORD_JOINER]
            previous = end
    return "".join(parts) + line[previous:]


# --- escaping --------------------------------------------------------------------------------

# What Jira's backslash escape applies to (BackslashEscapeRendererComponent); before anything
# else a backslash is shown as is.
_ESCAPABLE = frozenset("-#*_+?^~|%{}[]()!@")
_ESCAPABLE_OR_END = _ESCAPABLE | {"\\", ""}
_TEXT_PHRASES = ("??", "*", "_", "-", "+", "^", "~", "!")  # citation first: it is two characters
_LINE_MARKER = re.compile(r"(?:[*#]+|-+)(?:\s|$)")  # list item, rule, dash
_LINE_KEYWORD = re.compile(r"(?:h[1-6]|bq)\.")  # heading, one-line quote
_ICON = re.compile(r"\((?:[yni/x!+\-?*]|on|off|\*[yrgb]|flag|flagoff)\)", re.IGNORECASE)
_SMILEY_MOUTH = re.compile(r"[:;]-?$")
_SMILEY_LETTER = re.compile(r"[PpD](?![A-Za-z0-9])")


def _sticky(char: str) -> bool:
    """Whether a delimiter next to ``char`` might not count as one: Jira Cloud refuses it next
    to an ASCII letter or digit and any non-ASCII character but a no-break space, Jira Server
    next to any letter or digit and after a backslash."""
    return char.isalnum() or char == "\\" or (char > "\x7f" and char != _NO_BREAK_SPACE)


def _word(char: str) -> bool:
    """Whether ``char`` keeps every Jira from reading a delimiter next to it."""
    return char.isalnum()


def _escaped(char: str, nested: bool) -> str:
    """``char`` with Jira's backslash escape. Jira Cloud reads a phrase's content twice and the
    first reading spends the backslash: word joiners around keep the character inert in the
    second (no phrase opens after one, no macro, link or icon starts before one)."""
    return f"{WORD_JOINER}\\{char}{WORD_JOINER}" if nested else "\\" + char


def _last_closers(line: str) -> dict[str, int]:
    """For each phrase delimiter, the last position where it could close a phrase: followed
    by no word character and preceded by no space."""
    last: dict[str, int] = {}
    for delimiter in _TEXT_PHRASES:
        for index in range(len(line) - len(delimiter), 0, -1):
            following = line[index + len(delimiter) : index + len(delimiter) + 1]
            if line.startswith(delimiter, index) and not _word(following) and not line[index - 1].isspace():
                last[delimiter] = index
                break
    return last


def _escape(line: str, index: int, closers: frozenset[str], line_start: bool, last_closer: dict[str, int]) -> str:
    """One text character of ``line`` as wiki markup. ``closers`` are the delimiters of the
    phrases it is in; ``line_start`` says Jira looks for line markers here."""
    char = line[index]
    if char == "\\":
        # Jira takes a backslash and the next character as a pair (an escape, a line break, or
        # text that is then not checked for a link or an icon); a word joiner keeps it apart.
        return char if line[index + 1 : index + 2].isspace() else char + WORD_JOINER
    if line_start and _LINE_KEYWORD.match(line, index):
        return WORD_JOINER + char
    if (
        char in "{}[]|"
        or (line_start and _LINE_MARKER.match(line, index))
        or _phrase_edge(line, index, closers, last_closer)
        or _icon_part(line, index)
    ):
        return _escaped(char, nested=bool(closers))
    if char in "PpD" and _SMILEY_MOUTH.search(line[max(index - 2, 0) : index]) and _SMILEY_LETTER.match(line, index):
        return WORD_JOINER + char  # :D and :P, whose letters have no escape
    return char


def _phrase_edge(line: str, index: int, closers: frozenset[str], last_closer: dict[str, int]) -> bool:
    """Whether the character at ``index`` could open a phrase, or close an enclosing one."""
    delimiter = next((d for d in _TEXT_PHRASES if line.startswith(d, index)), "")
    if not delimiter:
        return False
    after = index + len(delimiter)
    if delimiter in closers and not _word(line[after : after + 1]):
        return True
    if _word(line[index - 1 : index]) or after >= len(line) or line[after] == " ":
        return False
    return last_closer.get(delimiter, -1) > after


def _icon_part(line: str, index: int) -> bool:
    """Whether the character starts an icon like (i) or (/), or is the mouth of :) or ;-(."""
    if line[index] == "(" and _ICON.match(line, index):
        return True
    return line[index] in "()" and bool(_SMILEY_MOUTH.search(line[max(index - 2, 0) : index]))
