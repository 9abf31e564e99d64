"""Jira Cloud webhook events Augment accepts, and `parse_event` to read a delivery body.

The models are tolerant: unknown fields are ignored everywhere (Jira adds fields without
notice, and a body we reject is an event we never see again), and only what Augment acts
on is required. Attributes are snake_case; the payload's own names (`webhookEvent`,
`fromString`, `self`...) are their aliases, and error locations use those aliases so a
422 names the field exactly as it appears in the body.
"""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import chain
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)
from pydantic_core import PydanticCustomError
from typing_extensions import TypedDict

from schemas.generation import TICKET_KEY_PATTERN

Body = str | dict[str, Any]
"""A description or comment body: a wiki-markup string (REST v2 shape) or an ADF document."""


def _none_to(default: Any) -> BeforeValidator:
    # Jira sends `null` for empty lists and bodies as often as it leaves them out.
    return BeforeValidator(lambda value: default() if value is None else value)


class JiraModel(BaseModel):
    """Base of every webhook shape: extras ignored, ids that arrive as numbers kept as strings."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, coerce_numbers_to_str=True)


class JiraUser(JiraModel):
    """A user as webhooks show it: Jira Cloud never includes the e-mail address."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    account_id: str | None = Field(default=None, alias="accountId")
    """The user's Atlassian account id."""
    display_name: str | None = Field(default=None, alias="displayName")
    """The user's name."""


# --- issues ---------------------------------------------------------------------------


class JiraIssue(JiraModel):
    """An issue in the REST v2 get-issue shape (trimmed to a few fields on comment events).

    `fields` stays a plain dict because its keys depend on the site (custom fields); the
    properties read the few standard fields Augment's rules use, and never raise.
    """

    model_config = ConfigDict(use_attribute_docstrings=True)

    id: str
    """Jira's identifier of the issue."""
    key: str = Field(pattern=TICKET_KEY_PATTERN)
    """The issue key, such as DEMO-3."""
    self_url: str | None = Field(default=None, alias="self")
    """Jira's REST address of the object."""
    fields: Annotated[dict[str, Any], _none_to(dict)] = Field(default_factory=dict)
    """The issue's fields, as Jira sends them."""

    def _nested(self, field: str, attribute: str) -> str | None:
        value = self.fields.get(field)
        found = value.get(attribute) if isinstance(value, dict) else None
        return found if isinstance(found, str) else None

    @property
    def project_key(self) -> str | None:
        return self._nested("project", "key")

    @property
    def issue_type(self) -> str | None:
        """The issue type's name, e.g. "Story"."""
        return self._nested("issuetype", "name")

    @property
    def summary(self) -> str | None:
        value = self.fields.get("summary")
        return value if isinstance(value, str) else None

    @property
    def labels(self) -> list[str]:
        value = self.fields.get("labels")
        return [label for label in value if isinstance(label, str)] if isinstance(value, list) else []

    @property
    def description(self) -> Body | None:
        value = self.fields.get("description")
        return value if isinstance(value, str | dict) else None

    @property
    def description_is_empty(self) -> bool:
        """True for a null, blank or content-free description: the ones Augment may write.

        An ADF document counts as empty only when it holds no non-blank text and no
        content node (mention, emoji, card, media...): a description that is only a
        screenshot is still somebody's description and must not be overwritten.
        """
        return body_is_empty(self.description)


_ADF_CONTENT_NODES = frozenset(
    {
        "mention",
        "emoji",
        "date",
        "status",
        "inlineCard",
        "blockCard",
        "embedCard",
        "media",
        "mediaInline",
        "mediaSingle",
        "mediaGroup",
        "extension",
        "bodiedExtension",
        "inlineExtension",
    }
)


def body_is_empty(body: Body | None) -> bool:
    """Whether a wiki string or an ADF document carries nothing a reader would see."""
    if body is None:
        return True
    if isinstance(body, str):
        return not body.strip()
    return not _adf_has_content(body)


