"""Materializers: how a Python value is written to and read from bytes on a store.

Built in, in order of preference: JSON for plain data (dicts with string keys, lists,
strings, numbers, booleans, None), ``.npy`` for numpy arrays, parquet for pandas data
frames (when pandas and pyarrow are installed), and pickle for anything else.

Trust boundary: loading a pickle runs code chosen by whoever wrote it. Only read
artifact stores that you and your pipelines alone write to.

A pickled artifact starts with a one-line JSON header recording what it is (e.g. "output
'model' of step 'train'"), so that a failed load can name it. Classes and functions of a
pipeline file are pickled under the file's canonical module name, not ``__main__``, so
that an artifact written by ``python pipe.py`` loads under ``flowyml run pipe.py`` or in
a step runner's process, and the other way round (see :mod:`flowyml.definition.references`).
"""

from __future__ import annotations

import io
import json
import sys
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import IO, Any, ClassVar

from flowyml.errors import ArtifactLoadError

__all__ = [
    "ArtifactLoadError",
    "JSONMaterializer",
    "Materializer",
    "NumpyMaterializer",
    "PandasMaterializer",
    "PickleMaterializer",
    "builtin_materializers",
]

_CHUNK = 16 * 1024 * 1024
_JSON_SCALARS = (str, int, float, bool, type(None))
_compact_json = json.JSONEncoder(separators=(",", ":")).encode


class Materializer(ABC):
    """Writes values of some types to a byte stream and reads them back.

    Attributes:
        name: unique name, recorded with each artifact.
        extension: file extension of artifacts it writes (it selects the reader).
    """

    name: ClassVar[str]
    extension: ClassVar[str]

    @abstractmethod
    def can_handle(self, value: Any) -> bool:
        """Whether this materializer can write ``value`` faithfully."""

    @abstractmethod
    def chunks(self, value: Any) -> Iterator[bytes | memoryview]:
        """The serialised value as a sequence of byte chunks (no full copy needed)."""

    @abstractmethod
    def load(self, stream: IO[bytes]) -> Any:
        """Read a value back from a binary stream."""

    def chunks_for(self, value: Any, what: str) -> Iterator[bytes | memoryview]:
        """:meth:`chunks` of a value described as ``what`` (e.g. "output 'x' of step 's'").

        Formats that can record the description, so that a failed load names the value,
        override this; by default it is not recorded.
        """
        return self.chunks(value)


def _is_plain_json(value: Any, depth: int = 0) -> bool:
    if depth > 100:
        return False
    if isinstance(value, _JSON_SCALARS):
        return type(value) in (str, int, float, bool, type(None))
    if type(value) is list:
        return all(_is_plain_json(v, depth + 1) for v in value)
    if type(value) is dict:
        return all(type(k) is str and _is_plain_json(v, depth + 1) for k, v in value.items())
    return False


class JSONMaterializer(Materializer):
    """Plain data as JSON; only types that round-trip exactly are accepted."""

    name = "json"
    extension = ".json"

    def can_handle(self, value: Any) -> bool:
        return _is_plain_json(value)

    def chunks(self, value: Any) -> Iterator[bytes | memoryview]:
        # One encoder for all (json.dumps builds one per call when given separators), and
        # an int written as json writes it without one: this runs for most step outputs.
        text = int.__repr__(value) if type(value) is int else _compact_json(value)
        return iter((text.encode(),))

    def load(self, stream: IO[bytes]) -> Any:
        return json.loads(stream.read())


class NumpyMaterializer(Materializer):
    """numpy arrays as ``.npy``, streamed from the array's own buffer (no copy)."""

    name = "numpy"
    extension = ".npy"

    def can_handle(self, value: Any) -> bool:
        numpy = sys.modules.get("numpy")  # never import numpy just to ask
        return numpy is not None and type(value) is numpy.ndarray and value.dtype != object

    def chunks(self, value: Any) -> Iterator[bytes | memoryview]:
        import numpy as np
        from numpy.lib import format as npformat

        array = value if value.flags.c_contiguous else np.ascontiguousarray(value)
        header = io.BytesIO()
        npformat.write_array_header_1_0(header, npformat.header_data_from_array_1_0(array))
        yield header.getvalue()
        data = array.reshape(-1).view(np.uint8).data
        for start in range(0, len(data), _CHUNK):
            yield data[start : start + _CHUNK]

    def load(self, stream: IO[bytes]) -> Any:
        import numpy as np

        return np.load(stream, allow_pickle=False)


class PandasMaterializer(Materializer):
    """pandas data frames as parquet (needs pandas and pyarrow)."""

    name = "pandas"
    extension = ".parquet"

    def can_handle(self, value: Any) -> bool:
        pandas = sys.modules.get("pandas")
        if pandas is None or type(value) is not pandas.DataFrame:
            return False
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            return False
        return True

    def chunks(self, value: Any) -> Iterator[bytes | memoryview]:
        buffer = io.BytesIO()
        value.to_parquet(buffer)
        yield buffer.getbuffer()

    def load(self, stream: IO[bytes]) -> Any:
        import pandas

        return pandas.read_parquet(stream)


class PickleMaterializer(Materializer):
    """Anything picklable; see the module docstring for the header and trust boundary."""

    name = "pickle"
    extension = ".pkl"

    def can_handle(self, value: Any) -> bool:
        return True

    def chunks(self, value: Any) -> Iterator[bytes | memoryview]:
        return self._pickled(value, None)

    def chunks_for(self, value: Any, what: str) -> Iterator[bytes | memoryview]:
        return self._pickled(value, what)

    def _pickled(self, value: Any, what: str | None) -> Iterator[bytes | memoryview]:
        buffer = io.BytesIO()
        buffer.write(_PICKLE_MAGIC + json.dumps({"what": what} if what else {}).encode() + b"\n")
        from flowyml.storage.artifact_pickle import dump  # pickle only when a value needs it

        dump(value, buffer)
        yield buffer.getbuffer()  # one chunk: the store keeps small objects in one write

    def load(self, stream: IO[bytes]) -> Any:
        """Read a pickled value back.

        Raises:
            ArtifactLoadError: the artifact cannot be unpickled here.
        """
        head = stream.read(len(_PICKLE_MAGIC))
        what: str | None = None
        body: IO[bytes] = stream
        if head == _PICKLE_MAGIC:
            try:
                what = json.loads(stream.readline()).get("what")
            except (ValueError, AttributeError):
                raise ArtifactLoadError(
                    "its header is corrupt; make the step that wrote it run again "
                    "(bump its cache_version)"
                ) from None
        else:  # written before artifacts had a header
            body = io.BytesIO(head + stream.read())
        try:
            from flowyml.storage.artifact_pickle import load

            return load(body)
        except (ImportError, AttributeError) as exc:
            raise ArtifactLoadError(
                "it refers to a class or function that cannot be imported here "
                f"({type(exc).__name__}: {exc}). Restore that definition, or make the step "
                "that wrote it run again (bump its cache_version)",
                what=what,
            ) from exc
        except Exception as exc:  # corrupt bytes fail in many ways; all mean "unreadable"
            raise ArtifactLoadError(
                f"unpickling it failed with {type(exc).__name__}: {exc}. If the artifact is "
                "corrupt, make the step that wrote it run again (bump its cache_version)",
                what=what,
            ) from exc


_PICKLE_MAGIC = b"flowyml-pickle 1\n"


def builtin_materializers() -> list[Materializer]:
    """The built-in materializers in order of preference (pickle last)."""
    return [JSONMaterializer(), NumpyMaterializer(), PandasMaterializer(), PickleMaterializer()]
