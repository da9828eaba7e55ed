"""The platform's Python processes for the fault suite: start, kill -9 and restart each one by name.

Every program runs as its own subprocess (as `make run` starts them), in its own session, with settings from
`CASEFLOW_*` variables and its output appended to `<home>/logs/<name>.log`. The suite kills only the pids it
started.
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

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Program:
    name: str
    argv: list[str]
    port: int | None = None  # HTTP services answer /readyz on it

    @property
    def url(self) -> str | None:
        return f"http://127.0.0.1:{self.port}" if self.port else None


def service(name: str, port: int, *, label: str | None = None) -> Program:
    """A department service; `label` names a further instance of it (same groups and database, its own port)."""
    argv = [sys.executable, "-m", "uvicorn", "--factory", f"services.{name}.main:create_app"]
    argv += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    return Program(label or name, argv, port)


def module(name: str, mod: str) -> Program:
    return Program(name, [sys.executable, "-m", mod])


@dataclass
class Supervisor:
    env: dict[str, str]
    log_dir: Path
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    programs: dict[str, Program] = field(default_factory=dict)

    def start(self, program: Program) -> subprocess.Popen[bytes]:
        self.programs[program.name] = program
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_dir / f"{program.name}.log", "ab") as log:
            log.write(f"\n==== {time.strftime('%H:%M:%S')} start {' '.join(program.argv)}\n".encode())
            log.flush()
            proc = subprocess.Popen(
                program.argv,
                cwd=REPO,
                env={**os.environ, **self.env, "PYTHONPATH": str(REPO)},
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
                raise RuntimeError(f"{name} exited with {proc.returncode}; see {self.log_dir / (name + '.log')}")
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
        raise TimeoutError(f"{name} not ready within {timeout:g} s; see {self.log_dir / (name + '.log')}")

    def kill9(self, name: str) -> int:
        proc = self.procs[name]
        os.killpg(proc.pid, signal.SIGKILL)  # the whole session: uvicorn has no workers, but be thorough
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
        """A clean stop (SIGTERM: the service leaves its consumer groups), kill -9 if it hangs."""
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
                os.killpg(proc.pid, signal.SIGCONT)  # a paused one (a failed scenario) could not act on SIGTERM
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
