"""The production metrics writer (`python -m services.metrics.writer`, as under `make run`) as a process of its own
for the benchmarks: started and stopped, waited for until several share the by-case partitions, its CPU time and
its peak RSS read from /proc."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from shared.settings import PlatformSettings


def writer_process(platform: PlatformSettings, state_dir: Path, log: Path) -> subprocess.Popen[bytes]:
    """The production writer (`python -m services.metrics.writer`, as under `make run`), logging to `log`."""
    env = {**os.environ, **platform.to_env(), "CASEFLOW_LOG_LEVEL": "INFO", "METRICS_STATE_DIR": str(state_dir)}
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, "-m", "services.metrics.writer"], env=env, stderr=out, stdout=out)


def stop_all(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


# a writer's log line after each assignment: the partitions it owns, the cases it loaded
OWNS = re.compile(rb"owns by-case partitions \[([\d, ]*)\], (\d+) cases recovered")


async def writers_sharing(procs: list[subprocess.Popen[bytes]], logs: list[Path], partitions: int) -> None:
    """Until the writers' last assignments (from their logs) split every by-case partition between them, each
    owning some."""
    deadline = time.monotonic() + 180
    while True:
        owned = []
        for proc, log in zip(procs, logs, strict=True):
            if proc.poll() is not None:
                raise RuntimeError(f"a metrics writer exited with {proc.returncode}: {log.read_bytes()[-2000:]!r}")
            found = OWNS.findall(log.read_bytes())
            owned.append({int(p) for p in found[-1][0].split(b",") if p.strip()} if found else set())
        if all(owned) and sum(map(len, owned)) == partitions and set().union(*owned) == set(range(partitions)):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"the writers did not split the partitions between them: {owned}")
        await asyncio.sleep(0.5)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_of(pid: int) -> float:
    """A live process's peak RSS in MB (VmHWM, the kernel's high-water mark: no sample misses a spike)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for process {pid}")
