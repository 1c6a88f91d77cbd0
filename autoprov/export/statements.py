"""The record model: a :class:`RunModel` as a stream of PROV statements (see ``docs/record.md``).

A statement is ``(kind, identifier, formal, attributes)``: the PROV-N record kind, its id text
(``None`` for relations, which are anonymous), its formal attributes by PROV-JSON name
(``prov:activity``, ``prov:time``, ...; ids as :class:`QName`, times as :class:`~.names.Time`), and its
other attributes as ``(name, value)`` pairs (a name may repeat: several ``prov:type`` values).
Statements come grouped by kind, so a writer can stream them; :mod:`.provdoc` turns them into a
``prov.model`` document and :mod:`.provjson` writes PROV-JSON directly, and a test proves both
give the same document.

A large run's record is almost all of a few kinds (usage, generation, start, derivation, object
entity, activity, membership): :func:`records` asks a :class:`Records` for each of those, so that a
writer can make its own form of them straight from the model (:class:`.provjson.JsonRecords`
writes their PROV-JSON text without a statement or a dict per record); :func:`statements` is
:func:`records` with the :class:`Records` that makes statements.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from collections.abc import Iterator
from os.path import basename
from typing import Any

from ..version import __version__
from .inferred import INFERRED_TYPE
from .model import Activity, EntityKey, RunModel
from .names import QName, Time, local, run_namespace

Statement = tuple[str, "str | None", dict[str, Any], list[tuple[str, Any]]]
SESSION = "run:session"
ENVIRONMENT = "run:environment"
# DESC event fields (autoprov.filtering.compiler) -> IVOA ActivityDescription attributes.
DESCRIPTION_KEYS = {"description": "voprov:description", "docurl": "voprov:doculink", "type": "voprov:type", "subtype": "voprov:subtype"}
DESCRIPTION_PARTS = {
    "parameters": "voprov:parameterDescriptions", "used": "voprov:usageDescriptions",
    "generated": "voprov:generationDescriptions", "results": "autoprov:resultDescriptions", "origin": "autoprov:filter",
}
KINDS = (
    "entity", "activity", "agent", "used", "wasGeneratedBy", "wasStartedBy", "wasInformedBy", "wasAssociatedWith",
    "actedOnBehalfOf", "wasDerivedFrom", "wasInvalidatedBy", "hadMember",
)


# Characters no output format can hold: XML 1.0 forbids C0 controls but tab, newline and carriage
# return; lone surrogates (bytes of a file name that are not UTF-8, as os.fsdecode gives them) are
# not text in any encoding.
_UNSAFE_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte of a name, as surrogateescape keeps it
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` as PROV-JSON, PROV-N, PROV-XML, Turtle and DOT can all hold it: a byte that is not
    UTF-8 becomes ``\\xNN``, a control character ``\\xNN`` (cost: one C call for ordinary text)."""
    if text.isprintable() or _UNSAFE_TEXT.search(text) is None:
        return text
    return _UNSAFE_TEXT.sub(_escape, text)


def attribute_value(value: Any) -> Any:
    """A JSON-ready rendering as a PROV attribute value: scalars typed, structures as JSON text
    (ASCII JSON: any character survives, escaped)."""
    if type(value) is str:
        return printable(value)
    if isinstance(value, (bool, int, float, str)):
        return value if not isinstance(value, float) or value == value else repr(value)
    if value is None:
        return "None"
    return _structure(value)


# json.dumps with these arguments, without making an encoder per call (~2 us of each object's record)
_structure = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=repr).encode


def namespaces(model: RunModel) -> dict[str, str]:
    from .names import NAMESPACES

    return {**NAMESPACES, "run": run_namespace(model.run_id or "unknown")}


class EntityIds:
    """Entity key -> id.  A file version is named by its content digest when that name is free."""

    def __init__(self, model: RunModel) -> None:
        self.model = model
        self.ids: dict[EntityKey, str] = {}
        self.by_content: dict[str, EntityKey] = {}
        self._counter = 0

    def __getitem__(self, key: EntityKey) -> str:
        name = self.ids.get(key)
        if name is None:
            name = self.ids[key] = self._new(key)
        return name

    def _new(self, key: EntityKey) -> str:
        if key[0] == "obj":
            return f"run:obj_{key[1]}"
        digest = self.model.digests.get((key[1], key[2])) if key[0] == "file" else None
        if digest is not None and digest[1] is not None:
            return self.content(f"{digest[0]}_{digest[1]}", key)
        self._counter += 1
        return f"run:{key[0]}_{self._counter}"

    def content(self, content: str, key: EntityKey) -> str:
        """``file:<alg>_<hex>``, shared by runs; another path or version with the same content is run-local."""
        if self.by_content.setdefault(content, key) == key:
            return f"file:{content}"
        self._counter += 1
        return f"run:file_{content}_{self._counter}"


