"""JQL for the Jira sandbox: compile a query once, then select and sort issues with it.

The sandbox answers ``/rest/api/{2,3}/search/jql`` with::

    query = compile_jql(jql, now=clock.now(), custom_field_names=names)
    hits = query.order(issue for issue in issues if query.matches(issue))

and turns a :class:`JqlError` into ``400 {"errorMessages": [str(error)], "errors": {}}``.

Understood: the fields ``project``, ``key`` (``issuekey``, ``id``, ``issue``),
``issuetype`` (``type``), ``status``, ``labels``, ``parent``, ``sprint``, ``summary``,
``description``, ``comment``, ``text``, ``assignee``, ``reporter``, ``created``,
``updated`` and custom fields as ``cf[NNNNN]`` or by display name, with the operators
Jira Cloud gives each; ``AND`` (``&&``), ``OR`` (``||``), ``NOT`` (``!``) and
parentheses; ``ORDER BY``; the functions ``now``, ``startOf``/``endOf`` +
``Day``/``Week``/``Month``/``Year``, ``openSprints``, ``futureSprints``,
``closedSprints``, ``standardIssueTypes``, ``subTaskIssueTypes`` and ``currentUser``.
Everything else (other fields and functions, ``WAS``/``CHANGED``) raises
:class:`JqlError`: a query Jira would refuse must not quietly get an answer here.

Syntax follows Jira's own grammar (jira-core ``Jql.g``): its reserved words and
characters, its escapes, bare ``DEMO-12`` and ``-7d``, ``NOT`` before ``AND`` before
``OR``, and its messages with 1-based ``(line L, character C)``. Meaning follows Jira:

* names (project key or name, issue type, status, sprint, issue key) compare
  case-insensitively; labels and account ids exactly;
* ``!=``, ``NOT IN`` and ``!~`` never select an empty field (``assignee != x`` skips
  unassigned issues), whereas ``NOT`` is plain negation;
* ``~`` searches words, not substrings: every word of the value must occur, in any order
  (English stop words ignored); ``"\\"two words\\""`` must occur as a phrase and
  ``word*`` matches a prefix. Jira also stems words ("payments" finds "payment"); this
  engine does not;
* dates written without a time zone are in the zone of ``now``; weeks start on Sunday.

Jira refuses values that do not exist ("The value 'NOPE' does not exist for the field
'project'."). Only the caller knows what exists, so ``compile_jql`` takes
``known_values``: for ``project`` (keys and names), ``issuetype``, ``status``, ``sprint``
(names and ids), ``assignee`` and ``reporter`` (account ids), every value that exists.
Fields left out are not checked.

``Query.order`` applies ``ORDER BY``; ties, and every query without it, go by ascending
issue id (see its docstring).
"""

from __future__ import annotations

import calendar
import operator
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, assert_never

__all__ = ["IssueFacts", "JqlError", "Query", "compile_jql"]


class JqlError(ValueError):
    """Malformed or unsupported JQL. str(err) is the message Jira would put in errorMessages."""


@dataclass(frozen=True)
class IssueFacts:
    """What the sandbox knows about one issue, flattened for matching."""

    key: str  # "DEMO-12"
    id: int  # numeric issue id
    project: str  # project key, "DEMO"
    project_name: str  # "Demo project"
    issuetype: str  # "Story", "Epic", "Task", "Bug", "Sub-task"
    status: str  # "To Do", "In Progress", "Done"
    labels: tuple[str, ...]
    parent: str | None  # parent issue key
    sprints: tuple[tuple[int, str, str], ...]  # (sprint id, sprint name, state "future|active|closed")
    summary: str
    description: str  # plain text (already flattened from wiki/ADF); "" when empty
    comments: tuple[str, ...]
    assignee: str | None  # accountId
    reporter: str | None
    created: datetime  # tz-aware
    updated: datetime
    custom: Mapping[str, object]  # customfield_NNNNN -> value (str / number / None)


_Predicate = Callable[[IssueFacts], bool]
_AtomTest = Callable[[Any], bool]


def compile_jql(
    text: str,
    *,
    now: datetime | None = None,
    custom_field_names: Mapping[str, str] | None = None,
    known_values: Mapping[str, Collection[str]] | None = None,
    current_user: str | None = None,
) -> Query:
    """Parse and check a JQL query, raising JqlError with Jira's message if it is not valid.

    now: the tz-aware instant that ``-7d`` and ``startOfDay()`` count from (default: the
        current time in UTC); its zone is also the zone of dates written without one.
    custom_field_names: display name in lower case -> ``"customfield_NNNNN"``, so queries
        can say ``"PRD Link" is not EMPTY``; when given, ``cf[N]`` must be one of them.
    known_values: field -> every value that exists (see the module docstring).
    current_user: the accountId ``currentUser()`` stands for; without it the function is
        refused.
    """
    where, sorts = _Parser(text).parse()
    context = _Context(
        now=now or datetime.now(UTC),
        custom_field_names=custom_field_names,
        known_values=known_values or {},
        current_user=current_user,
    )
    compiler = _Compiler(context)
    predicate = compiler.clause(where) if where is not None else _everything
    return Query(predicate, tuple(compiler.sort(sort) for sort in sorts))


