"""What a ticket key and a job id may be: the one definition every request, path and command uses.

Both become NATS subjects and KV keys, so both are bounded here, at the edge:

- a **ticket key** is a Jira project key (a letter, then letters, digits or `_`; 1–32
  characters: Jira Cloud allows 10) + `-` + an issue number (1–18 digits). Lower case is
  accepted (`demo-3`); the services upper-case it.
- a **job id** is what Augment makes: a UUID (`uuid4`, or `uuid5` from a webhook's origin),
  36 characters. Upper-case hex is accepted and lower-cased, as Augment writes them.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

TICKET_KEY_PATTERN = r"^[A-Za-z][A-Za-z0-9_]{0,31}-[0-9]{1,18}$"
TICKET_KEY_MAX_LENGTH = 32 + 1 + 18
JOB_ID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"

TicketKey = Annotated[
    str,
    StringConstraints(max_length=TICKET_KEY_MAX_LENGTH, pattern=TICKET_KEY_PATTERN),
    Field(description="A Jira issue key: project key + `-` + number.", examples=["DEMO-3"]),
]
JobId = Annotated[
    str,
    StringConstraints(max_length=36, pattern=JOB_ID_PATTERN),
    # Augment writes ids in lower case: one pasted in upper case still finds its job.
    AfterValidator(str.lower),
    Field(description="A job id, as Augment made it (a UUID).", examples=["3f2c1a9e-5b7d-4c1e-9f0a-2b3c4d5e6f70"]),
]

_JOB_ID = re.compile(JOB_ID_PATTERN)


def is_job_id(text: str) -> bool:
    """Whether `text` has the shape of a job id (for input that does not come through a model)."""
    return len(text) == 36 and _JOB_ID.match(text) is not None


class JobPath(BaseModel):
    """`/jobs/{job_id}`."""

    job_id: JobId


class TicketPath(BaseModel):
    """`/jobs/ticket/{ticket_key}`."""

    ticket_key: TicketKey


class JobTicketPath(BaseModel):
    """`/jobs/{job_id}/tickets/{ticket_key}`."""

    job_id: JobId
    ticket_key: TicketKey