def statements(model: RunModel) -> Iterator[Statement]:
    """Every statement of the run's record, grouped by kind in :data:`KINDS` order."""
    return records(model, Records())


def records(model: RunModel, make: Records) -> Iterator[Any]:
    """Every record of the run, grouped by kind in :data:`KINDS` order, each as ``make`` makes it."""
    ids = EntityIds(model)
    script = _script_id(model, ids)
    yield from _entities(model, ids, script, make)
    yield from map(make.statement, _session(model))
    yield from map(make.activity, model.activities.values())
    yield from map(make.statement, _agents(model))
    yield from _links(model, ids, make)
    yield from _started(model, make)
    yield from map(make.statement, _informed(model))
    yield from map(make.statement, _associations(model, script))
    yield from _revisions(model, ids, make)
    yield from _derivations(model, ids, make)
    yield from map(make.statement, _invalidations(model, ids))
    for collection, member in model.members:
        yield make.member(ids[("obj", collection)], ids[("obj", member)])


def _act_id(act: int | None) -> QName:
    return QName(act_id(act))


def act_id(act: int | None) -> str:
    """The id of an activity (``None``: the run itself)."""
    return SESSION if act is None else f"run:act_{act}"


class Records:
    """The common records as :data:`Statement` tuples; the one definition of what they say.

    A writer that makes another form of them (:class:`.provjson.JsonRecords`) overrides every
    method but :meth:`statement` must give what encoding these statements would (tested); ``act``
    is an activity number (``None``: the run), entities are ids.
    """

    def statement(self, statement: Statement) -> Any:
        """Any other record, already a statement."""
        return statement

    def object_entity(self, identifier: str, description: dict[str, Any], collection: bool) -> Any:
        attributes: list[tuple[str, Any]] = [("prov:type", QName("autoprov:PythonObject"))]
        if collection:
            attributes.append(("prov:type", QName("prov:Collection")))
        attributes.append(("prov:label", object_label(description)))
        for key, value in description.items():
            attributes.append((object_attribute(key), attribute_value(value)))
        return ("entity", identifier, {}, attributes)

    def activity(self, activity: Activity) -> Any:
        formal: dict[str, Any] = {"prov:startTime": Time(activity.start)}
        if activity.end is not None:
            formal["prov:endTime"] = Time(activity.end)
        attributes: list[tuple[str, Any]] = [
            ("prov:type", CALL), ("prov:label", activity.name),
            ("voprov:activityDescription", QName(description_id(activity.name))),
            ("autoprov:status", activity.status), ("autoprov:rule", printable(activity.rule)),
            ("autoprov:thread", printable(activity.thread)),
        ]
        if activity.error:
            attributes.append(("autoprov:error", printable(activity.error)))
        if activity.accessor:
            attributes.append(("autoprov:accessor", activity.accessor))
        for name, value in activity.params.items():
            attributes.append(("param:" + local(name), attribute_value(value)))
        return ("activity", QName(act_id(activity.act)), formal, attributes)

    def usage(self, act: int | None, entity: str, time: int | None, role: str) -> Any:
        formal: dict[str, Any] = {"prov:activity": _act_id(act), "prov:entity": QName(entity)}
        if time is not None:
            formal["prov:time"] = Time(time)
        return ("used", None, formal, [("prov:role", role)])

    def generation(self, entity: str, act: int | None, time: int | None, role: str) -> Any:
        formal: dict[str, Any] = {"prov:entity": QName(entity), "prov:activity": _act_id(act)}
        if time is not None:
            formal["prov:time"] = Time(time)
        return ("wasGeneratedBy", None, formal, [("prov:role", role)])

    def start(self, act: int, starter: int | None, time: int) -> Any:
        return ("wasStartedBy", None, {"prov:activity": _act_id(act), "prov:starter": _act_id(starter), "prov:time": Time(time)}, [])

    def derivation(self, generated: str, used: str, act: int | None) -> Any:
        formal = {"prov:generatedEntity": QName(generated), "prov:usedEntity": QName(used), "prov:activity": _act_id(act)}
        return ("wasDerivedFrom", None, formal, [])

    def revision(self, new: str, previous: str, act: int | None) -> Any:
        """``wasRevisionOf``: a new version of the same file or object (a derivation typed prov:Revision)."""
        formal = {"prov:generatedEntity": QName(new), "prov:usedEntity": QName(previous), "prov:activity": _act_id(act)}
        return ("wasDerivedFrom", None, formal, [("prov:type", REVISION)])

    def inferred(self, product: str, source: str, act: int | None) -> Any:
        """A derivation the record does not hold, inferred from the order of reads and writes."""
        formal = {"prov:generatedEntity": QName(product), "prov:usedEntity": QName(source), "prov:activity": _act_id(act)}
        return ("wasDerivedFrom", None, formal, [("prov:type", INFERRED)])

    def member(self, collection: str, member: str) -> Any:
        return ("hadMember", None, {"prov:collection": QName(collection), "prov:entity": QName(member)}, [])


