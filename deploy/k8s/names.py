"""The names the generated deploy files share: the cluster's sizes and images, the HTTP services and their ports,
each workload's Kafka principal and PostgreSQL role, and how a name becomes a Kubernetes object name."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "caseflow"
CLUSTER = "caseflow"  # the Strimzi Kafka cluster name: bootstrap service `caseflow-kafka-bootstrap`
PARTITIONS = 12  # max consumer parallelism per group; see docs/DEPLOY.md "Sizing partitions"
REPLICAS = 3
MIN_ISR = 2
IMAGE = "caseflow/{}"
PG_CLUSTER = "caseflow-pg"  # the CloudNativePG Cluster: read-write service `caseflow-pg-rw`
PG_IMAGE = "ghcr.io/cloudnative-pg/postgresql:15"
PG_INSTANCES = 3  # one primary, two standbys; a commit waits for one standby (synchronous, ANY 1)
PG_MAX_CONNECTIONS = 400  # >= sum over pods of CASEFLOW_DATABASE_POOL_SIZE (10): docs/DEPLOY.md "PostgreSQL"
NO_DATABASE = {"console"}  # HTTP services that keep no state (the console only calls the other services)


def http_services() -> dict[str, int]:
    """Every HTTP service in services/ and its port (the `port` default of its config.py `Settings`)."""
    out = {}
    for main in sorted((ROOT / "services").glob("*/main.py")):
        name = main.parent.name
        settings = importlib.import_module(f"services.{name}.config").Settings
        out[name] = int(settings.model_fields["port"].default)
    return out


def uses_kafka(name: str) -> bool:
    """Whether services/<name> talks to Kafka (the console, say, only calls the other services over HTTP)."""
    return any(re.search(r"\bkafka\b|ServiceRuntime", p.read_text()) for p in (ROOT / "services" / name).glob("*.py"))


HTTP_SERVICES = http_services()
#: the Kafka principal each workload connects as (grants_for user names); services without Kafka have none
PRINCIPAL = {
    **{s: s for s in HTTP_SERVICES if uses_kafka(s)},
    "metrics-worker": "metrics",
    "router": "router",
}
#: the PostgreSQL role each workload logs in as; each role owns a database of the same name, where the service
#: creates its schema and runs its migrations at start. The metrics writers are the metrics service's.
DB_ROLE = {
    **{s: s for s in HTTP_SERVICES if s not in NO_DATABASE},
    "metrics-worker": "metrics",
    "router": "router",
}


def db_secret(role: str) -> str:
    """The Secret (created in the cluster, never committed) holding a role's `username`, `password` and `uri`."""
    return f"caseflow-db-{dns(role)}"


def dns(name: str) -> str:
    """A Kubernetes object name (RFC 1123 label: lower case, digits, '-')."""
    return re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
