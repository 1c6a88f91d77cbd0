"""Read a ctapipe provenance log: every JSON array in the file, one list of activities.

ctapipe (``ctapipe.core.Tool.write_provenance``, 0.32) appends ``json.dumps(activities, indent=3)``
to ``<tool>.provenance.log`` in mode ``a+`` at the end of every run, so a log written by two runs
is two arrays back to back (``][``), which ``json.load`` rejects (ctapipe issue 3058).  The arrays
are decoded one after the other with :meth:`json.JSONDecoder.raw_decode`; anything that is not a
list of activities is an error naming the file, line and column (nothing of that file is used).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import ForeignLogError

REQUIRED = ("activity_name", "activity_uuid")  # the keys an activity cannot do without


def read_log(path: Path) -> list[dict[str, Any]]:
    """The activities of every array in the log at ``path``, in the order they were written."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ForeignLogError(f"{path}: cannot read the ctapipe provenance log: {error}") from None
    decoder = json.JSONDecoder()
    activities: list[dict[str, Any]] = []
    position = _skip_space(text, 0)
    if position == len(text):
        raise ForeignLogError(f"{path}: empty file, not a ctapipe provenance log")
    while position < len(text):
        try:
            value, end = decoder.raw_decode(text, position)
        except json.JSONDecodeError as error:
            raise ForeignLogError(
                f"{path}:{error.lineno}:{error.colno}: not a ctapipe provenance log: {error.msg} "
                "(a log cut short by a crash: remove its incomplete last array)") from None
        if not isinstance(value, list):
            raise ForeignLogError(f"{path}:{_where(text, position)}: expected a JSON array of activities, found {type(value).__name__}")
        for number, activity in enumerate(value):
            _check(path, text, position, number, activity)
        activities += value
        position = _skip_space(text, end)
    return activities


def _check(path: Path, text: str, position: int, number: int, activity: Any) -> None:
    def where() -> str:  # only on error: counting lines for every activity made a 1,000-activity import 20 s slower
        return f"{path}:{_where(text, position)}: activity {number} of this array"

    if not isinstance(activity, dict):
        raise ForeignLogError(f"{where()} is a {type(activity).__name__}, not an object with ctapipe's activity keys")
    missing = [key for key in REQUIRED if not isinstance(activity.get(key), str) or not activity.get(key)]
    if missing:
        raise ForeignLogError(f"{where()} has no {', '.join(missing)}: not a ctapipe activity")
    for direction in ("input", "output"):
        files = activity.get(direction, [])
        if not isinstance(files, list) or not all(isinstance(item, dict) and isinstance(item.get("url"), str) for item in files):
            raise ForeignLogError(f"{where()}: {direction!r} must be a list of {{url, role, reference_meta}} objects")


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position].isspace():
        position += 1
    return position


def _where(text: str, position: int) -> str:
    line = text.count("\n", 0, position) + 1
    return f"{line}:{position - (text.rfind(chr(10), 0, position) + 1) + 1}"