class Query:
    """A compiled JQL query: which issues it selects, and in which order."""

    def __init__(self, predicate: _Predicate, sorts: tuple[_SortKey, ...]) -> None:
        self._predicate = predicate
        self._sorts = sorts

    def matches(self, issue: IssueFacts) -> bool:
        """Whether the query selects the issue; a query without conditions selects all."""
        return self._predicate(issue)

    def order(self, issues: Iterable[IssueFacts]) -> list[IssueFacts]:
        """The issues sorted as ORDER BY says.

        Ties, and every issue when there is no ORDER BY, go by ascending issue id: Jira
        Cloud promises no order there, and a fixed one keeps paging deterministic.
        Empty values sort after all others (before them with DESC); ``created`` and
        ``updated`` sort newest first unless ASC is given, as in Jira. Keys sort by
        project then number (DEMO-2 before DEMO-10), statuses in workflow order (To Do,
        In Progress, Done, then others by name), projects by name, users by account id.
        """
        ordered = sorted(issues, key=lambda issue: issue.id)
        # Stable sorts from the last ORDER BY field to the first sort by all of them.
        for sort in reversed(self._sorts):
            ordered.sort(key=sort.key, reverse=sort.descending)
        return ordered


def _everything(issue: IssueFacts) -> bool:
    return True


# -- Lexing --------------------------------------------------------------------------
# The rules of Jira's lexer, so that what Jira refuses is refused here in the same words.

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
_LONGS = range(-(2**63), 2**63)


@dataclass(frozen=True)
class _Token:
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


def _syntax_error(source: str, index: int | None, message: str) -> JqlError:
    """Jira's parse error, placed at ``index`` (1-based line and character) unless at the end."""
    if index is None:
        return JqlError(f"Error in the JQL Query: {message}")
    line, character = _position(source, index)
    return JqlError(f"Error in the JQL Query: {message} (line {line}, character {character})")


def _position(source: str, index: int) -> tuple[int, int]:
    return source.count("\n", 0, index) + 1, index - source.rfind("\n", 0, index)


def _one_line(text: str) -> str:
    # Jira quotes offending text on one line.
    return text.replace("\n", " ").replace("\r", " ")


class _Lexer:
    def __init__(self, source: str) -> None:
        self._source = source

    def tokens(self) -> list[_Token]:
        source, index = self._source, 0
        tokens: list[_Token] = []
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
                token, index = _Token(_SYMBOLS[symbol], symbol, index), index + len(symbol)
            else:
                token, index = self._word(index)
            tokens.append(token)
        tokens.append(_Token("EOF", "", len(source)))
        return tokens

    def _quoted(self, start: int) -> tuple[_Token, int]:
        source, quote, index = self._source, self._source[start], start + 1
        chars: list[str] = []
        while index < len(source):
            char = source[index]
            if char == quote:
                return _Token("STRING", "".join(chars), start), index + 1
            if char == "\\":
                decoded, index = self._escape(index)
                chars.append(decoded)
            elif _is_control(char):
                raise self._illegal_character(index)
            else:
                chars.append(char)
                index += 1
        unfinished = _one_line(source[start + 1 :])
        if not unfinished.strip():
            raise self._error(start, "The quoted string has not been completed.")
        raise self._error(start, f"The quoted string '{unfinished}' has not been completed.")

    def _word(self, start: int) -> tuple[_Token, int]:
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
            return _Token(_KEYWORDS[raw.lower()], raw, start), index
        if _NUMBER.fullmatch(raw):
            return _Token("NUMBER", raw, start), index
        if text.lower() in _RESERVED_WORDS:
            raise self._error(
                start,
                f"'{text}' is a reserved JQL word. You must surround it in quotation marks to use it in a query.",
            )
        return _Token("STRING", text, start), index

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
        bad = _one_line(self._source[start:end])
        raise self._error(start, f"'{bad}' is an illegal JQL escape sequence. {_VALID_ESCAPES}")

    def _illegal_character(self, index: int) -> JqlError:
        char = self._source[index]
        printable = "TAB" if char == "\t" else f"U+{ord(char):04X}"
        line, character = _position(self._source, index)
        return self._error(
            index,
            f"The character '{printable}' on line {line} at position {character} must be escaped. "
            f"Use the escape '\\u{ord(char):04x}' instead.",
        )

    def _error(self, index: int, message: str) -> JqlError:
        return _syntax_error(self._source, index, message)


# -- Parsing -------------------------------------------------------------------------
# Recursive descent over Jira's grammar, with the errors its parser reports.


@dataclass(frozen=True)
class _Value:
    text: str
    is_number: bool  # written as a bare number, which Jira reads as an id where ids apply


@dataclass(frozen=True)
class _Function:
    name: str
    arguments: tuple[str, ...]


@dataclass(frozen=True)
class _List:
    items: tuple[_Operand, ...]


class _Empty:
    """``EMPTY`` or ``NULL``."""


_EMPTY = _Empty()
_Leaf = _Value | _Function | _Empty
_Operand = _Leaf | _List


@dataclass(frozen=True)
class _Terminal:
    field: str  # as written; a custom field id as cf[NNNNN]
    operator: str  # lower case, as Jira shows it: "=", "not in", "is not"...
    operand: _Operand


@dataclass(frozen=True)
class _Not:
    clause: _Clause


@dataclass(frozen=True)
class _And:
    clauses: tuple[_Clause, ...]


@dataclass(frozen=True)
class _Or:
    clauses: tuple[_Clause, ...]


_Clause = _Terminal | _Not | _And | _Or


@dataclass(frozen=True)
class _Sort:
    field: str
    descending: bool | None  # None: the field's own default


