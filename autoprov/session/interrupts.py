"""Ctrl-C after the program's end: too late to be the program's, so it must not break the record.

When a program's last line has run, plain python has nothing left to interrupt: a Ctrl-C then is
lost (or, in the few microseconds of ``threading._shutdown``, printed as an ignored exception) and
the exit status stays the program's.  Under autoprov the same moment is when the record is
completed (hashing, environment, export), so a Ctrl-C there used to print an autoprov traceback,
exit 130 and leave no documents.  :func:`hold` is called the instant the program ends (by the runner)
or around :meth:`Capture.stop` (for in-process captures); it replaces Python's default SIGINT
handler by one that only notes the signal, so the record completes; the caller then decides:
``python -m autoprov`` drops it (the program had already ended), an in-process capture raises
``KeyboardInterrupt`` once its record is complete (the user's session is still running).
"""

from __future__ import annotations

import signal
from types import FrameType

received: list[int] = []  # SIGINTs that arrived while held


def note(signum: int, frame: FrameType | None) -> None:
    received.append(signum)


def hold() -> bool:
    """Defer Ctrl-C from now on; False (nothing changed) unless Python's default handler was set.

    ``signal.signal`` is the first call made, so a SIGINT that arrives from here on is handled by
    :func:`note`: Python runs signal handlers only between bytecodes, after a call returns.
    """
    try:
        previous = signal.signal(signal.SIGINT, note)
    except ValueError:  # not the main thread: Python delivers SIGINT to the main thread only
        return False
    return keep(previous)


def keep(previous: object) -> bool:
    """After ``signal.signal(SIGINT, note)`` returned ``previous``: keep the hold only if that was
    Python's default handler; the program's own handler, SIG_IGN or an outer hold is put back."""
    if previous is None:
        return False
    if previous is not signal.default_int_handler:
        signal.signal(signal.SIGINT, previous)  # type: ignore[arg-type]
        return False
    return True


def release() -> bool:
    """Give Ctrl-C back to Python; True if one arrived while it was held."""
    try:
        if signal.getsignal(signal.SIGINT) is note:
            signal.signal(signal.SIGINT, signal.default_int_handler)
    except ValueError:
        pass
    arrived = bool(received)
    received.clear()
    return arrived
