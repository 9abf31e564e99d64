"""Settings: `config.yaml`, overridden by `.env`, overridden by the environment.

Every section maps to environment variables as `SECTION_KEY` (`AUTH_ENABLED`,
`NATS_URL`, `OPENAI_API_KEY`, `LIMITS_SYNC_TIMEOUT_SECONDS`, ...). A bad or missing
value stops the service with one line naming the key; see `load_settings`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Sequence
from contextvars import ContextVar
from pathlib import Path
from secrets import token_urlsafe
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, PrivateAttr, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from schemas.jobs import JobType

CONFIG_ENV = "AUGMENT_CONFIG"
_ENV_FIELD = re.compile(r'field "([a-z_]+)"')
DEFAULT_CONFIG_FILE = "config.yaml"

# The parsed config.yaml, handed to `Settings.settings_customise_sources`, whose
# signature pydantic-settings fixes; set only inside `load_settings`.
_file_values: ContextVar[dict[str, Any] | None] = ContextVar("augment_config_file_values", default=None)


class ConfigError(Exception):
    """A configuration problem, phrased as one line that names the key."""


class Section(BaseModel):
    # Unknown keys in config.yaml are caught by `_reject_unknown_keys`; unknown
    # environment variables (SERVER_NAME, LOG_DIR, ...) belong to other programs.
    model_config = {"extra": "ignore"}


class ServerSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    event_loop: Literal["uvloop", "asyncio"] = Field(
        default="uvloop",
        description="The event loop of augment serve, api and worker: uvloop where it is installed "
        "(not on Windows; asyncio's own loop there), or asyncio's.",
    )
    processes: int = Field(
        default=1,
        ge=1,
        le=64,
        description="`augment api` only (flag --processes): processes that all listen on server.host:port "
        "(SO_REUSEPORT; the kernel spreads the connections), each a full API. Above 1 needs nats.url and a "
        "fixed server.port; each process answers /metrics with its own counters. `augment serve` refuses a "
        "value above 1; `augment worker` ignores it (it does not listen on server.port).",
    )


class LogSettings(Section):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["auto", "json", "console"] = "auto"

    @field_validator("level", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value


class JiraFieldNames(Section):
    """The names of the custom fields Augment reads and writes, as Jira shows them
    (matched without regard to case); `bot.jira.fields` finds their ids at start."""

    prd: str = "PRD Link"
    rfc: str = "RFC Link"
    test_cases: str = "Test Cases"
    mandays: str = "Mandays"
    sprint: str = "Sprint"
    story_points: str = "Story Points"


class JiraSettings(Section):
    url: str = ""
    email: str = ""
    token: SecretStr = SecretStr("")
    deployment: Literal["cloud", "server"] = "cloud"
    fields: JiraFieldNames = JiraFieldNames()
    # Explicit ids win over `fields`; empty: found by name at start (`bot.jira.fields`).
    prd_custom_field: str = ""
    rfc_custom_field: str = ""
    test_cases_custom_field: str = ""
    mandays_custom_field: str = ""
    sprint_custom_field: str = ""
    story_points_custom_field: str = ""
    timeout_seconds: float = Field(default=30, gt=0)
    max_retries: int = Field(
        default=4, ge=0, le=10, description="Retries on 429 (after Retry-After), 5xx and no answer."
    )
    notify_users: bool = Field(
        default=True,
        description="False: field writes send notifyUsers=false (Jira honours it for admins only).",
    )
    search_settle_seconds: float = Field(
        default=10,
        ge=0,
        le=300,
        description="How long Jira's search may lag a write, plus the time a create takes to answer: a "
        "resumed job that may have created an issue searches for it no sooner than this after it was sent.",
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _credentials_with_url(self) -> JiraSettings:
        if self.url and not self.email:
            raise ValueError("jira.email is required when jira.url is set")
        if self.url and not self.token.get_secret_value():
            raise ValueError("jira.token is required when jira.url is set")
        return self


class ConfluenceSettings(Section):
    url: str = Field(
        default="",
        description=(
            "Defaults to jira.url + /wiki, or for a scoped token's jira.url "
            "(https://api.atlassian.com/ex/jira/<cloudId>) to .../ex/confluence/<cloudId>."
        ),
    )
    site_url: str = Field(
        default="",
        description=(
            "The site people browse (https://acme.atlassian.net): page links on it are read through url. "
            "Empty: url's own site, or any *.atlassian.net site when url is an api.atlassian.com gateway."
        ),
    )
    email: str = ""
    token: SecretStr = SecretStr("")


class ModelPrice(BaseModel):
    input: float = Field(ge=0, description="USD per million input tokens.")
    output: float = Field(ge=0, description="USD per million output tokens.")


# Current, priced models of each provider (none deprecated; tests/test_models.py checks
# against the installed SDKs' tables). Prices: the providers' list prices in 2026-11.
DEFAULT_MODELS = {
    "openai": "gpt-5.4-mini",
    "claude": "claude-sonnet-5",
    "gemini": "gemini-3.5-flash",
    "kimi": "kimi-k2.6",
}
DEFAULT_PRICES = {
    "gpt-5.4-mini": ModelPrice(input=0.75, output=4.5),
    "gpt-5-mini": ModelPrice(input=0.25, output=2.0),
    "gpt-4o-mini": ModelPrice(input=0.15, output=0.6),
    "claude-sonnet-5": ModelPrice(input=3.0, output=15.0),
    "claude-sonnet-4-5": ModelPrice(input=3.0, output=15.0),
    "claude-haiku-4-5": ModelPrice(input=1.0, output=5.0),
    "gemini-3.5-flash": ModelPrice(input=1.5, output=9.0),
    "gemini-2.5-flash": ModelPrice(input=0.3, output=2.5),
    "kimi-k2.6": ModelPrice(input=0.95, output=4.0),
    "kimi-latest": ModelPrice(input=0.6, output=2.5),
}


class LlmSettings(Section):
    default_provider: str = "openai"
    default_models: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_MODELS),
        description="Provider → its default model; providers left out keep the built-in default.",
    )
    extra_models: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Provider → models to accept beyond the SDKs' lists (env LLM_EXTRA_MODELS, JSON).",
    )
    timeout_seconds: float = Field(default=120, gt=0)
    max_retries: int = Field(default=3, ge=0, le=10)
    concurrency: int = Field(default=16, ge=1, le=1024, description="Calls in flight per provider and process.")
    output_retries: int = Field(default=1, ge=0, le=5, description="Re-asks when structured output does not validate.")
    prices: dict[str, ModelPrice] = Field(
        default_factory=lambda: dict(DEFAULT_PRICES),
        description="USD per million tokens, by model; added to the built-in prices; models not priced cost 0.",
    )

    @field_validator("default_models")
    @classmethod
    def _keep_builtin_defaults(cls, value: dict[str, str]) -> dict[str, str]:
        return {**DEFAULT_MODELS, **value}

    @field_validator("prices")
    @classmethod
    def _keep_builtin_prices(cls, value: dict[str, ModelPrice]) -> dict[str, ModelPrice]:
        return {**DEFAULT_PRICES, **value}


class ProviderSettings(Section):
    api_key: SecretStr = SecretStr("")
    base_url: str = ""


class GenerationSettings(Section):
    context_token_budget: int = Field(
        default=8000, ge=500, le=200_000, description="Tokens of PRD and RFC text given to the LLM per ticket."
    )
    batch_concurrency: int = Field(default=16, ge=1, le=256, description="Tickets of one batch worked on at once.")


class PromptSettings(Section):
    directory: Path | None = Field(default=None, description="Templates here replace the built-in ones.")
    projects: dict[str, Path] = Field(default_factory=dict, description="Project key → a directory of templates.")


class PlanningSettings(Section):
    """Limits the planning jobs put in their prompts and check the LLM's answers against."""

    teams: list[str] = Field(
        default_factory=lambda: ["Backend", "Frontend", "QA", "DevOps", "Fullstack"],
        min_length=1,
        max_length=20,
        description="The teams a task may be given to.",
    )
    max_task_days: float = Field(default=10, gt=0, le=60, description="The largest estimate of one task, in man-days.")
    max_stories: int = Field(default=15, ge=1, le=30, description="Stories proposed for an epic at most.")
    max_tasks_per_story: int = Field(default=12, ge=1, le=30, description="Tasks planned for a story at most.")

    @field_validator("teams")
    @classmethod
    def _team_names(cls, teams: list[str]) -> list[str]:
        names = [team.strip() for team in teams]
        if any(not name or len(name) > 80 for name in names):
            raise ValueError("team names must be 1 to 80 characters")
        if len({name.casefold() for name in names}) != len(names):
            raise ValueError("team names must be unique (case is ignored)")
        return names


