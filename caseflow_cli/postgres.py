"""The PostgreSQL 15 cluster of ``caseflow_cli.infra``: Debian's binaries, a cluster of the project's own on a
loopback port with a socket directory of its own, its roles and databases.

Layout: ``<base>/data`` (initdb once; mode 0700) and ``<base>/run`` (socket), ``<base>`` being ``<home>/postgres``;
the log in ``<home>/logs/postgres.log`` and the postmaster's pid record in ``<home>/run/postgres.pid``.

PostgreSQL refuses root: invoked as root, initdb, pg_ctl and the server run as the ``postgres`` OS user (or the
system user ``caseflow-pg``, created when neither exists), which owns ``<base>``. When that user cannot reach
``<home>`` (a checkout under /root, a 0700 temporary directory), or the socket path would be too long, ``<base>``
is ``/var/tmp/caseflow-postgres-<sha256(home)[:12]>``, recorded in ``<home>/postgres.location`` for status, down
and wipe. Anyone else runs the server as themselves.

``provision`` (every ``up``, idempotent): the superuser ``caseflow_admin`` (made by initdb) owns database
``caseflow``; each of ``infra.DATABASE_SERVICES`` has a LOGIN role owning a database of its name. CONNECT on every
database and all rights on each ``public`` schema are revoked from PUBLIC: a service's role reaches its own
database only. Passwords (scram-sha-256): ``database_users`` in the credentials file, put on the roles every time.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from caseflow_cli import infra

if TYPE_CHECKING:
    from caseflow_cli.infra import InfraSettings

ADMIN = "caseflow_admin"
ADMIN_DB = "caseflow"
PACKAGE = "postgresql-15"
DEBIAN_BINDIR = Path("/usr/lib/postgresql/15/bin")
SERVER_ACCOUNTS = ("postgres", "caseflow-pg")  # the OS user the server runs as when we are root
RELOCATED_PREFIX = "caseflow-postgres-"
RELOCATE_ROOT = Path("/var/tmp")
PASSWORD_RE = re.compile(r"^[A-Za-z0-9._~-]{8,128}$")  # URL-safe: no quoting in the connection URLs
ROLE_SQL = "{} ROLE {} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD {}"
SOCKET_PATH_MAX = 100  # sun_path holds 107 bytes; PostgreSQL refuses longer socket paths

# a 2-core / 24 GB development machine that also runs Kafka and the services; durable as in production
SERVER_SETTINGS = """
max_connections = 200
shared_buffers = '256MB'
effective_cache_size = '2GB'
work_mem = '8MB'
maintenance_work_mem = '128MB'
fsync = on
synchronous_commit = on
full_page_writes = on
max_wal_size = '1GB'
password_encryption = 'scram-sha-256'
logging_collector = off
log_line_prefix = '%m [%p] %q%u@%d '
log_min_duration_statement = '1s'
timezone = 'UTC'
"""


# ---- credentials and URLs ----------------------------------------------------------------------


def load_passwords(path: Path) -> dict[str, str]:
    """``role -> password`` for ``caseflow_admin`` and every service role, from ``database_users``."""
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise infra.InfraError(f"cannot read the credentials file {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise infra.InfraError(f"the credentials file {path} is not valid JSON: {exc}") from None
    users = data.get("database_users") if isinstance(data, dict) else None
    if not isinstance(users, dict):
        raise infra.InfraError(f"{path}: expected a `database_users` object (PostgreSQL role -> password)")
    roles = (ADMIN, *infra.DATABASE_SERVICES)
    for role in roles:
        if not isinstance(users.get(role), str) or not PASSWORD_RE.match(users[role]):
            raise infra.InfraError(f"{path}: `database_users.{role}` must be 8-128 characters from A-Za-z0-9._~-")
    return {r: users[r] for r in roles}


def url(settings: InfraSettings, role: str, database: str, password: str | None = None) -> str:
    pw = password if password is not None else load_passwords(settings.credentials_file)[role]
    return f"postgresql://{role}:{pw}@{infra.HOST}:{settings.postgres_port}/{database}"


def service_url(settings: InfraSettings, service: str) -> str:
    if service not in infra.DATABASE_SERVICES:
        raise infra.InfraError(f"no database for {service!r}; services with one: {', '.join(infra.DATABASE_SERVICES)}")
    return url(settings, service, service)


def redact(database_url: str) -> str:
    """The URL without its password (for banners and tables)."""
    return re.sub(r"^(postgresql://[^:/@]+):[^@]*@", r"\1@", database_url)


# ---- binaries ----------------------------------------------------------------------------------


def _has_server(bindir: Path) -> bool:
    return all(os.access(bindir / b, os.X_OK) for b in ("initdb", "pg_ctl", "postgres"))


def bindir() -> Path | None:
    """Debian's PostgreSQL 15 server binaries, or ``pg_config --bindir`` if that names a 15 server."""
    if _has_server(DEBIAN_BINDIR):
        return DEBIAN_BINDIR
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run([pg_config, "--bindir", "--version"], capture_output=True, text=True, timeout=10)
            lines = out.stdout.splitlines()
            if out.returncode == 0 and len(lines) == 2 and re.match(r"PostgreSQL 15\b", lines[1]):
                found = Path(lines[0].strip())
                if _has_server(found):
                    return found
    return None


