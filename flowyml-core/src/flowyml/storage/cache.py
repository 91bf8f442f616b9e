"""The step cache: cache keys and the index from key to stored outputs.

A cache key is the hash of the step's code fingerprint, its cache version, its
parameters and the fingerprints of its inputs. An input's fingerprint is
input-addressed when its producer was cacheable (the producer's key plus the output
name, as Bazel and Nix do), so deciding a hit never hashes data; values that come from
outside the pipeline are fingerprinted by content once.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from flowyml.definition.fingerprint import stable_hash

if TYPE_CHECKING:
    import logging

from flowyml.errors import CacheError
from flowyml.storage.database import Database

__all__ = ["CACHE_FORMAT", "CacheStore", "cache_key", "output_fingerprint"]

# Part of every cache key: bump it when what a key points at changes meaning. 2: pickled
# artifacts name pipeline files' classes by canonical module, never ``__main__``. 3: the
# step's output names are part of the key.
CACHE_FORMAT = "3"


def _log() -> logging.Logger:
    """This module's logger; logging is imported when something is reported (a step
    runner starts once per step group, and usually reports nothing)."""
    import logging

    return logging.getLogger(__name__)


def cache_key(
    fingerprint: str,
    version: str,
    params: dict[str, Any],
    input_fingerprints: list[str],
    outputs: Sequence[str] = (),
) -> str:
    """The cache key of one step execution.

    ``outputs`` are the names the step's results are stored under: two steps of the same
    code reading equal inputs (made by one factory, say) but naming their outputs apart
    must not find each other's entries, whose outputs have the other's names.
    """
    encoded = json.dumps(params, sort_keys=True, separators=(",", ":")) if params else ""
    parts = (fingerprint, version, encoded, tuple(outputs), *input_fingerprints)
    key = _keys.get(parts)
    if key is None:
        # Each part is length-prefixed by stable_hash; the count keeps outputs and inputs
        # apart.
        key = stable_hash(
            CACHE_FORMAT,
            fingerprint,
            version,
            encoded,
            str(len(outputs)),
            *outputs,
            *input_fingerprints,
        )
        _remember(_keys, parts, key)
    return key


def output_fingerprint(producer_key: str, output: str) -> str:
    """The input-addressed fingerprint of a cached step's output."""
    parts = (producer_key, output)
    fingerprint = _keys.get(parts)
    if fingerprint is None:
        fingerprint = stable_hash(producer_key, output)
        _remember(_keys, parts, fingerprint)
    return fingerprint


# The keys computed lately in this process, by what they were computed from: a rerun of
# a pipeline computes the same keys again, each of which costs a SHA-256 over its parts.
# Both functions are pure, so a remembered key is the key. The two kinds of entries never
# collide: a cache key's parts hold a tuple, an output fingerprint's do not.
_keys: dict[tuple[Any, ...], str] = {}
_MAX_KEYS = 20_000  # forgotten all at once past this


def _remember(memo: dict[tuple[Any, ...], str], parts: tuple[Any, ...], key: str) -> None:
    if len(memo) >= _MAX_KEYS:
        memo.clear()
    memo[parts] = key


class CacheStore:
    """Maps cache keys to the artifact references of a step's outputs.

    Entries of the steps of a pipeline are loaded once per run (:meth:`preload`), so a
    lookup is a dictionary access. Writes go through the database's batches.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self._entries: dict[str, dict[str, dict[str, Any]]] = {}
        self._loaded_steps: set[str] = set()
        self._lock = threading.Lock()

    def preload(self, steps: Iterable[str]) -> None:
        """Load the index entries of these steps into memory; an entry that cannot be
        read is dropped, so its step runs again.

        Raises:
            CacheError: the database cannot be read.
        """
        wanted = [s for s in steps if s not in self._loaded_steps]
        if not wanted:
            return
        rows: list[tuple[Any, ...]] = []
        try:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows += self.db.query(
                    f"SELECT key, outputs FROM cache WHERE step IN ({marks})", chunk
                )
        except sqlite3.Error as exc:
            raise self._unusable("read", exc) from exc
        broken: list[str] = []
        with self._lock:
            for key, outputs in rows:
                try:
                    self._entries.setdefault(key, json.loads(outputs))
                except (TypeError, ValueError):
                    broken.append(key)  # never a hit: the step runs and writes it anew
            self._loaded_steps.update(wanted)
        for key in broken:
            _log().warning("flowyml: dropping unreadable cache entry %s of %s", key, self.db.path)
            self.db.write("DELETE FROM cache WHERE key=?", (key,))

    def lookup(self, key: str, step: str) -> dict[str, dict[str, Any]] | None:
        """Output name -> artifact reference dict of a hit, or ``None``."""
        if step not in self._loaded_steps:
            self.preload([step])
        return self._entries.get(key)

    def record(self, key: str, step: str, outputs: dict[str, dict[str, Any]]) -> None:
        """Remember the outputs of a successful execution."""
        with self._lock:
            self._entries[key] = outputs
        self.db.write(
            "INSERT OR REPLACE INTO cache (key, step, outputs, created_at) VALUES (?,?,?,?)",
            (key, step, json.dumps(outputs), time.time()),
        )

    def _unusable(self, what: str, exc: sqlite3.Error) -> CacheError:
        return CacheError(
            f"cannot {what} the cache index in {self.db.path}: {type(exc).__name__}: {exc}"
        )

    def clear(self, steps: Iterable[str] = ()) -> int:
        """Drop every entry (or the entries of ``steps``), committed now; how many.

        Raises:
            CacheError: the database refused (locked past its timeout, read-only...).
        """
        names = list(steps)
        statements: list[tuple[str, tuple[Any, ...]]] = (
            [("DELETE FROM cache WHERE step=?", (name,)) for name in names]
            if names
            else [("DELETE FROM cache", ())]
        )
        try:
            removed = sum(self.db.commit_now(statements))
        except sqlite3.Error as exc:
            raise self._unusable("clear", exc) from exc
        with self._lock:
            self._entries.clear()
            self._loaded_steps.clear()
        return removed

    def forget(self, key: str) -> None:
        """Drop an entry (its artifacts are gone)."""
        with self._lock:
            self._entries.pop(key, None)
        self.db.write("DELETE FROM cache WHERE key=?", (key,))