_VALID_OPERATORS = (
    "The valid operators are '=', '!=', '<', '>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', 'IS' and 'IS NOT'."
)
_FIELD_STARTS = frozenset({"STRING", "NUMBER", "CF"})
_CLAUSE_STARTS = _FIELD_STARTS | {"NOT", "!", "("}
_OPERAND_STARTS = frozenset({"STRING", "NUMBER", "EMPTY", "("})
# Jira's parser takes a single value only when one of these follows it.
_VALUE_FOLLOWERS = frozenset({"EOF", "OR", "AND", ")", ",", "ORDER"})
_SYMBOL_OPERATORS = frozenset({"=", "!=", "~", "!~", "<", ">", "<=", ">="})
_AS_VALUE = " You must surround '{got}' in quotation marks to use it as a value."


class _Parser:
    def __init__(self, source: str) -> None:
        self._source = source
        self._tokens = _Lexer(source).tokens()
        self._next = 0

    def parse(self) -> tuple[_Clause | None, tuple[_Sort, ...]]:
        where = self._or() if self._peek().kind in _CLAUSE_STARTS else None
        sorts = self._order_by() if self._peek().kind == "ORDER" else ()
        if self._peek().kind != "EOF":
            if sorts:
                raise self._expected("','")
            if where is None:
                raise self._expected_field()
            raise self._expected("either 'OR' or 'AND'")
        return where, sorts

    def _or(self) -> _Clause:
        clauses = [self._and()]
        while self._accept("OR"):
            clauses.append(self._and())
        return clauses[0] if len(clauses) == 1 else _Or(tuple(clauses))

    def _and(self) -> _Clause:
        clauses = [self._not()]
        while self._accept("AND"):
            clauses.append(self._not())
        return clauses[0] if len(clauses) == 1 else _And(tuple(clauses))

    def _not(self) -> _Clause:
        if self._accept("NOT") or self._accept("!"):
            return _Not(self._not())
        if self._accept("("):
            clause = self._or()
            self._expect(")", "')'")
            return clause
        if self._peek().kind not in _FIELD_STARTS:
            raise self._expected_field()
        field = self._field()
        operator = self._operator(field)
        return _Terminal(field, operator, self._operand(in_list=False))

    def _field(self) -> str:
        token = self._take()
        if token.kind != "CF":
            if not token.text.strip():
                raise self._error(token, "A field name cannot be empty.")
            return token.text
        self._expect("[", "'['")
        number = self._peek()
        if number.kind != "NUMBER" or number.text.startswith("-"):
            raise self._expected("a custom field id (a positive number)")
        self._take()
        self._check_long(number)
        self._expect("]", "']'")
        return f"cf[{int(number.text)}]"

    def _operator(self, field: str) -> str:
        token = self._peek()
        if token.kind in _SYMBOL_OPERATORS | {"IN"}:
            self._take()
            return token.kind.lower()
        if token.kind == "NOT":
            self._take()
            self._expect("IN", "'IN'")
            return "not in"
        if token.kind == "IS":
            self._take()
            if self._accept("NOT"):
                return "is not"
            if self._peek().kind not in _OPERAND_STARTS | {"EOF"}:
                raise self._expected("'NOT'")
            return "is"
        if token.kind in ("WAS", "CHANGED"):
            # The sandbox keeps no history to search.
            raise JqlError(f"History searches do not support the '{field}' field.")
        raise self._expected("operator", trailer=" " + _VALID_OPERATORS)

    def _operand(self, *, in_list: bool) -> _Operand:
        token = self._peek()
        if token.kind == "EMPTY":
            self._take()
            return _EMPTY
        if token.kind == "(":
            return self._list()
        if token.kind not in ("STRING", "NUMBER"):
            raise self._expected("either a value, list or function", advice=_AS_VALUE)
        self._take()
        if self._peek().kind == "(":
            return self._function(token)
        if self._peek().kind not in _VALUE_FOLLOWERS:
            raise self._expected("',' or ')'" if in_list else "either 'OR' or 'AND'")
        if token.kind == "NUMBER":
            self._check_long(token)
        return _Value(token.text, is_number=token.kind == "NUMBER")

    def _list(self) -> _List:
        self._take()  # "("
        items = [self._operand(in_list=True)]
        while self._accept(","):
            items.append(self._operand(in_list=True))
        self._expect(")", "')'")
        return _List(tuple(items))

    def _function(self, name: _Token) -> _Function:
        if not name.text.strip():
            raise self._error(name, "A function name cannot be empty.")
        self._take()  # "("
        arguments: list[str] = []
        if self._peek().kind in ("STRING", "NUMBER"):
            arguments.append(self._take().text)
            while self._accept(","):
                arguments.append(self._argument())
            if self._peek().kind not in ("EOF", ")"):
                raise self._expected("')' or ','")
        elif self._peek().kind not in ("EOF", ")", ","):
            raise self._expected_argument()
        self._expect(")", "')'")
        return _Function(name.text, tuple(arguments))

    def _argument(self) -> str:
        token = self._peek()
        if token.kind in ("STRING", "NUMBER"):
            return self._take().text
        if token.kind in (",", ")"):
            raise self._error(token, "Function argument must be specified.")
        raise self._expected_argument()

    def _order_by(self) -> tuple[_Sort, ...]:
        self._take()  # ORDER
        self._expect("BY", "'by'")
        sorts = [self._sort()]
        while self._accept(","):
            sorts.append(self._sort())
        return tuple(sorts)

    def _sort(self) -> _Sort:
        if self._peek().kind not in _FIELD_STARTS:
            raise self._expected_field()
        field = self._field()
        if self._peek().kind in ("ASC", "DESC"):
            return _Sort(field, descending=self._take().kind == "DESC")
        if self._peek().kind not in ("EOF", ","):
            raise self._expected("either 'ASC' or 'DESC'")
        return _Sort(field, descending=None)

    def _check_long(self, token: _Token) -> None:
        if int(token.text) not in _LONGS:
            raise self._error(
                token,
                f"'{token.text}' is not a valid number. Numbers must be between "
                "-9,223,372,036,854,775,808 and 9,223,372,036,854,775,807.",
            )

    # Token stream and errors.

    def _peek(self) -> _Token:
        return self._tokens[self._next]

    def _take(self) -> _Token:
        token = self._tokens[self._next]
        self._next = min(self._next + 1, len(self._tokens) - 1)
        return token

    def _accept(self, kind: str) -> bool:
        if self._peek().kind != kind:
            return False
        self._take()
        return True

    def _expect(self, kind: str, shown: str) -> None:
        if not self._accept(kind):
            raise self._expected(shown)

    def _expected(
        self, what: str, *, advice: str = "", trailer: str = "", at_end: str = "before the end of the query"
    ) -> JqlError:
        """Jira's "Expecting X but got 'Y'." about the next token; ``advice`` only when there is one."""
        token = self._peek()
        if token.kind == "EOF":
            return _syntax_error(self._source, None, f"Expecting {what} {at_end}.{trailer}")
        got = _one_line(token.text)
        return self._error(token, f"Expecting {what} but got '{got}'.{advice.format(got=got)}{trailer}")

    def _expected_field(self) -> JqlError:
        if self._peek().kind == "[":
            return self._error(self._peek(), "Expecting a field name but got '['. Did you mean 'cf['?")
        return self._expected(
            "a field name",
            advice=" You must surround '{got}' in quotation marks to use it as a field name.",
            at_end="at the end of the query",
        )

    def _expected_argument(self) -> JqlError:
        return self._expected(
            "a function argument",
            advice=" You must surround '{got}' in quotation marks to use it as an argument.",
            at_end="at the end of the query",
        )

    def _error(self, token: _Token, message: str) -> JqlError:
        return _syntax_error(self._source, token.index, message)


