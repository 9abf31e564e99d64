"""Announcing that a job started from Jira has ended, so its answer is posted on the ticket.

Called wherever a job reaches its final status (the worker, and cancelling a queued job)
and again when a redelivered message finds its job already final: the message id makes
repeats within the stream's duplicate window free, and the reply itself checks that it
was not posted before.
"""

from __future__ import annotations

import json

from nats.js import JetStreamContext

from bot.jetstream import layout
from schemas.jobs import JobRecord


async def announce_end(js: JetStreamContext, record: JobRecord) -> None:
    if record.reply is None or not record.status.is_final:
        return
    await js.publish(
        layout.JOB_FINISHED_SUBJECT,
        json.dumps({"job_id": record.job_id}).encode(),
        headers={layout.MESSAGE_ID_HEADER: layout.job_finished_message_id(record.job_id)},
        stream=layout.EVENTS_STREAM,
    )
