"""The persisted tables of the local SageMaker: one lock, atomic writes, safe across processes.

Every change is a transaction: under the instance's lock and an exclusive ``flock`` on a lock file
beside the state file, the document is re-read from disk, changed, and written back atomically.
So two instances (in one process or in two) that share a state directory both keep their rows:
what the other wrote since is read before the change, never overwritten by an older copy.

Records that background work is busy with carry ``_owner`` (``"<pid>:<token>"``), so a new
instance can tell work a live process is still doing from work a dead process left unfinished.
"""

from __future__ import annotations

import contextlib
import copy
import os
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .state import Signature, StateFile

try:
    import fcntl
except ImportError:  # Windows: no flock; one process per state directory is then the user's job
    fcntl = None

STATE_FILE = "sagemaker-state.json"
LOCK_FILE = "sagemaker-state.lock"
Tables = dict[str, Any]

# Owners of the instances open in this process (another process's owners are checked by pid).
_OPEN_OWNERS: set[str] = set()


def owner_is_live(owner: str | None) -> bool:
    """True while the instance that wrote ``owner`` can still finish its work."""
    if not owner:
        return False
    pid_text, _, _token = owner.partition(":")
    try:
        pid = int(pid_text)
    except ValueError:
        return False
    if pid == os.getpid():
        return owner in _OPEN_OWNERS
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        return True
    return True


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    if fcntl is None:
        yield
        return
    with open(lock_path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


class Store:
    """The tables of one state directory, as seen by one ``LocalSageMaker`` instance.

    ``lock`` is the one lock of the instance: hold it to read or change the tables or the
    in-memory registries beside them. ``read()`` gives the current tables (reloaded when another
    writer replaced the file); ``write()`` is a transaction. Neither may be held across slow work.
    """

    def __init__(self, state_dir: Path):
        state_dir.mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()
        # Counts this instance's transactions; a long-polling Describe waits for it to move.
        self.changes = 0
        self._changed = threading.Condition(self.lock)
        self.owner = f"{os.getpid()}:{secrets.token_hex(6)}"
        self._file = StateFile(state_dir / STATE_FILE)
        self._lock_path = state_dir / LOCK_FILE
        self._tables: Tables = {}
        self._signature: Signature | None | bool = False  # False: never loaded
        self._writing = False
        with self.read():
            pass  # a corrupt file fails the constructor, not the first API call
        _OPEN_OWNERS.add(self.owner)

    def release(self) -> None:
        """This instance will do no more work: its unfinished records belong to nobody now."""
        _OPEN_OWNERS.discard(self.owner)

    @contextlib.contextmanager
    def read(self) -> Iterator[Tables]:
        """The current tables, under the lock. Copy what leaves the ``with`` block."""
        with self.lock:
            if not self._writing:
                signature = self._file.signature()
                if signature != self._signature:
                    self._tables, self._signature = self._file.load(), signature
            yield self._tables

    @contextlib.contextmanager
    def write(self) -> Iterator[Tables]:
        """A transaction: re-read, change, write atomically, all under the cross-process lock.

        When the block raises, nothing is written and the in-memory copy is dropped, so a
        half-made change is never saved by a later transaction.
        """
        with self.lock:
            if self._writing:  # nested: the outer transaction writes
                yield self._tables
                return
            with _exclusive(self._lock_path):
                self._tables = self._file.load()
                self._writing = True
                try:
                    yield self._tables
                except BaseException:
                    self._signature = False
                    raise
                finally:
                    self._writing = False
                self._signature = self._file.save(self._tables)
                self.changes += 1
                self._changed.notify_all()

    def wait_for_change(self, seen: int, timeout: float) -> None:
        """Return once a transaction after the one counted ``seen`` is written, or after ``timeout``.

        Only this instance's transactions are counted: a caller that must also see another
        process's writes re-reads after a short ``timeout``.
        """
        with self._changed:
            self._changed.wait_for(lambda: self.changes != seen, timeout)


def public(record: dict) -> dict:
    """A copy of a record without the emulator's private ``_`` fields."""
    return {key: copy.deepcopy(value) for key, value in record.items() if not key.startswith("_")}


def merge_tags(tables: Tables, arn: str, tags: list[dict] | None) -> None:
    """Add or overwrite tags of ``arn`` (Tags at Create* and AddTags behave alike)."""
    if tags:
        current = {tag["Key"]: tag["Value"] for tag in tables["tags"].get(arn, [])}
        current.update({tag["Key"]: tag.get("Value", "") for tag in tags})
        tables["tags"][arn] = [{"Key": key, "Value": value} for key, value in current.items()]