CALL = QName("autoprov:Call")
REVISION = QName("prov:Revision")
INFERRED = QName(INFERRED_TYPE)


def object_label(description: dict[str, Any]) -> str:
    """An object's label: its name, else its type's last part."""
    python_type = str(description.get("type", "object"))
    return printable(str(description.get("name") or python_type.rsplit(".", 1)[-1]))


def object_attribute(key: str) -> str:
    """The attribute name of one field of an object's description."""
    return "autoprov:python_type" if key == "type" else f"autoprov:{local(key)}"


def _script_id(model: RunModel, ids: EntityIds) -> str | None:
    script = (model.environment or {}).get("script")
    if not isinstance(script, dict) or not script.get("path"):
        return None
    if script.get("digest"):
        return ids.content(f"{script['algorithm']}_{script['digest']}", ("file", script["path"], 0))
    return "run:script"


# -- entities ------------------------------------------------------------------------------------


def _entities(model: RunModel, ids: EntityIds, script: str | None, make: Records) -> Iterator[Any]:
    keys: dict[EntityKey, None] = dict.fromkeys(("obj", k) for k in model.objects)
    for link in (*model.used, *model.generated):
        keys[link.entity] = None
    for out, source, _ in (*model.derived, *model.revisions):
        keys[out] = keys[source] = None
    for entity, _, _ in model.invalidated:
        keys[entity] = None
    for collection, member in model.members:
        keys[("obj", collection)] = keys[("obj", member)] = None
    collections = {collection for collection, _ in model.members}
    for key in keys:
        if key[0] == "obj":
            yield make.object_entity(ids[key], model.objects.get(key[1], {}), key[1] in collections)
        else:
            identifier = ids[key]
            if identifier != script:
                yield make.statement(_file_entity(identifier, key, model))
    if script is not None:
        yield make.statement(_script_entity(script, model.environment["script"], model))
    if model.environment is not None:
        yield make.statement(("entity", ENVIRONMENT, {}, _environment_attributes(model.environment)))
    for name in dict.fromkeys(activity.name for activity in model.activities.values()):
        yield make.statement(_description_entity(name, model.descriptions.get(name, {})))


def _path_attributes(path: str) -> list[tuple[str, Any]]:
    """Label and location; a name that had to be escaped also keeps its exact bytes (hex)."""
    location = printable(path)
    attributes: list[tuple[str, Any]] = [("prov:label", printable(basename(path) or path)), ("prov:location", location)]
    if location != path:
        attributes.append(("autoprov:path_bytes", os.fsencode(path).hex()))
    return attributes


def _file_attributes(path: str, digest: tuple | None) -> list[tuple[str, Any]]:
    attributes: list[tuple[str, Any]] = [("prov:type", QName("autoprov:File")), *_path_attributes(path)]
    if digest is not None:
        algorithm, hexdigest, size, mtime = digest
        if hexdigest is not None:
            attributes += [("autoprov:digest", hexdigest), ("autoprov:digest_type", algorithm)]
        if size is not None:
            attributes.append(("autoprov:size", size))
        if mtime is not None:
            attributes.append(("autoprov:mtime", Time(mtime)))
    return attributes


