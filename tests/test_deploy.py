"""The files under deploy/ pass their linters (issue 15): Kubernetes manifests against the API
schemas (kubernetes-validate, offline) and the `restricted` Pod Security level, the compose file's
and the Dockerfile's rules, the systemd units with `systemd-analyze` (skipped where it is not
installed), the alert rules and the Grafana dashboard against the metric names of deploy/README.md.

Nothing here needs Docker, a cluster or the network.
"""

from __future__ import annotations

import http.server
import importlib.util
import json
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"

# The contract of deploy/README.md: the names /metrics is to expose, and their types.
CONTRACT = {
    "augment_webhooks_total": "counter",
    "augment_webhook_intake_seconds": "histogram",
    "augment_jobs_total": "counter",
    "augment_job_duration_seconds": "histogram",
    "augment_job_queue_depth": "gauge",
    "augment_job_redeliveries_total": "counter",
    "augment_dead_letters_total": "counter",
    "augment_llm_calls_total": "counter",
    "augment_llm_tokens_total": "counter",
    "augment_llm_cost_usd_total": "counter",
    "augment_jira_calls_total": "counter",
    "augment_rule_firings_total": "counter",
    "augment_loop_guard_refusals_total": "counter",
    "augment_nats_connected": "gauge",
}
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")
METRIC_NAME = re.compile(r"\baugment_[a-z0-9_]+\b")


def contract_name(series: str) -> str | None:
    """The contract metric a series name belongs to (a histogram's `_bucket` and the like
    included), or None."""
    if series in CONTRACT:
        return series
    for suffix in HISTOGRAM_SUFFIXES:
        base = series.removesuffix(suffix)
        if base != series and CONTRACT.get(base) == "histogram":
            return base
    return None


def metric_names(expr: str) -> set[str]:
    return set(METRIC_NAME.findall(expr))


def assert_balanced(expr: str) -> None:
    depth = {"(": 0, "[": 0, "{": 0}
    closing = {")": "(", "]": "[", "}": "{"}
    for char in expr:
        if char in depth:
            depth[char] += 1
        elif char in closing:
            depth[closing[char]] -= 1
            assert depth[closing[char]] >= 0, expr
    assert all(value == 0 for value in depth.values()), expr


# --- the contract -----------------------------------------------------------------------------


def test_readme_lists_the_metric_contract() -> None:
    text = (DEPLOY / "README.md").read_text()
    rows = dict(re.findall(r"^\| `(augment_[a-z0-9_]+)` \| (\w+) \|", text, flags=re.MULTILINE))
    assert rows == CONTRACT


# --- Kubernetes -------------------------------------------------------------------------------


