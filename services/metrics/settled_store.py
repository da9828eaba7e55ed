"""Settled cases off the heap (已结案件): the fold states of cases that can no longer change by themselves.

A case whose latest step closes it and whose deadlines are all settled (`fold.settled`) leaves the engine's
memory for this store: RocksDB (rocksdict) on local disk, keyed by correlation id, with every case id and partner
reference the case answers to as a key of its own. Timelines and progress queries read it by key; a late event
reloads the case into memory. The store is a cache of the writers' changelog, which stays the source of truth:
it is built afresh from the changelog on every start and assignment (docs/decisions/0013).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import psutil
from rocksdict import AccessType, BlockBasedOptions, Cache, Options, Rdict, WriteBatch

from services.metrics.fold import CaseState
from services.metrics.writer_state import dump_case, load_case

log = logging.getLogger(__name__)
_CASE = b"c:"  # correlation id → the pickled case
_ALIAS = b"a:"  # case id / partner reference → correlation id


_CACHE = Cache(16 * 2**20)  # one block cache for every store of the process


def _options() -> Options:
    """Small write buffers (a writer holds a store per partition it owns), a shared block cache, and bloom filters:
    most lookups are for a case not in the store (a new case's first event)."""
    options = Options(raw_mode=True)
    options.create_if_missing(True)
    options.set_paranoid_checks(True)
    options.set_write_buffer_size(4 * 2**20)
    options.set_max_write_buffer_number(2)
    table = BlockBasedOptions()
    table.set_bloom_filter(10, False)
    table.set_block_cache(_CACHE)
    table.set_cache_index_and_filter_blocks(True)  # in the cache's bound, not growing with the stored cases
    table.set_pin_l0_filter_and_index_blocks_in_cache(True)
    options.set_block_based_table_factory(table)
    return options


class SettledCases:
    """The settled cases of one engine, in a RocksDB directory of their own."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = Rdict(str(path), _options())
        self.count = 0  # cases held (the store is built by this process, so counting its puts is exact)

    @classmethod
    def fresh(cls, path: Path) -> SettledCases:
        """An empty store at `path` (nothing of an earlier one kept)."""
        shutil.rmtree(path, ignore_errors=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        return cls(path)

    def put_all(self, cases: Iterable[tuple[CaseState, Iterable[str]]]) -> int:
        """Store cases with the ids they answer to; returns how many."""
        batch = WriteBatch(raw_mode=True)
        n = 0
        for case, aliases in cases:
            cid = case.correlation_id
            batch.put(_CASE + cid.encode(), dump_case(case))
            for alias in aliases:
                batch.put(_ALIAS + alias.encode(), cid.encode())
            n += 1
        if n:
            self._db.write(batch)
            self.count += n  # never a case it holds: the engine takes a case out before folding it again
        return n

    def get(self, correlation_id: str) -> CaseState | None:
        raw = self._db.get(_CASE + correlation_id.encode())
        return None if raw is None else load_case(raw)

    def take(self, correlation_id: str) -> CaseState | None:
        """The case, removed from the store (it goes back into memory: a late event for it)."""
        key = _CASE + correlation_id.encode()
        raw = self._db.get(key)
        if raw is None:
            return None
        self._db.delete(key)
        self.count -= 1
        return load_case(raw)

    def correlation_id(self, any_id: str) -> str | None:
        """The correlation id a case id or partner reference of a settled case belongs to."""
        raw = self._db.get(_ALIAS + any_id.encode())
        return None if raw is None else bytes(raw).decode()

    def __iter__(self) -> Iterator[CaseState]:
        it = self._db.iter()
        it.seek(_CASE)
        while it.valid() and bytes(it.key()).startswith(_CASE):
            yield load_case(it.value())
            it.next()

    def __len__(self) -> int:
        return self.count

    def close(self, *, remove: bool = False) -> None:
        self._db.close()
        if remove:
            shutil.rmtree(self.path, ignore_errors=True)


def process_stores(state_dir: Path, owner: str) -> Path:
    """A new directory for one writer's or follower's settled-case stores, `<state_dir>/settled/<owner>/<pid>/…`.
    The stores a process no longer running left there (a stop, a crash, a truncated or corrupted disk; or this
    process's pid before a restart, as in a container) are named in the log with what was found, and removed: the
    changelog refills the new ones."""
    root = state_dir / "settled" / owner
    if not root.is_dir():
        log.info("%s: no settled-case store under %s yet: building it from the changelog", owner, root)
    for left in sorted(root.iterdir()) if root.is_dir() else []:
        pid = int(left.name) if left.name.isdigit() else None
        if pid == os.getpid() and left.is_dir():
            _discard(owner, [d for d in left.iterdir() if d not in _LIVE])
        elif pid is None or not psutil.pid_exists(pid):  # another live process's are its own (writers sharing a disk)
            _discard(owner, [left])
    mine = root / str(os.getpid())
    mine.mkdir(parents=True, exist_ok=True)
    made = Path(tempfile.mkdtemp(prefix="stores-", dir=mine))
    _LIVE.add(made)
    return made


_LIVE: set[Path] = set()  # the store directories this process made


def _discard(owner: str, paths: list[Path]) -> None:
    for path in paths:
        stores = [d for d in path.rglob("*") if (d / "CURRENT").exists()] or [path]
        for store in stores:
            log.warning("%s: settled-case store %s %s: rebuilding from the changelog", owner, store, _state_of(store))
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink()


def _state_of(path: Path) -> str:
    """What an earlier run left at `path`: a readable store, or why it is not one."""
    try:
        db = Rdict(str(path), _options(), access_type=AccessType.read_only())
    except Exception as exc:  # rocksdict raises plain Exceptions for corruption and missing files
        return f"is unreadable ({str(exc).splitlines()[0][:160]})"
    db.close()
    return "was left by an earlier run"
