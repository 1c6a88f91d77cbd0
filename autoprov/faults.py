"""Fault injection for the reliability tests: make a named component of capture raise.

``AUTOPROV_FAULT=enter,audit`` (a comma list of component names) replaces those methods on the
live recorder, log or session by ones that raise :class:`InjectedFault`.  ``sigint@hash`` (or
``sigterm@export``...) instead makes that step send the process the signal first, as a Ctrl-C
landing exactly there would.  The tests use it to
prove that an internal error never reaches the user's program.  Nothing is patched when the
variable is unset, so this costs nothing in normal runs.
"""

from __future__ import annotations

import os
from typing import Any

FAULT_ENV = "AUTOPROV_FAULT"
COMPONENTS = {
    "enter": ("recorder", "enter"),
    "leave": ("recorder", "leave"),
    "plan": ("planner", "plan"),
    "audit": ("file_events", "on_audit"),
    "hash": ("files", "_settle"),
    "log": ("log", "_write"),
    "export": ("session", "export_run"),
}


class InjectedFault(RuntimeError):
    """Raised by an injected fault; never seen by the user's program."""


def requested() -> set[str]:
    return {name for name in os.environ.get(FAULT_ENV, "").split(",") if name}


SIGNAL_STEPS = {"hash": ("files", "finish"), "export": ("session", "export_run")}


def inject(targets: dict[str, Any]) -> None:
    """Replace the requested components' methods on the given live objects by raising ones."""
    for name in requested():
        signal_name, at, step = name.partition("@")
        if at:
            owner, method = SIGNAL_STEPS[step]
            if owner in targets:
                target = targets[owner]
                setattr(target, method, _signaller(signal_name, getattr(target, method)))
            continue
        owner, method = COMPONENTS[name]
        if owner in targets:
            setattr(targets[owner], method, _raiser(name))


def _signaller(signal_name: str, real: Any):
    import signal

    number = getattr(signal, signal_name.upper())

    def signalled(*args: Any, **kwargs: Any) -> Any:
        os.kill(os.getpid(), number)
        return real(*args, **kwargs)

    return signalled


def _raiser(name: str):
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise InjectedFault(f"injected fault in {name}")

    return fail
