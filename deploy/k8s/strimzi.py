"""The Kafka cluster as Strimzi resources: the KRaft node pool and cluster, every topic the code names (with its
retention or compaction), and a KafkaUser per principal with the ACLs `caseflow_cli.acl.grants_for` gives it."""

from __future__ import annotations

from typing import Any

from caseflow_cli.acl import PARTNERS, grants_for
from deploy.k8s.names import CLUSTER, MIN_ISR, PARTITIONS, PREFIX, PRINCIPAL, REPLICAS, dns
from services.metrics.topics import PARTIALS_CONFIG, by_case_topic, changelog_topic, partials_topic
from shared.settings import PlatformSettings
from shared.topics import Topics


def kafka_cluster() -> list[dict[str, Any]]:
    strimzi = {"strimzi.io/cluster": CLUSTER}
    return [
        {
            "apiVersion": "kafka.strimzi.io/v1beta2",
            "kind": "KafkaNodePool",
            "metadata": {"name": "dual-role", "labels": strimzi},
            "spec": {
                "replicas": REPLICAS,
                "roles": ["controller", "broker"],
                "storage": {
                    "type": "jbod",
                    "volumes": [
                        {
                            "id": 0,
                            "type": "persistent-claim",
                            "size": "100Gi",
                            "deleteClaim": False,
                            "kraftMetadata": "shared",
                        }
                    ],
                },
                "resources": {"requests": {"cpu": "500m", "memory": "2Gi"}, "limits": {"memory": "2Gi"}},
            },
        },
        {
            "apiVersion": "kafka.strimzi.io/v1beta2",
            "kind": "Kafka",
            "metadata": {
                "name": CLUSTER,
                "annotations": {"strimzi.io/node-pools": "enabled", "strimzi.io/kraft": "enabled"},
            },
            "spec": {
                "kafka": {
                    "version": "3.9.0",
                    "metadataVersion": "3.9-IV0",
                    "listeners": [
                        {
                            "name": "scram",
                            "port": 9092,
                            "type": "internal",
                            "tls": False,
                            "authentication": {"type": "scram-sha-512"},
                        }
                    ],
                    "authorization": {"type": "simple"},
                    "config": {
                        "default.replication.factor": REPLICAS,
                        "min.insync.replicas": MIN_ISR,
                        "offsets.topic.replication.factor": REPLICAS,
                        "transaction.state.log.replication.factor": REPLICAS,
                        "transaction.state.log.min.isr": MIN_ISR,
                        "auto.create.topics.enable": False,
                        "unclean.leader.election.enable": False,
                    },
                },
                "entityOperator": {"topicOperator": {}, "userOperator": {}},
            },
        },
    ]


def topic_config(topics: Topics, name: str) -> dict[str, Any]:
    cfg: dict[str, Any] = {"min.insync.replicas": MIN_ISR}
    if name in topics.compacted():
        cfg["cleanup.policy"] = "compact"
    elif name in topics.all_department_topics():
        cfg["retention.ms"] = -1  # the event log is the system of record: rebuilds replay it from offset 0
    elif name == topics.deadletter:
        cfg["retention.ms"] = 30 * 24 * 3600 * 1000
    return cfg


def kafka_topics() -> list[dict[str, Any]]:
    t = Topics(PREFIX)
    # the metrics writers' own topics (services/metrics/topics.py): the by-case copy of the sources, the fold state,
    # the partitions' shares of every indicator (one partition: one reducer sums them)
    platform = PlatformSettings(topic_prefix=PREFIX)
    writers: dict[str, tuple[int, dict[str, Any]]] = {
        by_case_topic(platform): (PARTITIONS, {"retention.ms": 7 * 24 * 3600 * 1000}),
        changelog_topic(platform): (PARTITIONS, {"cleanup.policy": "compact"}),
        partials_topic(platform): (1, dict(PARTIALS_CONFIG)),
    }
    specs = {name: (PARTITIONS, topic_config(t, name)) for name in t.all()}
    specs.update({name: (n, {"min.insync.replicas": MIN_ISR, **cfg}) for name, (n, cfg) in writers.items()})
    return [
        {
            "apiVersion": "kafka.strimzi.io/v1beta2",
            "kind": "KafkaTopic",
            "metadata": {"name": dns(name.replace(".", "-")), "labels": {"strimzi.io/cluster": CLUSTER}},
            "spec": {"topicName": name, "partitions": partitions, "replicas": REPLICAS, "config": config},
        }
        for name, (partitions, config) in specs.items()
    ]


_OPS = {"READ": "Read", "WRITE": "Write", "DESCRIBE": "Describe", "CREATE": "Create"}
_PATTERN = {"LITERAL": "literal", "PREFIXED": "prefix"}


def kafka_users() -> list[dict[str, Any]]:
    grants = [(g.user, g.resource_type, g.name, g.pattern, g.operation) for g in grants_for(PREFIX)]
    users = [*dict.fromkeys(PRINCIPAL.values()), *PARTNERS]
    out = []
    for user in users:
        by_resource: dict[tuple[str, str, str], list[str]] = {}
        for g_user, rtype, name, pattern, op in grants:
            if g_user == user:
                by_resource.setdefault((rtype, name, pattern), []).append(_OPS[op])
        acls = [
            {
                "resource": {"type": rtype.lower(), "name": name, "patternType": _PATTERN[pattern]},
                "operations": sorted(ops),
                "host": "*",
            }
            for (rtype, name, pattern), ops in sorted(by_resource.items())
        ]
        out.append(
            {
                "apiVersion": "kafka.strimzi.io/v1beta2",
                "kind": "KafkaUser",
                # the SCRAM user name is this object name (RFC 1123), e.g. principal legal_aid -> legal-aid
                "metadata": {"name": dns(user), "labels": {"strimzi.io/cluster": CLUSTER}},
                "spec": {
                    "authentication": {"type": "scram-sha-512"},
                    "authorization": {"type": "simple", "acls": acls},
                },
            }
        )
    return out