def _file_entity(identifier: str, key: EntityKey, model: RunModel) -> Statement:
    if key[0] == "path":
        return ("entity", identifier, {}, [("prov:type", QName("autoprov:Path")), *_path_attributes(key[1])])
    attributes = _file_attributes(key[1], model.digests.get((key[1], key[2])))
    attributes.append(("autoprov:version", key[2]))
    for via in model.links.get((key[1], key[2]), ()):
        attributes.append(("autoprov:link_path", printable(via)))
    module = model.modules.get(key[1])
    if module is not None:
        attributes += [("prov:type", QName("autoprov:Module")), ("autoprov:module", module)]
    return ("entity", identifier, {}, attributes)


def _script_entity(identifier: str, script: dict[str, Any], model: RunModel) -> Statement:
    digest = (script.get("algorithm"), script.get("digest"), script.get("size"), script.get("mtime_ns"))
    attributes = _file_attributes(script["path"], digest)
    attributes.append(("prov:type", QName("prov:Plan")))
    return ("entity", identifier, {}, attributes)


def _environment_attributes(environment: dict[str, Any]) -> list[tuple[str, Any]]:
    """The environment as flat, queryable attributes (``environment.json`` has all of it)."""
    attributes: list[tuple[str, Any]] = [("prov:type", QName("autoprov:Environment")), ("prov:label", "environment")]
    for section in ("platform", "python", "git"):
        values = environment.get(section)
        if isinstance(values, dict):
            for key, value in values.items():
                if key != "version_string":
                    attributes.append((f"autoprov:{section}_{local(key)}", attribute_value(value)))
    for key in ("user", "hostname", "cwd"):
        if key in environment:
            attributes.append((f"autoprov:{key}", attribute_value(environment[key])))
    for key in ("packages", "environment_variables", "argv", "left_out_of_record"):
        if key in environment:
            attributes.append((f"autoprov:{key}", attribute_value(environment[key])))
    return attributes


def _description_entity(name: str, description: dict[str, Any]) -> Statement:
    """The IVOA ActivityDescription of the calls named ``name``, from the filter's DESC event."""
    activity = description.get("activity") or {}
    attributes: list[tuple[str, Any]] = [
        ("prov:type", QName("voprov:ActivityDescription")), ("voprov:name", name),
        ("prov:label", str(activity.get("name") or name.rsplit(".", 1)[-1])),
    ]
    for key, target in DESCRIPTION_KEYS.items():
        if activity.get(key) is not None:
            attributes.append((target, attribute_value(activity[key])))
    for key, target in DESCRIPTION_PARTS.items():
        if description.get(key):
            attributes.append((target, attribute_value(description[key])))
    return ("entity", description_id(name), {}, attributes)


def description_id(name: str) -> str:
    return f"desc:{local(name)}"


# -- activities and agents -----------------------------------------------------------------------


def _session(model: RunModel) -> Iterator[Statement]:
    info = model.info
    formal: dict[str, Any] = {}
    if model.start is not None:
        formal["prov:startTime"] = Time(model.start)
    if model.end is not None:
        formal["prov:endTime"] = Time(model.end)
    program = str(info.get("program") or "session")
    attributes: list[tuple[str, Any]] = [
        ("prov:type", QName("autoprov:Run")), ("prov:label", printable(f"run of {basename(program) or program}")),
        ("autoprov:run_id", model.run_id), ("autoprov:status", model.status),
        ("autoprov:command_line", printable(shlex.join(str(arg) for arg in info.get("argv", [])))),
    ]
    if model.exit_code is not None:
        attributes.append(("autoprov:exit_code", model.exit_code))
    for key in ("program", "cwd", "pid", "engine", "engine_reason", "hash_algorithm", "autoprov_version"):
        if key in info:
            attributes.append((f"autoprov:{key}", attribute_value(info[key])))
    for key in ("duration", "cpu_time", "peak_rss"):
        if key in model.exit_info:
            attributes.append((f"autoprov:{key}", attribute_value(model.exit_info[key])))
    if model.errors:
        attributes.append(("autoprov:capture_errors", attribute_value(model.errors)))
    yield ("activity", SESSION, formal, attributes)


def _user(model: RunModel) -> str:
    user = (model.environment or {}).get("user")
    return user if isinstance(user, str) and user else "unknown"


def software_agent_id(model: RunModel) -> str:
    return f"autoprov:{local('autoprov_' + str(model.info.get('autoprov_version', __version__)))}"