def _adf_has_content(node: Any) -> bool:
    if isinstance(node, list):
        return any(_adf_has_content(child) for child in node)
    if not isinstance(node, dict):
        return False
    node_type = node.get("type")
    if node_type == "text":
        text = node.get("text")
        return isinstance(text, str) and bool(text.strip())
    if node_type in _ADF_CONTENT_NODES:
        return True
    return _adf_has_content(node.get("content"))


# --- changelog ------------------------------------------------------------------------


class ChangelogItem(JiraModel):
    """One changed field. For labels `from`/`to` are null and the *String values are space-separated lists."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    field: str | None = None
    """The field's name."""
    fieldtype: str | None = None
    """jira for a system field, custom for a custom field."""
    field_id: str | None = Field(default=None, alias="fieldId")
    """The field's identifier."""
    from_value: str | None = Field(default=None, alias="from")
    """The old value's identifier."""
    from_string: str | None = Field(default=None, alias="fromString")
    """The old value as text."""
    to_value: str | None = Field(default=None, alias="to")
    """The new value's identifier."""
    to_string: str | None = Field(default=None, alias="toString")
    """The new value as text."""

    @property
    def is_labels(self) -> bool:
        # The system Labels field; a custom field that happens to be named "labels" has its own fieldId.
        return self.field == "labels" and self.field_id in (None, "labels")


class Changelog(JiraModel):
    model_config = ConfigDict(use_attribute_docstrings=True)

    id: str | None = None
    """Jira's identifier of the change."""
    items: Annotated[list[ChangelogItem], _none_to(list)] = Field(default_factory=list)
    """The fields that changed."""

    def labels_added(self) -> list[str]:
        """Labels in `toString` but not in `fromString`, in order, without duplicates."""
        return self._label_diff(added=True)

    def labels_removed(self) -> list[str]:
        """Labels in `fromString` but not in `toString`, in order, without duplicates."""
        return self._label_diff(added=False)

    def changed_fields(self) -> set[str]:
        """Field names as the changelog gives them (`summary`, `labels`, a custom field's name)."""
        return {item.field for item in self.items if item.field}

    def changed_field_ids(self) -> set[str]:
        """Field ids (`summary`, `customfield_10053`): what the configuration names custom fields by."""
        return {item.field_id for item in self.items if item.field_id}

    def _label_diff(self, *, added: bool) -> list[str]:
        result: list[str] = []
        for item in self.items:
            if not item.is_labels:
                continue
            before, after = _split_labels(item.from_string), _split_labels(item.to_string)
            source, other = (after, before) if added else (before, after)
            result.extend(label for label in dict.fromkeys(source) if label not in other and label not in result)
        return result


def _split_labels(value: str | None) -> list[str]:
    return value.split() if value else []


# --- comments, links, sprints ---------------------------------------------------------


class JiraComment(JiraModel):
    model_config = ConfigDict(use_attribute_docstrings=True)

    id: str
    """Jira's identifier of the comment."""
    self_url: str | None = Field(default=None, alias="self")
    """Jira's REST address of the object."""
    author: JiraUser | None = None
    """Who wrote the comment."""
    body: Annotated[Body, _none_to(str)] = ""
    """The comment's text (wiki markup) or document (ADF)."""
    created: datetime | None = None
    """When it was written."""
    updated: datetime | None = None
    """When it was last edited."""
    update_author: JiraUser | None = Field(default=None, alias="updateAuthor")
    """Who edited it last."""

    @property
    def body_is_empty(self) -> bool:
        return body_is_empty(self.body)


class IssueLinkType(JiraModel):
    model_config = ConfigDict(use_attribute_docstrings=True)

    id: str | None = None
    """Jira's identifier of the link type."""
    name: str | None = None
    """The link type's name, such as Blocks."""
    outward_name: str | None = Field(default=None, alias="outwardName")
    """How the source names the link (blocks)."""
    inward_name: str | None = Field(default=None, alias="inwardName")
    """How the target names the link (is blocked by)."""


