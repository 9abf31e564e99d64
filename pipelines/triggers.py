"""From Jira events to jobs: trigger rules, `/augment` comment commands, and the answers.

- Issue events run the configured rules (`triggers.rules`); a label counts as added
  only when the changelog says it was added now. A rule's action becomes a request
  through the pipeline that registered its job type (`pipeline.rule_action`).
- Comments run the `/augment` commands every pipeline registered (one registry), for
  the users and projects `commands` allows; others get a polite refusal, unknown
  commands the help text. Each command is acknowledged at once with a comment.
- When a job started from Jira ends, its answer is posted on the ticket.

Events the bot's own account caused are ignored, so its comments and writes never
start anything. What Jira did is acted on once, whichever delivery brings it
(`bot.webhooks.occurrences`): a command is named by its comment and line, a rule's run
by the issue event; jobs get ids derived from those names, so a redelivered event finds
its job instead of queueing another, and comments are posted once (`bot.jira.comments`).
Commands are rate-limited per ticket and per user (`bot.commands.admission`).
"""

from __future__ import annotations

import structlog

from bot import metrics
from bot.commands.admission import Admission, admit
from bot.commands.context import CommandContext
from bot.commands.parsing import CommandArgumentError, CommandLine, find_commands
from bot.config import TriggerRule
from bot.events import EventContext
from bot.jetstream import layout
from bot.jira.comments import post_once
from bot.jobs.firing import HOUR, RateLimit
from bot.jobs.pipeline import Pipeline
from bot.jobs.queue import job_id_for
from bot.jobs.store import TicketBusyError
from bot.llm.catalogue import ModelChoiceError
from bot.replies import help_text, job_ref, monospace
from bot.webhooks.occurrences import Occurrences
from schemas.events import CommentEvent, IssueEvent, IssueUpdatedEvent, JiraIssue, parse_event
from schemas.jobs import JobRecord, JobStatus, TicketReply

log = structlog.get_logger(__name__)

pipeline = Pipeline("triggers")

STATUS_COMMAND = monospace("/augment status")


async def on_issue_event(event: EventContext) -> None:
    parsed = parse_event(event.json())
    assert isinstance(parsed, IssueEvent)
    if await _caused_by_bot(event, parsed.actor_account_id):
        return
    if isinstance(parsed, IssueUpdatedEvent):
        # An update without a changelog is a comment being added, not a change of the ticket.
        kinds = ["issue_updated"] if parsed.changed_fields() else []
        added = parsed.labels_added()
    else:
        kinds, added = ["issue_created"], []
    occurrence = _occurrence(parsed)
    for rule in event.runtime.settings.triggers.rules:
        fires = rule.on in kinds or (rule.on == "label_added" and rule.label in added)
        if not (fires and _passes_filters(rule, parsed.issue)):
            continue
        origin = f"{occurrence}/rule/{rule.name}"
        if await Occurrences(event.runtime.buckets.seen).claim(origin, event.identifier) is None:
            log.info("rule left to another delivery of the event", rule=rule.name, ticket_key=parsed.issue.key)
            continue
        await _fire(event, rule, parsed.issue.key, trigger=f"rule {rule.name}", origin=origin)


async def on_comment(event: EventContext) -> None:
    parsed = parse_event(event.json())
    assert isinstance(parsed, CommentEvent)
    author = parsed.actor_account_id
    if await _caused_by_bot(event, author):
        return
    key, comment = parsed.issue.key, parsed.comment
    # The comment, not the delivery: every delivery of it (retry, second webhook) names it alike.
    written = comment.created.isoformat() if comment.created else str(parsed.timestamp)
    for position, line in enumerate(find_commands(comment.body)):
        origin = f"comment/{comment.id}@{written}/{position}"
        structlog.contextvars.bind_contextvars(ticket_key=key, command=line.name)
        admitted = await admit(event.runtime, origin, event.identifier, key, author)
        admission, new = admitted.admission, admitted.judged_now
        if admission is Admission.run:
            answer = await _run_command(event, key, author, line, origin)
            await post_once(event.runtime.jira, key, answer, f"ack {job_id_for(origin)[:13]}", surely_new=new)
            log.info("comment command answered", author=author)
        elif admission is Admission.slow_down:
            answer = _slow_down(event, key, author)
            await post_once(event.runtime.jira, key, answer, f"slow down {job_id_for(origin)[:13]}", surely_new=new)
            log.info("comment command refused: rate limit; asked to slow down", author=author)
        elif admission is Admission.quiet:
            log.info("comment command refused: rate limit", author=author)
        else:
            log.info("comment command left to another delivery of the comment", author=author)


async def on_job_finished(event: EventContext) -> None:
    job_id = event.json()["job_id"]
    record = await event.runtime.store.get(job_id)
    if record is None or record.reply is None:
        return
    render = event.registry.replies.get(record.job_type)
    body = render(record) if render is not None and record.status is JobStatus.completed else _ending(record)
    await post_once(
        event.runtime.jira, record.reply.ticket_key, body, f"reply {job_id}", full_text_at=f"/jobs/{job_id}"
    )