# -- Compiling -----------------------------------------------------------------------
# Parsed clauses become predicates, checked the way Jira's validators check them.

_EQUALITY = frozenset({"=", "!=", "in", "not in"})
_EMPTINESS = frozenset({"is", "is not"})
_RANGE = frozenset({"<", "<=", ">", ">="})
_TEXT = frozenset({"~", "!~"})
_NEGATIVE = frozenset({"!=", "not in", "!~", "is not"})
# What a value is compared by: "=" for the equality operators, "~" for text search.
_COMPARISON = {"=": "=", "!=": "=", "in": "=", "not in": "=", "~": "~", "!~": "~"}
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}  # fmt: skip

_SPRINT_FUNCTIONS = {"opensprints": "active", "futuresprints": "future", "closedsprints": "closed"}
_ISSUE_TYPE_FUNCTIONS = {"standardissuetypes": False, "subtaskissuetypes": True}  # -> selects sub-tasks
_CALENDAR_FUNCTIONS = {  # -> (calendar unit, at its end)
    f"{edge}of{period}": (unit, edge == "end")
    for edge in ("start", "end")
    for period, unit in (("day", "d"), ("week", "w"), ("month", "M"), ("year", "y"))
}
_LIST_FUNCTIONS = frozenset(_SPRINT_FUNCTIONS) | frozenset(_ISSUE_TYPE_FUNCTIONS)
_FUNCTIONS = _LIST_FUNCTIONS | frozenset(_CALENDAR_FUNCTIONS) | {"now", "currentuser"}


@dataclass(frozen=True)
class _Context:
    """What checking and matching need beyond the query itself."""

    now: datetime
    custom_field_names: Mapping[str, str] | None
    known_values: Mapping[str, Collection[str]]
    current_user: str | None

    def check_exists(self, known_as: str, field: str, value: _Value, *, exact: bool = False) -> None:
        known = self.known_values.get(known_as)
        if known is None:
            return
        if exact:
            exists = value.text in known
        else:
            exists = any(candidate.casefold() == value.text.casefold() for candidate in known)
        if exists:
            return
        if value.is_number:
            raise JqlError(f"A value with ID '{value.text}' does not exist for the field '{field}'.")
        raise JqlError(f"The value '{value.text}' does not exist for the field '{field}'.")


@dataclass(frozen=True)
class _SortKey:
    key: Callable[[IssueFacts], Any]
    descending: bool