class SprintSettings(Section):
    """The sprint planner (`/sprint/plan/epic`, `/sprint/timeline`): estimates and the solver."""

    story_point_days: float = Field(
        default=1.0, gt=0, le=10, description="Man-days per story point, for a task without Mandays."
    )
    default_estimate_days: float = Field(
        default=1.0, gt=0, le=60, description="The estimate of a task with neither Mandays nor story points."
    )
    time_limit_seconds: float = Field(default=10, gt=0, le=300, description="The solver's time limit per plan.")
    name_pattern: str = Field(
        default="Sprint {n}",
        min_length=4,
        max_length=200,
        description="New sprints' names when the board has no sprint named '<text> <number>'.",
    )

    @field_validator("name_pattern")
    @classmethod
    def _numbered(cls, pattern: str) -> str:
        rest = pattern.replace("{n}", "", 1)
        if "{n}" not in pattern or "{" in rest or "}" in rest:
            raise ValueError("name_pattern must hold {n} once and no other braces")
        return pattern


class NatsSettings(Section):
    url: str = Field(default="", description="Empty: start an embedded nats-server. Comma-separated for a cluster.")
    store_dir: Path = Path(".augment/nats")
    replicas: int = Field(default=1, ge=1, le=5)
    startup_timeout_seconds: float = Field(default=30, gt=0)
    # How Augment logs in to the NATS of `url`: user and password, a token, or a .creds file.
    user: str = ""
    password: SecretStr = SecretStr("")
    token: SecretStr = SecretStr("")
    creds_file: Path | None = Field(default=None, description="A NATS .creds file (a user JWT and its seed).")
    # The embedded server's password: made up per process, never configured, never logged.
    _embedded_password: SecretStr = PrivateAttr(default_factory=lambda: SecretStr(token_urlsafe(32)))

    @property
    def servers(self) -> list[str]:
        return [part.strip() for part in self.url.split(",") if part.strip()]

    @property
    def embedded_password(self) -> SecretStr:
        return self._embedded_password

    @field_validator("creds_file")
    @classmethod
    def _creds_file_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"{value} does not exist or is not a file")
        return value

    @model_validator(mode="after")
    def _one_way_to_log_in(self) -> NatsSettings:
        password, token = self.password.get_secret_value(), self.token.get_secret_value()
        if self.user and not password:
            raise ValueError("nats.password is required when nats.user is set")
        if password and not self.user:
            raise ValueError("nats.user is required when nats.password is set")
        ways = {"nats.user": self.user, "nats.token": token, "nats.creds_file": self.creds_file}
        chosen = [key for key, value in ways.items() if value]
        if len(chosen) > 1:
            raise ValueError(
                f"{chosen[-1]} cannot be combined with {chosen[0]}: log in with a user and password, a token "
                "or a creds file"
            )
        return self


