"""Every stream, subject, consumer and bucket name Augment uses, and their configs.

Search for a function here (`job_subject`, `event_subject`, ...) to find both the
place that publishes on a subject and the place that consumes it.

Values from outside (job ids, ticket keys, job types, event names) become subject tokens and
key parts only through `_token`, which refuses (`ValueError`) anything but 1–64 letters,
digits, `_` and `-`: NATS forbids `.`, `*`, `>` and whitespace inside a token, and a subject
longer than the server's control line (4 KiB) makes it close the connection. The edges
validate first (`schemas/keys.py`); this is the last line, so no path can send such a subject.
"""

from __future__ import annotations

import re

from nats.js import api

from bot.config import Settings

EVENTS_STREAM = "AUGMENT_EVENTS"
JOBS_STREAM = "AUGMENT_JOBS"
DEAD_LETTER_STREAM = "AUGMENT_DEAD"

JOBS_BUCKET = "augment_jobs"
ACTIVE_BUCKET = "augment_active"
SEEN_BUCKET = "augment_seen"
TEAMS_BUCKET = "augment_teams"
RESULTS_BUCKET = "augment_results"
COUNTS_BUCKET = "augment_counts"

DAY = 86_400.0
HOUR = 3_600.0
EVENTS_MAX_AGE_SECONDS = 7 * DAY
DEAD_LETTER_MAX_AGE_SECONDS = 30 * DAY

# Longer than Jira's 5-15 minutes between retries, so the stream itself answers whether an
# intake retry's event is already in it (`bot.webhooks.intake`).
EVENTS_DUPLICATE_WINDOW_SECONDS = 20 * 60.0

# Headers: JetStream drops a second message with the same id within the stream's duplicate window.
MESSAGE_ID_HEADER = "Nats-Msg-Id"
# Carries Jira's webhook identifier (or the body's hash) on an event, stable across its redeliveries.
WEBHOOK_IDENTIFIER_HEADER = "Augment-Webhook-Identifier"

_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _token(value: str) -> str:
    if _TOKEN.fullmatch(value) is None:
        shown = value if len(value) <= 40 else value[:40] + "…"
        raise ValueError(f"not usable in a NATS subject or key: {shown!r}")
    return value


def event_subject(webhook_event: str) -> str:
    """`jira:issue_created` → `augment.events.jira.issue_created`."""
    name = webhook_event.removeprefix("jira:").replace(".", "_").replace(":", "_")
    return f"augment.events.jira.{_token(name)}"


JIRA_EVENTS = "augment.events.jira.>"
# Published when a job that should answer on its ticket (`JobRecord.reply`) has ended.
JOB_FINISHED_SUBJECT = "augment.events.jobs.finished"


def job_finished_message_id(job_id: str) -> str:
    return f"finished-{job_id}"


DELIVERY_KEY_PREFIX = "delivery."


def delivery_key(identifier: str) -> str:
    """A webhook delivery, by Jira's identifier (`sha256-<hex>` of its body without a usable one): its
    entry in the seen bucket and its event's `Nats-Msg-Id`. The intake admits only `[-_=a-zA-Z0-9]`,
    safe in both."""
    return f"{DELIVERY_KEY_PREFIX}{identifier}"


def delivery_key_of(message_id: str | None) -> str | None:
    """The delivery key an event's `Nats-Msg-Id` is, None for any other id (a job's) or none."""
    return message_id if message_id is not None and message_id.startswith(DELIVERY_KEY_PREFIX) else None


def body_key(body_sha256: str) -> str:
    """A webhook body, by its SHA-256 hex digest, in the seen bucket: which copy of it the event consumers handle."""
    return f"body.{body_sha256}"


def occurrence_key(occurrence_sha256: str) -> str:
    """Something Jira did (a comment's command, an event's rule) in the seen bucket: which delivery acts on it."""
    return f"once.{occurrence_sha256}"


def rate_key(scope: str, name: str) -> str:
    """The recent counts of one rate limit (`scope`: `rule-<name>`, `ticket`, `user`, `slow-down`) for
    `name` (a ticket key, or a user's hashed accountId) in the seen bucket."""
    return f"rate.{scope}.{name}"


def job_subject(job_type: str, job_id: str) -> str:
    # One subject per job lets the stream answer "is this job still queued?".
    return f"augment.jobs.{_token(job_type)}.{_token(job_id)}"


def job_subject_filter(job_type: str) -> str:
    return f"augment.jobs.{job_type}.*"


def job_id_from_subject(subject: str) -> str:
    return subject.rsplit(".", 1)[-1]


def dead_letter_subject(job_type: str, job_id: str) -> str:
    return f"augment.dead.{_token(job_type)}.{_token(job_id)}"


def dead_letter_message_id(job_id: str) -> str:
    return f"dead-{job_id}"


def requeue_message_id(job_id: str, revision: int) -> str:
    """A lost job queued again by the sweeper, at the record revision that marked it requeued."""
    return f"requeue-{job_id}-{revision}"


def ticket_result_key(job_id: str, ticket_key: str) -> str:
    """Key of one ticket's work in a multi-ticket job, in the results bucket."""
    return f"{_token(job_id)}.{_token(ticket_key)}"


