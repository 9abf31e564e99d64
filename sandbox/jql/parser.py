"""JQL's parser: recursive descent over Jira's grammar, with the errors its parser reports.

``parse`` turns a query into its ``WHERE`` clause (None when there is none) and its
``ORDER BY`` fields; the rest of the engine works on these nodes.
"""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.jql.errors import JqlError, one_line, syntax_error
from sandbox.jql.lexer import Token, tokenize

_LONGS = range(-(2**63), 2**63)


@dataclass(frozen=True)
class Value:
    text: str
    is_number: bool  # written as a bare number, which Jira reads as an id where ids apply


@dataclass(frozen=True)
class Function:
    name: str
    arguments: tuple[str, ...]


@dataclass(frozen=True)
class ValueList:
    items: tuple[Operand, ...]


class Empty:
    """``EMPTY`` or ``NULL``."""


EMPTY = Empty()
Leaf = Value | Function | Empty
Operand = Leaf | ValueList


@dataclass(frozen=True)
class Terminal:
    field: str  # as written; a custom field id as cf[NNNNN]
    operator: str  # lower case, as Jira shows it: "=", "not in", "is not"...
    operand: Operand


@dataclass(frozen=True)
class Not:
    clause: Clause


@dataclass(frozen=True)
class And:
    clauses: tuple[Clause, ...]


@dataclass(frozen=True)
class Or:
    clauses: tuple[Clause, ...]


Clause = Terminal | Not | And | Or


@dataclass(frozen=True)
class Sort:
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


def parse(source: str) -> tuple[Clause | None, tuple[Sort, ...]]:
    """The query's condition (None: every issue) and its ORDER BY fields, or JqlError as Jira words it."""
    return _Parser(source).parse()


class _Parser:
    def __init__(self, source: str) -> None:
        self._source = source
        self._tokens = tokenize(source)
        self._next = 0

    def parse(self) -> tuple[Clause | None, tuple[Sort, ...]]:
        where = self._or() if self._peek().kind in _CLAUSE_STARTS else None
        sorts = self._order_by() if self._peek().kind == "ORDER" else ()
        if self._peek().kind != "EOF":
            if sorts:
                raise self._expected("','")
            if where is None:
                raise self._expected_field()
            raise self._expected("either 'OR' or 'AND'")
        return where, sorts

    def _or(self) -> Clause:
        clauses = [self._and()]
        while self._accept("OR"):
            clauses.append(self._and())
        return clauses[0] if len(clauses) == 1 else Or(tuple(clauses))

    def _and(self) -> Clause:
        clauses = [self._not()]
        while self._accept("AND"):
            clauses.append(self._not())
        return clauses[0] if len(clauses) == 1 else And(tuple(clauses))

    def _not(self) -> Clause:
        if self._accept("NOT") or self._accept("!"):
            return Not(self._not())
        if self._accept("("):
            clause = self._or()
            self._expect(")", "')'")
            return clause
        if self._peek().kind not in _FIELD_STARTS:
            raise self._expected_field()
        field = self._field()
        operator = self._operator(field)
        return Terminal(field, operator, self._operand(in_list=False))

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

    def _operand(self, *, in_list: bool) -> Operand:
        token = self._peek()
        if token.kind == "EMPTY":
            self._take()
            return EMPTY
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
        return Value(token.text, is_number=token.kind == "NUMBER")

    def _list(self) -> ValueList:
        self._take()  # "("
        items = [self._operand(in_list=True)]
        while self._accept(","):
            items.append(self._operand(in_list=True))
        self._expect(")", "')'")
        return ValueList(tuple(items))

    def _function(self, name: Token) -> Function:
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
        return Function(name.text, tuple(arguments))

    def _argument(self) -> str:
        token = self._peek()
        if token.kind in ("STRING", "NUMBER"):
            return self._take().text
        if token.kind in (",", ")"):
            raise self._error(token, "Function argument must be specified.")
        raise self._expected_argument()

    def _order_by(self) -> tuple[Sort, ...]:
        self._take()  # ORDER
        self._expect("BY", "'by'")
        sorts = [self._sort()]
        while self._accept(","):
            sorts.append(self._sort())
        return tuple(sorts)

    def _sort(self) -> Sort:
        if self._peek().kind not in _FIELD_STARTS:
            raise self._expected_field()
        field = self._field()
        if self._peek().kind in ("ASC", "DESC"):
            return Sort(field, descending=self._take().kind == "DESC")
        if self._peek().kind not in ("EOF", ","):
            raise self._expected("either 'ASC' or 'DESC'")
        return Sort(field, descending=None)

    def _check_long(self, token: Token) -> None:
        if int(token.text) not in _LONGS:
            raise self._error(
                token,
                f"'{token.text}' is not a valid number. Numbers must be between "
                "-9,223,372,036,854,775,808 and 9,223,372,036,854,775,807.",
            )

    # Token stream and errors.

    def _peek(self) -> Token:
        return self._tokens[self._next]

    def _take(self) -> Token:
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
            return syntax_error(self._source, None, f"Expecting {what} {at_end}.{trailer}")
        got = one_line(token.text)
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

    def _error(self, token: Token, message: str) -> JqlError:
        return syntax_error(self._source, token.index, message)