class AuthSettings(Section):
    enabled: bool = False
    username: str = "admin"
    password_hash: SecretStr = SecretStr("")

    @model_validator(mode="after")
    def _hash_when_enabled(self) -> AuthSettings:
        if not self.enabled:
            return self
        value = self.password_hash.get_secret_value()
        if not value:
            raise ValueError(
                "auth.password_hash is required when auth.enabled is true (make one with `augment hash-password`)"
            )
        if not value.startswith("$argon2"):
            raise ValueError("auth.password_hash must be an argon2 hash made by `augment hash-password`")
        return self


class WebhookSettings(Section):
    secret: SecretStr = SecretStr("")
    url_token: SecretStr = SecretStr("")
    # Jira retries a delivery up to 5 times, 5-15 minutes apart: about 75 minutes at most.
    dedupe_hours: float = Field(
        default=24,
        ge=2,
        le=720,
        description="How long a delivery (and the body it brought) is remembered, to drop retries and replays.",
    )
    max_age_minutes: float = Field(
        default=120, ge=1, description="A delivery whose payload timestamp is older than this is refused (422)."
    )
    max_future_minutes: float = Field(
        default=5, ge=0, le=60, description="Clock skew allowed: a timestamp further ahead than this is refused."
    )
    check_timestamp: bool = Field(
        default=True,
        description="False: a delivery's timestamp is not checked (for a Jira whose clock cannot be trusted, or "
        "replaying old payloads on purpose); a replayed body is then dropped only within dedupe_hours.",
    )

    @model_validator(mode="after")
    def _window_within_dedupe(self) -> WebhookSettings:
        # Inside the window a replayed body is refused because it is remembered; past it, because it is stale.
        if self.max_age_minutes > self.dedupe_hours * 60:
            limit = self.dedupe_hours * 60
            raise ValueError(f"webhooks.max_age_minutes must be at most webhooks.dedupe_hours in minutes ({limit:g})")
        return self


