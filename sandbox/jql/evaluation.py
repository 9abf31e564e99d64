"""JQL's evaluation: parsed clauses become predicates and sort keys over :class:`IssueFacts`,
checked the way Jira's validators check them (fields, operators, functions, values that exist).
"""

from __future__ import annotations

import calendar
import operator
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, assert_never

from sandbox.jql.errors import JqlError
from sandbox.jql.parser import (
    And,
    Clause,
    Empty,
    Function,
    Leaf,
    Not,
    Operand,
    Or,
    Sort,
    Terminal,
    Value,
    ValueList,
    parse,
)


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
    rank: str | None = None  # lexorank-like: compared as text, lower first; None: unranked (last)


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
    where, sorts = parse(text)
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

    def check_exists(self, known_as: str, field: str, value: Value, *, exact: bool = False) -> None:
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

    def clause(self, clause: Clause) -> _Predicate:
        match clause:
            case And(clauses):
                parts = [self.clause(part) for part in clauses]
                return lambda issue: all(part(issue) for part in parts)
            case Or(clauses):
                parts = [self.clause(part) for part in clauses]
                return lambda issue: any(part(issue) for part in parts)
            case Not(inner):
                negated = self.clause(inner)
                return lambda issue: not negated(issue)
            case Terminal():
                return self._terminal(clause)
            case _:
                assert_never(clause)

    def sort(self, sort: Sort) -> _SortKey:
        field = self._field(sort.field)
        read = field.sort_key
        if read is None:
            raise JqlError(f"Not able to sort using field '{field.name}'.")
        descending = isinstance(field, _DateField) if sort.descending is None else sort.descending
        return _SortKey(key=lambda issue: _empty_last(read(issue)), descending=descending)

    def _terminal(self, clause: Terminal) -> _Predicate:
        field = self._field(clause.field)
        if clause.operator not in field.operators:
            raise JqlError(f"The operator '{clause.operator}' is not supported by the '{field.name}' field.")
        leaves = _leaves(clause.operand)
        for leaf in leaves:
            if isinstance(leaf, Function) and leaf.name.casefold() not in _FUNCTIONS:
                raise JqlError(f"Unable to find JQL function '{_display(leaf)}'.")
        _check_operand(field.name, clause.operator, clause.operand)
        comparison = _COMPARISON.get(clause.operator, clause.operator)
        tests = [
            field.function(comparison, leaf) if isinstance(leaf, Function) else field.test(comparison, leaf)
            for leaf in leaves
            if not isinstance(leaf, Empty)
        ]
        return _selection(
            field.atoms,
            tests,
            wants_empty=any(isinstance(leaf, Empty) for leaf in leaves),
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


def _leaves(operand: Operand) -> list[Leaf]:
    """The values, functions and EMPTYs of an operand, lists flattened."""
    if isinstance(operand, ValueList):
        return [leaf for item in operand.items for leaf in _leaves(item)]
    return [operand]


def _check_operand(field: str, operator: str, operand: Operand) -> None:
    """Jira's rules for which operators take lists, single values and EMPTY."""
    is_list = isinstance(operand, ValueList) or (
        isinstance(operand, Function) and operand.name.casefold() in _LIST_FUNCTIONS
    )
    if operator in _EMPTINESS:
        if not isinstance(operand, Empty):
            raise JqlError(
                f"Operator '{operator}' does not support searching for non-empty values for field '{field}'."
            )
    elif isinstance(operand, Empty):
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


def _display(operand: Operand) -> str:
    """An operand the way Jira quotes it in messages."""
    match operand:
        case Value(text, is_number=True):
            return text
        case Value(text):
            return f'"{text}"'
        case Function(name, arguments):
            return f"{name}({', '.join(arguments)})"
        case ValueList(items):
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


def _check_arguments(call: Function, least: int, most: int) -> None:
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

    def test(self, comparison: str, value: Value) -> _AtomTest:
        raise NotImplementedError

    def function(self, comparison: str, call: Function) -> _AtomTest:
        raise self.misplaced(call)

    def misplaced(self, call: Function) -> JqlError:
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
        case "rank":  # sorts only, as in Jira: no operator searches by it
            return _TextField(name, context, frozenset(), lambda issue: (), sort_key=lambda issue: issue.rank)
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

    def test(self, comparison: str, value: Value) -> _AtomTest:
        self.context.check_exists(self._known_as, self.name, value)
        wanted = value.text.casefold()
        return lambda atom: atom.casefold() == wanted


class _IssueTypeField(_NameField):
    def function(self, comparison: str, call: Function) -> _AtomTest:
        wants_subtasks = _ISSUE_TYPE_FUNCTIONS.get(call.name.casefold())
        if wants_subtasks is None:
            raise self.misplaced(call)
        _check_arguments(call, 0, 0)
        return lambda atom: (atom.casefold() in ("sub-task", "subtask")) == wants_subtasks


class _LabelField(_Field):
    def atoms(self, issue: IssueFacts) -> tuple[Any, ...]:
        return issue.labels

    def test(self, comparison: str, value: Value) -> _AtomTest:
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

    def test(self, comparison: str, value: Value) -> _AtomTest:
        self.context.check_exists(self._known_as, self.name, value, exact=True)
        return lambda atom: atom == value.text

    def function(self, comparison: str, call: Function) -> _AtomTest:
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

    def test(self, comparison: str, value: Value) -> _AtomTest:
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

    def test(self, comparison: str, value: Value) -> _AtomTest:
        # Jira also takes a parent's numeric id; IssueFacts only carries the parent's key.
        wanted = _key_order(value.text)
        if wanted is None:
            raise JqlError(f"The issue key '{value.text}' for field '{self.name}' is invalid.")
        return lambda atom: _key_order(atom) == wanted


class _SprintField(_Field):
    def atoms(self, issue: IssueFacts) -> tuple[Any, ...]:
        return issue.sprints

    def test(self, comparison: str, value: Value) -> _AtomTest:
        self.context.check_exists("sprint", self.name, value)
        wanted = value.text.casefold()
        wanted_id = int(value.text) if _DIGITS.fullmatch(value.text) else None
        return lambda sprint: sprint[0] == wanted_id or sprint[1].casefold() == wanted

    def function(self, comparison: str, call: Function) -> _AtomTest:
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

    def test(self, comparison: str, value: Value) -> _AtomTest:
        return _TextSearch.parse(value.text, self.name).matches


class _DateField(_Field):
    operators = _EQUALITY | _RANGE

    def __init__(self, name: str, context: _Context, moment: Callable[[IssueFacts], datetime]) -> None:
        super().__init__(name, context)
        self._moment = moment
        self.sort_key = moment

    def atoms(self, issue: IssueFacts) -> tuple[Any, ...]:
        return (self._moment(issue),)

    def test(self, comparison: str, value: Value) -> _AtomTest:
        return _compared_with(comparison, _parse_date(value.text, self.name, self.context.now))

    def function(self, comparison: str, call: Function) -> _AtomTest:
        return _compared_with(comparison, self._date_function(call))

    def _date_function(self, call: Function) -> datetime:
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

    def test(self, comparison: str, value: Value) -> _AtomTest:
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
