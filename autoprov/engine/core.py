"""Which core runs the hot paths: ``native`` (the C extension ``autoprov._native``) or ``pure``.

The two cores are twins (as coverage.py's CTracer and PyTracer): the same engines, the same
events, the same records.  The native core moves the per-event work that runs millions of times
per analysis into C: the audit hook's event-name test, the settrace/setprofile trace function,
the sys.monitoring callbacks and the code-object -> plan lookups.  It is built by the normal
``pip install`` when a compiler and the Python headers are present; without them the install
still succeeds and autoprov runs pure, saying why in ``--debug engine`` and in the run's
``engine_reason``.  ``AUTOPROV_CORE=pure|native`` forces one; asking for ``native`` where it
cannot be imported is a usage error (AP001) rather than a silent fallback, so that a user (or a
test) who forces it knows it is what runs.
"""

from __future__ import annotations

import os
import sys
from types import ModuleType

from ..errors import UsageError

CORE_ENV = "AUTOPROV_CORE"
CORES = ("native", "pure")
KNOWN_PYTHONS = "3.11-3.13"  # the minor versions _native.c reads interpreter internals for


def _import_native() -> tuple[ModuleType | None, str]:
    try:
        from .. import _native
    except ImportError as error:
        return None, f"{type(error).__name__}: {error}"
    return _native, ""


def _without_internals(native: ModuleType) -> str:
    """What the reason adds when the native core was built without the parts that read the
    interpreter's own structures (a Python it was not written for: ``_native.c``, KNOWN_PYTHON)."""
    if getattr(native, "INTERNALS", True):
        return ""
    version = "%d.%d" % sys.version_info[:2]
    return (f", without its interpreter-internal parts on Python {version} (written for {KNOWN_PYTHONS}): "
            "the program's frame, the trace-function check and the decisions' code-object test run their pure twins")


def select(environ: dict[str, str] | None = None) -> tuple[ModuleType | None, str, str]:
    """(native module or None, core name, reason).  Raises UsageError for a bad ``AUTOPROV_CORE``."""
    requested = (environ if environ is not None else os.environ).get(CORE_ENV, "").strip().lower()
    if requested not in ("", "auto", *CORES):
        raise UsageError(f"{CORE_ENV}={requested!r} is not a core; use native, pure or leave it unset")
    if requested == "pure":
        return None, "pure", f"pure core forced by {CORE_ENV}=pure"
    native, problem = _import_native()
    if native is not None:
        how = f"forced by {CORE_ENV}=native" if requested == "native" else "autoprov._native is built for this interpreter"
        return native, "native", f"native core ({how}){_without_internals(native)}"
    if requested == "native":
        raise UsageError(f"{CORE_ENV}=native but autoprov._native cannot be imported ({problem}); "
                         "reinstall autoprov with a C compiler and the Python headers, or unset it")
    return None, "pure", f"pure core: autoprov._native is not built ({problem})"