class TriggerAction(BaseModel):
    model_config = {"extra": "forbid"}

    job_type: JobType = Field(
        description="The job to run on the ticket: a type whose pipeline registered a rule action "
        "(`pipeline.rule_action`; checked when the workers start, `check_rule_actions`)."
    )
    update_jira: bool = Field(default=False, description="Write to Jira; false: preview only.")
    reply: Literal["comment", "none"] = Field(
        default="comment", description="comment: post the preview or result on the ticket."
    )
    llm_provider: str | None = None
    llm_model: str | None = None


class TriggerRule(BaseModel):
    """`on` an event, for tickets that pass every filter, run `action`."""

    model_config = {"extra": "forbid"}

    name: str = Field(pattern=r"^[A-Za-z0-9_-]+$", max_length=64)
    on: Literal["issue_created", "issue_updated", "label_added", "comment_command"]
    projects: list[str] = Field(default_factory=list, description="Project keys; empty: any.")
    issue_types: list[str] = Field(default_factory=list, description="Issue type names; empty: any.")
    labels: list[str] = Field(default_factory=list, description="Labels the ticket must all have.")
    description_empty: bool | None = Field(default=None, description="true/false: only tickets with(out) one.")
    label: str | None = Field(default=None, description="label_added: the label whose addition fires the rule.")
    command: str | None = Field(
        default=None, pattern=r"^[a-z][a-z0-9-]*$", description="comment_command: the command this rule adds."
    )
    action: TriggerAction

    @model_validator(mode="before")
    @classmethod
    def _yaml_on(cls, value: Any) -> Any:
        # YAML 1.1 (PyYAML) reads the key `on` as the boolean true.
        if isinstance(value, dict) and True in value:
            value = {("on" if key is True else key): item for key, item in value.items()}
        return value

    @model_validator(mode="after")
    def _needs_its_key(self) -> TriggerRule:
        if self.on == "label_added" and not self.label:
            raise ValueError(f"rule {self.name}: on label_added needs `label`")
        if self.on == "comment_command" and not self.command:
            raise ValueError(f"rule {self.name}: on comment_command needs `command`")
        return self