class _Compiler:
    def __init__(self, context: _Context) -> None:
        self._context = context

    def clause(self, clause: _Clause) -> _Predicate:
        match clause:
            case _And(clauses):
                parts = [self.clause(part) for part in clauses]
                return lambda issue: all(part(issue) for part in parts)
            case _Or(clauses):
                parts = [self.clause(part) for part in clauses]
                return lambda issue: any(part(issue) for part in parts)
            case _Not(inner):
                negated = self.clause(inner)
                return lambda issue: not negated(issue)
            case _Terminal():
                return self._terminal(clause)
            case _:
                assert_never(clause)

    def sort(self, sort: _Sort) -> _SortKey:
        field = self._field(sort.field)
        read = field.sort_key
        if read is None:
            raise JqlError(f"Not able to sort using field '{field.name}'.")
        descending = isinstance(field, _DateField) if sort.descending is None else sort.descending
        return _SortKey(key=lambda issue: _empty_last(read(issue)), descending=descending)

    def _terminal(self, clause: _Terminal) -> _Predicate:
        field = self._field(clause.field)
        if clause.operator not in field.operators:
            raise JqlError(f"The operator '{clause.operator}' is not supported by the '{field.name}' field.")
        leaves = _leaves(clause.operand)
        for leaf in leaves:
            if isinstance(leaf, _Function) and leaf.name.casefold() not in _FUNCTIONS:
                raise JqlError(f"Unable to find JQL function '{_display(leaf)}'.")
        _check_operand(field.name, clause.operator, clause.operand)
        comparison = _COMPARISON.get(clause.operator, clause.operator)
        tests = [
            field.function(comparison, leaf) if isinstance(leaf, _Function) else field.test(comparison, leaf)
            for leaf in leaves
            if not isinstance(leaf, _Empty)
        ]
        return _selection(
            field.atoms,
            tests,
            wants_empty=any(isinstance(leaf, _Empty) for leaf in leaves),
            negative=clause.operator in _NEGATIVE,
        )

    def _field(self, name: str) -> _Field:
        return _system_field(name, self._context) or self._custom_field(name)

    def _custom_field(self, name: str) -> _Field:
        names = self._context.custom_field_names
        by_id = re.fullmatch(r"cf\[([0-9]+)\]", name)
        if by_id:
            field_id: str | None = f"customfield_{by_id[1]}"
            if names is not None and field_id not in names.values():
                field_id = None
        else:
            field_id = {known.casefold(): known_id for known, known_id in (names or {}).items()}.get(name.casefold())
        if field_id is None:
            raise JqlError(f"Field '{name}' does not exist or you do not have permission to view it.")
        return _CustomField(name, self._context, field_id)


def _leaves(operand: _Operand) -> list[_Leaf]:
    """The values, functions and EMPTYs of an operand, lists flattened."""
    if isinstance(operand, _List):
        return [leaf for item in operand.items for leaf in _leaves(item)]
    return [operand]


def _check_operand(field: str, operator: str, operand: _Operand) -> None:
    """Jira's rules for which operators take lists, single values and EMPTY."""
    is_list = isinstance(operand, _List) or (
        isinstance(operand, _Function) and operand.name.casefold() in _LIST_FUNCTIONS
    )
    if operator in _EMPTINESS:
        if not isinstance(operand, _Empty):
            raise JqlError(
                f"Operator '{operator}' does not support searching for non-empty values for field '{field}'."
            )
    elif isinstance(operand, _Empty):
        if operator not in ("=", "!=", "~", "!~"):
            raise JqlError(
                f"Operator '{operator}' does not support the empty value representation 'EMPTY' for field '{field}'."
            )
    elif operator in ("in", "not in"):
        if not is_list:
            raise JqlError(
                f"Operator '{operator}' does not support the non-list value '{_display(operand)}' for field '{field}'."
            )
    elif is_list:
        raise JqlError(
            f"Operator '{operator}' does not support the list value '{_display(operand)}' for field '{field}'."
        )


def _display(operand: _Operand) -> str:
    """An operand the way Jira quotes it in messages."""
    match operand:
        case _Value(text, is_number=True):
            return text
        case _Value(text):
            return f'"{text}"'
        case _Function(name, arguments):
            return f"{name}({', '.join(arguments)})"
        case _List(items):
            return f"({', '.join(_display(item) for item in items)})"
    return "EMPTY"


def _selection(
    atoms: Callable[[IssueFacts], tuple[Any, ...]], tests: list[_AtomTest], *, wants_empty: bool, negative: bool
) -> _Predicate:
    """A clause: an issue is selected when one of its field's atoms passes one of the tests."""

    def selects(issue: IssueFacts) -> bool:
        values = atoms(issue)
        hit = any(test(value) for value in values for test in tests)
        if negative:
            # Jira's negative operators never select an empty field.
            return bool(values) and not hit
        return hit or (wants_empty and not values)

    return selects


def _empty_last(value: Any) -> tuple[Any, ...]:
    return (1,) if value is None else (0, value)


def _check_arguments(call: _Function, least: int, most: int) -> None:
    count = len(call.arguments)
    if least <= count <= most:
        return
    if least == most:
        raise JqlError(f"Function '{call.name}' expected '{least}' arguments but received '{count}'.")
    raise JqlError(f"Function '{call.name}' expected between '{least}' and '{most}' arguments but received '{count}'.")


# -- Fields --------------------------------------------------------------------------


class _Field:
    """A searchable field: how to read it off an issue and compare it with JQL values.

    ``atoms`` are the field's values on one issue, none when it is empty. ``test`` and
    ``function`` turn a JQL value into a test of one atom, for a comparison that is "="
    (the equality operators), "~" (text search) or a range operator.
    """

    operators: frozenset[str] = _EQUALITY | _EMPTINESS

    def __init__(self, name: str, context: _Context) -> None:
        self.name = name  # as the query wrote it, for messages
        self.context = context
        self.sort_key: Callable[[IssueFacts], Any] | None = None  # None: not sortable

    def atoms(self, issue: IssueFacts) -> tuple[Any, ...]:
        raise NotImplementedError

    def test(self, comparison: str, value: _Value) -> _AtomTest:
        raise NotImplementedError

    def function(self, comparison: str, call: _Function) -> _AtomTest:
        raise self.misplaced(call)

    def misplaced(self, call: _Function) -> JqlError:
        return JqlError(f"A value provided by the function '{call.name}' is invalid for the field '{self.name}'.")


