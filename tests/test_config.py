"""Settings: config.yaml < .env < environment; a bad value stops the start with one line naming it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot import plugins
from bot.config import ConfigError, TriggerRule, check_rule_actions, load_settings
from bot.jobs.pipeline import registry_of
from schemas.jobs import JobType


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_defaults_need_no_file() -> None:
    settings = load_settings()
    assert settings.server.port == 8000
    assert settings.nats.servers == []  # embedded
    assert settings.auth.enabled is False
    assert settings.llm.default_provider == "openai"


def test_environment_beats_dotenv_beats_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(
        tmp_path / "config.yaml",
        "server:\n  port: 9001\nnats:\n  url: nats://yaml:4222\njira:\n  prd_custom_field: customfield_1\n",
    )
    write(tmp_path / ".env", "NATS_URL=nats://dotenv:4222\nJIRA_PRD_CUSTOM_FIELD=customfield_2\n")
    monkeypatch.setenv("JIRA_PRD_CUSTOM_FIELD", "customfield_3")
    settings = load_settings()
    assert settings.server.port == 9001
    assert settings.nats.servers == ["nats://dotenv:4222"]
    assert settings.jira.prd_custom_field == "customfield_3"


def test_a_cluster_is_several_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NATS_URL", "nats://a:4222, nats://b:4222,nats://c:4222")
    assert load_settings().nats.servers == ["nats://a:4222", "nats://b:4222", "nats://c:4222"]


def test_augment_config_points_at_another_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "other.yaml", "limits:\n  concurrency: 3\n")
    monkeypatch.setenv("AUGMENT_CONFIG", str(tmp_path / "other.yaml"))
    assert load_settings().limits.concurrency == 3


@pytest.mark.parametrize(
    ("yaml_text", "env", "message"),
    [
        (
            "limits:\n  concurrency: 0\n",
            {},
            "limits.concurrency (env LIMITS_CONCURRENCY): Input should be greater than or equal to 1",
        ),
        ("", {"SERVER_PORT": "eighty"}, "server.port (env SERVER_PORT): Input should be a valid integer"),
        ("jira:\n  url: jira.example.com\n", {}, "jira.url (env JIRA_URL): must start with http:// or https://"),
        (
            "jira:\n  url: https://x.atlassian.net\n  email: a@b.c\n",
            {},
            "jira.token (env JIRA_TOKEN): is required when jira.url is set",
        ),
        ("jira:\n  urll: https://x\n", {}, "jira.urll: unknown key in config file"),
        ("nats:\n  replicas: 7\n", {}, "nats.replicas (env NATS_REPLICAS): Input should be less than or equal to 5"),
        ("server: [1, 2\n", {}, "not valid YAML"),
        ("- a\n- b\n", {}, "the top level must be a mapping"),
        (
            "",
            {"LIMITS_RETRY_BACKOFF_SECONDS": "[-1]"},
            "limits.retry_backoff_seconds (env LIMITS_RETRY_BACKOFF_SECONDS): must be a non-empty list",
        ),
        ("", {"TRIGGERS_RULES": '[{"name":'}, "triggers (env TRIGGERS_*): lists and mappings must be valid JSON"),
        (
            "triggers:\n  rules:\n    - {name: x, on: sometimes, action: {job_type: single}}\n",
            {},
            "triggers.rules.0.on (env TRIGGERS_RULES): Input should be 'issue_created', 'issue_updated'",
        ),
        (
            "triggers:\n  rules:\n    - {name: x, on: label_added, action: {job_type: single}}\n",
            {},
            "rule x: on label_added needs `label`",
        ),
        (
            "triggers:\n  rules:\n    - {name: x, on: issue_created, action: {job_type: describe}}\n",
            {},
            "triggers.rules.0.action.job_type (env TRIGGERS_RULES): Input should be 'single', 'batch'",
        ),
    ],
)
def test_bad_values_are_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, yaml_text: str, env: dict, message: str
) -> None:
    write(tmp_path / "config.yaml", yaml_text)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_unrelated_environment_variables_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERVER_SOFTWARE", "nginx")
    monkeypatch.setenv("LOG_DIR", "/var/log")
    assert load_settings().server.port == 8000


def test_secrets_never_show_in_the_settings_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-very-secret-value")
    settings = load_settings()
    assert "sk-very-secret-value" not in repr(settings)
    assert settings.secrets() == ["sk-very-secret-value"]


def test_the_service_refuses_to_start_with_one_clear_line(tmp_path: Path) -> None:
    write(tmp_path / "config.yaml", "limits:\n  sync_timeout_seconds: -5\n")
    started = subprocess.run(
        [sys.executable, "-m", "bot", "serve"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert started.returncode == 1
    assert started.stderr.strip().splitlines() == [
        "config error: limits.sync_timeout_seconds (env LIMITS_SYNC_TIMEOUT_SECONDS): Input should be greater than 0"
    ]


def test_an_unknown_default_provider_is_named(tmp_path: Path) -> None:
    write(tmp_path / "config.yaml", "llm:\n  default_provider: mistral\n")
    started = subprocess.run(
        [sys.executable, "-m", "bot", "api"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert started.returncode == 1
    assert "config error: llm.default_provider: Unknown LLM provider 'mistral'" in started.stderr


def test_the_example_config_is_valid_and_documents_every_key(tmp_path: Path) -> None:
    example = Path(__file__).parent.parent / "config.yaml.example"
    settings = load_settings(example)
    text = example.read_text()
    for section_name, section in settings:
        assert f"\n{section_name}:" in f"\n{text}", f"section {section_name} missing from config.yaml.example"
        for key in type(section).model_fields:
            assert f"  {key}:" in text or f"  # {key}:" in text, (
                f"{section_name}.{key} missing from config.yaml.example"
            )


def test_a_rule_runs_only_a_job_type_a_pipeline_registered_a_rule_action_for() -> None:
    assert set(registry_of(plugins.pipelines()).rule_actions) == {
        JobType.single,
        JobType.story_generation,
        JobType.task_generation,
        JobType.test_generation,
    }
    rules = [TriggerRule.model_validate({"name": "x", "on": "issue_created", "action": {"job_type": "batch"}})]
    check_rule_actions(rules, {JobType.batch})
    with pytest.raises(ConfigError) as err:
        check_rule_actions(rules, {JobType.single})
    assert str(err.value) == (
        "triggers.rules.0.action.job_type (rule x): no pipeline runs batch from a rule; one of: single"
    )


def test_an_empty_sandbox_snapshot_keeps_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SANDBOX_SNAPSHOT", "")
    assert load_settings().sandbox.snapshot is None
