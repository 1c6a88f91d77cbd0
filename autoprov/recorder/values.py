"""Safe, bounded, JSON-ready renderings of parameter values.

Parameter values are rendered when a matched call starts, because the objects may be mutated
later.  Rendering must never raise, never run for long and never change the object: it only
calls ``repr()`` of types from libraries we trust (numpy, astropy, regions, gammapy, the standard
library), summarises arrays by shape, dtype and an xxhash digest instead of dumping them, and
bounds depth, length and string size.  Anything else is described by its type alone, so a hostile
``__repr__``, ``__len__`` or ``__eq__`` in user code is never called.
"""

from __future__ import annotations

import enum
import math
import os
import sys
from pathlib import PurePath
from typing import Any

import xxhash

from ..redaction import REDACTED, is_secret, redact_items, redact_text
from .untouched import untouched

MAX_STRING = 300
MAX_ITEMS = 20
MAX_DEPTH = 3
MAX_HASHED_BYTES = 64 * 1024 * 1024
# gammapy is absent on purpose: many gammapy reprs compute statistics over whole datasets.
TRUSTED_REPR_MODULES = ("numpy", "astropy", "regions", "datetime", "decimal", "fractions", "pathlib")

_SCALARS = (bool, int, str, type(None))


def _type_name(value: Any) -> str:
    cls = type(value)
    module = cls.__module__
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"


def _short(text: str) -> str:
    text = redact_text(text)  # before cutting: a cut credential would no longer be recognised
    return text if len(text) <= MAX_STRING else text[: MAX_STRING - 3] + "..."


def _trusted(value: Any) -> bool:
    module = type(value).__module__ or ""
    return module.split(".", 1)[0] in TRUSTED_REPR_MODULES


def _safe_repr(value: Any) -> str:
    if not _trusted(value):
        return f"<{_type_name(value)}>"
    try:
        with untouched(value):  # a SkyCoord's repr fills its frame's lazily made representation cache
            return _short(repr(value))
    except Exception as error:  # a broken repr must not break the user's call
        return f"<{_type_name(value)}: repr failed ({type(error).__name__})>"


def array_summary(array: Any) -> dict[str, Any]:
    """Shape, dtype and a digest of a numpy array (the digest is skipped above 64 MiB)."""
    summary: dict[str, Any] = {"type": _type_name(array), "shape": list(array.shape), "dtype": str(array.dtype)}
    try:
        if array.nbytes <= MAX_HASHED_BYTES and array.dtype.kind not in "OV":
            import numpy

            summary["xxh3_64"] = xxhash.xxh3_64_hexdigest(numpy.ascontiguousarray(array).view("u1").data)
        else:
            summary["xxh3_64"] = None
    except Exception:
        summary["xxh3_64"] = None
    return summary


def is_parameter_like(value: Any, depth: int = 0) -> bool:
    """True for values that describe a configuration rather than data to be traced as entities."""
    if isinstance(value, (*_SCALARS, float, PurePath, enum.Enum)):
        return True
    cls = type(value)
    if cls in (list, tuple, set, frozenset) and len(value) <= MAX_ITEMS:
        return depth < MAX_DEPTH and all(is_parameter_like(item, depth + 1) for item in value)
    if cls is dict and len(value) <= MAX_ITEMS:
        return depth < MAX_DEPTH and all(isinstance(k, str) and is_parameter_like(v, depth + 1) for k, v in value.items())
    module = cls.__module__ or ""
    if module.startswith(("astropy.units", "astropy.coordinates", "astropy.time", "regions", "numpy")):
        return not (module.startswith("numpy") and getattr(value, "ndim", 0) > 1)
    if module.startswith("gammapy.maps") and ("Axis" in cls.__name__ or "Geom" in cls.__name__):
        return True
    return hasattr(value, "model_dump") and hasattr(type(value), "model_fields")  # pydantic configs


def render(value: Any, depth: int = 0) -> Any:
    """A JSON-ready rendering of ``value`` (never raises)."""
    try:
        return _render(value, depth)
    except Exception as error:
        return f"<{_type_name(value)}: not rendered ({type(error).__name__})>"


