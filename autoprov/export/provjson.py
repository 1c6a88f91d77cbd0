"""PROV-JSON written straight from the statements, without building a ``prov.model`` document.

``prov.model`` costs ~23 us and 1.7 KB per record, too much for a 100,000-activity run (about
700,000 records); this writer encodes statements in batches with the C JSON encoder into a
temporary file that is renamed into place when complete (without fsync: the document is derived
from the event log, see :mod:`autoprov.store`), so a crash never leaves a torn document and the
whole text is never held in memory.  Numbers are typed exactly as ``prov`` 3.2 types them
(:func:`typed_number` mirrors ``prov.serializers.provjson.encode_json_representation``), so that
``prov.read`` of this output equals :func:`autoprov.export.provdoc.document` of the same run
(tested).  This module does not import ``prov``: that import alone costs ~50 ms (``prov.identifier``
compiles its regular expressions), and this writer runs before every ``python -m autoprov`` exits.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from ..store.atomic import atomic_file
from .model import RunModel
from .names import QName, Time, TimeText
from .statements import Statement, namespaces, statements

BATCH = 5000
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
INT32 = 2**31
INT64 = 2**63


def typed_number(value: Any) -> Any:
    """A plain value as prov's PROV-JSON writer encodes it: ints by magnitude, floats as xsd:double."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        kind = "xsd:int" if -INT32 <= value < INT32 else "xsd:long" if -INT64 <= value < INT64 else "xsd:integer"
        return {"$": str(value), "type": kind}
    if isinstance(value, float):
        if math.isnan(value):
            text = "NaN"
        elif math.isinf(value):
            text = "INF" if value > 0 else "-INF"
        else:
            text = float.__repr__(value)
        return {"$": text, "type": "xsd:double"}
    return value


class _Records:
    """Turns statements into PROV-JSON record objects (attribute values typed as prov types them)."""

    def __init__(self) -> None:
        self.numbers: dict[tuple[type, Any], Any] = {}  # the same typed literal, encoded once
        self.time = TimeText()

    def value(self, value: Any) -> Any:
        kind = type(value)
        if kind is str or kind is bool:
            return value
        if kind is QName:
            return {"$": str(value), "type": "xsd:QName"}
        if kind is Time:
            return {"$": self.time(value), "type": "xsd:dateTime"}
        key = (kind, value)
        encoded = self.numbers.get(key)
        if encoded is None:
            if len(self.numbers) > 100_000:
                self.numbers.clear()
            encoded = self.numbers[key] = typed_number(value)
        return encoded

    def record(self, formal: dict[str, Any], attributes: list[tuple[str, Any]]) -> dict[str, Any]:
        record: dict[str, Any] = {}
        time = self.time
        for name, item in formal.items():
            record[name] = time(item) if type(item) is Time else item  # a QName is a str
        for name, item in attributes:
            encoded = item if type(item) is str else self.value(item)
            if name not in record:
                record[name] = encoded
                continue
            values = record[name] if type(record[name]) is list else [record[name]]
            if encoded not in values:  # prov keeps a set of values per attribute
                values.append(encoded)
            record[name] = values
        return record


def write_statements(out: IO[str], prefixes: dict[str, str], stream: Iterable[Statement]) -> int:
    """Write one PROV-JSON document; returns the number of records written."""
    records = _Records()
    out.write('{"prefix":' + _encode(prefixes))
    kind_open: str | None = None
    pending: dict[str, Any] = {}
    first = True
    anonymous = 0
    count = 0

    def flush() -> None:
        nonlocal first
        if pending:
            out.write(("" if first else ",") + _encode(pending)[1:-1])
            first = False
            pending.clear()

    for kind, identifier, formal, attributes in stream:
        if kind != kind_open:
            flush()
            out.write(("}" if kind_open is not None else "") + f',"{kind}":{{')
            kind_open, first = kind, True
        if identifier is None:
            anonymous += 1
            identifier = f"_:id{anonymous}"
        pending[identifier] = records.record(formal, attributes)
        count += 1
        if len(pending) >= BATCH:
            flush()
    flush()
    out.write("}}\n" if kind_open is not None else "}\n")
    return count


def write(model: RunModel, path: Path) -> int:
    """``provenance.json`` for the run, written atomically; returns the number of records."""
    with atomic_file(Path(path), buffering=1 << 20) as out:
        return write_statements(out, namespaces(model), statements(model))
