"""The patches that follow children, applied when their module is imported and undone at stop.

``multiprocessing``, ``concurrent.futures.process``, ``subprocess`` and ``ray`` are patched only if
and when the program imports them: importing them for every run would cost start-up time most
runs never use.  A small meta path finder notices the first import of those names (one set test per
import, and imports are not the hot path) and patches the module once it has executed.  Every
patch is recorded with the value it replaced, so stopping capture restores the modules exactly.
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import Any

# module name -> (module of autoprov.children, function) that patches it, calling ``replace`` for
# each attribute; named here rather than imported, so the patching modules can import this one
PATCHERS: dict[str, tuple[str, str]] = {
    "os": ("commands", "patch_os"),
    "subprocess": ("commands", "patch_subprocess"),
    "multiprocessing.process": ("multiproc", "patch_process"),
    "multiprocessing.spawn": ("multiproc", "patch_spawn"),
    "multiprocessing.pool": ("multiproc", "patch_pool"),
    "concurrent.futures.process": ("multiproc", "patch_executor"),
    "ray": ("rayhooks", "patch_ray"),
    "ray.util.multiprocessing.pool": ("rayhooks", "patch_ray_pool"),
}
_replaced: list[tuple[Any, str, Any]] = []  # (owner, attribute, original), in the order applied
_patched_modules: set[str] = set()
_watched: set[str] = set()  # the modules patched in this process (all of PATCHERS, or a few)


def replace(owner: Any, name: str, value: Any) -> Any:
    """Set ``owner.name = value``, remembering the original for :func:`uninstall_all`; the original."""
    original = getattr(owner, name)
    _replaced.append((owner, name, original))
    setattr(owner, name, value)
    return original


def original(owner: Any, name: str) -> Any:
    """The value ``owner.name`` had before autoprov patched it (the current one if unpatched)."""
    for patched_owner, patched_name, value in _replaced:
        if patched_owner is owner and patched_name == name:
            return value
    return getattr(owner, name)


class _PatchOnImport:
    """A meta path finder that finds nothing itself; it wraps the loader of a module that has a
    patcher.  (Not an importlib.abc subclass: importing importlib.abc costs start-up time.)"""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name not in _watched or name in _patched_modules:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _PatchingLoader(spec.loader)
                return spec
        return None


class _PatchingLoader:
    def __init__(self, loader: Any) -> None:
        self._loader = loader

    def create_module(self, spec: Any) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        _patch(module.__name__, module)

    def __getattr__(self, name: str) -> Any:  # get_resource_reader, is_package, ... of the real loader
        return getattr(self._loader, name)


_finder = _PatchOnImport()


def _patch(name: str, module: ModuleType) -> None:
    if name in _patched_modules:
        return
    _patched_modules.add(name)
    try:
        from importlib import import_module

        owner, function = PATCHERS[name]
        getattr(import_module(f"{__package__}.{owner}"), function)(module)
    except Exception as error:  # a library version we do not know: children of it are not followed
        print(f"autoprov: cannot follow child processes through {name} ({type(error).__name__}: {error})", file=sys.stderr)


def install_all(only: frozenset[str] | None = None) -> None:
    """Patch the modules already imported; patch the others when they are imported.

    ``only`` limits the patches to those modules (without following children: commands only).
    """
    _watched.clear()
    _watched.update(PATCHERS if only is None else only)
    for name in _watched:
        module = sys.modules.get(name)
        if module is not None:
            _patch(name, module)
    if _finder not in sys.meta_path:
        sys.meta_path.insert(0, _finder)


def uninstall_all() -> None:
    """Restore every patched attribute and stop watching imports."""
    try:
        sys.meta_path.remove(_finder)
    except ValueError:
        pass
    while _replaced:
        owner, name, value = _replaced.pop()
        setattr(owner, name, value)
    _patched_modules.clear()