def manifests() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted((DEPLOY / "kubernetes").glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if isinstance(document, dict) and "apiVersion" in document and "kind" in document:
                found.append((f"{path.name}:{document['kind']}/{document['metadata']['name']}", document))
    return found


MANIFESTS = manifests()


def test_there_are_manifests_of_every_kind_the_issue_asks_for() -> None:
    kinds = [document["kind"] for _, document in MANIFESTS]
    for kind in ("Namespace", "ConfigMap", "Deployment", "PodDisruptionBudget", "Service", "Ingress"):
        assert kind in kinds


@pytest.mark.parametrize("name,document", MANIFESTS, ids=[name for name, _ in MANIFESTS])
def test_manifest_matches_the_kubernetes_schema(name: str, document: dict[str, Any]) -> None:
    # strict: an unknown or misspelt field fails too. The schemas ship with the package.
    version = kubernetes_validate.latest_version()
    try:
        kubernetes_validate.validate(document, version, strict=True)
    except kubernetes_validate.ValidationError as err:
        path = ".".join(str(item) for item in err.path)
        pytest.fail(f"{name} against Kubernetes {version}: {path}: {err.message}")


def workloads() -> list[tuple[str, dict[str, Any]]]:
    return [(name, document) for name, document in MANIFESTS if document["kind"] == "Deployment"]


WORKLOADS = workloads()


def assert_restricted(name: str, pod: dict[str, Any], containers: list[dict[str, Any]]) -> None:
    """The checks of the `restricted` Pod Security Standard (baseline included) that a manifest
    can break."""
    for host_field in ("hostNetwork", "hostPID", "hostIPC"):
        assert not pod.get(host_field), f"{name}: {host_field}"
    allowed_volumes = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim"}
    allowed_volumes |= {"projected", "secret"}
    for volume in pod.get("volumes", []):
        kinds = set(volume) - {"name"}
        assert kinds <= allowed_volumes, f"{name}: volume {volume['name']} is {kinds}"
    pod_security = pod.get("securityContext", {})
    assert pod_security.get("runAsUser", 1) != 0, name
    for container in containers:
        where = f"{name}/{container['name']}"
        security = container.get("securityContext", {})
        assert security.get("runAsNonRoot", pod_security.get("runAsNonRoot")) is True, where
        assert security.get("runAsUser", 1) != 0, where
        seccomp = security.get("seccompProfile", pod_security.get("seccompProfile", {}))
        assert seccomp.get("type") in ("RuntimeDefault", "Localhost"), where
        assert security.get("allowPrivilegeEscalation") is False, where
        assert not security.get("privileged"), where
        capabilities = security.get("capabilities", {})
        assert "ALL" in capabilities.get("drop", []), where
        assert set(capabilities.get("add", [])) <= {"NET_BIND_SERVICE"}, where
        assert not any("hostPort" in port for port in container.get("ports", [])), where


@pytest.mark.parametrize("name,document", WORKLOADS, ids=[name for name, _ in WORKLOADS])
def test_workload_passes_the_restricted_pod_security_level(name: str, document: dict[str, Any]) -> None:
    pod = document["spec"]["template"]["spec"]
    assert_restricted(name, pod, pod["containers"] + pod.get("initContainers", []))


@pytest.mark.parametrize("name,document", WORKLOADS, ids=[name for name, _ in WORKLOADS])
def test_workload_has_resources_probes_and_a_disruption_budget(name: str, document: dict[str, Any]) -> None:
    pod = document["spec"]["template"]["spec"]
    for container in pod["containers"]:
        assert container["resources"]["requests"].keys() >= {"cpu", "memory"}, name
        assert "memory" in container["resources"]["limits"], name
        assert container["image"].split(":")[-1] != "latest", f"{name}: a pinned image tag"
        ports = {port.get("name"): port["containerPort"] for port in container.get("ports", [])}
        for probe, path in (("livenessProbe", "/health"), ("readinessProbe", "/health/ready")):
            get = container[probe]["httpGet"]
            assert get["path"] == path, f"{name}: {probe}"
            assert ports.get(get["port"], get["port"]) == (8010 if container["args"] == ["worker"] else 8000)
    labels = document["spec"]["template"]["metadata"]["labels"]
    budgets = [
        budget
        for _, budget in MANIFESTS
        if budget["kind"] == "PodDisruptionBudget"
        and budget["spec"]["selector"]["matchLabels"].items() <= labels.items()
    ]
    assert len(budgets) == 1, f"{name}: one PodDisruptionBudget"


def test_namespace_enforces_the_restricted_level_and_the_ingress_has_tls() -> None:
    by_kind = {document["kind"]: document for _, document in MANIFESTS}
    labels = by_kind["Namespace"]["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    ingress = by_kind["Ingress"]["spec"]
    assert ingress["tls"][0]["hosts"] == [rule["host"] for rule in ingress["rules"]]
    assert by_kind["ConfigMap"]["data"]["NATS_URL"] == "nats://nats:4222"


def test_nats_helm_values_make_a_restricted_jetstream_cluster() -> None:
    values = yaml.safe_load((DEPLOY / "kubernetes" / "nats-values.yaml").read_text())
    assert values["config"]["cluster"]["enabled"] is True
    assert values["config"]["cluster"]["replicas"] == 3
    assert values["config"]["jetstream"]["enabled"] is True
    assert values["config"]["jetstream"]["fileStore"]["pvc"]["enabled"] is True
    pod = values["podTemplate"]["merge"]["spec"]
    containers = [
        {"name": "nats", **values["container"]["merge"]},
        {"name": "reloader", **values["reloader"]["merge"]},
    ]
    assert_restricted("nats-values.yaml", pod, containers)


# --- Docker Compose ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return loaded


def test_compose_publishes_one_port_behind_a_tls_proxy(compose: dict[str, Any]) -> None:
    published = {name: service["ports"] for name, service in compose["services"].items() if service.get("ports")}
    assert list(published) == ["caddy"]
    assert published["caddy"] == ["443:443"]
    for ports in published.values():
        for port in ports:
            assert "-" not in str(port), f"a port range: {port}"
    assert compose["services"]["caddy"]["image"].startswith("caddy:2.")
    caddyfile = (DEPLOY / "Caddyfile").read_text()
    assert "{$AUGMENT_DOMAIN}" in caddyfile
    assert "name api" in caddyfile and "port 8000" in caddyfile


def test_compose_starts_augment_after_nats_is_healthy(compose: dict[str, Any]) -> None:
    services = compose["services"]
    nats = [name for name in services if name.startswith("nats-")]
    assert len(nats) == 3
    for name in nats:
        assert services[name]["healthcheck"]["test"][0] == "CMD"
        assert "/healthz" in " ".join(services[name]["healthcheck"]["test"])
        assert "8222" in services[name]["command"]
        image = services[name]["image"]
        assert re.fullmatch(r"nats:\d+\.\d+\.\d+-alpine", image), f"{name}: an exact tag with wget: {image}"
    for name in ("api", "worker"):
        depends_on = services[name]["depends_on"]
        assert set(depends_on) == set(nats)
        assert all(condition == {"condition": "service_healthy"} for condition in depends_on.values())
        assert services[name]["env_file"] == [".env"]
        assert "healthcheck" not in services[name] or not services[name]["healthcheck"].get("disable")
    assert services["worker"]["stop_grace_period"] == "60s"


def env_example() -> dict[str, str]:
    values = {}
    for line in (DEPLOY / ".env.example").read_text().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key] = value
    return values


def test_env_example_quotes_every_value_with_a_dollar() -> None:
    values = env_example()
    assert {"AUGMENT_DOMAIN", "JIRA_URL", "JIRA_TOKEN", "AUTH_PASSWORD_HASH", "WEBHOOKS_SECRET"} <= values.keys()
    assert values["AUTH_PASSWORD_HASH"].startswith("'$argon2id$")
    for key, value in values.items():
        if "$" in value:
            # Compose takes single-quoted values literally and expands `$` everywhere else.
            assert value.startswith("'") and value.endswith("'"), key
    assert ".env" in (ROOT / ".gitignore").read_text().split()


@pytest.mark.skipif(
    shutil.which("docker") is None
    or subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=30).returncode != 0,
    reason="the docker compose plugin is not installed",
)
def test_docker_compose_config_accepts_the_file(tmp_path: Path) -> None:
    for name in ("compose.yaml", "Caddyfile"):
        shutil.copy(DEPLOY / name, tmp_path / name)
    shutil.copy(DEPLOY / ".env.example", tmp_path / ".env")
    result = subprocess.run(
        ["docker", "compose", "-f", str(tmp_path / "compose.yaml"), "config", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    environment = json.loads(result.stdout)["services"]["api"]["environment"]
    assert environment["AUTH_PASSWORD_HASH"] == env_example()["AUTH_PASSWORD_HASH"].strip("'")


# --- Dockerfile -------------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (DEPLOY / "Dockerfile").read_text().replace("\\\n", " ")
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
    return instructions


def test_dockerfile_pins_its_base_image() -> None:
    instructions = dockerfile_instructions()
    args = dict(rest.split("=", 1) for keyword, rest in instructions if keyword == "ARG" and "=" in rest)
    bases = [rest.split()[0] for keyword, rest in instructions if keyword == "FROM"]
    assert bases
    for base in bases:
        image = re.sub(r"\$\{(\w+)\}", lambda match: args[match.group(1)], base)
        name, _, tag = image.partition(":")
        assert "@sha256:" in image or re.match(r"\d+\.\d+\.\d+", tag), f"not pinned: {image}"


def test_dockerfile_installs_dependencies_before_the_code() -> None:
    instructions = dockerfile_instructions()
    copies = [(index, rest) for index, (keyword, rest) in enumerate(instructions) if keyword == "COPY"]
    pyproject = next(index for index, rest in copies if rest.split()[0] == "pyproject.toml")
    code = next(index for index, rest in copies if rest.split()[0] == "bot")
    installs = [
        index for index, (keyword, rest) in enumerate(instructions) if keyword == "RUN" and "pip install" in rest
    ]
    assert any(pyproject < index < code for index in installs), "a pip install between pyproject.toml and the code"
    assert any(index > code and "--no-deps" in instructions[index][1] for index in installs)
    # Every source the build copies from the context is let in by .dockerignore.
    allowed = {
        line[1:].rstrip("/") for line in (ROOT / ".dockerignore").read_text().splitlines() if line.startswith("!")
    }
    for _, rest in copies:
        if not rest.startswith("--from"):
            for source in rest.split()[:-1]:
                assert source in allowed, f"{source} is ignored by .dockerignore"
                assert (ROOT / source).exists(), source


def test_dockerfile_runs_as_a_numeric_user_with_a_health_check() -> None:
    instructions = dockerfile_instructions()
    final = max(index for index, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    users = [rest for keyword, rest in instructions[final:] if keyword == "USER"]
    assert users and re.fullmatch(r"[1-9]\d*(:[1-9]\d*)?", users[-1]), users
    checks = [rest for keyword, rest in instructions[final:] if keyword == "HEALTHCHECK"]
    assert len(checks) == 1 and "augment-healthcheck" in checks[0]


def test_dockerignore_keeps_secrets_and_state_out() -> None:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    patterns = [line for line in lines if line and not line.startswith("#")]
    assert patterns[0] == "*", "everything is ignored first, then the sources are let in"
    for secret in (".env", "config.yaml", ".venv", ".augment", ".git", "deploy/.env"):
        assert f"!{secret}" not in lines


@pytest.fixture
def healthcheck() -> ModuleType:
    spec = importlib.util.spec_from_file_location("augment_healthcheck", DEPLOY / "healthcheck.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def ready_server() -> Iterator[tuple[int, list[int]]]:
    """A local HTTP server whose /health/ready answers the status at the head of the list."""
    statuses = [200]

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(statuses[0] if self.path == "/health/ready" else 404)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], statuses
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_image_health_check_asks_the_port_of_the_role(healthcheck: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SERVER_PORT", raising=False)
    monkeypatch.delenv("WORKER_HEALTH_PORT", raising=False)
    monkeypatch.setenv("AUGMENT_ROLE", "worker")
    assert healthcheck.role() == "worker"
    assert healthcheck.port("worker") == 8010
    assert healthcheck.port("api") == 8000
    assert healthcheck.port("serve") == 8000
    monkeypatch.setenv("WORKER_HEALTH_PORT", "8013")
    assert healthcheck.port("worker") == 8013
    monkeypatch.setenv("WORKER_HEALTH_PORT", "0")
    assert healthcheck.main() == 0  # no endpoint: nothing to check


def test_image_health_check_is_ready_only_on_a_200(
    healthcheck: ModuleType, monkeypatch: pytest.MonkeyPatch, ready_server: tuple[int, list[int]]
) -> None:
    port, statuses = ready_server
    monkeypatch.setenv("AUGMENT_ROLE", "api")
    monkeypatch.setenv("SERVER_PORT", str(port))
    assert healthcheck.main() == 0
    statuses[0] = 503
    assert healthcheck.main() == 1
    monkeypatch.setenv("AUGMENT_ROLE", "worker")
    monkeypatch.setenv("WORKER_HEALTH_PORT", str(port))
    assert healthcheck.main() == 1
    statuses[0] = 200
    assert healthcheck.main() == 0


# --- systemd ----------------------------------------------------------------------------------

UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "CapabilityBoundingSet": "",
    "RestartSec": None,
    "StateDirectory": None,
    "Restart": "on-failure",
}


def unit_settings(path: Path) -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            settings.setdefault(key, []).append(value)
    return settings


def test_units_are_the_ones_the_issue_names() -> None:
    names = {path.name for path in UNITS}
    assert names == {"augment.service", "augment-api.service", "augment-worker@.service", "nats.service"}
    serve = unit_settings(DEPLOY / "systemd" / "augment.service")
    assert serve["ExecStart"] == ["/opt/augment/.venv/bin/augment serve"]
    for path in UNITS:
        for after in unit_settings(path).get("After", []):
            for unit in after.split():
                if unit.endswith(".service"):
                    assert (DEPLOY / "systemd" / unit).exists(), f"{path.name} names {unit}"


@pytest.mark.parametrize("path", UNITS, ids=[path.name for path in UNITS])
def test_unit_is_hardened(path: Path) -> None:
    settings = unit_settings(path)
    for key, value in HARDENING.items():
        assert key in settings, f"{path.name}: {key}"
        if value is not None:
            assert settings[key][-1] == value, f"{path.name}: {key}={settings[key][-1]}"
    assert "User" in settings or settings.get("DynamicUser") == ["yes"], path.name


def runnable_copy(path: Path, directory: Path) -> Path:
    """The unit with its ExecStart binary replaced by an executable that exists:
    `systemd-analyze verify` checks that it does, and Augment is not installed in /opt here."""
    fake = directory / "bin" / "program"
    fake.parent.mkdir(exist_ok=True)
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    text = re.sub(r"^ExecStart=(\S+)", f"ExecStart={fake}", path.read_text(), flags=re.MULTILINE)
    copy = directory / path.name
    copy.write_text(text)
    return copy


SYSTEMD_ANALYZE = shutil.which("systemd-analyze")


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed (no systemd on this machine)")
@pytest.mark.parametrize("path", UNITS, ids=[path.name for path in UNITS])
def test_systemd_analyze_verify_finds_nothing(path: Path, tmp_path: Path) -> None:
    assert SYSTEMD_ANALYZE is not None
    copy = runnable_copy(path, tmp_path)
    # verify exits 0 on unknown keys and bad values too; it only warns. Any output is a finding.
    result = subprocess.run(
        [SYSTEMD_ANALYZE, "verify", "--man=no", str(copy)], capture_output=True, text=True, timeout=60
    )
    findings = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert result.returncode == 0 and not findings, findings


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed (no systemd on this machine)")
@pytest.mark.parametrize("path", UNITS, ids=[path.name for path in UNITS])
def test_systemd_analyze_security_scores_the_unit_ok(path: Path, tmp_path: Path) -> None:
    assert SYSTEMD_ANALYZE is not None
    copy = runnable_copy(path, tmp_path)
    result = subprocess.run(
        [SYSTEMD_ANALYZE, "security", "--offline=true", "--no-pager", str(copy)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if "--offline" in result.stderr and "unrecognized" in result.stderr:
        pytest.skip("this systemd-analyze has no --offline (systemd 250 or newer has)")
    score = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert score, result.stdout + result.stderr
    assert float(score.group(1)) <= 2.0, result.stdout


# --- monitoring -------------------------------------------------------------------------------

EXPECTED_ALERTS = {
    "AugmentNatsDisconnected",
    "AugmentMetricsAbsent",
    "AugmentJobsFailing",
    "AugmentDeadLettersGrowing",
    "AugmentJobQueueBacklog",
    "AugmentJiraRateLimited",
}


def test_alert_rules_cover_the_obvious_failures() -> None:
    rules_file = yaml.safe_load((DEPLOY / "monitoring" / "alerts.yaml").read_text())
    rules = [rule for group in rules_file["groups"] for rule in group["rules"]]
    assert {rule["alert"] for rule in rules} == EXPECTED_ALERTS
    for rule in rules:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations", "keep_firing_for"}, rule["alert"]
        assert rule["labels"]["severity"] in ("critical", "warning")
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]
        assert re.fullmatch(r"\d+[smh]", rule["for"])
        assert_balanced(rule["expr"])
        names = metric_names(rule["expr"])
        assert names, rule["alert"]
        assert all(contract_name(name) for name in names), (rule["alert"], names)
    by_name = {rule["alert"]: rule["expr"] for rule in rules}
    assert 'outcome="rate_limited"' in by_name["AugmentJiraRateLimited"]
    assert "augment_nats_connected" in by_name["AugmentNatsDisconnected"]
    assert "augment_dead_letters_total" in by_name["AugmentDeadLettersGrowing"]
    assert 'status="failed"' in by_name["AugmentJobsFailing"]


def dashboard_queries(dashboard: dict[str, Any]) -> list[str]:
    queries: list[str] = []

    def walk(panels: list[dict[str, Any]]) -> None:
        for panel in panels:
            queries.extend(target["expr"] for target in panel.get("targets", []))
            walk(panel.get("panels", []))

    walk(dashboard["panels"])
    for variable in dashboard["templating"]["list"]:
        query = variable.get("query")
        if variable["type"] == "query":
            queries.append(query["query"] if isinstance(query, dict) else query)
    return queries


def test_dashboard_uses_only_the_contracts_metric_names() -> None:
    dashboard = json.loads((DEPLOY / "monitoring" / "grafana-dashboard.json").read_text())
    assert dashboard["uid"] == "augment" and dashboard["title"]
    panels = [panel for panel in dashboard["panels"] if panel["type"] != "row"]
    assert len({panel["id"] for panel in dashboard["panels"]}) == len(dashboard["panels"])
    for panel in panels:
        assert panel["targets"], panel["title"]
        assert panel["datasource"]["uid"] == "${datasource}"
        assert {"x", "y", "w", "h"} <= panel["gridPos"].keys()
    queries = dashboard_queries(dashboard)
    used = set()
    for query in queries:
        assert_balanced(query)
        for name in metric_names(query):
            base = contract_name(name)
            assert base, f"not in the contract: {name} ({query})"
            if name != base:  # a histogram's series: only its buckets are plotted
                assert name.endswith("_bucket") and "histogram_quantile" in query, query
            used.add(base)
    assert used == set(CONTRACT), f"not on the dashboard: {set(CONTRACT) - used}"
