"""Values flowing between steps: in memory, stored, or both, with their fingerprint."""

from __future__ import annotations

import threading
from typing import Any

from flowyml.errors import ArtifactLoadError
from flowyml.records.artifact_ref import ArtifactRef
from flowyml.storage.cache import output_fingerprint

__all__ = ["Artifact", "digest_from_uri"]

_MISSING = object()
_LOCK_MAKING = threading.Lock()


def digest_from_uri(uri: str) -> str:
    """The content digest in a content-addressed artifact URI (``.../<digest>.<ext>``)."""
    return uri.rpartition("/")[2].partition(".")[0]


class Artifact:
    """One named output of a step as it flows to its consumers.

    Locally the value travels by reference (no copy); when it only exists in a store,
    it is loaded on first access. The fingerprint identifies the value for cache keys
    without hashing it: derived from the producer's cache key when the producer is
    cacheable, from the stored content's digest otherwise.
    """

    __slots__ = ("_lock", "_value", "fingerprint", "name", "ref")

    def __init__(
        self,
        name: str,
        fingerprint: str,
        value: Any = _MISSING,
        ref: ArtifactRef | None = None,
    ) -> None:
        self.name = name
        self.fingerprint = fingerprint
        self._value = value
        self.ref = ref
        self._lock: threading.Lock | None = None  # made when the value is first loaded

    @classmethod
    def from_result(
        cls, name: str, cache_key: str | None, uri: str | None, value: Any = _MISSING
    ) -> Artifact:
        """The artifact of output ``name`` of a step result."""
        digest = digest_from_uri(uri) if uri else ""
        if cache_key:
            fingerprint = output_fingerprint(cache_key, name)
        elif uri:
            fingerprint = "sha256:" + digest
        else:
            fingerprint = "volatile:" + str(id(value))
        ref = ArtifactRef(uri, digest, 0) if uri else None
        return cls(name, fingerprint, value, ref)

    @property
    def has_value(self) -> bool:
        """Whether the value is in memory already."""
        return self._value is not _MISSING

    @property
    def value(self) -> Any:
        """The value, loaded from the store on first access.

        Raises:
            LookupError: the artifact has neither a value nor a stored copy.
            ArtifactError: the stored copy cannot be read (``ArtifactLoadError`` names the
                artifact and, when recorded, the step that wrote it).
        """
        if self._value is _MISSING:
            with self._load_lock():
                if self._value is _MISSING:
                    if self.ref is None:
                        raise LookupError(f"artifact '{self.name}' has neither value nor ref")
                    try:
                        self._value = self.ref.load()
                    except ArtifactLoadError as exc:
                        exc.what = exc.what or f"artifact '{self.name}'"
                        raise
        return self._value

    def _load_lock(self) -> threading.Lock:
        # Most artifacts are passed by value and never loaded: no lock for each of them.
        if self._lock is None:
            with _LOCK_MAKING:
                if self._lock is None:
                    self._lock = threading.Lock()
        return self._lock

    @property
    def uri(self) -> str | None:
        """Where the artifact is stored, if it is."""
        return None if self.ref is None else self.ref.uri

    def __repr__(self) -> str:
        where = self.uri or "memory"
        return f"Artifact({self.name!r}, {where})"
