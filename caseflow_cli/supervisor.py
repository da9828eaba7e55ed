"""Start, watch and stop the platform's Python programs: `make run` and the fault suite both use this.

Every program runs as its own subprocess in its own session (a signal to the supervisor never reaches it by
accident, and kill -9 / SIGSTOP reach the whole program), with the supervisor's environment plus its own, and
its output appended to `<log dir>/<name>.log`. Only the pids it started are ever signalled.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Program:
    name: str
    argv: list[str]
    port: int | None = None  # an HTTP service answers /readyz on it
    module: str | None = None  # the module that must exist for the program to start (`make run` skips it else)
    env: dict[str, str] = field(default_factory=dict)
    principal: str | None = None  # the broker user it connects as in secure mode (None: no Kafka)
    database: str | None = None  # its PostgreSQL role and database (None: no database)

    @property
    def url(self) -> str | None:
        return f"http://127.0.0.1:{self.port}" if self.port else None


def service(
    name: str, port: int, *, label: str | None = None, principal: str | None = None, database: str | None = None
) -> Program:
    """A service under uvicorn; `label` names a further instance of it (same groups and database, its own port)."""
    argv = [sys.executable, "-m", "uvicorn", "--factory", f"services.{name}.main:create_app"]
    argv += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    return Program(label or name, argv, port, f"services.{name}.main", principal=principal, database=database)


def module(name: str, mod: str, *args: str, principal: str | None = None, database: str | None = None) -> Program:
    """A program run as `python -m <mod> [args]`."""
    return Program(name, [sys.executable, "-m", mod, *args], module=mod, principal=principal, database=database)


@dataclass
class Supervisor:
    env: dict[str, str]
    log_dir: Path
    unset: frozenset[str] = frozenset()  # inherited variables a program must not see unless given its own
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    programs: dict[str, Program] = field(default_factory=dict)

    def log_of(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def start(self, program: Program, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        """Start a program with the supervisor's environment, then `env`, then the program's own."""
        self.programs[program.name] = program
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with self.log_of(program.name).open("ab") as log:
            log.write(f"\n==== {time.strftime('%H:%M:%S')} start {' '.join(program.argv)}\n".encode())
            log.flush()
            proc = subprocess.Popen(
                program.argv,
                cwd=REPO,
                env={
                    **{k: v for k, v in os.environ.items() if k not in self.unset},
                    **self.env,
                    **(env or {}),
                    **program.env,
                    "PYTHONPATH": str(REPO),
                },
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.procs[program.name] = proc
        return proc

    def wait_ready(self, name: str, timeout: float = 90) -> float:
        """Seconds until the program answers /readyz 200 (or, without a port, is still alive after 3 s)."""
        program, proc = self.programs[name], self.procs[name]
        started = time.monotonic()
        deadline = started + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}; see {self.log_of(name)}")
            if program.url is None:
                if time.monotonic() - started >= 3:
                    return time.monotonic() - started
            else:
                try:
                    if httpx.get(f"{program.url}/readyz", timeout=2).status_code == 200:
                        return time.monotonic() - started
                except httpx.HTTPError:
                    pass
            time.sleep(0.3)
        raise TimeoutError(f"{name} not ready within {timeout:g} s; see {self.log_of(name)}")

    def exited(self) -> tuple[str, int] | None:
        """The first program that has exited, with its exit status (None while all run)."""
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                return name, proc.returncode
        return None

    def kill9(self, name: str) -> int:
        proc = self.procs[name]
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        return proc.pid

    def pause(self, name: str) -> None:
        """SIGSTOP: the process (its heartbeats included) freezes without closing a socket."""
        os.killpg(self.procs[name].pid, signal.SIGSTOP)

    def resume(self, name: str) -> None:
        proc = self.procs[name]
        if proc.poll() is None:  # a dead one has nothing to resume (and no process group to signal)
            os.killpg(proc.pid, signal.SIGCONT)

    def stop(self, name: str, timeout: float = 15) -> int:
        """A clean stop (SIGTERM: a service leaves its consumer groups), kill -9 if it hangs."""
        proc = self.procs[name]
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        return proc.returncode

    def restart(self, name: str) -> subprocess.Popen[bytes]:
        proc = self.procs[name]
        if proc.poll() is None:
            raise RuntimeError(f"{name} (pid {proc.pid}) still runs; kill it first")
        return self.start(self.programs[name])

    def alive(self, name: str) -> bool:
        return self.procs[name].poll() is None

    def stop_all(self, timeout: float = 10) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGCONT)  # a paused one could not act on SIGTERM
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
