"""Reading a run's event log back: the one reader of ``events.jsonl``, and its guard.

The log is append-only JSON lines, one batch of events per line; a torn last line (the process
died mid-write) is skipped, so a crashed run still reads back.  A log may also come from anywhere
(a store copied from a colleague, written by another version of autoprov, damaged on disk), so
every event is checked against the shape :mod:`autoprov.events` documents before anything else
sees it: kinds this version does not know are passed over, an event of a known kind with fields
of the wrong type or out of range (a string for a time, a 400-digit activity id, a digest that is
not hexadecimal, values nested hundreds of levels deep) is skipped, and one ``error`` event at the
end says how many were skipped and where the first one was, so every later stage (the model, the
PROV serialisers, rdflib, Graphviz) only ever sees well-formed events.  Reading is bounded: a line
longer than :data:`MAX_LINE` is skipped without being held in memory.

A file that is not an event log at all (unreadable, or with content but no run event) raises
:class:`~autoprov.errors.RecordError`: one line naming the file, never a traceback.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .. import events
from ..errors import RecordError
from ..store.layout import RunFolder

MAX_LINE = 256 * 1024 * 1024  # one batch; the writer's are kilobytes to a few megabytes
MAX_NESTING = 32  # rendered values nest 3 levels; configurations a few more
MAX_INT = 2**63  # times in ns, ids, sizes: what the exporters can turn into dates and literals
_HEX = re.compile(r"[0-9a-fA-F]{1,256}")
_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,64}")


# -- field checks: each returns None when the value is acceptable, else what is wrong ------------

def _int(value: Any) -> str | None:
    if type(value) is not int:
        return f"{type(value).__name__} where an integer belongs"
    return None if -MAX_INT < value < MAX_INT else "an integer out of range"


def _opt_int(value: Any) -> str | None:
    return None if value is None else _int(value)


def _str(value: Any) -> str | None:
    return None if isinstance(value, str) else f"{type(value).__name__} where a string belongs"


def _opt_str(value: Any) -> str | None:
    return None if value is None else _str(value)


def _nested(value: Any) -> str | None:
    """Any JSON value, but not nested deeper than :data:`MAX_NESTING` (checked without recursion).

    Most values are flat mappings (parameters, object descriptions): those are passed in one loop
    over their values, without the walk."""
    if type(value) is dict:
        for item in value.values():
            kind = type(item)
            if kind is str or kind is float or kind is bool or item is None or (kind is int and -MAX_INT < item < MAX_INT):
                continue
            break
        else:
            return None
    pending = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            if type(item) is int and not -MAX_INT < item < MAX_INT:
                return "an integer out of range"
            continue
        if depth >= MAX_NESTING:
            return f"values nested more than {MAX_NESTING} levels deep"
        pending.extend((child, depth + 1) for child in children)
    return None


def _dict(value: Any) -> str | None:
    if not isinstance(value, dict):
        return f"{type(value).__name__} where a mapping belongs"
    return _nested(value)


def _opt_dict(value: Any) -> str | None:
    return None if value is None else _dict(value)


def _hex(value: Any) -> str | None:
    if value is None:
        return None
    return None if isinstance(value, str) and _HEX.fullmatch(value) else "a digest that is not hexadecimal"


def _algorithm(value: Any) -> str | None:
    return None if isinstance(value, str) and _NAME.fullmatch(value) else "an invalid digest algorithm name"


def _any(value: Any) -> str | None:
    return _nested(value)


Check = Callable[[Any], "str | None"]
# the field types of autoprov.events.SHAPES and their checks
CHECKS: dict[str, Check] = {
    "str": _str, "str?": _opt_str, "int": _int, "int?": _opt_int, "dict": _dict, "dict?": _opt_dict,
    "hex": _hex, "algorithm": _algorithm, "any": _any,
}
# kind -> checks of the fields after the kind, in order: the shapes of :data:`autoprov.events.SHAPES`
SHAPES: dict[str, tuple[Check, ...]] = {kind: tuple(CHECKS[name] for name in shape) for kind, shape in events.SHAPES.items()}
OPTIONAL = events.OPTIONAL_FIELDS
FILE_VERSION_OPS = ("read", "write", "update")  # their extra is the file version
FILE_PATH_OPS = ("rename", "copy")  # their extra is the destination


def problem(event: Any) -> str | None:
    """What is wrong with one event (None when it is well-formed or of a kind this version skips)."""
    if not isinstance(event, list) or not event or not isinstance(event[0], str):
        return "not an event (a list starting with its kind)"
    checks = SHAPES.get(event[0])
    if checks is None:
        return None  # a kind from another version: the model passes over it
    fields = event[1:]
    needed = len(checks) - OPTIONAL.get(event[0], 0)
    if len(fields) < needed:
        return f"'{event[0]}' event with {len(fields)} fields, {needed} expected"
    for index, (check, value) in enumerate(zip(checks, fields), 1):
        # the two commonest checks inline (no call): validating 703,000 events cost 1.6 s of CPU
        if check is _int:
            if type(value) is int and -MAX_INT < value < MAX_INT:
                continue
        elif check is _str and type(value) is str:
            continue
        wrong = check(value)
        if wrong:
            return f"'{event[0]}' event, field {index}: {wrong}"
    if event[0] == events.FILE:
        op, extra = fields[1], fields[4]
        if op in FILE_VERSION_OPS and _int(extra):
            return "'file' event: a version that is not an integer"
        if op in FILE_PATH_OPS and _str(extra):
            return "'file' event: a destination that is not a path"
    return None


def _constant(name: str) -> str:
    return name  # NaN / Infinity in a hand-made log: kept as text, never as a float that breaks XML


def _lines(path: Path) -> Iterator[tuple[int, str | None]]:
    """(line number, text) of each complete line; text None for a line over :data:`MAX_LINE`."""
    try:
        handle = open(path, encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise RecordError(f"{path}: no event log here") from None
    except OSError as error:
        raise RecordError(f"{path}: cannot read the event log ({error.strerror or error})") from None
    with handle:
        number = 0
        while True:
            try:
                line = handle.readline(MAX_LINE)
            except OSError as error:
                raise RecordError(f"{path}: cannot read the event log ({error.strerror or error})") from None
            if not line:
                return
            number += 1
            if line.endswith("\n"):
                yield number, line
                continue
            if len(line) < MAX_LINE:
                return  # the process died while writing this batch
            while line and not line.endswith("\n"):  # a line too long to hold: skip to its end
                line = handle.readline(MAX_LINE)
            yield number, None


def read_events(run_dir: Path | str) -> Iterator[list]:
    """The well-formed events of a run's first process, in order (see the module docstring for what
    is skipped).  The logs of its child processes are merged by :mod:`autoprov.log.merge`."""
    return read_log(RunFolder(Path(run_dir)).events)


def read_log(path: Path, first_kind: str = events.RUN) -> Iterator[list]:
    """The well-formed events of one process' log: the run's first process (starting with RUN) or,
    with ``first_kind=events.PROC``, a child process' (issue 14)."""
    skipped = 0
    first: str | None = None
    seen_run = False
    activities: set[int] = set()  # an activity's parent started before it: no cycles, no duplicates
    for number, line in _lines(path):
        if line is None:
            batch: Any = None
            wrong = f"a line longer than {MAX_LINE} bytes"
        else:
            try:
                batch = json.loads(line, parse_constant=_constant)
                wrong = None if isinstance(batch, list) else "a line that is not a list of events"
            except (ValueError, RecursionError):
                batch, wrong = None, "a line that is not JSON"
        if wrong is not None:
            skipped += 1
            first = first or f"line {number}: {wrong}"
            continue
        for event in batch:
            wrong = problem(event)
            if wrong is not None:
                skipped += 1
                first = first or f"line {number}: {wrong}"
                continue
            if not seen_run:
                if event[0] != first_kind:
                    skipped += 1
                    first = first or f"line {number}: '{event[0]}' event before the log's first event"
                    continue
                seen_run = True
            elif event[0] == events.ACT:
                if event[1] in activities or (event[2] is not None and event[2] not in activities):
                    skipped += 1
                    first = first or f"line {number}: 'act' event {event[1]} repeated or inside an activity that never started"
                    continue
                activities.add(event[1])
            yield event
    if not seen_run and first is not None:  # content, but none of it an autoprov log's (empty: killed early)
        raise RecordError(f"{path}: not an autoprov event log (no run event{'; ' + first if first else ''})")
    if skipped:
        yield [events.ERROR, "log", f"{skipped} malformed event{'s' if skipped > 1 else ''} skipped in {path.name} (first: {first})"]
