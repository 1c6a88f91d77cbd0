"""Instructions one audit event costs in autoprov's native hook, beyond a bare C hook.

    python audit_events.py MODE [COUNT]    MODE: floor (a C hook returning at once) or native

Calls ``id()`` COUNT times (default 1,000,000): with any audit hook installed CPython raises
``builtins.id`` for each, an event autoprov does not watch.  ``native`` installs autoprov's C
hook and routes it to a handler, as a capture does.  Under callgrind the difference of the two
runs' totals, divided by COUNT, is what the hook adds to each such event (``instr.py events``).
"""

from __future__ import annotations

import sys


def main() -> None:
    mode = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    if mode == "floor":
        import _floors

        _floors.audit()
    elif mode == "native":
        from autoprov import _native
        from autoprov.engine.audit import WATCHED_EVENTS

        _native.audit_install(sorted(WATCHED_EVENTS))
        _native.audit_route(lambda event, args: None)
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    value = object()
    for _ in range(count):
        id(value)


if __name__ == "__main__":
    main()