def ensure_installed() -> Path:
    """The server binaries; installs Debian's ``postgresql-15`` with apt-get when missing and we are root."""
    found = bindir()
    if found is not None:
        return found
    hint = f"PostgreSQL 15 server binaries not found (looked in {DEBIAN_BINDIR} and `pg_config --bindir`)"
    if os.geteuid() != 0:
        raise infra.InfraError(f"{hint}; install Debian's package: sudo apt-get install -y {PACKAGE}")
    if not shutil.which("apt-get"):
        raise infra.InfraError(f"{hint}, and apt-get is not available to install {PACKAGE}")
    infra._progress(f"installing {PACKAGE} with apt-get (first run only)...")  # noqa: SLF001
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", PACKAGE]):
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            out = "\n".join((proc.stdout + proc.stderr).splitlines()[-infra.LOG_TAIL_LINES :])
            raise infra.InfraError(f"`{' '.join(cmd)}` failed while installing {PACKAGE}:\n{out}")
    found = bindir()
    if found is None:
        raise infra.InfraError(f"{PACKAGE} was installed but {DEBIAN_BINDIR} holds no initdb/pg_ctl/postgres")
    return found


# ---- who runs the server, and where ------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    """The OS user the server runs as (None fields: ourselves, when we are not root)."""

    name: str
    uid: int | None = None
    gid: int | None = None

    def run(self, cmd: list[str], cwd: Path, **kw: Any) -> subprocess.CompletedProcess[Any]:
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C", "HOME": str(cwd)}
        if self.uid is None:
            return subprocess.run(cmd, cwd=cwd, env={**os.environ, "LC_ALL": "C"}, **kw)
        return subprocess.run(cmd, cwd=cwd, env=env, user=self.uid, group=self.gid, extra_groups=[], **kw)

    def own(self, path: Path) -> None:
        if self.uid is not None:
            os.chown(path, self.uid, self.gid if self.gid is not None else -1)


def account() -> Account:
    """Ourselves, or as root the ``postgres`` user (``caseflow-pg`` is created if neither exists)."""
    if os.geteuid() != 0:
        return Account(pwd.getpwuid(os.geteuid()).pw_name)
    for name in SERVER_ACCOUNTS:
        with contextlib.suppress(KeyError):
            entry = pwd.getpwnam(name)
            return Account(name, entry.pw_uid, entry.pw_gid)
    name = SERVER_ACCOUNTS[-1]
    proc = subprocess.run(
        ["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
         "--shell", "/usr/sbin/nologin", "--comment", "caseflow PostgreSQL server", name],
        capture_output=True, text=True,
    )  # fmt: skip
    if proc.returncode not in (0, 9):  # 9: created meanwhile by a concurrent run
        raise infra.InfraError(f"PostgreSQL does not run as root and creating the OS user {name} failed: {proc.stderr}")
    entry = pwd.getpwnam(name)
    return Account(name, entry.pw_uid, entry.pw_gid)


def _location_record(settings: InfraSettings) -> Path:
    return settings.home / "postgres.location"


def _relocated_base(settings: InfraSettings) -> Path:
    digest = hashlib.sha256(str(settings.home.resolve()).encode()).hexdigest()[:12]
    return RELOCATE_ROOT / f"{RELOCATED_PREFIX}{digest}"


def base_dir(settings: InfraSettings) -> Path:
    """Where the cluster lives: the recorded relocation, else ``<home>/postgres``."""
    with contextlib.suppress(OSError):
        recorded = Path(_location_record(settings).read_text().strip())
        if recorded.is_absolute() and recorded.name.startswith(RELOCATED_PREFIX):
            return recorded
    return settings.home / "postgres"


