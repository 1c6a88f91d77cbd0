"""PROV-JSON written straight from the run model, without building a ``prov.model`` document.

``prov.model`` costs ~23 us and 1.7 KB per record, too much for a 100,000-activity run (about
1,000,000 records); this writer makes each record's JSON text itself (:class:`JsonRecords`: the
common kinds with one f-string each, the rare ones by encoding their statement with the C JSON
encoder) and writes them in batches into a temporary file that is renamed into place when
complete (without fsync: the document is derived from the event log, see :mod:`autoprov.store`),
so a crash never leaves a torn document and the whole text is never held in memory.  Numbers are
typed exactly as ``prov`` 3.2 types them (:func:`typed_number` mirrors
``prov.serializers.provjson.encode_json_representation``), so that ``prov.read`` of this output
equals :func:`autoprov.export.renderers.provdoc.document` of the same run (tested).  This module does not
import ``prov``: that import alone costs ~50 ms (``prov.identifier`` compiles its regular
expressions), and this writer runs before every ``python -m autoprov`` exits."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from ...store.atomic import atomic_file
from ..model import Activity, RunModel
from ..names import QName, Time, TimeText, local
from ..statements import (
    Records, Statement, act_id, attribute_value, description_id, namespaces, object_attribute, object_label, printable, records,
)

BATCH = 5000
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
INT32 = 2**31
INT64 = 2**63


def _literal(value: Any) -> tuple[str, str] | None:
    """A number's (lexical form, xsd type) as prov's PROV-JSON writer gives them (``None``: not a
    number); ints are typed by magnitude, floats as xsd:double."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value), "xsd:int" if -INT32 <= value < INT32 else "xsd:long" if -INT64 <= value < INT64 else "xsd:integer"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN", "xsd:double"
        if math.isinf(value):
            return "INF" if value > 0 else "-INF", "xsd:double"
        return float.__repr__(value), "xsd:double"
    return None


def typed_number(value: Any) -> Any:
    """A plain value as prov's PROV-JSON writer encodes it: numbers as typed literals."""
    literal = _literal(value)
    return value if literal is None else {"$": literal[0], "type": literal[1]}


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


_text = json.encoder.encode_basestring  # the C function the encoder above uses for every string
_PYTHON_OBJECT = '"prov:type":{"$":"autoprov:PythonObject","type":"xsd:QName"}'
_PYTHON_COLLECTION = '"prov:type":[{"$":"autoprov:PythonObject","type":"xsd:QName"},{"$":"prov:Collection","type":"xsd:QName"}]'
_CALL = '"prov:type":{"$":"autoprov:Call","type":"xsd:QName"}'
_REVISION = ',"prov:type":{"$":"prov:Revision","type":"xsd:QName"}'
_INFERRED = ',"prov:type":{"$":"autoprov:InferredDerivation","type":"xsd:QName"}'  # autoprov.export.inferred


