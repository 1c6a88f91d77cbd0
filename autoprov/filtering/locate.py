"""Where filters come from and in which order they compose.

Order, earliest first (later entries override earlier ones): the ``filters`` of
``[tool.autoprov]`` in the nearest ``pyproject.toml``, then ``AUTOPROV_FILTERS`` (``os.pathsep``
separated), then each ``--filter``.  When none of those names a filter, the shipped ``gammapy``
filter is used if gammapy is installed (found with ``find_spec``: importing gammapy would cost
seconds at start-up).  A name without a path separator or ``.yaml`` suffix is a shipped filter
(``filters/<name>.yaml``); ``none`` is the empty filter.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any
from ..records import NamedTuple

from ..errors import FilterError
from .compiler import Entry, Validated, compile_filter
from .states import TypeEntry, compile_types
from .diagnostics import MAX_BYTES, fail

SHIPPED_PACKAGE = "autoprov.shipped_filters"
NO_FILTER = "none"
DEFAULT_FILTER = "gammapy"


# A NamedTuple, not a frozen dataclass: creating the class costs a quarter as much at import (start-up).
class FilterRef(NamedTuple):
    """One filter to load: a shipped name or a file, and where it was asked for."""

    spec: str
    origin: str  # "--filter", "AUTOPROV_FILTERS", "pyproject.toml path", "default"
    base: Path  # relative file names are relative to this directory


def _shipped() -> dict[str, Any]:
    """Shipped filter name -> its file (anything with ``read_bytes()``); the first folder's wins.

    Plain folders (every ordinary install) are listed directly: importing ``importlib.resources``
    (with tempfile and zipfile) cost ~10 ms of the 80 ms start-up budget.  It stays the way for
    any other kind of install (a zip).
    """
    spec = importlib.util.find_spec(SHIPPED_PACKAGE)
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    if folders and all(os.path.isdir(folder) for folder in folders):
        entries: list[Any] = [Path(folder, name) for folder in folders for name in sorted(os.listdir(folder))]
    else:
        from importlib.resources import files as package_files

        entries = list(package_files(SHIPPED_PACKAGE).iterdir())
    files: dict[str, Any] = {}
    for entry in entries:
        if entry.name.endswith(".yaml"):
            files.setdefault(entry.name[: -len(".yaml")], entry)
    return files


def shipped_names() -> list[str]:
    return sorted(_shipped())


def is_file_spec(spec: str) -> bool:
    return os.sep in spec or "/" in spec or spec.endswith((".yaml", ".yml"))


def requested(cli: list[str] | None, cwd: Path | None = None, environ: dict[str, str] | None = None) -> list[FilterRef]:
    """The filters of a run in composition order (the default only when nothing is asked for)."""
    cwd = cwd or Path.cwd()
    environ = os.environ if environ is None else environ
    refs = _from_pyproject(cwd)
    refs += [FilterRef(spec, "AUTOPROV_FILTERS", cwd) for spec in environ.get("AUTOPROV_FILTERS", "").split(os.pathsep) if spec]
    refs += [FilterRef(spec, "--filter", cwd) for spec in cli or ()]
    if not refs and importlib.util.find_spec(DEFAULT_FILTER) is not None:
        refs.append(FilterRef(DEFAULT_FILTER, "default (gammapy is installed)", cwd))
    return refs


def _from_pyproject(cwd: Path) -> list[FilterRef]:
    from ..pyproject import PyprojectError, tool_settings

    try:
        found = tool_settings(cwd)
    except PyprojectError as error:
        raise FilterError(f"filter {error}") from None
    if found is None:
        return []
    path, settings = found
    filters = settings.get("filters", [])
    if isinstance(filters, str):
        filters = [filters]
    if not isinstance(filters, list) or not all(isinstance(item, str) for item in filters):
        raise FilterError(f"filter {path}: [tool.autoprov] filters must be a list of filter names or files")
    return [FilterRef(spec, str(path), path.parent) for spec in filters]


def read_bytes(path: Path, label: str) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise fail(label, None, f"file is {size} bytes, more than the {MAX_BYTES} bytes a filter may have")
        return path.read_bytes()
    except OSError as error:
        raise fail(label, None, f"cannot read the file ({error.strerror or error})") from None


def read(ref: FilterRef) -> tuple[str, bytes]:
    """(label for messages, raw bytes) of a filter."""
    if is_file_spec(ref.spec) or (ref.base / ref.spec).is_file():
        path = Path(ref.spec) if os.path.isabs(ref.spec) else ref.base / ref.spec
        return ref.spec, read_bytes(path, ref.spec)
    shipped = _shipped()
    if ref.spec not in shipped:
        raise FilterError(f"filter {ref.spec!r} (from {ref.origin}): no such file and no shipped filter of that name; shipped: {', '.join(sorted(shipped))}")
    return ref.spec, shipped[ref.spec].read_bytes()


class Loaded(NamedTuple):
    """One filter, compiled: its selection entries and its entity types."""

    entries: list[Entry]
    types: list[TypeEntry]


def load(ref: FilterRef, use_cache: bool = True) -> list[Entry]:
    """The entries of one filter, validated (from the cache when this exact file passed before)."""
    return load_filter(ref, use_cache).entries


def load_filter(ref: FilterRef, use_cache: bool = True) -> Loaded:
    """One filter compiled: entries and entity types (validated, or from the cache)."""
    validated = load_validated(ref, use_cache)
    if validated is None:
        return Loaded([], [])
    return Loaded(compile_filter(validated), compile_types(validated))


def load_validated(ref: FilterRef, use_cache: bool = True) -> Validated | None:
    """The validated form of one filter (None for the empty filter)."""
    if ref.spec == NO_FILTER:
        return None
    from . import cache

    label, raw = read(ref)
    validated = cache.load(raw, label) if use_cache else None
    if validated is None:
        from .parse import parse
        from .validate import validate

        validated = validate(parse(raw, label))
        if use_cache:
            cache.store(raw, validated)
    return validated
