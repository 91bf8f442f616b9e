"""References to stored artifacts, and how this process finds the store that holds one.

A reference is a record like any other: it travels in results, manifests and the run
store. Reading its value needs the store; the layers above (the plugin manager, which
knows every installed store class) install the function that finds it, so this module
depends on nothing above it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from flowyml.errors import ArtifactError

if TYPE_CHECKING:
    from flowyml.storage.artifact_store import ArtifactStore

__all__ = ["ArtifactRef", "StoreReader", "install_store_resolver", "store_holding"]


class StoreReader(Protocol):
    """What a reference needs of a store: read a value back by URI."""

    def load(self, uri: str) -> Any: ...


_resolver: Callable[[str], StoreReader] | None = None


def install_store_resolver(resolver: Callable[[str], StoreReader]) -> None:
    """Make ``resolver`` the way references without a store find the one holding them."""
    global _resolver
    _resolver = resolver


def store_holding(uri: str) -> StoreReader:
    """The store that holds ``uri`` in this process.

    Raises:
        ArtifactError: nothing has set up artifact stores in this process yet.
        PluginError: no installed plugin serves the URI's scheme.
    """
    if _resolver is None:
        raise ArtifactError(
            f"cannot read {uri}: no artifact store is set up in this process "
            "(open the project or run a pipeline first)"
        )
    return _resolver(uri)


class ArtifactRef:
    """A reference to a stored artifact; the value is read only when asked for.

    Attributes:
        uri: where the artifact lives.
        digest: SHA-256 of its bytes.
        size: its size in bytes.
    """

    __slots__ = ("_store", "digest", "size", "uri")

    def __init__(self, uri: str, digest: str, size: int, store: ArtifactStore | None = None):
        self.uri = uri
        self.digest = digest
        self.size = size
        self._store = store

    def load(self, store: ArtifactStore | None = None) -> Any:
        """Read the value back with the materializer its extension names.

        Raises:
            ArtifactError: it does not exist or cannot be read
                (:class:`~flowyml.errors.ArtifactLoadError` when its bytes cannot be
                turned back into a value).
        """
        chosen: StoreReader | None = store or self._store
        if chosen is None:
            chosen = store_holding(self.uri)
        return chosen.load(self.uri)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for manifests and records."""
        return {"uri": self.uri, "digest": self.digest, "size": self.size}

    @classmethod
    def from_dict(cls, data: dict[str, Any], store: ArtifactStore | None = None) -> ArtifactRef:
        """Inverse of :meth:`to_dict`."""
        return cls(data["uri"], data.get("digest", ""), int(data.get("size", 0)), store)

    def __repr__(self) -> str:
        return f"ArtifactRef({self.uri!r})"