class JsonRecords(Records):
    """Each record as ``(kind, text)``, its text ``"id":{...}`` exactly what encoding the statement
    :class:`Records` makes would give (``tests/test_provjson_records.py``), but made with one
    f-string per record: no statement, no dict, no encoder call.  The statements and their encoding
    cost ~12 us per record, too much for the ~1,000,000 records of a 100,000-activity run.
    Relations are numbered ``_:idN`` in the order they are made, as prov numbers them on reading.
    """

    def __init__(self) -> None:
        self.generic = _Records()
        self.time = self.generic.time
        self.anonymous = 0
        self.acts: dict[int | None, str] = {}  # activity -> its id as JSON text
        self.names: dict[tuple[str, tuple[str, ...]], tuple[str, ...] | None] = {}  # see _names

    def statement(self, statement: Statement) -> tuple[str, str]:
        kind, identifier, formal, attributes = statement
        return kind, f"{self._key(identifier)}:{_encode(self.generic.record(formal, attributes))}"

    def _key(self, identifier: str | None) -> str:
        if identifier is None:
            self.anonymous += 1
            return f'"_:id{self.anonymous}"'
        return _text(identifier)

    def _act(self, act: int | None) -> str:
        text = self.acts.get(act)
        if text is None:
            text = self.acts[act] = _text(act_id(act))
        return text

    def _value(self, value: Any) -> str:
        """One attribute value, made by the statement path or by the reader (a str), as JSON text."""
        kind = type(value)
        if kind is str:
            return _text(value)
        if kind is int or kind is float:
            return '{"$":"%s","type":"%s"}' % _literal(value)
        return _encode(self.generic.value(value))

    def _rendered(self, value: Any) -> str:
        """``_value(attribute_value(value))`` with the common kinds of value rendered here."""
        kind = type(value)
        if kind is str:
            return _text(printable(value))
        if kind is int or (kind is float and value == value):  # NaN is rendered as text
            return '{"$":"%s","type":"%s"}' % _literal(value)
        return self._value(attribute_value(value))

    def _names(self, prefix: str, keys: tuple[str, ...], name: Any) -> tuple[str, ...] | None:
        """The attribute names of a record's variable part as JSON text (``"param:x":``), once per
        set of keys; ``None`` when two keys give one name, which only the statement path merges."""
        cache_key = (prefix, keys)
        names = self.names.get(cache_key, False)
        if names is False:
            if len(self.names) > 10_000:
                self.names.clear()
            texts = [name(key) for key in keys]
            names = self.names[cache_key] = tuple(_text(text) + ":" for text in texts) if len(set(texts)) == len(texts) else None
        return names

    # The hot loop.  Measured on the 1e5-activity synthetic run (903,000 records, 2-core VM at
    # load 4-5): the write costs ~4.7 us per record (~8.4 us as statements encoded), ~2 us of it
    # in these methods, the rest the walk over the model (ids, derivation pairs) and the file.

    def object_entity(self, identifier: str, description: dict[str, Any], collection: bool) -> tuple[str, str]:
        names = self._names("obj", tuple(description), object_attribute)
        if names is None:
            return self.statement(super().object_entity(identifier, description, collection))
        rendered = self._rendered
        fields = "".join([f",{name}{rendered(item)}" for name, item in zip(names, description.values())])
        kind = _PYTHON_COLLECTION if collection else _PYTHON_OBJECT
        return "entity", f'{_text(identifier)}:{{{kind},"prov:label":{_text(object_label(description))}{fields}}}'

    def activity(self, activity: Activity) -> tuple[str, str]:
        names = self._names("param", tuple(activity.params), _param_name)
        if names is None:
            return self.statement(super().activity(activity))
        time, value = self.time, self._value
        end = "" if activity.end is None else f',"prov:endTime":"{time(activity.end)}"'
        error = f',"autoprov:error":{_text(printable(activity.error))}' if activity.error else ""
        accessor = f',"autoprov:accessor":{_text(activity.accessor)}' if activity.accessor else ""
        rendered = self._rendered
        params = "".join([f",{name}{rendered(item)}" for name, item in zip(names, activity.params.values())])
        return "activity", (
            f'{self._act(activity.act)}:{{"prov:startTime":"{time(activity.start)}"{end},{_CALL},'
            f'"prov:label":{_text(activity.name)},"voprov:activityDescription":{{"$":{_text(description_id(activity.name))},"type":"xsd:QName"}},'
            f'"autoprov:status":{value(activity.status)},"autoprov:rule":{_text(printable(activity.rule))},'
            f'"autoprov:thread":{_text(printable(activity.thread))}{error}{accessor}{params}}}'
        )

    def usage(self, act: int | None, entity: str, time: int | None, role: str) -> tuple[str, str]:
        at = "" if time is None else f',"prov:time":"{self.time(time)}"'
        return "used", f'{self._key(None)}:{{"prov:activity":{self._act(act)},"prov:entity":{_text(entity)}{at},"prov:role":{_text(role)}}}'

    def generation(self, entity: str, act: int | None, time: int | None, role: str) -> tuple[str, str]:
        at = "" if time is None else f',"prov:time":"{self.time(time)}"'
        return "wasGeneratedBy", f'{self._key(None)}:{{"prov:entity":{_text(entity)},"prov:activity":{self._act(act)}{at},"prov:role":{_text(role)}}}'

    def start(self, act: int, starter: int | None, time: int) -> tuple[str, str]:
        return "wasStartedBy", f'{self._key(None)}:{{"prov:activity":{self._act(act)},"prov:starter":{self._act(starter)},"prov:time":"{self.time(time)}"}}'

    def derivation(self, generated: str, used: str, act: int | None) -> tuple[str, str]:
        return "wasDerivedFrom", f'{self._key(None)}:{{"prov:generatedEntity":{_text(generated)},"prov:usedEntity":{_text(used)},"prov:activity":{self._act(act)}}}'

    def revision(self, new: str, previous: str, act: int | None) -> tuple[str, str]:
        return "wasDerivedFrom", f'{self._key(None)}:{{"prov:generatedEntity":{_text(new)},"prov:usedEntity":{_text(previous)},"prov:activity":{self._act(act)}{_REVISION}}}'

    def inferred(self, product: str, source: str, act: int | None) -> tuple[str, str]:
        return "wasDerivedFrom", f'{self._key(None)}:{{"prov:generatedEntity":{_text(product)},"prov:usedEntity":{_text(source)},"prov:activity":{self._act(act)}{_INFERRED}}}'

    def member(self, collection: str, member: str) -> tuple[str, str]:
        return "hadMember", f'{self._key(None)}:{{"prov:collection":{_text(collection)},"prov:entity":{_text(member)}}}'


def _param_name(key: str) -> str:
    return "param:" + local(key)


def write_texts(out: IO[str], prefixes: dict[str, str], texts: Iterable[tuple[str, str]]) -> int:
    """Write one PROV-JSON document of ``(kind, text)`` records grouped by kind; returns their number."""
    out.write('{"prefix":' + _encode(prefixes))
    kind_open: str | None = None
    pending: list[str] = []
    first = True
    count = 0

    def flush() -> None:
        nonlocal first
        if pending:
            out.write(("" if first else ",") + ",".join(pending))
            first = False
            pending.clear()

    for kind, text in texts:
        if kind != kind_open:
            flush()
            out.write(("}" if kind_open is not None else "") + f',"{kind}":{{')
            kind_open, first = kind, True
        pending.append(text)
        count += 1
        if len(pending) >= BATCH:
            flush()
    flush()
    out.write("}}\n" if kind_open is not None else "}\n")
    return count


def write_statements(out: IO[str], prefixes: dict[str, str], stream: Iterable[Statement]) -> int:
    """Write one PROV-JSON document of these statements; returns the number of records written."""
    return write_texts(out, prefixes, map(JsonRecords().statement, stream))


def write_model(out: IO[str], model: RunModel) -> int:
    """Write the run's PROV-JSON document; returns the number of records."""
    return write_texts(out, namespaces(model), records(model, JsonRecords()))


def write(model: RunModel, path: Path) -> int:
    """``provenance.json`` for the run, written atomically; returns the number of records."""
    with atomic_file(Path(path), buffering=1 << 20) as out:
        return write_model(out, model)