def data_dir(settings: InfraSettings) -> Path:
    return base_dir(settings) / "data"


def socket_dir(settings: InfraSettings) -> Path:
    return base_dir(settings) / "run"


def _can_reach(acct: Account, path: Path) -> bool:
    """Whether ``acct`` can traverse every directory down to ``path``."""
    if acct.uid is None:
        return True
    test = shutil.which("test") or "/usr/bin/test"
    return acct.run([test, "-x", str(path)], cwd=Path("/"), capture_output=True).returncode == 0


def _choose_base(settings: InfraSettings, acct: Account) -> Path:
    """A new cluster's base: ``<home>/postgres`` if the server user reaches it, else relocated (and recorded)."""
    settings.home.mkdir(parents=True, exist_ok=True)
    base = settings.home / "postgres"
    socket_len = len(str(base / "run" / f".s.PGSQL.{settings.postgres_port}.lock"))
    if _can_reach(acct, settings.home) and socket_len <= SOCKET_PATH_MAX:
        _location_record(settings).unlink(missing_ok=True)
        return base
    base = _relocated_base(settings)
    _location_record(settings).write_text(f"{base}\n")
    infra._progress(f"postgres: {acct.name} cannot use {settings.home}; the cluster lives in {base}")  # noqa: SLF001
    return base


def _prepare_base(base: Path, acct: Account) -> None:
    base.mkdir(parents=True, exist_ok=True)
    if base.is_symlink() or base.stat().st_uid not in (acct.uid if acct.uid is not None else os.geteuid(), 0):
        raise infra.InfraError(f"{base} belongs to another user; remove it or set CASEFLOW_INFRA_HOME elsewhere")
    acct.own(base)
    base.chmod(0o700)
    (base / "run").mkdir(exist_ok=True)
    acct.own(base / "run")
    (base / "run").chmod(0o700)


# ---- cluster -----------------------------------------------------------------------------------


def initialised(settings: InfraSettings) -> bool:
    return (data_dir(settings) / "PG_VERSION").is_file()