def batch_search_key(job_id: str) -> str:
    """Key of what a batch's search saw (each ticket's `updated`), in the results bucket."""
    return f"{_token(job_id)}.search"


def ticket_outcome_key(job_id: str, ticket_key: str) -> str:
    """Key of one ticket's outcome line in a multi-ticket job, in the results bucket."""
    return f"{_token(job_id)}.outcome.{_token(ticket_key)}"


def rule_count_key(rule: str, outcome: str) -> str:
    """How often trigger rule `rule` had `outcome` (`fired`, `refused`), in the counts bucket."""
    return f"rule.{_token(rule)}.{_token(outcome)}"


# Events the bot's own account caused, which the loop guard ignored, in the counts bucket.
OWN_EVENTS_COUNT_KEY = "guard.own_events"


TEAM_KEY_PREFIX = "team."


# The teams bucket's stream and the subjects of its team keys (KV keys are subjects below `$KV.<bucket>.`).
TEAMS_STREAM = f"KV_{TEAMS_BUCKET}"
TEAM_SUBJECTS = f"$KV.{TEAMS_BUCKET}.{TEAM_KEY_PREFIX}>"


def team_id_from_subject(subject: str) -> str | None:
    """The team id of a subject of the teams bucket's stream, None for anything else."""
    return team_id_from_key(subject.removeprefix(f"$KV.{TEAMS_BUCKET}."))


def team_key(team_id: str) -> str:
    """Key of one team in the teams bucket."""
    return f"{TEAM_KEY_PREFIX}{_token(team_id)}"


def team_id_from_key(key: str) -> str | None:
    """The team id of a key of the teams bucket, None for a key that is not a team's."""
    return key.removeprefix(TEAM_KEY_PREFIX) if key.startswith(TEAM_KEY_PREFIX) else None


def consumer_name(pipeline: str) -> str:
    return f"augment-{pipeline}"


def event_consumer_name(pipeline: str) -> str:
    return f"augment-{pipeline}-events"


def max_deliveries_advisory(consumer: str) -> str:
    return f"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{JOBS_STREAM}.{consumer}"


def streams(settings: Settings) -> list[api.StreamConfig]:
    replicas = settings.nats.replicas
    return [
        api.StreamConfig(
            name=EVENTS_STREAM,
            description="Jira webhook events as Jira sent them; replayable.",
            subjects=["augment.events.>"],
            retention=api.RetentionPolicy.LIMITS,
            max_age=EVENTS_MAX_AGE_SECONDS,
            storage=api.StorageType.FILE,
            num_replicas=replicas,
            duplicate_window=EVENTS_DUPLICATE_WINDOW_SECONDS,
        ),
        api.StreamConfig(
            name=JOBS_STREAM,
            description="Job commands, one subject per job; each message is removed once a worker acks it.",
            subjects=["augment.jobs.>"],
            retention=api.RetentionPolicy.WORK_QUEUE,
            storage=api.StorageType.FILE,
            num_replicas=replicas,
            duplicate_window=120.0,
        ),
        api.StreamConfig(
            name=DEAD_LETTER_STREAM,
            description="Jobs that failed after their last attempt, kept for inspection.",
            subjects=["augment.dead.>"],
            retention=api.RetentionPolicy.LIMITS,
            max_age=DEAD_LETTER_MAX_AGE_SECONDS,
            storage=api.StorageType.FILE,
            num_replicas=replicas,
            duplicate_window=120.0,
        ),
    ]


def buckets(settings: Settings) -> list[api.KeyValueConfig]:
    replicas = settings.nats.replicas
    return [
        api.KeyValueConfig(
            bucket=JOBS_BUCKET,
            description="Job id → job record.",
            ttl=settings.limits.job_retention_days * DAY,
            replicas=replicas,
            storage=api.StorageType.FILE,
            direct=True,
        ),
        api.KeyValueConfig(
            bucket=ACTIVE_BUCKET,
            description="Ticket key → the job working on it (create-if-absent); per-key TTL is a safety net.",
            replicas=replicas,
            storage=api.StorageType.FILE,
            direct=True,
        ),
        api.KeyValueConfig(
            bucket=SEEN_BUCKET,
            description="Webhook deliveries and bodies → the stream sequence consumers took; claims; rate counts.",
            ttl=settings.webhooks.dedupe_hours * HOUR,
            replicas=replicas,
            storage=api.StorageType.FILE,
            direct=True,
        ),
        api.KeyValueConfig(
            bucket=RESULTS_BUCKET,
            description="Job id + ticket key → that ticket's work in a multi-ticket job (draft, plan, applied).",
            ttl=settings.limits.job_retention_days * DAY,
            replicas=replicas,
            storage=api.StorageType.FILE,
            direct=True,
        ),
        api.KeyValueConfig(
            bucket=TEAMS_BUCKET,
            description="Teams, members and sprint capacity.",
            replicas=replicas,
            storage=api.StorageType.FILE,
            direct=True,
        ),
        api.KeyValueConfig(
            bucket=COUNTS_BUCKET,
            description="Trigger rule firings and loop-guard refusals, counted across processes and restarts.",
            replicas=replicas,
            storage=api.StorageType.FILE,
            direct=True,
        ),
    ]
