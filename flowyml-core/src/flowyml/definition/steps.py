"""Steps: the units of work of a pipeline, made with the :func:`step` decorator."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Sequence
from functools import cache, cached_property
from typing import TYPE_CHECKING, Any, overload

from flowyml.definition.fingerprint import code_fingerprint
from flowyml.definition.retry import RetryPolicy
from flowyml.definition.signatures import parameters_of
from flowyml.errors import PipelineDefinitionError

if TYPE_CHECKING:
    from flowyml.records.resources import ResourceConfig

__all__ = ["Step", "step"]

_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")


@cache
def default_resources() -> ResourceConfig:
    """``ResourceConfig()``, made on first use and shared (it is frozen).

    ``ResourceConfig`` is a pydantic model: a pipeline whose steps ask for no resources
    neither imports pydantic nor builds the model's schema when it is defined, which is
    most of what a step runner's start-up in a fresh container used to cost.
    """
    from flowyml.records.resources import ResourceConfig

    return ResourceConfig()


def _as_name_list(value: str | Sequence[str] | None, what: str, step_name: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    names = list(value)
    for name in names:
        if not isinstance(name, str) or not name:
            raise PipelineDefinitionError(
                f"step '{step_name}': every {what} must be a non-empty string, got {name!r}"
            )
    if len(set(names)) != len(names):
        raise PipelineDefinitionError(f"step '{step_name}': duplicate {what} in {names}")
    return names


def _param_name_for(artifact: str) -> str:
    return re.sub(r"\W", "_", artifact.rsplit("/", 1)[-1])


class Step:
    """A pipeline step: a function plus what it consumes, produces and needs to run.

    Build steps with the :func:`step` decorator. Calling a step calls its function.

    Attributes:
        name: unique name in its pipeline (defaults to the function name).
        func: the wrapped function.
        inputs: artifact names the step consumes, bound to the function's parameters.
        outputs: artifact names the step produces, in the order of the returned tuple.
        cache: whether a result may be reused when code, inputs and parameters are unchanged.
        cache_version: bump it to invalidate the cache of this step by hand.
        retry: the retry policy.
        timeout: seconds the step may run, or ``None``.
        resources: compute resources the step asks for.
        execution_group: steps sharing a group run together in one environment.
        condition: a callable whose parameters name artifacts or context values; the
            step is skipped when it returns a false value.
        tags: free-form labels.
    """

    def __init__(
        self,
        func: Callable[..., Any],
        *,
        name: str | None = None,
        inputs: str | Sequence[str] | None = None,
        outputs: str | Sequence[str] | None = None,
        cache: bool = True,
        cache_version: str = "1",
        retry: int | RetryPolicy | None = None,
        timeout: float | None = None,
        resources: ResourceConfig | dict[str, Any] | None = None,
        execution_group: str | None = None,
        condition: Callable[..., Any] | None = None,
        tags: dict[str, str] | None = None,
    ) -> None:
        if not callable(func):
            raise PipelineDefinitionError(f"step needs a callable, got {func!r}")
        self.func = func
        self.name = name or getattr(func, "__name__", None) or repr(func)
        if self.name == "<lambda>":
            raise PipelineDefinitionError("a step made from a lambda needs a name: step(name=...)")
        if not _NAME_RE.match(self.name):
            raise PipelineDefinitionError(
                f"step name {self.name!r} must start with a letter or '_' and contain only "
                "letters, digits, '_', '.' or '-'"
            )
        self.inputs = _as_name_list(inputs, "input", self.name)
        self.outputs = _as_name_list(outputs, "output", self.name)
        self.cache = bool(cache)
        self.cache_version = str(cache_version)
        try:
            self.retry = RetryPolicy.coerce(retry)
        except ValueError as exc:
            raise PipelineDefinitionError(f"step '{self.name}': retry: {exc}") from None
        if timeout is not None and (isinstance(timeout, bool) or timeout <= 0):
            raise PipelineDefinitionError(
                f"step '{self.name}': timeout must be a positive number of seconds, got {timeout!r}"
            )
        self.timeout = timeout
        if isinstance(resources, dict):
            from flowyml.records.resources import ResourceConfig

            resources = ResourceConfig(**resources)
        self._resources = resources
        self.execution_group = execution_group
        if condition is not None and not callable(condition):
            raise PipelineDefinitionError(f"step '{self.name}': condition must be callable")
        self.condition = condition
        self.tags = dict(tags or {})
        self._copied_from: Step | None = None
        self._bind_parameters()
        module = getattr(func, "__module__", None)
        self._origin_module: str | None = module
        code = getattr(func, "__code__", None)
        self._origin_file: str | None = code.co_filename if code is not None else None
        self.__doc__ = getattr(func, "__doc__", None)
        self.__wrapped__ = func

    def _bind_parameters(self) -> None:
        """Decide which function parameter receives each input; the rest are context."""
        params = parameters_of(self.func) or []
        kinds = inspect.Parameter
        self.accepts_kwargs = any(kind is kinds.VAR_KEYWORD for _, kind, _ in params)
        accepts_varargs = any(kind is kinds.VAR_POSITIONAL for _, kind, _ in params)
        self.varargs_inputs: list[str] = []
        named = [p for p in params if p[1] not in (kinds.VAR_POSITIONAL, kinds.VAR_KEYWORD)]
        by_name = {p[0]: p for p in named}
        bound: dict[str, str] = {}
        taken: set[str] = set()
        for artifact in self.inputs:
            for candidate in (artifact, _param_name_for(artifact)):
                if candidate in by_name and candidate not in taken:
                    bound[artifact] = candidate
                    taken.add(candidate)
                    break
        free = [p for p in named if p[0] not in taken and p[1] is not kinds.KEYWORD_ONLY]
        for artifact in self.inputs:
            if artifact in bound:
                continue
            if not free:
                if accepts_varargs:
                    self.varargs_inputs.append(artifact)
                    continue
                if self.accepts_kwargs:
                    bound[artifact] = _param_name_for(artifact)
                    continue
                raise PipelineDefinitionError(
                    f"step '{self.name}': input '{artifact}' has no parameter to go to; "
                    f"the function takes {[p[0] for p in named]}"
                )
            name = free.pop(0)[0]
            bound[artifact] = name
            taken.add(name)
        self.input_params: dict[str, str] = bound
        rest = [p for p in named if p[0] not in taken]
        self.context_params: list[str] = [name for name, _, _ in rest]
        self.required_context: list[str] = [name for name, _, default in rest if not default]

    @property
    def fingerprint(self) -> str:
        """Hash of the step's code and what it depends on.

        Computed once and reused until a global, closure variable or helper the step
        reads is rebound (see :mod:`flowyml.definition.fingerprint`).
        """
        return code_fingerprint(self.func)

    @cached_property
    def condition_params(self) -> list[str]:
        """Names the condition reads (artifacts or context values)."""
        if self.condition is None:
            return []
        params = inspect.signature(self.condition).parameters.values()
        return [p.name for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]

    @property
    def resources(self) -> ResourceConfig:
        """Compute resources the step asks for (``ResourceConfig()`` when none)."""
        return self._resources or default_resources()

    @resources.setter
    def resources(self, value: ResourceConfig | None) -> None:
        self._resources = value

    def with_resources(self, resources: ResourceConfig) -> Step:
        """A copy of this step asking for ``resources``, imported elsewhere as this step is
        (the configuration's per-step resources run through such copies)."""
        import copy  # at run time, for configured resources only

        clone = copy.copy(self)
        clone.resources = resources
        clone._copied_from = self._copied_from or self
        return clone

    def reference(self) -> str | None:
        """``MODULE:ATTR`` or ``FILE:ATTR`` under which another process can import this
        step, or ``None`` when it is not a module-level variable."""
        from flowyml.definition.references import reference_of

        original = self._copied_from or self
        return reference_of(original, self._origin_module, self._origin_file)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.func(*args, **kwargs)

    def __repr__(self) -> str:
        return f"Step({self.name!r}, inputs={self.inputs}, outputs={self.outputs})"


@overload
def step(func: Callable[..., Any], /) -> Step: ...


@overload
def step(
    func: None = None,
    /,
    *,
    name: str | None = ...,
    inputs: str | Sequence[str] | None = ...,
    outputs: str | Sequence[str] | None = ...,
    cache: bool = ...,
    cache_version: str = ...,
    retry: int | RetryPolicy | None = ...,
    timeout: float | None = ...,
    resources: ResourceConfig | dict[str, Any] | None = ...,
    execution_group: str | None = ...,
    condition: Callable[..., Any] | None = ...,
    tags: dict[str, str] | None = ...,
) -> Callable[[Callable[..., Any]], Step]: ...


def step(
    func: Callable[..., Any] | None = None, /, **options: Any
) -> Step | Callable[[Callable[..., Any]], Step]:
    """Turn a function into a :class:`Step`; usable bare (``@step``) or with options.

    Example:
        >>> @step(inputs=["data"], outputs=["model"], retry=2, timeout=60)
        ... def train(data): ...
    """
    if func is not None:
        return Step(func, **options)

    def decorate(function: Callable[..., Any]) -> Step:
        return Step(function, **options)

    return decorate
