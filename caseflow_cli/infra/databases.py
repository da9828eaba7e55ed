"""The roles and databases of the local PostgreSQL server: their passwords, connection URLs, and ``provision``.

``provision`` (every ``up``, idempotent): the superuser ``caseflow_admin`` (made by initdb) owns database
``caseflow``; each of ``DATABASE_SERVICES`` has a LOGIN role owning a database of its name. CONNECT on every
database and all rights on each ``public`` schema are revoked from PUBLIC: a service's role reaches its own
database only. Passwords (scram-sha-256): ``database_users`` in the credentials file, put on the roles every time.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from caseflow_cli.infra import processes
from caseflow_cli.infra.settings import DATABASE_SERVICES, HOST, InfraError, InfraSettings, read_passwords

ADMIN = "caseflow_admin"
ADMIN_DB = "caseflow"
ROLE_SQL = "{} ROLE {} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD {}"


# ---- credentials and URLs ----------------------------------------------------------------------


def load_passwords(path: Path) -> dict[str, str]:
    """``role -> password`` for ``caseflow_admin`` and every service role, from ``database_users``."""
    return read_passwords(path, "database_users", (ADMIN, *DATABASE_SERVICES))


def url(settings: InfraSettings, role: str, database: str, password: str | None = None) -> str:
    pw = password if password is not None else load_passwords(settings.credentials_file)[role]
    return f"postgresql://{role}:{pw}@{HOST}:{settings.postgres_port}/{database}"


def admin_url(settings: InfraSettings) -> str:
    """The superuser's URL (database ``caseflow``), for operators and tests."""
    return url(settings, ADMIN, ADMIN_DB)


def service_url(settings: InfraSettings, service: str) -> str:
    """``postgresql://<service>:<pw>@127.0.0.1:<port>/<service>``: the service's own role and database."""
    if service not in DATABASE_SERVICES:
        raise InfraError(f"no database for {service!r}; services with one: {', '.join(DATABASE_SERVICES)}")
    return url(settings, service, service)


def redact(database_url: str) -> str:
    """The URL without its password (for banners and tables)."""
    return re.sub(r"^(postgresql://[^:/@]+):[^@]*@", r"\1@", database_url)


# ---- connections -------------------------------------------------------------------------------


def _connect(settings: InfraSettings, role: str, database: str, password: str, timeout: float) -> Any:
    import psycopg

    return psycopg.connect(
        host=HOST, port=settings.postgres_port, user=role, password=password, dbname=database,
        connect_timeout=max(1, int(timeout)), autocommit=True, application_name="caseflow-infra",
    )  # fmt: skip


def probe(settings: InfraSettings, timeout: float = 2.0) -> bool:
    """The server accepts a password login of ``caseflow_admin`` and answers a query."""
    if processes.port_free(settings.postgres_port):
        return False
    try:
        password = load_passwords(settings.credentials_file)[ADMIN]
        with _connect(settings, ADMIN, "postgres", password, timeout) as conn:
            return conn.execute("SELECT 1").fetchone() == (1,)
    except Exception:  # noqa: BLE001 - any failure means "not ready"
        return False


def provision(settings: InfraSettings) -> None:
    """Roles, databases and grants (see the module docstring); idempotent, passwords kept in sync."""
    import psycopg
    from psycopg import sql

    passwords = load_passwords(settings.credentials_file)
    owners = {ADMIN_DB: ADMIN, **{s: s for s in DATABASE_SERVICES}}
    try:
        with _connect(settings, ADMIN, "postgres", passwords[ADMIN], 10) as conn:
            for role in DATABASE_SERVICES:
                exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
                verb, pw = sql.SQL("ALTER" if exists else "CREATE"), sql.Literal(passwords[role])
                conn.execute(sql.SQL(ROLE_SQL).format(verb, sql.Identifier(role), pw))
            for db, owner in owners.items():
                name, who = sql.Identifier(db), sql.Identifier(owner)
                if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db,)).fetchone():
                    conn.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(name, who))
                else:
                    conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(name, who))
                conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(name))
            for db in ("postgres", "template1"):
                conn.execute(sql.SQL("REVOKE CONNECT, TEMPORARY ON DATABASE {} FROM PUBLIC").format(sql.Identifier(db)))
        for db in owners:
            with _connect(settings, ADMIN, db, passwords[ADMIN], 10) as conn:
                conn.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
    except psycopg.Error as exc:  # e.g. an admin password changed since initdb: `caseflow infra wipe` recreates it
        where = f"{HOST}:{settings.postgres_port}"
        raise InfraError(f"provisioning roles and databases on PostgreSQL {where} failed: {exc}") from None