def _render(value: Any, depth: int) -> Any:
    if isinstance(value, _SCALARS):
        return _short(str.__str__(value)) if isinstance(value, str) else value
    cls = type(value)
    if cls is float:
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, PurePath):
        return os.fspath(value)
    if isinstance(value, enum.Enum):
        return f"{cls.__name__}.{value.name}"
    if isinstance(value, bytes):
        return {"type": "bytes", "len": len(value), "xxh3_64": xxhash.xxh3_64_hexdigest(value)}
    if depth >= MAX_DEPTH:
        return f"<{_type_name(value)}>"
    if cls in (list, tuple, set, frozenset):
        items = [_render(item, depth + 1) for _, item in zip(range(MAX_ITEMS), value)]
        items = redact_items(items, _unchanged)  # the item after "--password" is its value
        if cls in (set, frozenset) and len(value) <= MAX_ITEMS:
            items.sort(key=repr)  # not hash order, which string hashing changes from run to run (diff)
        if len(value) > MAX_ITEMS:
            items.append(f"... {len(value) - MAX_ITEMS} more")
        return items
    if cls is dict:
        rendered = {}
        for index, (key, item) in enumerate(value.items()):
            if index >= MAX_ITEMS:
                rendered["..."] = f"{len(value) - MAX_ITEMS} more"
                break
            name = _short(str(key)) if isinstance(key, (str, int, float)) else f"<{_type_name(key)}>"
            rendered[name] = REDACTED if is_secret(name) else _render(item, depth + 1)
        return rendered
    return _render_object(value, depth)


def _unchanged(value: Any) -> Any:
    return value


def _render_object(value: Any, depth: int) -> Any:
    module = type(value).__module__ or ""
    if module.startswith("astropy.units") and hasattr(value, "unit") and hasattr(value, "value"):
        number = value.value
        if getattr(number, "ndim", 0) == 0:
            return {"value": float(number), "unit": str(value.unit)}
        summary = array_summary(number)
        summary["unit"] = str(value.unit)
        if number.size <= MAX_ITEMS:
            summary["values"] = [float(x) for x in number.ravel()]
        return summary
    if module.startswith("numpy"):
        if getattr(value, "ndim", None) == 0 and hasattr(value, "item"):
            return _render(value.item(), depth)
        if hasattr(value, "shape") and hasattr(value, "dtype"):
            summary = array_summary(value)
            if value.size <= MAX_ITEMS and value.dtype.kind in "biuf":
                summary["values"] = value.ravel().tolist()
            return summary
    if module.startswith("gammapy.maps"):
        return _render_gammapy_geometry(value)
    if module.startswith("gammapy.modeling.parameter"):
        return _render_gammapy_parameters(value)
    if hasattr(value, "model_dump") and hasattr(type(value), "model_fields"):  # pydantic model
        try:
            dumped = value.model_dump(mode="json")
        except Exception:
            return _safe_repr(value)
        return _render(dumped, depth) if depth < MAX_DEPTH else _safe_repr(value)
    return _safe_repr(value)


def _render_gammapy_geometry(value: Any) -> Any:
    """Energy/time axes and geometries: the binning a referee asks about, without the big repr.

    Their ``edges`` and the repr's sky direction are lazily cached attributes: read, then removed
    (:mod:`.untouched`), so that the program's objects stay as it left them."""
    with untouched(value):
        return _read_gammapy_geometry(value)


def _read_gammapy_geometry(value: Any) -> Any:
    if hasattr(value, "nbin") and hasattr(value, "edges"):
        edges = value.edges
        return {
            "type": type(value).__name__,
            "name": getattr(value, "name", None),
            "nbin": int(value.nbin),
            "min": float(edges.value.min()) if hasattr(edges, "value") else float(min(edges)),
            "max": float(edges.value.max()) if hasattr(edges, "value") else float(max(edges)),
            "unit": str(getattr(edges, "unit", "")),
            "interp": getattr(value, "interp", None),
        }
    try:
        return _short(repr(value))
    except Exception as error:
        return f"<{_type_name(value)}: repr failed ({type(error).__name__})>"


MAX_PARAMETERS = 200


def _render_gammapy_parameters(value: Any) -> Any:
    """Model parameters as name, value, error, unit, frozen: what a fit result is quoted with."""

    def one(parameter: Any) -> dict[str, Any]:
        return {
            "name": str(parameter.name),
            "value": float(parameter.value),
            "error": float(parameter.error),
            "unit": str(parameter.unit),
            "frozen": bool(parameter.frozen),
        }

    if hasattr(value, "value") and hasattr(value, "error") and hasattr(value, "frozen"):
        return one(value)
    return [one(parameter) for _, parameter in zip(range(MAX_PARAMETERS), value)]


