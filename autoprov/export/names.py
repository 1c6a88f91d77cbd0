"""Namespaces, identifiers and value conventions shared by every exporter.

Ids are written as ``prefix:local`` text and resolved against :data:`NAMESPACES` (plus the run's
own namespace), so the streaming PROV-JSON writer and the ``prov.model`` builder produce the same
names.  Content-addressed files live in one namespace shared by all runs (``file:xxh3_128_<hex>``)
so that a file written by one run and read by another is the same entity; everything else that
only makes sense inside one run lives in ``run:`` (``urn:autoprov:run:<run-id>#``).
"""

from __future__ import annotations

import re
from functools import lru_cache
from datetime import datetime, timedelta, timezone

VOPROV = "http://www.ivoa.net/documents/ProvenanceDM/ns/voprov/"
NAMESPACES = {
    "voprov": VOPROV,
    "autoprov": "urn:autoprov:ns#",
    "param": "urn:autoprov:param#",
    "file": "urn:autoprov:file#",
    "desc": "urn:autoprov:description#",
    "user": "urn:autoprov:user#",
}
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class QName(str):
    """An attribute value that is a qualified name (``prefix:local``), not a plain string."""

    __slots__ = ()


def run_namespace(run_id: str) -> str:
    return f"urn:autoprov:run:{run_id}#"


@lru_cache(maxsize=8192)
def local(name: str) -> str:
    """A local name valid in PROV-N, XML (NCName) and Turtle: safe characters, starts with a letter."""
    text = _UNSAFE.sub("_", name).rstrip(".") or "_"
    return text if text[0].isalpha() or text[0] == "_" else "_" + text


def utc(ns: int) -> datetime:
    """Integer nanoseconds since the epoch as an exact UTC datetime (microsecond precision)."""
    return _EPOCH + timedelta(microseconds=ns // 1000)


class Time(int):
    """A time value (nanoseconds since the epoch) in a statement: a ``datetime`` once exported."""

    __slots__ = ()


class TimeText:
    """``utc(ns).isoformat()`` for many times, fast: the text up to the second is cached."""

    def __init__(self) -> None:
        self._seconds: dict[int, str] = {}

    def __call__(self, ns: int) -> str:
        seconds, micro = divmod(ns // 1000, 1_000_000)
        prefix = self._seconds.get(seconds)
        if prefix is None:
            if len(self._seconds) > 100_000:
                self._seconds.clear()
            prefix = self._seconds[seconds] = (_EPOCH + timedelta(seconds=seconds)).isoformat()[:-6]
        return f"{prefix}.{micro:06d}+00:00" if micro else f"{prefix}+00:00"