def _agents(model: RunModel) -> Iterator[Statement]:
    yield ("agent", f"user:{local(_user(model))}", {}, [("prov:type", QName("prov:Person")), ("prov:label", printable(_user(model)))])
    version = str(model.info.get("autoprov_version", __version__))
    yield ("agent", software_agent_id(model), {}, [("prov:type", QName("prov:SoftwareAgent")), ("prov:label", f"autoprov {version}"), ("autoprov:version", version)])


def _associations(model: RunModel, script: str | None) -> Iterator[Statement]:
    user = QName(f"user:{local(_user(model))}")
    formal: dict[str, Any] = {"prov:activity": QName(SESSION), "prov:agent": user}
    if script is not None:
        formal["prov:plan"] = QName(script)
    yield ("wasAssociatedWith", None, formal, [("prov:role", "user")])
    software = QName(software_agent_id(model))
    yield ("wasAssociatedWith", None, {"prov:activity": QName(SESSION), "prov:agent": software}, [("prov:role", "recorder")])
    yield ("actedOnBehalfOf", None, {"prov:delegate": software, "prov:responsible": user, "prov:activity": QName(SESSION)}, [])


# -- relations -----------------------------------------------------------------------------------


def _links(model: RunModel, ids: EntityIds, make: Records) -> Iterator[Any]:
    if model.environment is not None:
        yield make.usage(None, ENVIRONMENT, None, "environment")
    for link in model.used:
        yield make.usage(link.act, ids[link.entity], link.time, link.role)
    for link in model.generated:
        yield make.generation(ids[link.entity], link.act, link.time, link.role)


def _started(model: RunModel, make: Records) -> Iterator[Any]:
    activities = model.activities
    for activity in activities.values():
        yield make.start(activity.act, activity.parent if activity.parent in activities else None, activity.start)


def _informed(model: RunModel) -> Iterator[Statement]:
    """A pool task ``wasInformedBy`` the call that submitted it (its process is its starter)."""
    for act, informant in model.informed:
        if act in model.activities:
            informant = informant if informant in model.activities else None
            yield ("wasInformedBy", None, {"prov:informed": _act_id(act), "prov:informant": _act_id(informant)}, [])


MAX_DERIVATIONS_PER_ACTIVITY = 10_000


def _revisions(model: RunModel, ids: EntityIds, make: Records) -> Iterator[Any]:
    for new, previous, act in model.revisions:
        yield make.revision(ids[new], ids[previous], act)


def _derivations(model: RunModel, ids: EntityIds, make: Records) -> Iterator[Any]:
    """Each output of an activity derives from each of its inputs (and copies from their source).

    The pairs grow as inputs x outputs: a run that reads 1,000 files and writes 1,000 outside any
    activity would get a million statements saying nothing more than its used/generated links.
    Above :data:`MAX_DERIVATIONS_PER_ACTIVITY` pairs an activity's derivations are left to those
    links (docs/record.md).
    """
    inputs: dict[int | None, list[str]] = {}
    outputs: dict[int | None, int] = {}
    for link in model.used:
        inputs.setdefault(link.act, []).append(ids[link.entity])
    for link in model.generated:
        outputs[link.act] = outputs.get(link.act, 0) + 1
    crossed = {act for act, count in outputs.items() if count * len(inputs.get(act, ())) <= MAX_DERIVATIONS_PER_ACTIVITY}
    seen: set[tuple[str, str]] = set()
    pairs = [(ids[link.entity], source, link.act) for link in model.generated if link.act in crossed for source in inputs.get(link.act, ())]
    pairs += [(ids[out], ids[source], act) for out, source, act in model.derived]
    seen.update((ids[new], ids[previous]) for new, previous, _ in model.revisions)  # said as revisions
    for out, source, act in pairs:
        if out != source and (out, source) not in seen:
            seen.add((out, source))
            yield make.derivation(out, source, act)
    for out, source, act in model.inferred:  # products the record links to no input (.inferred)
        yield make.inferred(ids[out], ids[source], act)


def _invalidations(model: RunModel, ids: EntityIds) -> Iterator[Statement]:
    for entity, act, t in model.invalidated:
        yield ("wasInvalidatedBy", None, {"prov:entity": QName(ids[entity]), "prov:activity": _act_id(act), "prov:time": Time(t)}, [])