async def _run_command(event: EventContext, key: str, author: str | None, line: CommandLine, origin: str) -> str:
    """The acknowledgement (or refusal, or help) for one command line."""
    allowed = event.runtime.settings.commands
    project = key.split("-", 1)[0]
    if not (_listed(author, allowed.users) and _listed(project, allowed.projects)):
        who = f"[~accountid:{author}]" if author else "you"
        return (
            f"Sorry, {who}: Augment commands are not enabled for you in {project}. "
            "An administrator can allow them (commands.users and commands.projects)."
        )
    command = CommandContext(event.runtime, event.registry, key, author, line, origin)
    route = event.registry.commands.get(line.name)
    rule = _command_rule(event, line.name, project)
    if route is None and rule is None:
        unknown = f"Unknown command {monospace(line.text)}.\n\n" if line.name else ""
        return unknown + help_text(event.registry, event.runtime.settings.triggers.rules)
    try:
        if route is not None:
            return await route.handler(command)
        assert rule is not None
        record = await _fire(event, rule, key, trigger=line.text, origin=origin, requested_by=author, command=True)
        if record is None:
            return f"Rule {rule.name} did not run: it already ran the most times allowed this hour on {key}."
        return f"Rule {rule.name}: running {rule.action.job_type} on {key}, job {job_ref(record.job_id)}."
    except TicketBusyError as busy:
        return f"{key} is already being worked on by job {job_ref(busy.lock.job_id)}; try {STATUS_COMMAND}."
    except (ModelChoiceError, CommandArgumentError) as err:
        return f"Cannot run {monospace(line.text)}: {err}"


async def _fire(
    event: EventContext,
    rule: TriggerRule,
    key: str,
    *,
    trigger: str,
    origin: str,
    requested_by: str | None = None,
    command: bool = False,
) -> JobRecord | None:
    """Run `rule` on `key` as the job named by `origin`. A busy ticket raises TicketBusyError
    for a command (its answer says so) and is only logged for an event."""
    runtime = event.runtime
    job_id = job_id_for(origin)
    if (existing := await runtime.store.get(job_id)) is not None:
        return existing  # this event was handled before a redelivery
    limit = RateLimit(runtime.buckets.seen, runtime.clock, runtime.settings.triggers.max_runs_per_ticket_per_hour, HOUR)
    if not await limit.allow(layout.rate_key(f"rule-{rule.name}", key)):
        metrics.LOOP_GUARD_REFUSALS.inc()
        await runtime.counts.rule(rule.name, "refused")
        log.info("rule not fired: hourly limit reached", rule=rule.name, ticket_key=key)
        return None
    reply = TicketReply(ticket_key=key, requested_by=requested_by, trigger=trigger)
    job_type = rule.action.job_type
    try:
        record = await runtime.queue.enqueue(
            job_type,
            event.registry.rule_actions[job_type](rule.action, key, runtime.catalogue),
            [key],
            message=f"Started by {trigger}",
            job_id=job_id,
            reply=reply if rule.action.reply == "comment" else None,
        )
    except TicketBusyError as busy:
        if command:
            raise
        log.info("rule not fired: ticket busy", rule=rule.name, ticket_key=key, active_job_id=busy.lock.job_id)
        return None
    metrics.rule_firing(rule.name).inc()
    await runtime.counts.rule(rule.name, "fired")
    log.info("rule fired", rule=rule.name, ticket_key=key, job_id=record.job_id)
    return record


def _occurrence(parsed: IssueEvent) -> str:
    """The issue event, named the same in every delivery of it (whichever webhook sent it)."""
    change = parsed.changelog.id if isinstance(parsed, IssueUpdatedEvent) and parsed.changelog else None
    return f"{parsed.webhook_event}/{parsed.issue.id}@{parsed.timestamp}/{change}"


def _slow_down(event: EventContext, key: str, author: str | None) -> str:
    limits = event.runtime.settings.commands
    who = f"[~accountid:{author}]" if author else "everyone"
    return (
        f"Slow down a little, please, {who}: Augment runs at most {limits.max_per_ticket_per_minute} commands "
        f"a minute on {key} and {limits.max_per_user_per_minute} a minute per person. Commands sent meanwhile "
        "were not run; send the one you need again in a minute."
    )


def _passes_filters(rule: TriggerRule, issue: JiraIssue) -> bool:
    if rule.projects and issue.project_key not in rule.projects:
        return False
    if rule.issue_types and issue.issue_type not in rule.issue_types:
        return False
    if not set(rule.labels) <= set(issue.labels):
        return False
    return rule.description_empty is None or rule.description_empty == issue.description_is_empty


def _command_rule(event: EventContext, name: str, project: str) -> TriggerRule | None:
    """The rule that adds command `name` in `project`; comment events carry too little of the
    ticket for the other filters, so a comment_command rule filters on projects only."""
    for rule in event.runtime.settings.triggers.rules:
        if rule.on == "comment_command" and rule.command == name and (not rule.projects or project in rule.projects):
            return rule
    return None


async def _caused_by_bot(event: EventContext, actor: str | None) -> bool:
    if actor is not None and actor == await event.runtime.jira.bot_account_id():
        metrics.LOOP_GUARD_REFUSALS.inc()
        event.runtime.counts.own_event()
        log.debug("ignored: caused by the bot's own account")
        return True
    return False


def _listed(value: str | None, allowed: list[str]) -> bool:
    return "*" in allowed or (value is not None and value in allowed)


def _ending(record: JobRecord) -> str:
    if record.status is JobStatus.failed:
        return f"Job {job_ref(record.job_id)} failed: {record.error or 'no reason given'}"
    if record.status is JobStatus.cancelled:
        return f"Job {job_ref(record.job_id)} was cancelled."
    return f"Job {job_ref(record.job_id)} ended: {record.status.value}."


for webhook_event in ("jira:issue_created", "jira:issue_updated"):
    pipeline.on_event(layout.event_subject(webhook_event), on_issue_event)
pipeline.on_event(layout.event_subject("comment_created"), on_comment)
pipeline.on_event(layout.JOB_FINISHED_SUBJECT, on_job_finished)