def check_rule_actions(rules: Sequence[TriggerRule], registered: Collection[JobType]) -> None:
    """Every rule's job type must have a pipeline that turns the rule's action into a request."""
    for position, rule in enumerate(rules):
        if rule.action.job_type not in registered:
            known = ", ".join(sorted(registered)) or "none"
            raise ConfigError(
                f"triggers.rules.{position}.action.job_type (rule {rule.name}): no pipeline runs "
                f"{rule.action.job_type} from a rule; one of: {known}"
            )


class TriggerSettings(Section):
    rules: list[TriggerRule] = Field(default_factory=list)
    max_runs_per_ticket_per_hour: int = Field(
        default=3, ge=1, le=1000, description="A rule fires at most this often per ticket per hour."
    )

    @field_validator("rules")
    @classmethod
    def _unique_names(cls, rules: list[TriggerRule]) -> list[TriggerRule]:
        names = [rule.name for rule in rules]
        if duplicated := sorted({name for name in names if names.count(name) > 1}):
            raise ValueError(f"rule names must be unique: {', '.join(duplicated)}")
        return rules


class CommandSettings(Section):
    users: list[str] = Field(
        default_factory=list, description="Jira account ids that may run /augment commands; '*': anyone."
    )
    projects: list[str] = Field(default_factory=list, description="Project keys where commands run; '*': any.")
    max_per_ticket_per_minute: int = Field(
        default=5, ge=1, le=1000, description="Commands run on one ticket per minute; more get one 'slow down'."
    )
    max_per_user_per_minute: int = Field(
        default=10, ge=1, le=1000, description="Commands one person runs per minute, across tickets."
    )


class LimitSettings(Section):
    sync_timeout_seconds: float = Field(default=60, gt=0, le=3600)
    concurrency: int = Field(default=8, ge=1, le=1024)
    max_attempts: int = Field(default=3, ge=1, le=20)
    max_deliveries: int = Field(default=100, ge=1, le=10_000)
    retry_backoff_seconds: list[float] = Field(default_factory=lambda: [2.0, 10.0, 30.0])
    job_timeout_seconds: float = Field(default=900, gt=0)
    ack_wait_seconds: float = Field(default=30, ge=1)
    drain_timeout_seconds: float = Field(default=30, ge=0)
    active_lock_ttl_seconds: int = Field(default=86_400, ge=60)
    job_retention_days: float = Field(default=30, gt=0)

    @field_validator("retry_backoff_seconds")
    @classmethod
    def _non_negative(cls, value: list[float]) -> list[float]:
        if not value or any(delay < 0 for delay in value):
            raise ValueError("must be a non-empty list of seconds >= 0")
        return value