def _system_field(name: str, context: _Context) -> _Field | None:
    match name.casefold():
        case "project":
            return _NameField(
                name,
                context,
                "project",
                names=lambda issue: (issue.project, issue.project_name),
                sort_key=lambda issue: issue.project_name.casefold(),
            )
        case "key" | "issuekey" | "id" | "issue":
            return _IssueKeyField(name, context)
        case "issuetype" | "type":
            return _IssueTypeField(
                name,
                context,
                "issuetype",
                names=lambda issue: (issue.issuetype,),
                sort_key=lambda issue: issue.issuetype.casefold(),
            )
        case "status":
            return _NameField(name, context, "status", names=lambda issue: (issue.status,), sort_key=_status_order)
        case "labels":
            return _LabelField(name, context)
        case "parent":
            return _ParentField(name, context)
        case "sprint":
            return _SprintField(name, context)
        case "summary":
            return _TextField(
                name, context, _TEXT, lambda issue: (issue.summary,), sort_key=lambda issue: issue.summary.casefold()
            )
        case "description":
            return _TextField(name, context, _TEXT | _EMPTINESS, lambda issue: (issue.description,))
        case "comment":
            return _TextField(name, context, _TEXT, lambda issue: issue.comments)
        case "text":
            return _TextField(
                name, context, frozenset({"~"}), lambda issue: (issue.summary, issue.description, *issue.comments)
            )
        case "assignee":
            return _UserField(name, context, "assignee", lambda issue: issue.assignee)
        case "reporter":
            return _UserField(name, context, "reporter", lambda issue: issue.reporter)
        case "created" | "createddate":
            return _DateField(name, context, lambda issue: issue.created)
        case "updated" | "updateddate":
            return _DateField(name, context, lambda issue: issue.updated)
    return None


# Status sorts in workflow order, as Jira sorts by its status list; other statuses by name.
_WORKFLOW = ("to do", "in progress", "done")


def _status_order(issue: IssueFacts) -> tuple[int, str]:
    status = issue.status.casefold()
    return (_WORKFLOW.index(status) if status in _WORKFLOW else len(_WORKFLOW), status)


class _NameField(_Field):
    """Named things compared case-insensitively: project (key or name), issue type, status."""

    def __init__(
        self,
        name: str,
        context: _Context,
        known_as: str,
        *,
        names: Callable[[IssueFacts], tuple[str, ...]],
        sort_key: Callable[[IssueFacts], Any],
    ) -> None:
        super().__init__(name, context)
        self._known_as = known_as
        self._names = names
        self.sort_key = sort_key

    def atoms(self, issue: IssueFacts) -> tuple[Any, ...]:
        return self._names(issue)

    def test(self, comparison: str, value: _Value) -> _AtomTest:
        self.context.check_exists(self._known_as, self.name, value)
        wanted = value.text.casefold()
        return lambda atom: atom.casefold() == wanted


class _IssueTypeField(_NameField):
    def function(self, comparison: str, call: _Function) -> _AtomTest:
        wants_subtasks = _ISSUE_TYPE_FUNCTIONS.get(call.name.casefold())
        if wants_subtasks is None:
            raise self.misplaced(call)
        _check_arguments(call, 0, 0)
        return lambda atom: (atom.casefold() in ("sub-task", "subtask")) == wants_subtasks


class _LabelField(_Field):
    def atoms(self, issue: IssueFacts) -> tuple[Any, ...]:
        return issue.labels

    def test(self, comparison: str, value: _Value) -> _AtomTest:
        return lambda atom: atom == value.text  # labels are case-sensitive


class _UserField(_Field):
    def __init__(
        self, name: str, context: _Context, known_as: str, account: Callable[[IssueFacts], str | None]
    ) -> None:
        super().__init__(name, context)
        self._known_as = known_as
        self._account = account
        # Jira sorts by display name; the sandbox only has account ids.
        self.sort_key = account

    def atoms(self, issue: IssueFacts) -> tuple[Any, ...]:
        account = self._account(issue)
        return (account,) if account else ()

    def test(self, comparison: str, value: _Value) -> _AtomTest:
        self.context.check_exists(self._known_as, self.name, value, exact=True)
        return lambda atom: atom == value.text

    def function(self, comparison: str, call: _Function) -> _AtomTest:
        if call.name.casefold() != "currentuser":
            raise self.misplaced(call)
        _check_arguments(call, 0, 0)
        user = self.context.current_user
        if user is None:
            raise JqlError(f"Unable to find JQL function '{_display(call)}'.")
        return lambda atom: atom == user


_ISSUE_KEY = re.compile(r"([A-Za-z][A-Za-z0-9_]*)-([0-9]+)")
_DIGITS = re.compile(r"[0-9]+")


def _key_order(key: str | None) -> tuple[str, int] | None:
    """(project, number) of an issue key, so DEMO-2 sorts before DEMO-10; None if not a key."""
    match = _ISSUE_KEY.fullmatch(key or "")
    return (match[1].casefold(), int(match[2])) if match else None


class _IssueKeyField(_Field):
    """The issue itself, named by key or by numeric id."""

    operators = _EQUALITY | _RANGE

    def __init__(self, name: str, context: _Context) -> None:
        super().__init__(name, context)
        self.sort_key = lambda issue: _key_order(issue.key)

    def atoms(self, issue: IssueFacts) -> tuple[Any, ...]:
        return (issue.key, issue.id)

    def test(self, comparison: str, value: _Value) -> _AtomTest:
        compare = _COMPARE[comparison]
        if _DIGITS.fullmatch(value.text):
            wanted_id = int(value.text)
            return lambda atom: isinstance(atom, int) and compare(atom, wanted_id)
        wanted = _key_order(value.text)
        if wanted is None:
            raise JqlError(f"The issue key '{value.text}' for field '{self.name}' is invalid.")
        project, number = wanted

        def test(atom: Any) -> bool:
            # Keys compare within their project only: DEMO-5 < OPS-1 is neither true nor false.
            if not isinstance(atom, str):
                return False
            key = _key_order(atom)
            return key is not None and key[0] == project and compare(key[1], number)

        return test


