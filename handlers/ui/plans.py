"""A preview's plan as people read it, made from the generic `PlanOperation` kinds and payloads only.

What the payloads hold (see `bot.jira.applier`): a `create_issue` carries Jira `fields` (summary,
issuetype, parent, labels with the plan's `marker`, the site's custom fields) and may carry
`links` to existing issues (a task's story); a later operation names a new issue (or sprint) as
`{"created_by": <op id>}` at the top of its payload.

What a person selects, and the rule that completes it (`approved`):
- every `create_issue` and `create_sprint` has a box, and so does every operation that names no
  new issue (a description, a link between existing issues);
- an operation that names new issues, such as the "Blocks" link between two new tasks or a move
  into a new sprint, has no box: it is approved with the creates it names when every one of them
  is, and left out when one is not;
- the API's own check (`handlers.jobs.start_apply`) has the last word: a create that names
  another create needs that one ticked too, and its refusal is shown as it is.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from handlers.jobs import creates_needed
from schemas.generation import BatchCounts
from schemas.jobs import JobRecord, JobStatus, PlanOperation

CREATES = ("create_issue", "create_sprint")
# How a count of each kind reads: (one, many).
KIND_WORDS = {
    "create_issue": ("create", "creates"),
    "link_issues": ("link", "links"),
    "update_fields": ("field update", "field updates"),
    "set_parent": ("parent change", "parent changes"),
    "add_comment": ("comment", "comments"),
    "create_sprint": ("new sprint", "new sprints"),
    "move_to_sprint": ("sprint move", "sprint moves"),
}
BLOCKS = "Blocks"
DETAIL_LENGTH = 200


def is_preview(record: JobRecord) -> bool:
    """A finished job that did not write and kept a plan (a batch: tickets with one)."""
    if record.status is not JobStatus.completed:
        return False
    if record.request.get("update_jira") is True or record.request.get("dry_run") is False:
        return False
    return bool(record.plan) or (record.plan is None and record.section(BatchCounts).successful_tickets > 0)


def describe(operation: PlanOperation, plan: list[PlanOperation]) -> str:
    """One operation in words, for a job's page: `create Task "Export API"`, `set description`,
    `link "Export API" blocks "Export UI"`."""
    names = {op.op_id: _name(op) for op in plan if op.kind in CREATES}
    payload = operation.payload
    if operation.kind == "create_issue":
        return f"create {_name_of((payload.get('fields') or {}).get('issuetype')) or 'issue'} {names[operation.op_id]}"
    if operation.kind == "create_sprint":
        return "create " + _details(operation, names)
    if operation.kind == "update_fields":
        return "set " + ", ".join(sorted(payload.get("fields") or {}))
    if operation.kind == "link_issues":
        return "link " + _details(operation, names)
    return f"{operation.kind.replace('_', ' ')}: {_details(operation, names)}"


def counts(plan: Iterable[PlanOperation]) -> str:
    """`5 creates, 4 links`, in the order the kinds first appear."""
    counted = Counter(operation.kind for operation in plan)
    return ", ".join(f"{n} {KIND_WORDS[kind][n != 1]}" for kind, n in counted.items()) or "nothing"


@dataclass
class CreateRow:
    """A `create_issue`: what the new issue will be."""

    op_id: str
    summary: str
    issue_type: str
    team: str
    estimate: str
    parent: list[str]
    dependencies: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class OtherRow:
    """Any other operation, listed generically. One that names new issues has no box: it `follows`
    their creates."""

    op_id: str
    kind: str
    ticket: str
    details: str
    follows: list[str]

    @property
    def selectable(self) -> bool:
        return not self.follows


@dataclass(frozen=True)
class PlanView:
    creates: list[CreateRow]
    others: list[OtherRow]

    @property
    def selectable(self) -> list[str]:
        return [row.op_id for row in self.creates] + [row.op_id for row in self.others if row.selectable]


def view(plan: list[PlanOperation], estimate_fields: tuple[str, ...]) -> PlanView:
    """The plan's creates as table rows (their dependencies from the links between them), and
    every other operation; `estimate_fields` are the site's estimate fields (Mandays, Story points)."""
    names = {operation.op_id: _name(operation) for operation in plan if operation.kind in CREATES}
    rows = {
        operation.op_id: _create_row(operation, estimate_fields)
        for operation in plan
        if operation.kind == "create_issue"
    }
    others: list[OtherRow] = []
    for operation in plan:
        needs = creates_needed(operation.model_dump())
        for need in needs if operation.kind == "create_issue" else ():
            rows[operation.op_id].dependencies.append(f"needs {names.get(need, need)} approved too")
        if operation.kind == "link_issues":
            _note_link(operation.payload, rows, names)
        if operation.kind != "create_issue":
            others.append(
                OtherRow(
                    op_id=operation.op_id,
                    kind=operation.kind,
                    ticket=operation.ticket_key or "",
                    details=_details(operation, names),
                    follows=[] if operation.kind in CREATES else [names.get(need, need) for need in needs],
                )
            )
    return PlanView(creates=list(rows.values()), others=others)


