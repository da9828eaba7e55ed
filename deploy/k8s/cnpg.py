"""PostgreSQL as CloudNativePG resources: a three-instance cluster with a login role per workload, and a database
owned by each role."""

from __future__ import annotations

from typing import Any

from deploy.k8s.names import DB_ROLE, PG_CLUSTER, PG_IMAGE, PG_INSTANCES, PG_MAX_CONNECTIONS, db_secret, dns


def db_roles() -> list[str]:
    return sorted(set(DB_ROLE.values()))


def postgres_cluster() -> dict[str, Any]:
    """Three instances, a commit acknowledged by one standby too; a login role per service, its password from the
    service's Secret. Only a role may connect to its own database (pg_hba, after the operator's fixed rules), as
    REVOKE CONNECT FROM PUBLIC does in compose."""
    hba = [
        f"host {db} {user} all {method}"
        for db in db_roles()
        for user, method in ((db, "scram-sha-256"), ("all", "reject"))
    ]
    return {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "Cluster",
        "metadata": {"name": PG_CLUSTER},
        "spec": {
            "instances": PG_INSTANCES,
            "imageName": PG_IMAGE,
            "primaryUpdateStrategy": "unsupervised",
            "enableSuperuserAccess": False,
            "storage": {"size": "50Gi"},
            "resources": {"requests": {"cpu": "500m", "memory": "2Gi"}, "limits": {"memory": "2Gi"}},
            "affinity": {"enablePodAntiAffinity": True, "topologyKey": "kubernetes.io/hostname"},
            "postgresql": {
                "parameters": {"max_connections": str(PG_MAX_CONNECTIONS)},
                "synchronous": {"method": "any", "number": 1},
                "pg_hba": hba,
            },
            "managed": {
                "roles": [
                    {
                        "name": role,
                        "ensure": "present",
                        "comment": f"caseflow {role}: owns database {role}",
                        "login": True,
                        "superuser": False,
                        "createdb": False,
                        "createrole": False,
                        "inherit": True,
                        "replication": False,
                        "bypassrls": False,
                        "passwordSecret": {"name": db_secret(role)},
                    }
                    for role in db_roles()
                ]
            },
        },
    }


def postgres_databases() -> list[dict[str, Any]]:
    """One database per role, owned by it: the service creates its schema and tables there at start."""
    return [
        {
            "apiVersion": "postgresql.cnpg.io/v1",
            "kind": "Database",
            "metadata": {"name": f"{PG_CLUSTER}-{dns(role)}"},
            "spec": {
                "name": role,
                "owner": role,
                "cluster": {"name": PG_CLUSTER},
                "ensure": "present",
                "databaseReclaimPolicy": "retain",
            },
        }
        for role in db_roles()
    ]
