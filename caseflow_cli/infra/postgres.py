"""The PostgreSQL 15 server: Debian's binaries, a cluster of the project's own on a loopback port with a socket
directory of its own, started with ``pg_ctl`` (its roles and databases: ``caseflow_cli.infra.databases``).

Layout: ``<base>/data`` (initdb once; mode 0700) and ``<base>/run`` (socket), ``<base>`` being ``<home>/postgres``;
the log in ``<home>/logs/postgres.log`` and the postmaster's pid record in ``<home>/run/postgres.pid``.

PostgreSQL refuses root: invoked as root, initdb, pg_ctl and the server run as the ``postgres`` OS user (or the
system user ``caseflow-pg``, created when neither exists), which owns ``<base>``. When that user cannot reach
``<home>`` (a checkout under /root, a 0700 temporary directory), or the socket path would be too long, ``<base>``
is ``/var/tmp/caseflow-postgres-<sha256(home)[:12]>``, recorded in ``<home>/postgres.location`` for status, down
and wipe. Anyone else runs the server as themselves.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pwd
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from caseflow_cli.infra import processes
from caseflow_cli.infra.databases import ADMIN, load_passwords
from caseflow_cli.infra.settings import HOST, LOG_TAIL_LINES, POSTGRES, InfraError, InfraSettings

PACKAGE = "postgresql-15"
DEBIAN_BINDIR = Path("/usr/lib/postgresql/15/bin")
SERVER_ACCOUNTS = ("postgres", "caseflow-pg")  # the OS user the server runs as when we are root
RELOCATED_PREFIX = "caseflow-postgres-"
RELOCATE_ROOT = Path("/var/tmp")
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
        raise InfraError(f"{hint}; install Debian's package: sudo apt-get install -y {PACKAGE}")
    if not shutil.which("apt-get"):
        raise InfraError(f"{hint}, and apt-get is not available to install {PACKAGE}")
    processes.progress(f"installing {PACKAGE} with apt-get (first run only)...")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", PACKAGE]):
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            out = "\n".join((proc.stdout + proc.stderr).splitlines()[-LOG_TAIL_LINES:])
            raise InfraError(f"`{' '.join(cmd)}` failed while installing {PACKAGE}:\n{out}")
    found = bindir()
    if found is None:
        raise InfraError(f"{PACKAGE} was installed but {DEBIAN_BINDIR} holds no initdb/pg_ctl/postgres")
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
        raise InfraError(f"PostgreSQL does not run as root and creating the OS user {name} failed: {proc.stderr}")
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
    processes.progress(f"postgres: {acct.name} cannot use {settings.home}; the cluster lives in {base}")
    return base


def _prepare_base(base: Path, acct: Account) -> None:
    base.mkdir(parents=True, exist_ok=True)
    if base.is_symlink() or base.stat().st_uid not in (acct.uid if acct.uid is not None else os.geteuid(), 0):
        raise InfraError(f"{base} belongs to another user; remove it or set CASEFLOW_INFRA_HOME elsewhere")
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
    processes.progress(f"postgres: initdb {data} (first run only)...")
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
        raise InfraError(f"initdb into {data} failed:\n{(proc.stdout + proc.stderr)[-3000:]}")
    with open(data / "postgresql.conf", "a") as fh:
        fh.write("\n# caseflow: port, sockets and server settings, rewritten on every start\n")
        fh.write("include_if_exists = 'caseflow.conf'\n")


def _write_config(settings: InfraSettings, acct: Account) -> None:
    conf = data_dir(settings) / "caseflow.conf"
    lines = [
        "# generated by caseflow infra on every start (edit caseflow_cli/infra/postgres.py instead)",
        f"listen_addresses = '{HOST}'",
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
    return pid is not None and processes.pid_alive(pid) and "postgres" in processes.cmdline(pid)


def _clear_stale_locks(settings: InfraSettings) -> None:
    """After a kill -9, postmaster.pid and the socket's lock file stay; remove them unless a postgres owns them.

    PostgreSQL handles a lock whose pid is gone, but not one whose pid was reused by another process."""
    locks = [data_dir(settings) / "postmaster.pid", *socket_dir(settings).glob(".s.PGSQL.*.lock")]
    for lock in locks:
        with contextlib.suppress(OSError, ValueError, IndexError):
            pid = int(lock.read_text().splitlines()[0])
            if _live_postgres(pid):
                raise InfraError(
                    f"a postgres (pid {pid}) already runs on {data_dir(settings)} without a pid record in "
                    f"{settings.run_dir}; stop it (kill -INT {pid}) and run `caseflow infra up` again"
                )
            lock.unlink()
            if lock.name.endswith(".lock"):
                (lock.parent / lock.name[: -len(".lock")]).unlink(missing_ok=True)


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
    log = settings.log_file(POSTGRES)
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
            processes.signal_tree(pid, signal.SIGKILL)  # its backends too
        raise processes.failure(settings, POSTGRES, f"did not start (pg_ctl exit {code})")
    assert pid is not None
    processes.write_pid(settings, POSTGRES, pid, {"port": settings.postgres_port})
    return pid


def remove_data(settings: InfraSettings) -> None:
    """Delete the cluster (wherever it lives) and its relocation record."""
    for base in {settings.home / "postgres", base_dir(settings)}:
        if base.exists():
            shutil.rmtree(base)
    _location_record(settings).unlink(missing_ok=True)