def approved(plan: list[PlanOperation], chosen: Iterable[str]) -> list[str]:
    """The chosen operations, and each operation without a box whose new issues are all chosen,
    in the plan's order. An id that is not in the plan is kept, for the API's check to refuse."""
    picked = set(chosen)
    selected = [
        operation.op_id
        for operation in plan
        if operation.op_id in picked
        or (
            operation.kind not in CREATES
            and (needs := creates_needed(operation.model_dump()))
            and all(need in picked for need in needs)
        )
    ]
    known = {operation.op_id for operation in plan}
    return selected + sorted(picked - known)


def _create_row(operation: PlanOperation, estimate_fields: tuple[str, ...]) -> CreateRow:
    fields: dict[str, Any] = operation.payload.get("fields") or {}
    marker = operation.payload.get("marker")
    labels = [str(label) for label in fields.get("labels") or [] if label != marker]
    components = [str(part.get("name")) for part in fields.get("components") or [] if isinstance(part, dict)]
    estimate = next((fields[name] for name in estimate_fields if fields.get(name) is not None), None)
    parent = [f"parent {_key(fields.get('parent'))}"] if fields.get("parent") else []
    for link in operation.payload.get("links") or []:
        end = link.get("inwardIssue") or link.get("outwardIssue") or {}
        parent.append(f"{(link.get('type') or {}).get('name', 'link')} {end.get('key', '?')}")
    return CreateRow(
        op_id=operation.op_id,
        summary=str(fields.get("summary", "")),
        issue_type=_name_of(fields.get("issuetype")),
        team=", ".join(labels + components),
        estimate="" if estimate is None else f"{estimate:g}" if isinstance(estimate, float) else str(estimate),
        parent=parent,
    )


def _note_link(payload: dict[str, Any], rows: dict[str, CreateRow], names: dict[str, str]) -> None:
    """A link between issues, on the rows of the new ones it joins: "blocked by X", "blocks Y"."""
    link_type = str(payload.get("link_type", "link"))
    inward, outward = payload.get("inward_key"), payload.get("outward_key")
    first, then = _named(inward, names), _named(outward, names)
    if (row := _row(outward, rows)) is not None:
        row.dependencies.append(f"blocked by {first}" if link_type == BLOCKS else f"{link_type} from {first}")
    if (row := _row(inward, rows)) is not None:
        row.dependencies.append(f"blocks {then}" if link_type == BLOCKS else f"{link_type} to {then}")


def _row(end: Any, rows: dict[str, CreateRow]) -> CreateRow | None:
    return rows.get(end["created_by"]) if isinstance(end, dict) and "created_by" in end else None


def _named(value: Any, names: dict[str, str]) -> str:
    """An issue key, or the new issue a `created_by` names."""
    if isinstance(value, dict) and "created_by" in value:
        return names.get(str(value["created_by"]), str(value["created_by"]))
    return str(value)


def _name(operation: PlanOperation) -> str:
    if operation.kind == "create_sprint":
        return f'new sprint "{operation.payload.get("name", operation.op_id)}"'
    return f'"{(operation.payload.get("fields") or {}).get("summary", operation.op_id)}"'


def _details(operation: PlanOperation, names: dict[str, str]) -> str:
    """One line on what an operation other than a create does."""
    payload = operation.payload
    if operation.kind == "update_fields":
        return "fields: " + ", ".join(sorted(payload.get("fields") or {}))
    if operation.kind == "link_issues":
        inward, outward = _named(payload.get("inward_key"), names), _named(payload.get("outward_key"), names)
        return f"{inward} {str(payload.get('link_type', 'links')).lower()} {outward}"
    if operation.kind == "set_parent":
        return f"parent → {_named(payload.get('parent_key'), names)}"
    if operation.kind == "add_comment":
        return _cut(str(payload.get("body", "")))
    if operation.kind == "move_to_sprint":
        issues = payload.get("issue_keys") or []
        return f"{len(issues)} issues → sprint {_named(payload.get('sprint_id'), names)}: " + _cut(", ".join(issues))
    if operation.kind == "create_sprint":
        dates = " – ".join(str(payload[day]) for day in ("start_date", "end_date") if payload.get(day))
        return f"{names[operation.op_id]} on board {payload.get('board_id')}" + (f", {dates}" if dates else "")
    return _cut(", ".join(sorted(payload)))


def _cut(text: str) -> str:
    return text if len(text) <= DETAIL_LENGTH else text[: DETAIL_LENGTH - 1] + "…"


def _key(value: Any) -> str:
    return str(value.get("key")) if isinstance(value, dict) else str(value)


def _name_of(value: Any) -> str:
    return str(value.get("name", "")) if isinstance(value, dict) else str(value or "")
