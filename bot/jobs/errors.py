"""The errors a job raises, whether the worker retries them, and the HTTP status each answers.

Rules:
- a job handler raises a `JobError` with a readable reason (it becomes the job record's
  `error`) and, where known, the ticket and the provider (`jira`, an LLM provider) it concerns;
- `TransientJobError`: another attempt may succeed (a 429, a 5xx or a timeout that outlived
  the client's own retries, a Jira hiccup). The worker retries it after
  `limits.retry_backoff_seconds`, up to `limits.max_attempts`, like any exception that is not
  a `JobError` (an unforeseen failure gets the benefit of the doubt);
- `PermanentJobError`: another attempt cannot help (an unknown ticket, a JQL Jira rejects, LLM
  output still invalid after its re-asks, a refused request, a configuration error such as a
  broken prompt template or a missing API key). The worker fails the job at once;
- `HTTP_STATUS` is the one table of what a synchronous call answers for a failed job;
  subclasses exist only where that status differs;
- `jira_failure` and `llm_failure` say which Jira and LLM errors are transient.
"""

from __future__ import annotations

from bot.jira.client import JiraError, JiraNotFoundError, JiraQueryError
from bot.llm.types import LlmConfigError, LlmError

JIRA = "jira"


class JobError(Exception):
    def __init__(self, reason: str, *, ticket_key: str | None = None, provider: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.ticket_key = ticket_key
        self.provider = provider

    def concerns(self) -> dict[str, str]:
        """The ticket and provider it concerns, for the logs."""
        found = {"ticket_key": self.ticket_key, "provider": self.provider}
        return {name: value for name, value in found.items() if value is not None}


class TransientJobError(JobError):
    """Worth another attempt."""


class PermanentJobError(JobError):
    """Fails the job now; the default is an upstream service (Jira, an LLM) that refused or failed."""


class NotFoundJobError(PermanentJobError):
    """What the job is about does not exist: a ticket, a job."""


class InvalidInputJobError(PermanentJobError):
    """The request cannot work as given: a JQL query Jira rejects."""


class ConfigurationJobError(PermanentJobError):
    """Augment's own setup is wrong: a broken prompt template, a missing API key."""


# The status a synchronous call answers for a job that failed with each kind of error; the
# nearest kind in an error's class hierarchy wins.
HTTP_STATUS: dict[type[BaseException], int] = {
    NotFoundJobError: 404,
    InvalidInputJobError: 422,
    ConfigurationJobError: 500,
    PermanentJobError: 502,
    TransientJobError: 502,  # after `limits.max_attempts` attempts
    Exception: 502,  # anything else, retried like a transient error
}


def http_status(kind: type[BaseException]) -> int:
    return next(HTTP_STATUS[cls] for cls in kind.__mro__ if cls in HTTP_STATUS)


def jira_failure(err: JiraError, *, ticket_key: str | None = None) -> JobError:
    """A Jira error as a job error: a hiccup that outlived the client's retries is transient."""
    reason = str(err)
    if isinstance(err, JiraNotFoundError):
        return NotFoundJobError(reason, ticket_key=ticket_key, provider=JIRA)
    if isinstance(err, JiraQueryError):
        return InvalidInputJobError(f"Jira rejected the JQL: {reason}", ticket_key=ticket_key, provider=JIRA)
    kind = TransientJobError if err.transient else PermanentJobError
    return kind(reason, ticket_key=ticket_key, provider=JIRA)


def llm_failure(err: LlmError, *, ticket_key: str | None = None) -> JobError:
    """An LLM error as a job error, its reason starting `LLM <provider> (<model>): `."""
    kind: type[JobError]
    if isinstance(err, LlmConfigError):
        kind = ConfigurationJobError
    elif err.retryable:
        kind = TransientJobError
    else:
        kind = PermanentJobError  # a refused request (401, 403, 400), output invalid after re-asks
    return kind(f"LLM {err}", ticket_key=ticket_key, provider=err.provider)
