"""Invariants of deploy/ (compose, kustomize base and overlays, Strimzi and CloudNativePG resources) and the external
validators.

Parsing uses PyYAML. It is not (yet) pinned in requirements.lock; until it is, the module falls back to the copy
deploy/validate.sh installs into .cache/deploy-tools (pinned in deploy/tools-requirements.txt).
"""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from caseflow_cli.acl import PARTNERS, grants_for
from services.metrics.topics import by_case_topic, changelog_topic, partials_topic
from shared.settings import PlatformSettings
from shared.topics import Topics

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
PLATFORM = PlatformSettings(topic_prefix="caseflow")
VALIDATE = DEPLOY / "validate.sh"
COMPOSE_DIR = DEPLOY / "compose"
ENV_EXAMPLE = COMPOSE_DIR / "caseflow.env.example"
INIT_SQL = COMPOSE_DIR / "postgres" / "init-caseflow.sql"
#: the database contract: each of these services logs in as its own role, which owns a database of the same name
DATABASE_ROLES = {"intake", "legal_aid", "mediation", "notary", "metrics", "gateway", "router"}
NO_DATABASE = {"console"}  # calls the other services over HTTP, keeps no state
#: workloads that are part of another service and use its role (the metrics writers are the metrics service's)
DATABASE_ROLE_OF = {"metrics-worker": "metrics"}


def _yaml() -> Any:
    try:
        return importlib.import_module("yaml")
    except ModuleNotFoundError:
        subprocess.run(["bash", str(VALIDATE), "--tools-only"], check=True, cwd=ROOT, timeout=600)
        site = next((ROOT / ".cache" / "deploy-tools" / "lib").glob("python3*/site-packages"))
        sys.path.append(str(site))
        return importlib.import_module("yaml")


yaml = _yaml()


def load_all(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


def yaml_files() -> list[Path]:
    return sorted(p for p in DEPLOY.rglob("*") if p.suffix in {".yaml", ".yml"} and "local" not in p.parts)


def k8s_docs() -> list[dict[str, Any]]:
    return [d for p in sorted((DEPLOY / "k8s" / "base").glob("*.yaml")) for d in load_all(p) if "kind" in d]


def by_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in k8s_docs() if d["kind"] == kind}


def uses_kafka(name: str) -> bool:
    return any(re.search(r"\bkafka\b|ServiceRuntime", p.read_text()) for p in (ROOT / "services" / name).glob("*.py"))


def services_in_tree() -> list[str]:
    return sorted(p.parent.name for p in (ROOT / "services").glob("*/main.py"))


def database_role(workload: str) -> str | None:
    """The PostgreSQL role a workload (its CASEFLOW_SERVICE) connects as, None when it uses no database."""
    return None if workload in NO_DATABASE else DATABASE_ROLE_OF.get(workload, workload)


def dns(name: str) -> str:
    return name.replace("_", "-")


def test_the_database_contract_covers_every_stateful_service() -> None:
    """Every service in the tree but the console, and the router, has a role (a new service must be added here)."""
    assert {*services_in_tree(), "router"} - NO_DATABASE == DATABASE_ROLES


def test_no_mongo_anywhere_in_deploy() -> None:
    for path in sorted(p for p in DEPLOY.rglob("*") if p.is_file()):
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        assert "mongo" not in text.lower(), f"{path.relative_to(ROOT)} still mentions MongoDB"


def test_every_yaml_file_parses() -> None:
    files = yaml_files()
    assert len(files) >= 15
    for path in files:
        assert load_all(path), f"{path} has no document"