class IssueLink(JiraModel):
    """Issue ids are kept as strings (Jira sends numbers here) so they compare with `JiraIssue.id`."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    id: str
    """Jira's identifier of the link."""
    source_issue_id: str = Field(alias="sourceIssueId")
    """The linking issue's identifier."""
    destination_issue_id: str = Field(alias="destinationIssueId")
    """The linked issue's identifier."""
    issue_link_type: IssueLinkType | None = Field(default=None, alias="issueLinkType")
    """What kind of link it is."""


class Sprint(JiraModel):
    """Agile `SprintBean`; `id` stays an int as the agile API and JQL (`sprint = 5`) use it."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    id: int
    """Jira's sprint identifier."""
    state: str
    """The sprint's state: future, active or closed."""
    name: str
    """The sprint's name."""
    start_date: datetime | None = Field(default=None, alias="startDate")
    """When the sprint starts."""
    end_date: datetime | None = Field(default=None, alias="endDate")
    """When the sprint ends."""
    complete_date: datetime | None = Field(default=None, alias="completeDate")
    """When the sprint was closed."""
    origin_board_id: int | None = Field(default=None, alias="originBoardId")
    """The board the sprint belongs to."""
    goal: str | None = None
    """The sprint goal."""


# --- events -----------------------------------------------------------------------------


# 9999-12-31T23:59:59.999Z: anything later cannot be a datetime.
_LAST_MILLISECOND = 253_402_300_799_999


class WebhookEvent(JiraModel):
    """What every event carries. `user` is absent from comment, link and sprint events."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    webhook_event: str = Field(alias="webhookEvent")
    timestamp: int = Field(
        ge=0, le=_LAST_MILLISECOND, description="When Jira recorded the event, in epoch milliseconds."
    )
    user: JiraUser | None = None
    """Who caused the event in Jira."""
    issue_event_type_name: str | None = None
    """Jira's finer event type (issue_commented, issue_generic, ...), when it sends one."""

    @property
    def occurred_at(self) -> datetime:
        # Deliveries are unordered and retried: compare events by this, not by arrival.
        return datetime.fromtimestamp(self.timestamp / 1000, UTC)

    @property
    def actor_account_id(self) -> str | None:
        """Who caused the event (so Augment can ignore its own changes); None if the body does not say."""
        return self.user.account_id if self.user else None

    @property
    def ticket_key(self) -> str | None:
        return None


class IssueEvent(WebhookEvent):
    model_config = ConfigDict(use_attribute_docstrings=True)

    webhook_event: Literal["jira:issue_created", "jira:issue_updated"] = Field(alias="webhookEvent")
    issue: JiraIssue
    """The issue as Jira sends it."""

    @property
    def ticket_key(self) -> str | None:
        return self.issue.key


class IssueCreatedEvent(IssueEvent):
    model_config = ConfigDict(use_attribute_docstrings=True)

    webhook_event: Literal["jira:issue_created"] = Field(alias="webhookEvent")
    """jira:issue_created."""


class IssueUpdatedEvent(IssueEvent):
    """`changelog` is absent when nothing but a comment changed (`issue_event_type_name`
    `issue_commented` / `issue_comment_edited`); those carry the `comment` instead."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    webhook_event: Literal["jira:issue_updated"] = Field(alias="webhookEvent")
    """jira:issue_updated."""
    changelog: Changelog | None = None
    """The fields the update changed."""
    comment: JiraComment | None = None
    """The comment added with the update, if any."""

    def labels_added(self) -> list[str]:
        return self.changelog.labels_added() if self.changelog else []

    def labels_removed(self) -> list[str]:
        return self.changelog.labels_removed() if self.changelog else []

    def changed_fields(self) -> set[str]:
        return self.changelog.changed_fields() if self.changelog else set()

    def changed_field_ids(self) -> set[str]:
        return self.changelog.changed_field_ids() if self.changelog else set()


class CommentEvent(WebhookEvent):
    """`comment_created` / `comment_updated`; `issue` is trimmed to a few fields (no labels, no description)."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    webhook_event: Literal["comment_created", "comment_updated"] = Field(alias="webhookEvent")
    """comment_created or comment_updated."""
    comment: JiraComment
    """The comment as Jira sends it."""
    issue: JiraIssue
    """The issue as Jira sends it."""

    @property
    def actor_account_id(self) -> str | None:
        """The comment's author; for an edit, whoever edited it (`updateAuthor`). Falls back to `user`."""
        people = [self.comment.author, self.comment.update_author]
        if self.webhook_event == "comment_updated":
            people.reverse()
        for person in [*people, self.user]:
            if person is not None and person.account_id:
                return person.account_id
        return None

    @property
    def ticket_key(self) -> str | None:
        return self.issue.key


