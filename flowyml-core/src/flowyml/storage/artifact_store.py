"""Artifact stores: URI-addressed, content-addressed, atomic storage of step outputs.

Objects live under ``objects/<first two hex digits>/<sha256><extension>``; the extension
names the materializer that reads them back. A write goes to a temporary name and is
renamed into place, so a reader never sees half an artifact. Named files (result
manifests) live under ``named/``.

The core ships the ``file://`` store; plugins add schemes (``gs://`` ...) through the
``flowyml_register_artifact_stores`` hook.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from typing import IO, TYPE_CHECKING, Any, ClassVar

from flowyml.definition.fingerprint import small_sha256
from flowyml.errors import ArtifactError, ArtifactLoadError, MaterializationError
from flowyml.records.artifact_ref import ArtifactRef
from flowyml.storage.database import Database
from flowyml.storage.file_uris import file_uri, path_of_file_uri, plain_path, uri_extension
from flowyml.storage.materializers import Materializer

if TYPE_CHECKING:
    from concurrent.futures import Future
    from pathlib import Path

__all__ = ["ArtifactStore", "LocalArtifactStore"]


def _new_temp_file(folder: str) -> tuple[int, str]:
    """A new file of this process's alone in ``folder``, open for writing, as
    ``tempfile.mkstemp(dir=folder, suffix=".part")`` makes it (mode 0600, never an existing
    file), without importing tempfile and shutil: a step runner writes through here and
    starts once per step group."""
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    while True:
        name = os.path.join(folder, f"tmp{os.urandom(6).hex()}.part")
        try:
            return os.open(name, flags, 0o600), name
        except FileExistsError:
            continue


class ArtifactStore(ABC):
    """Stores artifacts under a root URI.

    Subclasses implement the byte-level operations; materialization is shared.

    Attributes:
        scheme: the URI scheme served, e.g. ``"file"`` or ``"gs"``.
        root: the root URI.
    """

    scheme: ClassVar[str]

    def __init__(self, root: str, materializers: Sequence[Materializer] | None = None) -> None:
        from flowyml.storage.materializers import builtin_materializers

        self.root = root.rstrip("/")
        self.materializers: list[Materializer] = list(materializers or builtin_materializers())
        self._by_extension = {m.extension: m for m in reversed(self.materializers)}

    @classmethod
    def root_of(cls, uri: str) -> str:
        """The root of the store that holds ``uri`` (an object URI or a root URI)."""
        return uri

    # -- byte level -------------------------------------------------------------------
    @abstractmethod
    def write_object(self, chunks: Iterable[bytes | memoryview], extension: str) -> ArtifactRef:
        """Write bytes content-addressed and atomically; return their reference."""

    @abstractmethod
    def open(self, uri: str) -> IO[bytes]:
        """Open an artifact for reading.

        Raises:
            ArtifactError: it does not exist or cannot be read.
        """

    @abstractmethod
    def exists(self, uri: str) -> bool:
        """Whether the artifact exists."""

    @abstractmethod
    def write_named(self, key: str, data: bytes) -> str:
        """Write ``data`` atomically under a path-like ``key``; return its URI."""

    @abstractmethod
    def read_named(self, key: str) -> bytes:
        """Read what :meth:`write_named` wrote under ``key``.

        Raises:
            ArtifactError: nothing is stored under ``key``.
        """

    def flush(self) -> None:  # noqa: B027 - optional hook: unbuffered stores need nothing
        """Make every write visible to other processes (no-op for unbuffered stores)."""

    # -- value level ------------------------------------------------------------------
    def materializer_for(self, value: Any) -> Materializer:
        """The first materializer that can write ``value``."""
        for materializer in self.materializers:
            if materializer.can_handle(value):
                return materializer
        raise MaterializationError(f"no materializer can write a {type(value).__name__}")

    def save(self, value: Any, what: str = "value") -> ArtifactRef:
        """Materialize and store a value.

        Args:
            value: the value.
            what: how to name the value in errors, e.g. "output 'model' of step 'train'".

        Raises:
            MaterializationError: no materializer could serialise the value.
        """
        materializer = self.materializer_for(value)
        try:
            return self.write_object(materializer.chunks_for(value, what), materializer.extension)
        except pickle_errors() as exc:
            raise MaterializationError(
                f"{what} ({type(value).__module__}.{type(value).__qualname__}) cannot be "
                f"materialized with {materializer.name}: {exc}. Return plain data, a numpy "
                "array, or a picklable object, or register a materializer for this type"
            ) from exc

    def load(self, uri: str) -> Any:
        """Read a value stored by :meth:`save`.

        Raises:
            ArtifactError: no materializer reads it, or it does not exist.
            ArtifactLoadError: its bytes cannot be turned back into a value; the message
                names the artifact, and the step that wrote it when that was recorded.
        """
        extension = uri_extension(uri)
        materializer = self._by_extension.get(extension)
        if materializer is None:
            raise ArtifactError(f"no materializer reads '{extension}' artifacts ({uri})")
        with self.open(uri) as stream:
            try:
                return materializer.load(stream)
            except ArtifactLoadError as exc:
                exc.uri = exc.uri or uri
                raise
            except ArtifactError:
                raise
            except Exception as exc:  # a materializer failing on bad bytes, in its own way
                raise ArtifactLoadError(
                    f"{materializer.name} cannot read it: {type(exc).__name__}: {exc}. If the "
                    "artifact is corrupt, make the step that wrote it run again (bump its "
                    "cache_version)",
                    uri=uri,
                ) from exc


def pickle_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean "this value cannot be serialised"."""
    import pickle

    return (pickle.PicklingError, TypeError, AttributeError, ValueError, RecursionError)