def test_k8s_base_is_generated_from_current_code() -> None:
    proc = subprocess.run(
        [sys.executable, str(DEPLOY / "k8s" / "generate.py"), "--check"], capture_output=True, text=True, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stderr


# ---- Kubernetes workloads -------------------------------------------------------------------------------------


def test_every_service_has_a_deployment_with_probes_and_a_service() -> None:
    deployments, svcs = by_kind("Deployment"), by_kind("Service")
    assert len(services_in_tree()) >= 5
    for name in services_in_tree():
        obj = f"caseflow-{name.replace('_', '-')}"
        assert obj in deployments, f"no Deployment for services/{name}"
        (c,) = deployments[obj]["spec"]["template"]["spec"]["containers"]
        assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert c["resources"]["requests"] and c["resources"]["limits"]["memory"]
        assert {"name": "CASEFLOW_SERVICE", "value": name} in c["env"]
        assert svcs[obj]["spec"]["ports"][0]["port"] == c["ports"][0]["containerPort"]


def test_every_workload_runs_non_root_on_a_read_only_root() -> None:
    deployments = by_kind("Deployment")
    assert {"caseflow-metrics-worker", "caseflow-router"} <= deployments.keys()
    for name, d in deployments.items():
        pod = d["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0, name
        for c in pod["containers"]:
            sc = c["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False, name
            assert sc["capabilities"]["drop"] == ["ALL"], name


def test_metrics_writers_scale_with_cpu_up_to_the_by_case_partitions() -> None:
    spec = by_kind("Deployment")["caseflow-metrics-worker"]["spec"]
    assert spec["replicas"] == 2 and spec["strategy"]["type"] == "RollingUpdate"  # writers share the partitions
    hpa = by_kind("HorizontalPodAutoscaler")["caseflow-metrics-worker"]["spec"]
    assert hpa["scaleTargetRef"]["name"] == "caseflow-metrics-worker"
    by_case = by_kind("KafkaTopic")["caseflow-metrics-writer-by-case"]["spec"]
    assert hpa["minReplicas"] == 2 and hpa["maxReplicas"] == by_case["partitions"]
    assert by_kind("PodDisruptionBudget")["caseflow-metrics-worker"]["spec"]["minAvailable"] == 1


def test_secrets_come_from_the_cluster_and_none_is_literal() -> None:
    secret_names = re.compile(r"(PASSWORD|SECRET|PEPPER|DATABASE_URL)$")
    assert not by_kind("Secret"), "no Secret objects in the manifests: they live in the cluster"
    for name, d in by_kind("Deployment").items():
        for c in d["spec"]["template"]["spec"]["containers"]:
            for e in c["env"]:
                if secret_names.search(e["name"]):
                    assert "value" not in e and "secretKeyRef" in e["valueFrom"], f"{name}: {e['name']}"
    for cm in by_kind("ConfigMap").values():
        assert not [k for k in cm["data"] if secret_names.search(k)]


def test_no_literal_secret_anywhere_in_deploy() -> None:
    pattern = re.compile(r"(password|secret|pepper)\s*[:=]\s*[\"']?([^\s\"'#]+)", re.IGNORECASE)
    env_file = ENV_EXAMPLE
    for path in [*yaml_files(), env_file, INIT_SQL]:
        for m in pattern.finditer(path.read_text()):
            value = m.group(2)
            allowed = value.startswith(("PLACEHOLDER", "${", "{")) or value in {"password"}
            allowed |= path == INIT_SQL and re.fullmatch(r"PASSWORD :'\w+_password", m.group(0)) is not None  # psql var
            assert allowed or len(value) < 6, f"{path.relative_to(ROOT)}: literal secret-like value {m.group(0)!r}"
    for line in env_file.read_text().splitlines():
        if line and not line.startswith("#"):
            assert line.split("=", 1)[1].startswith("PLACEHOLDER-"), line
    # the compose roles' passwords reach PostgreSQL only through psql variables read from the environment
    assert not re.search(r"PASSWORD\s+'", INIT_SQL.read_text(), re.IGNORECASE)


# ---- Strimzi -------------------------------------------------------------------------------------------------


def test_kafka_cluster_has_three_kraft_brokers_with_safe_replication() -> None:
    (kafka,) = by_kind("Kafka").values()
    (pool,) = by_kind("KafkaNodePool").values()
    assert kafka["metadata"]["annotations"]["strimzi.io/kraft"] == "enabled"
    assert pool["spec"]["replicas"] == 3 and set(pool["spec"]["roles"]) == {"controller", "broker"}
    assert pool["metadata"]["labels"]["strimzi.io/cluster"] == kafka["metadata"]["name"]
    cfg = kafka["spec"]["kafka"]["config"]
    assert cfg["default.replication.factor"] == 3 and cfg["min.insync.replicas"] == 2
    assert cfg["auto.create.topics.enable"] is False
    (listener,) = kafka["spec"]["kafka"]["listeners"]
    assert listener["authentication"]["type"] == "scram-sha-512"
    assert kafka["spec"]["kafka"]["authorization"]["type"] == "simple"


def test_every_topic_has_a_kafka_topic() -> None:
    topics = Topics("caseflow")
    declared = {t["spec"]["topicName"]: t["spec"] for t in by_kind("KafkaTopic").values()}
    writers = {by_case_topic(PLATFORM), changelog_topic(PLATFORM), partials_topic(PLATFORM)}
    assert set(declared) == set(topics.all()) | writers
    assert declared[partials_topic(PLATFORM)]["partitions"] == 1  # one reducer sums every partition's shares
    assert declared[changelog_topic(PLATFORM)]["config"]["cleanup.policy"] == "compact"
    for name, spec in declared.items():
        if name in writers:
            continue
        assert spec["partitions"] == 12 and spec["replicas"] == 3, name
        assert spec["config"]["min.insync.replicas"] == 2, name
        compacted = spec["config"].get("cleanup.policy") == "compact"
        assert compacted == (name in topics.compacted()), name
    assert declared["caseflow.metrics.indicators"]["config"]["cleanup.policy"] == "compact"


def test_kafka_users_mirror_the_acl_table() -> None:
    ops = {"Read": "READ", "Write": "WRITE", "Describe": "DESCRIBE", "Create": "CREATE"}
    patterns = {"literal": "LITERAL", "prefix": "PREFIXED"}
    users = by_kind("KafkaUser")
    kafka_services = {n for n in services_in_tree() if uses_kafka(n)}
    assert {"intake", "legal_aid", "mediation", "notary", "metrics", "gateway"} <= kafka_services
    expected_users = {*kafka_services, "router", *PARTNERS}
    assert set(users) == {u.replace("_", "-") for u in expected_users}
    grants = grants_for("caseflow")
    for user in expected_users:
        spec = users[user.replace("_", "-")]["spec"]
        assert spec["authentication"]["type"] == "scram-sha-512"
        got = {
            (r["resource"]["type"].upper(), r["resource"]["name"], patterns[r["resource"]["patternType"]], ops[op])
            for r in spec["authorization"]["acls"]
            for op in r["operations"]
        }
        want = {(g.resource_type, g.name, g.pattern, g.operation) for g in grants if g.user == user}
        assert got == want, user


def test_gateway_writes_partner_inbound_and_reads_partner_outbound_only() -> None:
    t = Topics("caseflow")
    acls = by_kind("KafkaUser")["gateway"]["spec"]["authorization"]["acls"]
    got = {(r["resource"]["name"], op) for r in acls for op in r["operations"]}
    want = {(t.partner_inbound(p), op) for p in PARTNERS for op in ("Write", "Describe")}
    want |= {(t.partner_outbound(p), op) for p in PARTNERS for op in ("Read", "Describe")}
    assert got == want


def test_each_workload_logs_in_as_its_own_principal() -> None:
    users = set(by_kind("KafkaUser"))
    for name, d in by_kind("Deployment").items():
        env = {e["name"]: e for e in d["spec"]["template"]["spec"]["containers"][0]["env"]}
        service_dir = env["CASEFLOW_SERVICE"]["value"]
        if (ROOT / "services" / service_dir).is_dir() and not uses_kafka(service_dir):
            assert "CASEFLOW_KAFKA_USERNAME" not in env, f"{name} does not use Kafka: no credentials"
            continue
        user = env["CASEFLOW_KAFKA_USERNAME"]["value"]
        assert user in users, name
        assert env["CASEFLOW_KAFKA_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": user, "key": "password"}


# ---- CloudNativePG -------------------------------------------------------------------------------------------


def pg_cluster() -> dict[str, Any]:
    (cluster,) = by_kind("Cluster").values()
    return cluster


def test_postgres_cluster_has_three_instances_of_postgresql_15() -> None:
    cluster = pg_cluster()
    assert cluster["apiVersion"] == "postgresql.cnpg.io/v1"
    spec = cluster["spec"]
    assert spec["instances"] == 3
    assert spec["imageName"] == "ghcr.io/cloudnative-pg/postgresql:15"
    assert re.fullmatch(r"\d+[GT]i", spec["storage"]["size"])
    # a commit is acknowledged by a standby too: losing the primary loses no acknowledged write
    assert spec["postgresql"]["synchronous"]["number"] >= 1
    assert spec.get("enableSuperuserAccess", False) is False
    assert int(spec["postgresql"]["parameters"]["max_connections"]) >= 100


def test_postgres_cluster_manages_one_login_role_per_service() -> None:
    roles = {r["name"]: r for r in pg_cluster()["spec"]["managed"]["roles"]}
    assert set(roles) == DATABASE_ROLES
    for name, role in roles.items():
        assert role.get("ensure", "present") == "present" and role["login"] is True, name
        for power in ("superuser", "createdb", "createrole", "replication", "bypassrls"):
            assert role.get(power, False) is False, (name, power)
        assert role["passwordSecret"] == {"name": f"caseflow-db-{dns(name)}"}, name


def test_every_role_owns_a_database_of_its_own() -> None:
    cluster = pg_cluster()["metadata"]["name"]
    databases = by_kind("Database").values()
    assert all(d["apiVersion"] == "postgresql.cnpg.io/v1" for d in databases)
    specs = [d["spec"] for d in databases]
    assert sorted(s["name"] for s in specs) == sorted(DATABASE_ROLES)
    for spec in specs:
        assert spec["owner"] == spec["name"], spec  # the service creates its schema and tables at start
        assert spec["cluster"] == {"name": cluster}, spec
        assert spec.get("ensure", "present") == "present", spec
        assert spec.get("databaseReclaimPolicy", "retain") == "retain", spec  # deleting the object keeps the data


def test_only_its_own_role_may_connect_to_a_database() -> None:
    """pg_hba (after the operator's fixed rules): the owner authenticates, everybody else is rejected."""
    hba = [line.split() for line in pg_cluster()["spec"]["postgresql"]["pg_hba"]]
    for role in DATABASE_ROLES:
        rules = [r for r in hba if r[0].startswith("host") and r[1] == role]
        assert rules == [["host", role, role, "all", "scram-sha-256"], ["host", role, "all", "all", "reject"]], role


def test_each_workload_reads_its_own_database_url_from_a_secret() -> None:
    roles = {r["name"] for r in pg_cluster()["spec"]["managed"]["roles"]}
    secret_of: dict[str, str] = {}
    for name, d in by_kind("Deployment").items():
        env = {e["name"]: e for e in d["spec"]["template"]["spec"]["containers"][0]["env"]}
        role = database_role(env["CASEFLOW_SERVICE"]["value"])
        if role is None:
            assert "CASEFLOW_DATABASE_URL" not in env, f"{name} uses no database: no credentials"
            continue
        assert role in roles, name
        ref = env["CASEFLOW_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": f"caseflow-db-{dns(role)}", "key": "uri"}, name
        assert secret_of.setdefault(ref["name"], role) == role, f"{ref['name']} shared by two roles"
    assert set(secret_of.values()) == DATABASE_ROLES
    assert not [n for n in by_kind("Secret") if n.startswith("caseflow-db-")]


# ---- compose -------------------------------------------------------------------------------------------------


def compose() -> dict[str, Any]:
    return load_all(DEPLOY / "compose" / "compose.yaml")[0]["services"]


def test_compose_runs_three_brokers_with_rf3_and_min_isr2() -> None:
    svc = compose()
    brokers = {n: s for n, s in svc.items() if s.get("image", "").startswith("apache/kafka:")}
    assert len(brokers) == 3
    voters = {s["environment"]["KAFKA_CONTROLLER_QUORUM_VOTERS"] for s in brokers.values()}
    assert len(voters) == 1 and len(voters.pop().split(",")) == 3
    assert len({s["environment"]["KAFKA_NODE_ID"] for s in brokers.values()}) == 3
    for s in brokers.values():
        assert s["environment"]["KAFKA_DEFAULT_REPLICATION_FACTOR"] == "3"
        assert s["environment"]["KAFKA_MIN_INSYNC_REPLICAS"] == "2"


_COMPOSE_URL = re.compile(
    r"postgresql://(?P<user>[a-z_]+):\$\{(?P<var>[A-Z_]+):\?[^}]+\}@postgres:5432/(?P<db>[a-z_]+)"
)


def test_compose_runs_every_service_against_the_cluster() -> None:
    svc = compose()
    roles = {
        s["environment"]["CASEFLOW_SERVICE"]: s for s in svc.values() if "CASEFLOW_SERVICE" in s.get("environment", {})
    }
    assert set(roles) == {*services_in_tree(), "metrics-worker", "router"}
    assert roles["metrics-worker"]["deploy"]["replicas"] == 2  # the writers share the by-case partitions
    for role, s in roles.items():
        env = s["environment"]
        assert env["CASEFLOW_KAFKA_BOOTSTRAP"].count(",") == 2, role
        assert env["CASEFLOW_REPLICATION_FACTOR"] == "3" and env["CASEFLOW_OTEL_EXPORTER"] == "otlp", role
        # secrets are required substitutions from the env file given with --env-file, never literals
        assert env["CASEFLOW_AUTH_SECRET"].startswith("${CASEFLOW_AUTH_SECRET:?"), role
        assert env["CASEFLOW_PII_PEPPER"].startswith("${CASEFLOW_PII_PEPPER:?"), role
        assert "env_file" not in s, f"{role}: an env file would hand every service every database password"
        assert all(s["depends_on"][b]["condition"] == "service_healthy" for b in ("kafka-1", "kafka-2", "kafka-3"))
        assert s["healthcheck"]["test"][-1] == "healthcheck"


def test_compose_gives_each_service_its_own_database_url() -> None:
    svc = compose()
    by_role: dict[str, set[str]] = {}
    for name, s in svc.items():
        env = s.get("environment", {})
        if "CASEFLOW_SERVICE" not in env:
            continue
        role = database_role(env["CASEFLOW_SERVICE"])
        if role is None:
            assert "CASEFLOW_DATABASE_URL" not in env and "postgres" not in s["depends_on"], name
            continue
        m = _COMPOSE_URL.fullmatch(env["CASEFLOW_DATABASE_URL"])
        assert m, f"{name}: {env['CASEFLOW_DATABASE_URL']}"
        assert m["user"] == m["db"] == role, name
        assert m["var"] == f"CASEFLOW_DB_PASSWORD_{role.upper()}", name
        assert s["depends_on"]["postgres"]["condition"] == "service_healthy", name
        by_role.setdefault(role, set()).add(name)
    assert set(by_role) == DATABASE_ROLES
    assert by_role["metrics"] == {"metrics", "metrics-worker"}


def test_compose_runs_postgresql_15_with_the_roles_script() -> None:
    pg = compose()["postgres"]
    assert pg["image"] == "postgres:15"
    assert "pg_isready" in " ".join(pg["healthcheck"]["test"])
    assert "-h 127.0.0.1" in " ".join(pg["healthcheck"]["test"])  # TCP: not ready during the init phase
    volumes = [v.split(":") for v in pg["volumes"]]
    assert ["postgres", "/var/lib/postgresql/data"] in volumes
    assert "postgres" in load_all(COMPOSE_DIR / "compose.yaml")[0]["volumes"]
    (init,) = [v for v in volumes if v[1].startswith("/docker-entrypoint-initdb.d/")]
    assert (COMPOSE_DIR / init[0]).resolve() == INIT_SQL and init[1].endswith(".sql") and init[2] == "ro"
    env = pg["environment"]
    assert env["POSTGRES_PASSWORD"].startswith("${CASEFLOW_POSTGRES_PASSWORD:?")
    for role in DATABASE_ROLES:
        var = f"CASEFLOW_DB_PASSWORD_{role.upper()}"
        assert env[var].startswith("${" + var + ":?"), var


def test_compose_init_script_creates_each_role_owning_its_database() -> None:
    sql = INIT_SQL.read_text()
    created = set(re.findall(r"^CREATE ROLE (\w+) LOGIN\b", sql, re.M))
    assert created == DATABASE_ROLES
    for role in DATABASE_ROLES:
        var = f"CASEFLOW_DB_PASSWORD_{role.upper()}"
        assert re.search(rf"^\\getenv {role}_password {var}$", sql, re.M), role
        assert re.search(rf"^CREATE ROLE {role} LOGIN .*PASSWORD :'{role}_password';$", sql, re.M), role
        assert re.search(rf"^CREATE DATABASE {role} OWNER {role};$", sql, re.M), role
        assert re.search(rf"^REVOKE CONNECT\b.* ON DATABASE {role} FROM PUBLIC;$", sql, re.M), role
    assert re.search(r"^\\set ON_ERROR_STOP on$", sql, re.M)
    for line in re.findall(r"^CREATE ROLE .*$", sql, re.M):
        assert {"NOSUPERUSER", "NOCREATEDB", "NOCREATEROLE"} <= set(line.split()), line


def test_compose_env_example_names_every_substituted_variable() -> None:
    lines = (COMPOSE_DIR / "compose.yaml").read_text().splitlines()
    used = set(re.findall(r"\$\{([A-Z0-9_]+)", "\n".join(x for x in lines if not x.lstrip().startswith("#"))))
    declared = {
        line.split("=", 1)[0] for line in ENV_EXAMPLE.read_text().splitlines() if line and not line.startswith("#")
    }
    assert used == declared
    assert {f"CASEFLOW_DB_PASSWORD_{r.upper()}" for r in DATABASE_ROLES} <= declared


def test_compose_refuses_to_start_without_the_env_file() -> None:
    """A missing secret stops compose (${VAR:?}) instead of starting PostgreSQL or a service with an empty one."""
    subprocess.run(["bash", str(VALIDATE), "--tools-only"], check=True, cwd=ROOT, timeout=600, capture_output=True)
    (binary,) = (ROOT / ".cache" / "deploy-tools" / "lib").glob("python3*/site-packages/compose/docker-compose")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CASEFLOW_", "COMPOSE_"))}
    compose_file = str(COMPOSE_DIR / "compose.yaml")
    proc = subprocess.run([str(binary), "-f", compose_file, "config", "-q"], capture_output=True, text=True, env=env)
    assert proc.returncode != 0 and "is missing a value" in proc.stderr, proc.stderr
    proc = subprocess.run(
        [str(binary), "--env-file", str(ENV_EXAMPLE), "-f", compose_file, "config", "-q"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr


def test_prometheus_scrapes_every_http_service() -> None:
    prom = load_all(DEPLOY / "compose" / "prometheus" / "prometheus.yml")[0]
    targets = {t for job in prom["scrape_configs"] for sc in job["static_configs"] for t in sc["targets"]}
    svc = compose()
    for name in services_in_tree():
        (host,) = [n for n, s in svc.items() if s.get("environment", {}).get("CASEFLOW_SERVICE") == name]
        assert f"{host}:{svc[host]['environment']['PORT']}" in targets


def test_dockerfile_is_one_multi_stage_non_root_pattern() -> None:
    text = (DEPLOY / "docker" / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM python:3.11-slim|^FROM \$\{PYTHON_IMAGE\}", text, re.M)) == 2
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in text
    assert "pip install -r requirements.lock" in text and "pip install --no-deps ." in text
    assert re.search(r"^USER 10001", text, re.M)
    entry = (DEPLOY / "docker" / "entrypoint.sh").read_text()
    assert "services.${role}.main:create_app" in entry and "services.metrics.writer" in entry
    assert "integrations.router" in entry


# ---- external validators ---------------------------------------------------------------------------------------


def test_validators_accept_compose_and_kustomize_output() -> None:
    """docker compose config, kustomize build and strict schema validation, via deploy/validate.sh."""
    proc = subprocess.run(["bash", str(VALIDATE)], capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "== deploy/ validated" in proc.stdout
    assert proc.stdout.count("resources passed") == 1 + len(list((DEPLOY / "k8s" / "overlays").iterdir()))


@pytest.mark.parametrize("broken", ["compose", "k8s"])
def test_validate_sh_fails_on_a_broken_manifest(broken: str, tmp_path: Path) -> None:
    """The validator script must fail loudly, not pass silently: run it on a copy with one defect."""
    copy = tmp_path / "repo"
    (copy / "deploy").mkdir(parents=True)
    for part in ("shared", "caseflow_cli", "services", "integrations"):
        (copy / part).symlink_to(ROOT / part)
    (copy / ".cache").symlink_to(ROOT / ".cache")
    subprocess.run(["cp", "-r", str(DEPLOY) + "/.", str(copy / "deploy")], check=True)
    if broken == "compose":
        path = copy / "deploy" / "compose" / "compose.yaml"
        path.write_text(path.read_text().replace("    depends_on:\n      jaeger:", "    depends_on:\n      jaegr:"))
    else:
        path = copy / "deploy" / "k8s" / "overlays" / "production" / "kustomization.yaml"
        path.write_text(
            path.read_text() + "  - target: {kind: Deployment, name: caseflow-router}\n    patch: |-\n"
            "      - {op: add, path: /spec/bogusField, value: 1}\n"
        )
    env = {**os.environ, "PYTHON": sys.executable}
    proc = subprocess.run(
        ["bash", str(copy / "deploy" / "validate.sh")], capture_output=True, text=True, timeout=600, env=env
    )
    assert proc.returncode != 0, proc.stdout
    assert "k8s base is up to date" in proc.stdout  # got past the generator check: the defect is what failed
    reason = "jaegr" if broken == "compose" else "'bogusField' was unexpected"
    assert reason in proc.stderr, proc.stderr[-2000:]