class SandboxSettings(Section):
    enabled: Literal["auto", "true", "false"] = Field(
        default="auto", description="auto: start the sandbox when jira.url is empty."
    )
    jira_port: int = Field(default=8001, ge=0, le=65535)
    llm_port: int = Field(default=8002, ge=0, le=65535)
    snapshot: Path | None = Field(
        default=Path(".augment/sandbox.json"),
        description="Where the sandbox keeps its state between runs; empty: it keeps nothing.",
    )

    @field_validator("snapshot", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("enabled", mode="before")
    @classmethod
    def _bool_words(cls, value: Any) -> Any:
        return str(value).lower() if isinstance(value, (bool, str)) else value


class WorkerSettings(Section):
    health_port: int = Field(
        default=8010,
        ge=0,
        le=65535,
        description="Port of `augment worker`'s /health and /health/ready, on server.host; 0 turns them off.",
    )
    allow_stall: bool = Field(
        default=False,
        description="Let a ping job block its worker process (`stall_seconds`), to test how a stalled "
        "worker is survived; off in production: in `augment serve` it would block the API too.",
    )


class MetricsSettings(Section):
    token: SecretStr = Field(
        default=SecretStr(""),
        description=(
            "A bearer token for /metrics (Prometheus' `authorization: {credentials: ...}`). Set: /metrics "
            "needs it (or, with auth.enabled, the API's credentials). Empty: /metrics is open unless auth.enabled."
        ),
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_nested_delimiter="_",
        env_nested_max_split=1,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
    )

    server: ServerSettings = ServerSettings()
    log: LogSettings = LogSettings()
    jira: JiraSettings = JiraSettings()
    confluence: ConfluenceSettings = ConfluenceSettings()
    llm: LlmSettings = LlmSettings()
    openai: ProviderSettings = ProviderSettings()
    anthropic: ProviderSettings = ProviderSettings()
    google: ProviderSettings = ProviderSettings()
    moonshot: ProviderSettings = ProviderSettings()
    generation: GenerationSettings = GenerationSettings()
    prompts: PromptSettings = PromptSettings()
    planning: PlanningSettings = PlanningSettings()
    sprints: SprintSettings = SprintSettings()
    nats: NatsSettings = NatsSettings()
    auth: AuthSettings = AuthSettings()
    webhooks: WebhookSettings = WebhookSettings()
    triggers: TriggerSettings = TriggerSettings()
    commands: CommandSettings = CommandSettings()
    limits: LimitSettings = LimitSettings()
    sandbox: SandboxSettings = SandboxSettings()
    worker: WorkerSettings = WorkerSettings()
    metrics: MetricsSettings = MetricsSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Earlier sources win: explicit overrides, then the environment, .env, config.yaml.
        from_file = InitSettingsSource(settings_cls, init_kwargs=_file_values.get() or {})
        return init_settings, env_settings, dotenv_settings, from_file

    def secrets(self) -> list[str]:
        """Every configured secret value, for redaction in logs."""
        found = [
            self.jira.token,
            self.confluence.token,
            self.openai.api_key,
            self.anthropic.api_key,
            self.google.api_key,
            self.moonshot.api_key,
            self.auth.password_hash,
            self.webhooks.secret,
            self.webhooks.url_token,
            self.nats.password,
            self.nats.token,
        ]
        return [value for secret in found if (value := secret.get_secret_value())]


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Read and validate the settings; raise ConfigError with one line naming the key."""
    path = config_file or Path(os.environ.get(CONFIG_ENV, DEFAULT_CONFIG_FILE))
    from_file = _read_yaml(path) if path.exists() else {}
    if config_file is not None and not path.exists():
        raise ConfigError(f"config file {path} does not exist")
    _reject_unknown_keys(from_file, Settings, prefix="")
    token = _file_values.set(from_file)
    try:
        return Settings(**overrides)
    except ValidationError as err:
        raise ConfigError(_one_line(err)) from None
    except SettingsError as err:  # a list or mapping in the environment that is not JSON
        section = _ENV_FIELD.search(str(err))
        name = section.group(1) if section else "a setting"
        raise ConfigError(f"{name} (env {name.upper()}_*): lists and mappings must be valid JSON") from None
    finally:
        _file_values.reset(token)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}".replace("\n", " ")) from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections")
    return data


def _reject_unknown_keys(data: dict[str, Any], model: type[BaseModel], prefix: str) -> None:
    for key, value in data.items():
        field = model.model_fields.get(key)
        if field is None:
            raise ConfigError(f"{prefix}{key}: unknown key in config file")
        annotation = field.annotation
        if isinstance(value, dict) and isinstance(annotation, type) and issubclass(annotation, BaseModel):
            _reject_unknown_keys(value, annotation, prefix=f"{prefix}{key}.")


def _one_line(err: ValidationError) -> str:
    first = err.errors()[0]
    key = ".".join(str(part) for part in first["loc"])
    message = first["msg"].removeprefix("Value error, ")
    # Section-level checks already name their key ("auth.password_hash is required ...").
    named = message.split(" ", 1)[0]
    if named.startswith(f"{key}."):
        key, message = named, message.split(" ", 1)[1]
    more = f" (and {err.error_count() - 1} more)" if err.error_count() > 1 else ""
    # The environment holds a section's key whole (TRIGGERS_RULES, as JSON), not its items.
    env = "_".join(key.split(".")[:2]).upper()
    return f"{key} (env {env}): {message}{more}"