class IssueLinkCreatedEvent(WebhookEvent):
    model_config = ConfigDict(use_attribute_docstrings=True)

    webhook_event: Literal["issuelink_created"] = Field(alias="webhookEvent")
    """issuelink_created."""
    issue_link: IssueLink = Field(alias="issueLink")
    """The link created."""


class SprintEvent(WebhookEvent):
    """Sprint lifecycle events; `sprint_updated` also carries the sprint as it was (`oldValue`)."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    webhook_event: Literal["sprint_created", "sprint_updated", "sprint_started", "sprint_closed", "sprint_deleted"] = (
        Field(alias="webhookEvent")
    )
    """sprint_created, sprint_updated, sprint_started or sprint_closed."""
    sprint: Sprint
    """The sprint as it is now."""
    old_value: Sprint | None = Field(default=None, alias="oldValue")
    """The sprint before the change (sprint_updated)."""


_EVENT_MODELS: tuple[type[WebhookEvent], ...] = (
    IssueCreatedEvent,
    IssueUpdatedEvent,
    CommentEvent,
    IssueLinkCreatedEvent,
    SprintEvent,
)

SUPPORTED_EVENTS: frozenset[str] = frozenset(
    chain.from_iterable(get_args(model.model_fields["webhook_event"].annotation) for model in _EVENT_MODELS)
)
"""The `webhookEvent` values `parse_event` accepts; anything else is a validation error."""


def _supported(name: str) -> str:
    if name not in SUPPORTED_EVENTS:
        raise PydanticCustomError(
            "unsupported_event",
            "Unsupported webhookEvent '{event}'; expected one of: {expected}",
            {"event": name, "expected": ", ".join(sorted(SUPPORTED_EVENTS))},
        )
    return name


class _Envelope(TypedDict):
    webhookEvent: Annotated[str, AfterValidator(_supported)]


_ENVELOPE = TypeAdapter(_Envelope)


def _check_envelope(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    # A plain discriminated union reports a missing or unknown tag at loc (); validating the
    # envelope first puts those errors at ("webhookEvent",). Pydantic keeps the locations of
    # a ValidationError raised inside a validator.
    if not isinstance(value, WebhookEvent):
        _ENVELOPE.validate_python(value)
    return handler(value)


JiraEvent = Annotated[
    IssueCreatedEvent | IssueUpdatedEvent | CommentEvent | IssueLinkCreatedEvent | SprintEvent,
    Field(discriminator="webhook_event"),
    WrapValidator(_check_envelope),
]
"""Any supported event, chosen by `webhookEvent`."""

# The title names the union in error messages instead of "function-wrap[_check_envelope()]".
_JIRA_EVENT: TypeAdapter[JiraEvent] = TypeAdapter(JiraEvent, config=ConfigDict(title="JiraEvent"))


def parse_event(payload: Any) -> JiraEvent:
    """Validate a decoded webhook body into its event model.

    Raises `pydantic.ValidationError`. Error locations use the payload's names:

    - body not a JSON object: `()` (type `dict_type`);
    - `webhookEvent` missing: `("webhookEvent",)` (`missing`); not a string: `("webhookEvent",)`
      (`string_type`); not in `SUPPORTED_EVENTS`: `("webhookEvent",)` (`unsupported_event`);
    - anything inside an event starts with the `webhookEvent` value (the union's tag), e.g.
      `("jira:issue_created", "issue")` or `("comment_created", "issue", "key")`.
    """
    return _JIRA_EVENT.validate_python(payload)