class _ParentField(_Field):
    operators = _EQUALITY | _EMPTINESS

    def __init__(self, name: str, context: _Context) -> None:
        super().__init__(name, context)
        self.sort_key = lambda issue: _key_order(issue.parent)

    def atoms(self, issue: IssueFacts) -> tuple[Any, ...]:
        return (issue.parent,) if issue.parent else ()

    def test(self, comparison: str, value: _Value) -> _AtomTest:
        # Jira also takes a parent's numeric id; IssueFacts only carries the parent's key.
        wanted = _key_order(value.text)
        if wanted is None:
            raise JqlError(f"The issue key '{value.text}' for field '{self.name}' is invalid.")
        return lambda atom: _key_order(atom) == wanted


class _SprintField(_Field):
    def atoms(self, issue: IssueFacts) -> tuple[Any, ...]:
        return issue.sprints

    def test(self, comparison: str, value: _Value) -> _AtomTest:
        self.context.check_exists("sprint", self.name, value)
        wanted = value.text.casefold()
        wanted_id = int(value.text) if _DIGITS.fullmatch(value.text) else None
        return lambda sprint: sprint[0] == wanted_id or sprint[1].casefold() == wanted

    def function(self, comparison: str, call: _Function) -> _AtomTest:
        state = _SPRINT_FUNCTIONS.get(call.name.casefold())
        if state is None:
            raise self.misplaced(call)
        _check_arguments(call, 0, 0)
        return lambda sprint: sprint[2] == state


class _TextField(_Field):
    def __init__(
        self,
        name: str,
        context: _Context,
        operators: frozenset[str],
        texts: Callable[[IssueFacts], tuple[str, ...]],
        *,
        sort_key: Callable[[IssueFacts], Any] | None = None,
    ) -> None:
        super().__init__(name, context)
        self.operators = operators
        self._texts = texts
        self.sort_key = sort_key

    def atoms(self, issue: IssueFacts) -> tuple[Any, ...]:
        return tuple(text for text in self._texts(issue) if text)

    def test(self, comparison: str, value: _Value) -> _AtomTest:
        return _TextSearch.parse(value.text, self.name).matches


class _DateField(_Field):
    operators = _EQUALITY | _RANGE

    def __init__(self, name: str, context: _Context, moment: Callable[[IssueFacts], datetime]) -> None:
        super().__init__(name, context)
        self._moment = moment
        self.sort_key = moment

    def atoms(self, issue: IssueFacts) -> tuple[Any, ...]:
        return (self._moment(issue),)

    def test(self, comparison: str, value: _Value) -> _AtomTest:
        return _compared_with(comparison, _parse_date(value.text, self.name, self.context.now))

    def function(self, comparison: str, call: _Function) -> _AtomTest:
        return _compared_with(comparison, self._date_function(call))

    def _date_function(self, call: _Function) -> datetime:
        now = self.context.now
        name = call.name.casefold()
        if name == "now":
            _check_arguments(call, 0, 0)
            return now
        if name not in _CALENDAR_FUNCTIONS:
            raise self.misplaced(call)
        unit, at_end = _CALENDAR_FUNCTIONS[name]
        _check_arguments(call, 0, 1)
        if not call.arguments:
            return _calendar_edge(now, unit, at_end)
        offset = re.fullmatch(r"([-+]?)([0-9]+)([yMwdhm]?)", call.arguments[0].strip())
        if offset is None:
            raise JqlError(
                f"Duration for function '{call.name}' should have the format (+/-)n(yMwdm), "
                "e.g -1M for 1 month earlier."
            )
        amount = -int(offset[2]) if offset[1] == "-" else int(offset[2])
        offset_unit = offset[3] or unit
        if offset_unit == unit:
            # endOfMonth(-1) is the end of last month, not a month before the end of this one.
            return _calendar_edge(_shifted(now, amount, unit), unit, at_end)
        return _shifted(_calendar_edge(now, unit, at_end), amount, offset_unit)


def _compared_with(comparison: str, bound: datetime) -> _AtomTest:
    compare = _COMPARE[comparison]
    return lambda atom: compare(atom, bound)


class _CustomField(_Field):
    """A custom field's value, text or number, compared as what it turns out to be."""

    operators = _EQUALITY | _EMPTINESS | _RANGE | _TEXT

    def __init__(self, name: str, context: _Context, field_id: str) -> None:
        super().__init__(name, context)
        self._id = field_id
        self.sort_key = self._sort_key

    def atoms(self, issue: IssueFacts) -> tuple[Any, ...]:
        value = issue.custom.get(self._id)
        values = value if isinstance(value, (list, tuple)) else (value,)
        return tuple(each for each in values if each is not None and each != "")

    def test(self, comparison: str, value: _Value) -> _AtomTest:
        number = _number(value.text)
        if comparison == "~":
            search = _TextSearch.parse(value.text, self.name)
            return lambda atom: search.matches(str(atom))
        if comparison == "=":
            wanted = value.text.casefold()
            return lambda atom: atom == number if _is_number(atom) else str(atom).casefold() == wanted
        if number is None:
            raise JqlError(f"Value '{value.text}' for the '{self.name}' field is not a valid number.")
        compare = _COMPARE[comparison]
        return lambda atom: _is_number(atom) and compare(atom, number)

    def _sort_key(self, issue: IssueFacts) -> tuple[int, Any] | None:
        atoms = self.atoms(issue)
        if not atoms:
            return None
        first = atoms[0]
        return (0, first) if _is_number(first) else (1, str(first).casefold())


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


