"""One audit hook per process, routing file events to the active capture.

``sys.addaudithook`` hooks can never be removed, so the hook is installed once, on first use, and
reaches the active recorder through a module global that is ``None`` when nothing is captured.
CPython raises an audit event for every ``id()`` call and (3.11-3.13) every ``frame.f_code`` read,
hundreds of thousands in a real analysis (7.3 million in a gammapy tutorial script), so the
hook must stay one frozenset membership test for them.  With the native core the hook is C
(``autoprov._native.audit_install``): the event name is compared in C and only file events reach
:func:`_hook`, the same Python handler the pure core installs directly (so the handler sees the
same call depth in both cores).  Whichever kind is installed first stays for the process: hooks
cannot be removed, and two would deliver every file event twice.
"""

from __future__ import annotations

import sys
from threading import get_ident
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ..recorder.fileevents import COMMAND_EVENTS

# The one list of the audit events the file record is made of (autoprov.recorder.fileevents).
FILE_EVENTS = frozenset(
    {
        "open",
        "os.rename",
        "os.remove",
        "os.rmdir",
        "os.mkdir",
        "os.listdir",
        "os.scandir",
        "os.truncate",
        "os.link",
        "os.symlink",
        "shutil.copyfile",
        "shutil.copytree",
        "shutil.rmtree",
        "sys.addaudithook",  # the program adds a hook of its own: see on_program_hook
    }
)
WATCHED_EVENTS = FILE_EVENTS | COMMAND_EVENTS


# Protocols exist for the type checker only: creating one at run time costs ~0.15 ms of start-up (typing's metaclass)
if TYPE_CHECKING:
    from typing import Protocol

    class AuditSink(Protocol):
        def on_audit(self, event: str, args: tuple) -> None: ...

        def fault(self, component: str, error: BaseException) -> None: ...


_sink: AuditSink | None = None
# Called (once per new hook) when the program adds an audit hook: the event is raised before the new
# hook joins the list, so what this callback does is out of that hook's sight (autoprov.session.offload).
on_program_hook: Any = None
_installed: str | None = None  # "native" or "pure" once the process hook exists
program_hooked = False  # the program added an audit hook of its own: it sees whatever autoprov does next
_busy: set[int] = set()  # threads inside the sink: its own file reads (hashing) raise events too


def _hook(event: str, args: tuple) -> None:
    # Cost (pure core): one frozenset test for the ~99.9 % of events that are not watched (file and
    # command events), ~0.35 us each with the interpreter's call; the native core never calls it for those.
    if event not in WATCHED_EVENTS:
        return
    sink = _sink
    ident = get_ident()
    if sink is None or ident in _busy:
        return
    _busy.add(ident)
    try:
        if event == "sys.addaudithook":
            global program_hooked
            program_hooked = True
            if on_program_hook is not None:
                on_program_hook()
            return
        sink.on_audit(event, args)
    except Exception as error:  # never let capture break the user's open()
        try:
            sink.fault("audit", error)
        except Exception:
            pass
    finally:
        _busy.discard(ident)


def activate(sink: AuditSink, native: ModuleType | None = None) -> str:
    """Route file events to ``sink``, installing the process hook on first use (in C when
    ``native`` is the native core); returns the kind of hook in use, "native" or "pure"."""
    global _sink, _installed
    if _installed is None:
        if native is not None:
            native.audit_install(sorted(WATCHED_EVENTS))
            _installed = "native"
        else:
            sys.addaudithook(_hook)
            _installed = "pure"
    _sink = sink
    if _installed == "native":
        from .. import _native

        _native.audit_route(_hook)
    return _installed


def deactivate(sink: Any = None) -> None:
    """Stop routing events (the hook stays installed, idle; the C one returns at once)."""
    global _sink
    if sink is None or _sink is sink:
        _sink = None
        if _installed == "native":
            from .. import _native

            _native.audit_route(None)