def _path_from_uri(uri: str) -> str:
    scheme, path = path_of_file_uri(uri)
    if scheme not in ("", "file"):
        raise ArtifactError(f"{uri} is not a file:// URI")
    return path


_PACK_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (name TEXT PRIMARY KEY, data BLOB NOT NULL);
"""

SMALL_OBJECT_LIMIT = 64 * 1024


class LocalArtifactStore(ArtifactStore):
    """Artifacts in a local directory (``file://`` URIs).

    Objects up to 64 KiB are kept in ``objects.db`` (SQLite, WAL) in the store's folder,
    written in batched transactions: creating a file costs ~0.1 ms here, so a thousand
    small outputs would otherwise dominate a run. Larger objects are files under
    ``objects/``, streamed to a temporary name and renamed into place. Both kinds are
    addressed by the same URI and are visible to any process that sees the folder (a
    subprocess, or a container with the folder mounted) once :meth:`flush` returned.
    """

    scheme = "file"

    def __init__(self, root: str | Path, materializers: Sequence[Materializer] | None = None):
        # Paths as strings, not pathlib: a step runner builds this store at every start.
        path = _path_from_uri(root) if isinstance(root, str) and "://" in root else root
        self._dir = os.path.realpath(path)
        self._pack_file = os.path.join(self._dir, "objects.db")
        super().__init__(file_uri(self._dir), materializers)
        self._made_dirs: set[str] = set()
        self._pending: dict[str, bytes] = {}
        self._known: set[str] = set()
        self._pack_lock = threading.Lock()
        self._pack: Database | None = None
        self._objects_uri = self.root + "/objects"

    @property
    def path(self) -> Path:
        """The store's folder (absolute, symbolic links resolved)."""
        from pathlib import Path

        return Path(self._dir)

    @classmethod
    def root_of(cls, uri: str) -> str:
        path = _path_from_uri(uri) if "://" in uri else uri
        if plain_path(path) and ".." not in path.split("/"):
            # What pathlib answers below, for the paths our stores write.
            grandparent = os.path.dirname(os.path.dirname(path))
            if os.path.basename(grandparent) == "objects":
                return file_uri(os.path.dirname(grandparent))
            return file_uri(path)
        from pathlib import Path

        whole = Path(path)
        if len(whole.parents) >= 3 and whole.parents[1].name == "objects":
            return whole.parents[2].as_uri()
        return whole.as_uri()

    def _ensure_dir(self, directory: str) -> None:
        if directory not in self._made_dirs:
            os.makedirs(directory, exist_ok=True)
            self._made_dirs.add(directory)

    @property
    def pack(self) -> Database:
        """The database of small objects, opened on first use."""
        if self._pack is None:
            with self._pack_lock:
                if self._pack is None:
                    self._ensure_dir(self._dir)
                    self._pack = Database(self._pack_file, _PACK_SCHEMA)
        return self._pack

    def _object_uri(self, name: str) -> str:
        # String building, not pathlib: this runs once per step output.
        return f"{self._objects_uri}/{name[:2]}/{name}"

    def _object_path(self, hexdigest: str, extension: str) -> str:
        return os.path.join(self._dir, "objects", hexdigest[:2], f"{hexdigest}{extension}")

    def write_object(self, chunks: Iterable[bytes | memoryview], extension: str) -> ArtifactRef:
        iterator = iter(chunks)
        first = next(iterator, b"")
        second = next(iterator, None)
        if second is None and len(first) <= SMALL_OBJECT_LIMIT:
            data = bytes(first)
            hexdigest = small_sha256(data).hexdigest()
            name = hexdigest + extension
            # Queued again once committed (INSERT OR IGNORE costs nothing then): `flowyml gc`
            # in another process may have removed the row since this process wrote it.
            if name not in self._pending:
                self._known.add(name)
                self._pending[name] = data
                self.pack.write(
                    "INSERT OR IGNORE INTO objects (name, data) VALUES (?, ?)", (name, data)
                )
            return ArtifactRef(self._object_uri(name), hexdigest, len(data), self)
        rest = itertools.chain([first], [] if second is None else [second], iterator)
        return self._write_file(rest, extension)

    def flush(self) -> None:
        """Commit queued small objects so that other processes see them."""
        if self._pack is not None:
            self._pack.flush()
        self._pending.clear()

    def _write_file(self, chunks: Iterable[bytes | memoryview], extension: str) -> ArtifactRef:
        tmp_dir = os.path.join(self._dir, "tmp")
        self._ensure_dir(tmp_dir)
        import hashlib  # OpenSSL's SHA-256: the fastest on large objects

        digest = hashlib.sha256()
        size = 0
        fd, tmp_name = _new_temp_file(tmp_dir)
        # Hashing and writing both release the GIL on large buffers: hash each chunk on a
        # helper thread while this one writes it, so a large array costs max(hash, write)
        # rather than their sum. One worker keeps the updates in order.
        from concurrent.futures import ThreadPoolExecutor  # large objects only

        hasher = ThreadPoolExecutor(1, thread_name_prefix="flowyml-hash")
        try:
            pending: list[Future[None]] = []
            with os.fdopen(fd, "wb", buffering=0) as handle:
                for chunk in chunks:
                    pending.append(hasher.submit(digest.update, chunk))
                    view = memoryview(chunk)
                    while view:  # an unbuffered write may take only part of the chunk
                        view = view[handle.write(view) or 0 :]
                    size += len(chunk)
                    if len(pending) > 2:  # bound the chunks held alive by queued updates
                        pending.pop(0).result()
            for future in pending:
                future.result()
            hexdigest = digest.hexdigest()
            target = self._object_path(hexdigest, extension)
            self._ensure_dir(os.path.dirname(target))
            os.replace(tmp_name, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):  # already renamed: nothing to undo
                os.unlink(tmp_name)
            raise
        finally:
            hasher.shutdown(wait=True)
        return ArtifactRef(file_uri(target), hexdigest, size, self)

    def _packed(self, name: str) -> bytes | None:
        data = self._pending.get(name)
        if data is not None:
            return data
        if not os.path.exists(self._pack_file):
            return None
        rows = self.pack.query("SELECT data FROM objects WHERE name=?", (name,))
        return bytes(rows[0][0]) if rows else None

    def open(self, uri: str) -> IO[bytes]:
        path = _path_from_uri(uri)
        try:
            return open(path, "rb")
        except FileNotFoundError:
            data = self._packed(os.path.basename(path))
            if data is None:
                raise ArtifactError(f"artifact {uri} does not exist") from None
            return io.BytesIO(data)
        except OSError as exc:
            raise ArtifactError(f"cannot read artifact {uri}: {exc.strerror}") from exc

    def exists(self, uri: str) -> bool:
        if uri.startswith(self._objects_uri) and uri.rpartition("/")[2] in self._known:
            return True
        path = _path_from_uri(uri)
        name = os.path.basename(path)
        if os.path.exists(path) or self._packed(name) is not None:
            self._known.add(name)
            return True
        return False

    def delete(self, uri: str) -> None:
        """Remove an artifact (a later cache look-up that needs it becomes a miss)."""
        path = _path_from_uri(uri)
        name = os.path.basename(path)
        self._known.discard(name)
        self._pending.pop(name, None)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        if os.path.exists(self._pack_file):
            self.pack.write("DELETE FROM objects WHERE name=?", (name,))
            self.pack.flush()

    def _named_path(self, key: str) -> str:
        if key.startswith("/") or ".." in key.split("/"):
            raise ArtifactError(f"named artifact key {key!r} must be a relative path")
        return os.path.normpath(os.path.join(self._dir, "named", key))

    def write_named(self, key: str, data: bytes) -> str:
        target = self._named_path(key)
        folder = os.path.dirname(target)
        self._ensure_dir(folder)
        fd, tmp_name = _new_temp_file(folder)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp_name, target)
        return file_uri(target)

    def read_named(self, key: str) -> bytes:
        path = self._named_path(key)
        try:
            with open(path, "rb") as handle:
                return handle.read()
        except OSError as exc:
            raise ArtifactError(f"nothing stored under {key!r} in {self.root}") from exc