def _initdb(settings: InfraSettings, acct: Account, bindir: Path, base: Path) -> None:
    data = base / "data"
    infra._progress(f"postgres: initdb {data} (first run only)...")  # noqa: SLF001
    pwfile = base / ".initdb-pw"
    fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(load_passwords(settings.credentials_file)[ADMIN] + "\n")
    acct.own(pwfile)
    try:
        proc = acct.run(
            [str(bindir / "initdb"), "-D", str(data), "-U", ADMIN, f"--pwfile={pwfile}",
             "--auth-local=scram-sha-256", "--auth-host=scram-sha-256", "--encoding=UTF8", "--locale=C",
             "--data-checksums", "--no-instructions"],
            cwd=base, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
    finally:
        pwfile.unlink(missing_ok=True)
    if proc.returncode != 0:
        raise infra.InfraError(f"initdb into {data} failed:\n{(proc.stdout + proc.stderr)[-3000:]}")
    with open(data / "postgresql.conf", "a") as fh:
        fh.write("\n# caseflow: port, sockets and server settings, rewritten on every start\n")
        fh.write("include_if_exists = 'caseflow.conf'\n")


def _write_config(settings: InfraSettings, acct: Account) -> None:
    conf = data_dir(settings) / "caseflow.conf"
    lines = [
        "# generated by caseflow infra on every start (edit caseflow_cli/postgres.py instead)",
        f"listen_addresses = '{infra.HOST}'",
        f"port = {settings.postgres_port}",
        f"unix_socket_directories = '{socket_dir(settings)}'",
        "unix_socket_permissions = 0700",
        SERVER_SETTINGS,
    ]
    conf.write_text("\n".join(lines))
    acct.own(conf)


def _postmaster_pid(settings: InfraSettings) -> int | None:
    with contextlib.suppress(OSError, ValueError, IndexError):
        return int((data_dir(settings) / "postmaster.pid").read_text().splitlines()[0])
    return None


def _live_postgres(pid: int | None) -> bool:
    return pid is not None and infra._pid_alive(pid) and "postgres" in infra._cmdline(pid)  # noqa: SLF001


def _clear_stale_locks(settings: InfraSettings) -> None:
    """After a kill -9, postmaster.pid and the socket's lock file stay; remove them unless a postgres owns them.

    PostgreSQL handles a lock whose pid is gone, but not one whose pid was reused by another process."""
    locks = [data_dir(settings) / "postmaster.pid", *socket_dir(settings).glob(".s.PGSQL.*.lock")]
    for lock in locks:
        with contextlib.suppress(OSError, ValueError, IndexError):
            pid = int(lock.read_text().splitlines()[0])
            if _live_postgres(pid):
                raise infra.InfraError(
                    f"a postgres (pid {pid}) already runs on {data_dir(settings)} without a pid record in "
                    f"{settings.run_dir}; stop it (kill -INT {pid}) and run `caseflow infra up` again"
                )
            lock.unlink()
            if lock.name.endswith(".lock"):
                (lock.parent / lock.name[: -len(".lock")]).unlink(missing_ok=True)


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (the postmaster's backends and auxiliary processes)."""
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(stat.parent.name))
    return kids


def kill(pid: int, sig: int) -> list[int]:
    """Signal the postmaster; on SIGKILL also its children, which (each in a session of its own) no process-group
    signal reaches, so the restart does not meet orphaned backends. Returns every pid signalled."""
    pids = [pid, *children(pid)] if sig == signal.SIGKILL else [pid]
    for p in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(p, sig)
    return pids


def start(settings: InfraSettings) -> int:
    """initdb if needed, write the settings, ``pg_ctl start -w``; records and returns the postmaster's pid."""
    binaries = ensure_installed()
    acct = account()
    base = base_dir(settings) if initialised(settings) else _choose_base(settings, acct)
    _prepare_base(base, acct)
    if not initialised(settings):
        _initdb(settings, acct, binaries, base)
    elif acct.uid is not None and data_dir(settings).stat().st_uid != acct.uid:
        for p in [data_dir(settings), *data_dir(settings).rglob("*")]:  # e.g. made by another user before
            os.lchown(p, acct.uid, acct.gid if acct.gid is not None else -1)
    _write_config(settings, acct)
    _clear_stale_locks(settings)
    log = settings.log_file(infra.POSTGRES)
    log.parent.mkdir(parents=True, exist_ok=True)
    timeout = int(settings.start_timeout)
    with open(log, "ab") as out:
        out.write(f"\n==== {time.strftime('%Y-%m-%d %H:%M:%S')} pg_ctl start as {acct.name}\n".encode())
        out.flush()
        # no -l: the postmaster inherits this already-open log, which the server user need not reach itself
        cmd = [str(binaries / "pg_ctl"), "start", "-D", str(data_dir(settings)), "-w", "-t", str(timeout), "-s"]
        try:
            proc = acct.run(cmd, cwd=base, stdin=subprocess.DEVNULL, stdout=out, stderr=out, timeout=timeout + 30)
            code = proc.returncode
        except subprocess.TimeoutExpired:
            code = -1
    pid = _postmaster_pid(settings)
    if code != 0 or not _live_postgres(pid):
        if pid is not None and _live_postgres(pid):
            kill(pid, signal.SIGKILL)
        raise infra._failure(settings, infra.POSTGRES, f"did not start (pg_ctl exit {code})")  # noqa: SLF001
    assert pid is not None
    infra._write_pid(settings, infra.POSTGRES, pid, {"port": settings.postgres_port})  # noqa: SLF001
    return pid


def remove_data(settings: InfraSettings) -> None:
    """Delete the cluster (wherever it lives) and its relocation record."""
    for base in {settings.home / "postgres", base_dir(settings)}:
        if base.exists():
            shutil.rmtree(base)
    _location_record(settings).unlink(missing_ok=True)


# ---- connections -------------------------------------------------------------------------------


def _connect(settings: InfraSettings, role: str, database: str, password: str, timeout: float) -> Any:
    import psycopg

    return psycopg.connect(
        host=infra.HOST, port=settings.postgres_port, user=role, password=password, dbname=database,
        connect_timeout=max(1, int(timeout)), autocommit=True, application_name="caseflow-infra",
    )  # fmt: skip


def probe(settings: InfraSettings, timeout: float = 2.0) -> bool:
    """The server accepts a password login of ``caseflow_admin`` and answers a query."""
    if infra._port_free(settings.postgres_port):  # noqa: SLF001
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
    owners = {ADMIN_DB: ADMIN, **{s: s for s in infra.DATABASE_SERVICES}}
    try:
        with _connect(settings, ADMIN, "postgres", passwords[ADMIN], 10) as conn:
            for role in infra.DATABASE_SERVICES:
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
        where = f"{infra.HOST}:{settings.postgres_port}"
        raise infra.InfraError(f"provisioning roles and databases on PostgreSQL {where} failed: {exc}") from None