def describe_object(value: Any) -> dict[str, Any]:
    """The attributes of a Python-object entity: type, short safe repr, shape/dtype, name, length."""
    description: dict[str, Any] = {"type": _type_name(value)}
    try:
        if hasattr(value, "shape") and hasattr(value, "dtype") and type(value).__module__.startswith("numpy"):
            description.update(array_summary(value))
        name = getattr(value, "name", None) if _trusted(value) else None
        if isinstance(name, str):
            description["name"] = _short(name)
        if type(value) in (list, tuple, dict, set):
            description["length"] = len(value)
        description["repr"] = _safe_repr(value)
    except Exception as error:
        description["error"] = f"description failed: {type(error).__name__}"
    return description


# -- state fingerprints --------------------------------------------------------------------------
# What the filter says an object's state is (autoprov.filtering.states), digested cheaply and
# boundedly, to tell at an activity boundary whether the object changed since it was last seen.

FULL_ARRAY_BYTES = 1 << 20  # arrays up to 1 MiB are digested whole
ARRAY_SAMPLE = 1 << 16  # larger ones by a strided sample of this many elements
MAX_STATE_ITEMS = 200
MAX_STATE_DEPTH = 6


def array_digest(array: Any) -> tuple:
    """(shape, dtype, digest) of a numpy array: whole up to 1 MiB, else a strided sample."""
    if array.dtype.kind in "OV":
        return ("array", array.shape, str(array.dtype), id(array))
    import numpy

    if array.nbytes <= FULL_ARRAY_BYTES:
        data = numpy.ascontiguousarray(array)
    else:
        step = -(-array.size // ARRAY_SAMPLE)
        flat = array.reshape(-1) if array.flags.c_contiguous else array.flat  # a view, or an iterator: never a copy
        data = numpy.ascontiguousarray(flat[::step])
    return ("array", array.shape, str(array.dtype), xxhash.xxh3_64_intdigest(data.tobytes() if data.ndim == 0 else data.view("u1").data))


def quiet_state_digest(value: Any, paths: tuple[str, ...], lookup: Any) -> tuple:
    """:func:`state_digest` with numpy's floating-point warnings silenced and no lazily cached
    attribute left behind (:mod:`.untouched`): reading a computed attribute (a property) must never
    print a warning, nor keep a value, the program would not have."""
    numpy = sys.modules.get("numpy")
    with untouched(value):
        if numpy is None:
            return state_digest(value, paths, lookup)
        with numpy.errstate(all="ignore"):
            return state_digest(value, paths, lookup)


def state_digest(value: Any, paths: tuple[str, ...], lookup: Any, depth: int = 0) -> tuple:
    """The digest of the state of ``value``: one item per attribute path (never raises)."""
    items = []
    for path in paths:
        try:
            part = value
            for name in path.split("."):
                part = getattr(part, name)
        except Exception:  # an attribute this object does not have (now): part of its state too
            items.append(("missing", path))
            continue
        items.append(_digest(part, lookup, depth + 1))
    return tuple(items)


def _digest(value: Any, lookup: Any, depth: int) -> Any:
    try:
        return _digest_value(value, lookup, depth)
    except Exception as error:
        return ("undigested", id(value), type(error).__name__)


def _digest_value(value: Any, lookup: Any, depth: int) -> Any:
    cls = type(value)
    if cls in (bool, int, type(None)):
        return value
    if cls is float:
        return value if value == value else "nan"
    if cls is str:
        return value if len(value) <= MAX_STRING else xxhash.xxh3_64_intdigest(value.encode("utf-8", "surrogatepass"))
    module = cls.__module__ or ""
    if module.startswith(("numpy", "astropy.units")) and hasattr(value, "dtype") and hasattr(value, "shape"):
        if module.startswith("astropy.units"):  # a Quantity: its numbers and its unit
            import numpy

            return (array_digest(numpy.asarray(value.value)), str(value.unit))
        return array_digest(value)
    if depth >= MAX_STATE_DEPTH:
        return ("id", id(value))
    if cls in (list, tuple):
        return tuple(_digest(item, lookup, depth + 1) for _, item in zip(range(MAX_STATE_ITEMS), value))
    if cls is dict:
        return tuple((str(key), _digest(item, lookup, depth + 1)) for _, (key, item) in zip(range(MAX_STATE_ITEMS), value.items()))
    described = lookup(cls) if lookup is not None else None
    if described is None or not (described.state or described.collection):
        return ("id", id(value))  # an object the filter gives no state: its identity
    # by state, not identity: `dataset.models` and `model.parameters` are new wrappers on each access
    digest: tuple = (cls.__qualname__, state_digest(value, described.state, lookup, depth) if described.state else ())
    if described.collection:
        digest += (tuple(_digest(item, lookup, depth + 1) for _, item in zip(range(MAX_STATE_ITEMS), value)),)
    return digest