# -- Text search ---------------------------------------------------------------------

# Lucene's English stop words, which Jira's index leaves out.
_STOP_WORDS = frozenset(
    {
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "for",
        "if",
        "in",
        "into",
        "is",
        "it",
        "no",
        "not",
        "of",
        "on",
        "or",
        "such",
        "that",
        "the",
        "their",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "was",
        "will",
        "with",
    }
)
_WORD = re.compile(r"\w+")
_QUOTED_OR_LOOSE = re.compile(r'"([^"]*)"|(\S+)')


def _words(text: str) -> list[str]:
    return [word for word in _WORD.findall(text.casefold()) if word not in _STOP_WORDS]


@dataclass(frozen=True)
class _TextSearch:
    """Jira's ``~``: every phrase must occur as consecutive words, every prefix start a word."""

    phrases: tuple[tuple[str, ...], ...]
    prefixes: tuple[str, ...]

    @classmethod
    def parse(cls, query: str, field: str) -> _TextSearch:
        if not query.strip():
            raise JqlError(f"The field '{field}' does not support searching for an empty string.")
        phrases: list[tuple[str, ...]] = []
        prefixes: list[str] = []
        for quoted, loose in _QUOTED_OR_LOOSE.findall(query):
            if loose[:1] in ("*", "?"):
                raise JqlError(
                    f"The text query '{query}' for field '{field}' is not valid: "
                    "the '*' and '?' are not allowed as first character in wildcard query."
                )
            if loose in ("OR", "NOT", "||") or loose[:1] in ("-", "!") or "~" in loose:
                # Jira honours these Lucene operators; reading them as words would answer wrongly.
                raise JqlError(
                    f"The text query '{query}' for field '{field}' uses search syntax "
                    "(OR, NOT, -, !, ~) that the Jira sandbox does not support."
                )
            if loose.endswith("*"):
                stem = _WORD.findall(loose[:-1].casefold())
                if stem:
                    prefixes.append(stem.pop())
                loose = " ".join(stem)
            # A word that splits in several ("e-mail") is a phrase, as in Lucene.
            words = tuple(_words(quoted or loose))
            if words:
                phrases.append(words)
        return cls(tuple(phrases), tuple(prefixes))

    def matches(self, text: str) -> bool:
        if not self.phrases and not self.prefixes:
            return False  # only stop words: Jira finds nothing
        words = _words(text)
        return all(_has_phrase(words, phrase) for phrase in self.phrases) and all(
            any(word.startswith(prefix) for word in words) for prefix in self.prefixes
        )


def _has_phrase(words: list[str], phrase: tuple[str, ...]) -> bool:
    size = len(phrase)
    return any(tuple(words[start : start + size]) == phrase for start in range(len(words) - size + 1))


# -- Dates ---------------------------------------------------------------------------

_DATE_FORMATS = ("%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M", "%Y/%m/%d", "%Y-%m-%d")
_PERIOD = re.compile(r"([-+]?)\s*((?:[0-9]+\s*[wdhm]\s*)+)", re.IGNORECASE)
_PERIOD_PART = re.compile(r"([0-9]+)\s*([wdhm])", re.IGNORECASE)
_PERIOD_UNITS = {"w": timedelta(weeks=1), "d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}


def _parse_date(text: str, field: str, now: datetime) -> datetime:
    """A JQL date: absolute in ``now``'s zone, or a period from now such as ``-7d`` or ``4w 2d``."""
    period = _PERIOD.fullmatch(text.strip())
    if period:
        length = sum(
            (int(count) * _PERIOD_UNITS[unit.lower()] for count, unit in _PERIOD_PART.findall(period[2])),
            timedelta(),
        )
        return now - length if period[1] == "-" else now + length
    for date_format in _DATE_FORMATS:
        try:
            return datetime.strptime(text.strip(), date_format).replace(tzinfo=now.tzinfo)
        except ValueError:
            continue
    raise JqlError(
        f"Date value '{text}' for field '{field}' is invalid. Valid formats include: 'yyyy/MM/dd HH:mm', "
        "'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'."
    )


def _calendar_edge(moment: datetime, unit: str, at_end: bool) -> datetime:
    """The first instant of the day, week, month or year (unit d, w, M, y) holding ``moment``,
    or its last microsecond."""
    start = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "w":
        start -= timedelta(days=(start.weekday() + 1) % 7)  # back to Sunday
    elif unit == "M":
        start = start.replace(day=1)
    elif unit == "y":
        start = start.replace(month=1, day=1)
    return _shifted(start, 1, unit) - timedelta(microseconds=1) if at_end else start


def _shifted(moment: datetime, amount: int, unit: str) -> datetime:
    """``moment`` moved by ``amount`` units: y(ears), M(onths), w(eeks), d(ays), h(ours), m(inutes)."""
    if unit in ("y", "M"):
        months = moment.month - 1 + amount * (12 if unit == "y" else 1)
        year, month = moment.year + months // 12, months % 12 + 1
        return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))
    return moment + amount * _PERIOD_UNITS[unit]
