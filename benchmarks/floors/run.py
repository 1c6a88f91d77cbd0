"""Run a script as ``python script.py`` would, under one bare mechanism and no autoprov code.

    python benchmarks/floors/run.py MECHANISM script.py [args...]

``caudit``: a C audit hook returning at once; ``monitoring``: ``sys.monitoring`` PY_START
returning DISABLE for every code object (3.12+); ``ctrace``: an empty C trace function on every
thread.  ``_floors`` (``build.py``) must be importable, e.g. through PYTHONPATH.
"""

from __future__ import annotations

import runpy
import sys
import threading


def install(mechanism: str) -> None:
    if mechanism == "monitoring":
        monitoring = sys.monitoring
        tool = next(t for t in (3, 4, 2, 5) if monitoring.get_tool(t) is None)
        monitoring.use_tool_id(tool, "floor")
        monitoring.register_callback(tool, monitoring.events.PY_START, lambda code, offset: monitoring.DISABLE)
        monitoring.set_events(tool, monitoring.events.PY_START)
        return
    import _floors

    if mechanism == "caudit":
        _floors.audit()
    elif mechanism == "ctrace":
        threading.settrace(_floors.bootstrap)
        _floors.settrace()
    else:
        raise SystemExit(f"unknown mechanism {mechanism!r}")


def main() -> None:
    mechanism, script = sys.argv[1], sys.argv[2]
    sys.argv = sys.argv[2:]
    sys.path[0] = str(__import__("pathlib").Path(script).resolve().parent)
    install(mechanism)
    runpy.run_path(script, run_name="__main__")


main()
