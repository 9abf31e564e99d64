"""JQL's lexer: the rules of Jira's lexer, so that what Jira refuses is refused here in the same words.

``tokenize`` turns a query into tokens, or raises :class:`JqlError` with Jira's message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sandbox.jql.errors import JqlError, one_line, position, syntax_error

# Jira's JqlStringSupportImpl.RESERVED_WORDS; the ones that are keywords lex as keywords.
_RESERVED_WORDS = frozenset(
    {
        "abort",
        "access",
        "add",
        "after",
        "alias",
        "all",
        "alter",
        "and",
        "any",
        "as",
        "asc",
        "audit",
        "avg",
        "before",
        "begin",
        "between",
        "boolean",
        "break",
        "by",
        "byte",
        "catch",
        "cf",
        "changed",
        "char",
        "character",
        "check",
        "checkpoint",
        "collate",
        "collation",
        "column",
        "commit",
        "connect",
        "continue",
        "count",
        "create",
        "current",
        "date",
        "decimal",
        "declare",
        "decrement",
        "default",
        "defaults",
        "define",
        "delete",
        "delimiter",
        "desc",
        "difference",
        "distinct",
        "divide",
        "do",
        "double",
        "drop",
        "else",
        "empty",
        "encoding",
        "end",
        "equals",
        "escape",
        "exclusive",
        "exec",
        "execute",
        "exists",
        "explain",
        "false",
        "fetch",
        "file",
        "field",
        "first",
        "float",
        "for",
        "from",
        "function",
        "go",
        "goto",
        "grant",
        "greater",
        "group",
        "having",
        "identified",
        "if",
        "immediate",
        "in",
        "increment",
        "index",
        "initial",
        "inner",
        "inout",
        "input",
        "insert",
        "int",
        "integer",
        "intersect",
        "intersection",
        "into",
        "is",
        "isempty",
        "isnull",
        "join",
        "last",
        "left",
        "less",
        "like",
        "limit",
        "lock",
        "long",
        "max",
        "min",
        "minus",
        "mode",
        "modify",
        "modulo",
        "more",
        "multiply",
        "next",
        "noaudit",
        "not",
        "notin",
        "nowait",
        "null",
        "number",
        "object",
        "of",
        "on",
        "option",
        "or",
        "order",
        "outer",
        "output",
        "power",
        "previous",
        "prior",
        "privileges",
        "public",
        "raise",
        "raw",
        "remainder",
        "rename",
        "resource",
        "return",
        "returns",
        "revoke",
        "right",
        "row",
        "rowid",
        "rownum",
        "rows",
        "select",
        "session",
        "set",
        "share",
        "size",
        "sqrt",
        "start",
        "strict",
        "string",
        "subtract",
        "sum",
        "synonym",
        "table",
        "then",
        "to",
        "trans",
        "transaction",
        "trigger",
        "true",
        "uid",
        "union",
        "unique",
        "update",
        "user",
        "validate",
        "values",
        "view",
        "was",
        "when",
        "whenever",
        "where",
        "while",
        "with",
    }
)
_KEYWORDS = {
    word: word.upper()
    for word in (
        "and",
        "or",
        "not",
        "in",
        "is",
        "empty",
        "order",
        "by",
        "asc",
        "desc",
        "cf",
        "was",
        "changed",
        "before",
        "after",
        "from",
        "to",
        "on",
        "during",
    )
} | {"null": "EMPTY"}
_SYMBOLS = {
    "!=": "!=", "!~": "!~", "<=": "<=", ">=": ">=", "&&": "AND", "||": "OR",
    "!": "!", "<": "<", ">": ">", "=": "=", "~": "~", "(": "(", ")": ")", ",": ",",
    "[": "[", "]": "]", "&": "AND", "|": "OR",
}  # fmt: skip
_WHITESPACE = frozenset(" \t\r\n")
_RESERVED_CHARACTERS = frozenset("{}*/%+^$#@?;")
_WORD_ENDS = _WHITESPACE | frozenset("\"'=!<>()~,[]|&") | _RESERVED_CHARACTERS
_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", '"': '"', "'": "'", "\\": "\\", " ": " "}
_VALID_ESCAPES = "The valid escape sequences are \\', \\\", \\t, \\n, \\r, \\\\, '\\ ' and \\uXXXX."
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_NUMBER = re.compile(r"-?[0-9]+")


@dataclass(frozen=True)
class Token:
    kind: str  # "STRING", "NUMBER", "EOF", a keyword ("AND", "EMPTY"...) or a symbol ("(", "!=")
    text: str  # as it reads: quotes removed, escapes decoded, keywords as written
    index: int  # where it starts in the query


def _is_control(char: str) -> bool:
    """Characters Jira wants escaped even inside quotes (its grammar's CONTROLCHARS)."""
    code = ord(char)
    return (
        (code <= 0x1F and char not in "\n\r")
        or 0x7F <= code <= 0x9F
        or 0xFDD0 <= code <= 0xFDEF
        or code in (0xFFFE, 0xFFFF)
    )


def tokenize(source: str) -> list[Token]:
    """The tokens of ``source``, ending with an ``EOF`` token."""
    return _Lexer(source).tokens()


class _Lexer:
    def __init__(self, source: str) -> None:
        self._source = source

    def tokens(self) -> list[Token]:
        source, index = self._source, 0
        tokens: list[Token] = []
        while index < len(source):
            char = source[index]
            if char in _WHITESPACE:
                index += 1
                continue
            if char in _RESERVED_CHARACTERS:
                raise self._error(
                    index,
                    f"The character '{char}' is a reserved JQL character. "
                    f"You must enclose it in a string or use the escape '\\u{ord(char):04x}' instead.",
                )
            if _is_control(char):
                raise self._illegal_character(index)
            pair = source[index : index + 2]
            symbol = pair if pair in _SYMBOLS else char
            if char in "\"'":
                token, index = self._quoted(index)
            elif symbol in _SYMBOLS:
                token, index = Token(_SYMBOLS[symbol], symbol, index), index + len(symbol)
            else:
                token, index = self._word(index)
            tokens.append(token)
        tokens.append(Token("EOF", "", len(source)))
        return tokens

    def _quoted(self, start: int) -> tuple[Token, int]:
        source, quote, index = self._source, self._source[start], start + 1
        chars: list[str] = []
        while index < len(source):
            char = source[index]
            if char == quote:
                return Token("STRING", "".join(chars), start), index + 1
            if char == "\\":
                decoded, index = self._escape(index)
                chars.append(decoded)
            elif _is_control(char):
                raise self._illegal_character(index)
            else:
                chars.append(char)
                index += 1
        unfinished = one_line(source[start + 1 :])
        if not unfinished.strip():
            raise self._error(start, "The quoted string has not been completed.")
        raise self._error(start, f"The quoted string '{unfinished}' has not been completed.")

    def _word(self, start: int) -> tuple[Token, int]:
        source, index = self._source, start
        chars: list[str] = []
        while index < len(source) and source[index] not in _WORD_ENDS and not _is_control(source[index]):
            if source[index] == "\\":
                decoded, index = self._escape(index)
                chars.append(decoded)
            else:
                chars.append(source[index])
                index += 1
        raw, text = source[start:index], "".join(chars)
        if raw.lower() in _KEYWORDS:
            return Token(_KEYWORDS[raw.lower()], raw, start), index
        if _NUMBER.fullmatch(raw):
            return Token("NUMBER", raw, start), index
        if text.lower() in _RESERVED_WORDS:
            raise self._error(
                start,
                f"'{text}' is a reserved JQL word. You must surround it in quotation marks to use it in a query.",
            )
        return Token("STRING", text, start), index

    def _escape(self, start: int) -> tuple[str, int]:
        """Decode the escape sequence at ``start`` (a backslash); return it and the index after."""
        code = self._source[start + 1 : start + 2]
        if code in _ESCAPES:
            return _ESCAPES[code], start + 2
        if not code:
            raise self._error(start, f"The escape sequence has not been completed. {_VALID_ESCAPES}")
        end = start + 2
        if code == "u":
            while end < start + 6 and self._source[end : end + 1] in _HEX_DIGITS:
                end += 1
            if end == start + 6:
                return chr(int(self._source[start + 2 : end], 16)), end
            end = min(end + 1, len(self._source))  # Jira quotes the first wrong character too.
        bad = one_line(self._source[start:end])
        raise self._error(start, f"'{bad}' is an illegal JQL escape sequence. {_VALID_ESCAPES}")

    def _illegal_character(self, index: int) -> JqlError:
        char = self._source[index]
        printable = "TAB" if char == "\t" else f"U+{ord(char):04X}"
        line, character = position(self._source, index)
        return self._error(
            index,
            f"The character '{printable}' on line {line} at position {character} must be escaped. "
            f"Use the escape '\\u{ord(char):04x}' instead.",
        )

    def _error(self, index: int, message: str) -> JqlError:
        return syntax_error(self._source, index, message)
