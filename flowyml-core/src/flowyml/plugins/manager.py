"""Plugin discovery: the ``flowyml`` entry-point group, loaded once and lazily.

Every backend — ours included — arrives through the same path: a distribution declares an
entry point in the ``flowyml`` group naming a module that implements the hooks of
:mod:`flowyml.plugins.hookspecs`. A plugin that fails to import, a backend class that breaks its
contract, or two plugins claiming one backend name produce a :class:`PluginError` naming
the distribution and entry point; every other backend keeps working.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flowyml.errors import PluginError
from flowyml.plugins.backend_registry import Declaration, declaration, load_declared
from flowyml.plugins.entry_point_scan import group_may_be_declared
from flowyml.plugins.plugin_records import BackendInfo, HookImplementation
from flowyml.plugins.plugin_records import PluginSource as _PluginSource
from flowyml.records.artifact_ref import install_store_resolver
from flowyml.storage.artifact_store import ArtifactStore, LocalArtifactStore
from flowyml.storage.file_uris import uri_scheme
from flowyml.storage.materializers import Materializer, builtin_materializers

if TYPE_CHECKING:
    import pluggy

__all__ = [
    "BackendInfo",
    "HookImplementation",
    "PluginManager",
    "get_plugin_manager",
    "release_crashed_run",
]

ENTRY_POINT_GROUP = "flowyml"


@dataclass
class PluginManager:
    """Loads plugins and answers which backends, stores and materializers exist."""

    _pm: pluggy.PluginManager | None = None  # with the first plugin: none, no pluggy import
    errors: list[PluginError] = field(default_factory=list)
    _sources: dict[str, _PluginSource] = field(default_factory=dict)
    _declared: dict[str, Declaration] | None = None  # one per name; conflicts left out
    _infos: dict[str, BackendInfo] = field(default_factory=dict)  # imported and checked
    _broken: dict[str, PluginError] = field(default_factory=dict)  # failed to import
    _conflicts: dict[str, PluginError] = field(default_factory=dict)
    _loaded: bool = False
    _stores: dict[str, ArtifactStore] = field(default_factory=dict)
    _store_classes: dict[str, type[ArtifactStore]] | None = None
    _materializers: list[Materializer] | None = None
    _lock: threading.RLock = field(default_factory=threading.RLock)

    def _hookimpls(self, hook_name: str) -> list[Any]:
        """A hook's implementations, last registered first (pluggy's calling order)."""
        if self._pm is None:
            return []  # no plugin registered (a step runner in an image of the core alone)
        return list(reversed(getattr(self._pm.hook, hook_name).get_hookimpls()))

    # -- loading -----------------------------------------------------------------------
    def load_entry_points(self) -> None:
        """Import every plugin of the ``flowyml`` group once; failures become errors."""
        with self._lock:
            if self._loaded:
                return
            self._loaded = True
            if not group_may_be_declared(ENTRY_POINT_GROUP):
                return  # no plugin is installed: importlib.metadata is not even imported
            from importlib import metadata

            for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
                dist = ep.dist.name if ep.dist else "unknown"
                version = ep.dist.version if ep.dist else "unknown"
                try:
                    module = ep.load()
                except Exception as exc:  # any import-time failure isolates that plugin
                    self.errors.append(
                        PluginError(
                            f"plugin '{ep.name}' ({ep.value}) from distribution '{dist}' "
                            f"failed to import: {type(exc).__name__}: {exc}"
                        )
                    )
                    continue
                self._register(module, ep.name, dist, version)

    def register(
        self, plugin: Any, name: str, distribution: str = "local", version: str = ""
    ) -> None:
        """Register a plugin object directly (tests, notebooks); same checks apply."""
        with self._lock:
            self.load_entry_points()
            self._register(plugin, name, distribution, version)

    def _register(self, plugin: Any, name: str, distribution: str, version: str) -> None:
        import pluggy

        from flowyml.plugins import hookspecs

        if self._pm is None:
            self._pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
            self._pm.add_hookspecs(hookspecs)
        if self._pm.get_plugin(name) is not None:
            self.errors.append(
                PluginError(
                    f"plugin name '{name}' from distribution '{distribution}' is already "
                    f"registered by '{self._sources[name].distribution}'; it was ignored"
                )
            )
            return
        try:
            self._pm.register(plugin, name=name)
        except (pluggy.PluginValidationError, ValueError) as exc:
            self.errors.append(
                PluginError(f"plugin '{name}' from distribution '{distribution}' is invalid: {exc}")
            )
            return
        self._sources[name] = _PluginSource(name, distribution, version)
        # What the plugins were asked for is asked again, this one included.
        self._declared = None
        self._infos, self._broken, self._conflicts = {}, {}, {}
        self._store_classes = None
        self._materializers = None

    def _call_each(self, hook_name: str) -> list[tuple[_PluginSource, list[Any]]]:
        """Call one hook plugin by plugin, so a failing plugin is named and skipped."""
        self.load_entry_points()
        results: list[tuple[_PluginSource, list[Any]]] = []
        for impl in self._hookimpls(hook_name):
            source = self._sources[impl.plugin_name]
            try:
                value = impl.function()
            except Exception as exc:  # a broken hook must not take the other plugins down
                self.errors.append(
                    PluginError(
                        f"plugin '{source.name}' from distribution '{source.distribution}' "
                        f"raised in {hook_name}: {type(exc).__name__}: {exc}"
                    )
                )
                continue
            results.append((source, list(value or [])))
        return results

    def implementations(self, hook_name: str) -> list[HookImplementation]:
        """Every plugin's implementation of ``hook_name``, in the order pluggy calls them
        (last registered first), for callers that isolate one plugin's failure from the
        others. Hook wrappers are left out: they wrap a call, which these callers never make.
        """
        self.load_entry_points()
        found: list[HookImplementation] = []
        for impl in self._hookimpls(hook_name):
            if impl.hookwrapper or impl.wrapper:
                continue
            source = self._sources[impl.plugin_name]
            found.append(
                HookImplementation(
                    source.name, source.distribution, impl.function, tuple(impl.argnames)
                )
            )
        return found

    def notify_run_crashed(self, run_id: str, backend: str) -> None:
        """Call every plugin's ``flowyml_run_crashed``; a raising plugin is reported on
        stderr (as a warning) and the others are still called."""
        import warnings

        self.load_entry_points()
        for impl in self._hookimpls("flowyml_run_crashed"):
            try:
                impl.function(run_id=run_id, backend=backend)
            except Exception as exc:  # clean-up of one backend must not stop the others
                source = self._sources[impl.plugin_name]
                warnings.warn(
                    f"plugin '{source.name}' from distribution '{source.distribution}' could "
                    f"not clean up crashed run {run_id}: {type(exc).__name__}: {exc}",
                    RuntimeWarning,
                    stacklevel=2,
                )

    # -- backends ----------------------------------------------------------------------
    def _declarations(self) -> dict[str, Declaration]:
        """Each backend name one plugin declared, without importing the backends."""
        with self._lock:
            if self._declared is None:
                self._declared = self._collect_declarations()
            return self._declared

    def _collect_declarations(self) -> dict[str, Declaration]:
        claimed: dict[str, list[Declaration]] = {}
        for source, items in self._call_each("flowyml_register_backends"):
            for item in items:
                try:
                    name, declared = declaration(item, source)
                except PluginError as error:
                    self.errors.append(error)
                    continue
                claimed.setdefault(name, []).append(declared)
        found: dict[str, Declaration] = {}
        for name, declarations in claimed.items():
            if len(declarations) == 1:
                found[name] = declarations[0]
                continue
            who = " and ".join(
                f"plugin '{source.name}' from distribution '{source.distribution}'"
                for source, _ in declarations
            )
            conflict = PluginError(
                f"backend name '{name}' is claimed by {who}; uninstall one of them"
            )
            self._conflicts[name] = conflict
            self.errors.append(conflict)
        return found

    def _load(self, name: str) -> BackendInfo:
        """The backend ``name`` (declared by one plugin), imported and checked once."""
        with self._lock:
            info = self._infos.get(name)
            if info is not None:
                return info
            if name in self._broken:
                raise self._broken[name]
            try:
                info = load_declared(name, self._declarations()[name])
            except PluginError as error:
                self._broken[name] = error
                self.errors.append(error)
                raise
            self._infos[name] = info
            return info

    def backend_names(self) -> list[str]:
        """The installed backends' names, sorted, without importing any backend (one
        found broken when it was used is left out)."""
        return sorted(name for name in self._declarations() if name not in self._broken)

    def provides(self, name: str) -> bool:
        """Whether one installed plugin declares backend ``name`` (none is imported)."""
        return name in self._declarations() and name not in self._broken

    def backends(self) -> dict[str, BackendInfo]:
        """Every valid backend by name, each imported (conflicting or broken ones are in
        ``errors``). To use one backend, :meth:`get_backend` imports only that one."""
        found: dict[str, BackendInfo] = {}
        for name in self._declarations():
            try:
                found[name] = self._load(name)
            except PluginError:
                continue  # reported in errors
        return found

    def get_backend(self, name: str) -> BackendInfo:
        """The backend registered under ``name``, imported if it was declared by reference.

        Raises:
            PluginError: no plugin provides it (the message lists what is installed and
                any plugin that failed to load), two plugins claim it, or it fails to
                import or breaks the contract.
        """
        if name in self._declarations():
            return self._load(name)
        if name in self._conflicts:
            raise self._conflicts[name]
        installed = ", ".join(self.backend_names()) or "none"
        message = f"unknown backend '{name}'; installed backends: {installed}"
        if self.errors:
            message += ". Plugins with problems: " + "; ".join(str(e) for e in self.errors)
        raise PluginError(message)

    # -- stores and materializers ----------------------------------------------------
    def artifact_store_classes(self) -> dict[str, type[ArtifactStore]]:
        """URI scheme -> artifact store class (the core's ``file`` store included).

        Asked of the plugins once per manager: a hook that raises is reported once.
        """
        with self._lock:
            if self._store_classes is None:
                classes: dict[str, type[ArtifactStore]] = {"file": LocalArtifactStore}
                for _source, stores in self._call_each("flowyml_register_artifact_stores"):
                    for store in stores:
                        classes.setdefault(store.scheme, store)
                self._store_classes = classes
            return self._store_classes

    def materializers(self) -> list[Materializer]:
        """Plugin materializers first, then the built-in ones (asked once per manager)."""
        with self._lock:
            if self._materializers is None:
                extra = [
                    m
                    for _source, items in self._call_each("flowyml_register_materializers")
                    for m in items
                ]
                self._materializers = [*extra, *builtin_materializers()]
            return list(self._materializers)

    def add_artifact_store(self, store: ArtifactStore) -> None:
        """Serve every URI under ``store.root`` with this configured instance (a backend
        that built a store with its own endpoint or credentials registers it here, so
        outputs loaded later by URI reach the same service)."""
        with self._lock:
            self._stores[store.root] = store

    def artifact_store_for(self, uri: str) -> ArtifactStore:
        """The artifact store holding ``uri`` (one instance per store root and process).

        Raises:
            PluginError: no installed plugin serves the URI's scheme.
        """
        scheme = uri_scheme(uri) or "file"
        classes = self.artifact_store_classes()
        cls = classes.get(scheme)
        if cls is None:
            raise PluginError(
                f"no artifact store serves '{scheme}://' URIs ({uri}); installed schemes: "
                f"{', '.join(sorted(classes))}"
            )
        root = cls.root_of(uri if "://" in uri else f"file://{uri}")
        with self._lock:
            store = self._stores.get(root)
            if store is None:
                store = cls(root, self.materializers())
                self._stores[root] = store
            return store


_manager: PluginManager | None = None
_manager_lock = threading.Lock()


def get_plugin_manager() -> PluginManager:
    """The process-wide plugin manager, built on first use."""
    global _manager
    if _manager is None:
        with _manager_lock:
            if _manager is None:
                _manager = PluginManager()
    return _manager


def reset_plugin_manager() -> None:
    """Forget every loaded plugin (tests use it after installing a plugin)."""
    global _manager
    with _manager_lock:
        _manager = None


def _store_for(uri: str) -> ArtifactStore:
    return get_plugin_manager().artifact_store_for(uri)


# References read without a store find theirs through the process's plugin manager.
install_store_resolver(_store_for)


def release_crashed_run(run: Any) -> None:
    """Let the plugins release what a run marked ``crashed`` left behind (a
    ``RunStore``'s ``on_crashed``)."""
    get_plugin_manager().notify_run_crashed(run.run_id, run.backend)
