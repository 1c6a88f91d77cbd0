"""Read a run's events once into a compact, PROV-neutral model of what happened.

This is the only place that interprets the event format (:mod:`autoprov.events`); the PROV
builder, the streaming writer, the graph and the summary all start from a :class:`RunModel`.
It holds small tuples, not ``prov.model`` objects, so a run of 100,000 activities fits in a
few hundred megabytes and is read in seconds.

Entity keys are tuples: ``("obj", k)`` for a Python object, ``("file", path, version)`` for one
version of a file, ``("path", path)`` for a path whose content is unknown (a directory, a file
named as an argument but never opened).  ``None`` as an activity means the run itself.

What a :class:`RunModel` says, for every writer that starts from it:

* ``activities``: one :class:`Activity` per recorded call, in start order (parents first);
* ``used`` / ``generated``: one :class:`Link` per activity and entity and direction, with the
  filter's role (a file opened by a call whose argument names it gets the argument's role, also
  when the FILEARG event comes after the FILE event, as it does for written files);
* ``derived``: (output, input, activity) for copies, renames, hard links and in-place updates of
  files; ``revisions``: (new, previous, activity or None) for new versions of the same file or
  object (an object whose state changed between two uses, :mod:`autoprov.recorder.objects`);
* ``members``: (collection, member) object pairs (``hadMember``);
* ``invalidated``: file versions removed or renamed away;
* ``left_out``: in a view's copy of the model only (:mod:`.clutter`), the activities it leaves out;
* ``digests``: (path, version) -> (algorithm, hexdigest, size, mtime_ns);
* ``links``: (path, version) -> the paths it was opened through (symbolic links);
* ``modules``: path -> module name, for the program's own imported modules (used by the run);
* ``scope``: what the file record leaves out (the SCOPE event), also in ``environment``.

Paths are ``str`` as the OS gave them: a name that is not valid UTF-8 holds lone surrogates
(``os.fsdecode``); writers make them printable (:func:`autoprov.export.statements.printable`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .. import events
from ..log.merge import merged_events
from .inferred import infer

EntityKey = tuple
OPENING_ROLES = frozenset({"read", "write", "update", "truncate"})  # the roles of plain opens, which a named argument overrides


# Plain classes with __slots__, not dataclasses: importing ``dataclasses`` (with ``inspect``) costs
# ~10 ms, and this module is imported before every ``python -m autoprov`` exits (PROV-JSON).
class Activity:
    """One recorded call; ``accessor`` is "getter" for a call of a property's getter (a read)."""

    __slots__ = ("act", "parent", "name", "rule", "start", "thread", "params", "end", "status", "error", "accessor")

    def __init__(self, act: int, parent: int | None, name: str, rule: str, start: int, thread: str,
                 params: dict[str, Any], end: int | None = None, status: str = "incomplete", error: str | None = None,
                 accessor: str | None = None) -> None:
        self.act, self.parent, self.name, self.rule, self.start = act, parent, name, rule, start
        self.thread, self.params, self.end, self.status, self.error = thread, params, end, status, error
        self.accessor = accessor


class Link:
    """``used`` or ``wasGeneratedBy`` between an activity (None: the run) and an entity."""

    __slots__ = ("act", "role", "entity", "time")

    def __init__(self, act: int | None, role: str, entity: EntityKey, time: int | None) -> None:
        self.act, self.role, self.entity, self.time = act, role, entity, time


class RunModel:
    def __init__(self) -> None:
        self.run_id = ""
        self.info: dict[str, Any] = {}
        self.start: int | None = None
        self.end: int | None = None
        self.status = "incomplete"
        self.exit_code: int | None = None
        self.exit_info: dict[str, Any] = {}
        self.environment: dict[str, Any] | None = None
        self.errors: list[str] = []
        self.activities: dict[int, Activity] = {}
        self.descriptions: dict[str, dict[str, Any]] = {}
        self.objects: dict[int, dict[str, Any]] = {}
        self.members: list[tuple[int, int]] = []
        self.used: list[Link] = []
        self.generated: list[Link] = []
        self.derived: list[tuple[EntityKey, EntityKey, int | None]] = []  # (out, in, act): copies
        self.revisions: list[tuple[EntityKey, EntityKey, int | None]] = []  # (new, previous, act)
        self.links: dict[tuple[str, int], list[str]] = {}
        self.modules: dict[str, str] = {}
        self.scope: dict[str, Any] | None = None
        self.invalidated: list[tuple[EntityKey, int | None, int]] = []
        self.digests: dict[tuple[str, int], tuple[str, str | None, int | None, int | None]] = {}
        self.informed: list[tuple[int, int | None]] = []  # (pool task, submitting activity): wasInformedBy
        # (product, input file, act): written files the record links to no read file (.inferred)
        self.inferred: list[tuple[EntityKey, EntityKey, int | None]] = []
        # the activities a view leaves out (.clutter.quiet: property reads, library-internal commands);
        # always empty in the model the documents are written from
        self.left_out: dict[int, Activity] = {}

    @property
    def entity_count(self) -> int:
        keys = {link.entity for link in self.used} | {link.entity for link in self.generated}
        keys.update(("obj", k) for k in self.objects)
        return len(keys)


def load(run_dir: Path | str) -> RunModel:
    """The model of the run stored in ``run_dir`` (works on a log without EXIT: status incomplete).

    The logs of the run's child processes are merged into one stream first (issue 14).
    """
    return build(merged_events(run_dir))


def build(stream: Iterable[list | tuple]) -> RunModel:
    builder = _Builder()
    for event in stream:
        handler = builder.handlers.get(event[0])
        if handler is not None:  # kinds this reader does not know are skipped
            handler(*event[1:])
    builder.finish()
    return builder.model


class _Builder:
    """Folds events into a RunModel; file roles and versions need a little state."""

    def __init__(self) -> None:
        self.model = RunModel()
        self.fileargs: dict[tuple[int, str], tuple[str, str]] = {}  # (act, path) -> (role, direction)
        self.seen: set[tuple[str, int | None, EntityKey]] = set()
        self.version: dict[str, int] = {}  # path -> current version, as the FileTracker counts
        self.removed: dict[str, int | None] = {}  # path -> the activity that removed it last
        self.handlers = {
            events.RUN: self.run, events.ACT: self.act, events.END: self.end, events.USE: self.use,
            events.GEN: self.gen, events.OBJ: self.obj, events.MEMBER: self.member, events.REV: self.rev,
            events.SCOPE: self.scope,
            events.FILEARG: self.filearg, events.FILE: self.file, events.DIGEST: self.digest,
            events.ERROR: self.error, events.DESC: self.desc, events.ENV: self.env, events.EXIT: self.exit,
            events.INFORM: self.inform,
        }

    # -- run and activities ------------------------------------------------------------------

    def run(self, run_id: str, t: int, info: dict, *_: Any) -> None:
        self.model.run_id, self.model.start, self.model.info = run_id, t, info

    def act(self, act: int, parent: int | None, name: str, rule: str, t: int, thread: str, params: dict, *_: Any) -> None:
        accessor = None
        if rule.endswith(events.GETTER):  # a property read (autoprov.events)
            rule, accessor = rule[: -len(events.GETTER)], "getter"
        self.model.activities[act] = Activity(act, parent, name, rule, t, thread, params or {}, accessor=accessor)

    def end(self, act: int, t: int, status: str, error: str | None, results: dict | None = None, *_: Any) -> None:
        activity = self.model.activities.get(act)
        if activity is not None and activity.end is None:
            activity.end, activity.status, activity.error = t, status, error
            if results:  # values read at return (fit statistics, fitted parameters)
                activity.params.update(results)

    def inform(self, act: int, process: str, informant: int | None, *_: Any) -> None:
        """A pool task and the call that submitted it (ids made global by the merge of process logs)."""
        self.model.informed.append((act, informant))

    def desc(self, name: str, description: dict, *_: Any) -> None:
        self.model.descriptions[name] = description or {}

    def env(self, environment: dict, *_: Any) -> None:
        self.model.environment = environment

    def error(self, component: str, message: str, *_: Any) -> None:
        self.model.errors.append(f"{component}: {message}")

    def exit(self, t: int, status: str, exit_code: int | None, info: dict, *_: Any) -> None:
        model = self.model
        model.end, model.status, model.exit_code, model.exit_info = t, status, exit_code, info or {}

    # -- objects -------------------------------------------------------------------------------

    def _link(self, into: list[Link], kind: str, act: int | None, role: str, key: EntityKey, t: int | None) -> None:
        if (kind, act, key) not in self.seen:  # one relation per activity and entity
            self.seen.add((kind, act, key))
            into.append(Link(act, str(role), key, t))

    def use(self, act: int, role: str, obj: int, t: int, *_: Any) -> None:
        self._link(self.model.used, "used", act, role, ("obj", obj), t)

    def gen(self, act: int, role: str, obj: int, t: int, *_: Any) -> None:
        self._link(self.model.generated, "gen", act, role, ("obj", obj), t)

    def obj(self, obj: int, description: dict, *_: Any) -> None:
        self.model.objects[obj] = description or {}

    def member(self, collection: int, member: int, *_: Any) -> None:
        self.model.members.append((collection, member))

    def rev(self, obj: int, previous: int, act: int | None, *_: Any) -> None:
        self.model.revisions.append((("obj", obj), ("obj", previous), act))

    def scope(self, scope: dict, *_: Any) -> None:
        self.model.scope = scope or {}

    # -- files ---------------------------------------------------------------------------------

    def filearg(self, act: int, role: str, path: str, direction: str, *_: Any) -> None:
        self.fileargs[(act, path)] = (role, direction)

    def digest(self, path: str, version: int, algorithm: str, hexdigest: str | None, size: int | None, mtime: int | None, *_: Any) -> None:
        self.model.digests[(path, version)] = (algorithm, hexdigest, size, mtime)

    def file(self, act: int | None, op: str, path: str, t: int, extra: Any, details: dict | None = None, *_: Any) -> None:
        model = self.model
        if details and details.get("via") and isinstance(extra, int):
            vias = model.links.setdefault((path, extra), [])
            if details["via"] not in vias:
                vias.append(details["via"])
        if op == "read":
            self.version[path] = extra
            self._link(model.used, "used", act, "read", ("file", path, extra), t)
        elif op == "import":
            self.version[path] = extra
            model.modules[path] = str((details or {}).get("module", ""))
            self._link(model.used, "used", None, "module", ("file", path, extra), t)
        elif op in ("write", "update", "truncate"):
            previous = self.version.get(path, 0)
            self.version[path] = extra
            key = ("file", path, extra)
            if op != "write" and (path, previous) in model.digests:  # changed in place: a revision
                before = ("file", path, previous)
                self._link(model.used, "used", act, "updated", before, t)
                model.revisions.append((key, before, act))
            self._link(model.generated, "gen", act, op, key, t)
        elif op in ("rename", "copy", "link"):
            self._transfer(act, op, path, extra, t)
        elif op == "remove" and (path in self.version or (path, 0) in model.digests):
            # a file never opened by the run but removed by it: its content as found was hashed first
            model.invalidated.append((("file", path, self.version.get(path, 0)), act, t))
            self.removed[path] = act

    def _transfer(self, act: int | None, op: str, source: str, destination: str, t: int) -> None:
        """A rename or copy: the FileTracker gave the destination a new version with the source's digest."""
        model = self.model
        new_version = self.version.get(destination, 0) + 1
        if (destination, new_version) in model.digests:
            source_key: EntityKey = ("file", source, self.version.setdefault(source, 0))
            target_key: EntityKey = ("file", destination, new_version)
            self.version[destination] = new_version
        else:  # a directory: no versions, no digests
            source_key, target_key = ("path", source), ("path", destination)
        self._link(model.used, "used", act, "source", source_key, t)
        self._link(model.generated, "gen", act, {"rename": "renamed", "copy": "copy", "link": "hard_link"}[op], target_key, t)
        model.derived.append((target_key, source_key, act))
        if op == "rename":
            model.invalidated.append((source_key, act, t))

    # -- the end -------------------------------------------------------------------------------

    def finish(self) -> None:
        """Roles of the files the activities opened themselves, then file arguments that the activity
        never opened itself (link what its nested calls opened); then leave out scratch files."""
        model = self.model
        if model.scope is not None and model.environment is not None:
            model.environment = {**model.environment, "left_out_of_record": model.scope}
        for link in (*model.used, *model.generated):
            if link.entity[0] == "file" and link.act is not None and link.role in OPENING_ROLES:
                named = self.fileargs.get((link.act, link.entity[1]))
                if named is not None:
                    link.role = named[0]
        opened: dict[str, list[tuple[str, Link]]] = {}
        for kind, links in (("used", model.used), ("gen", model.generated)):
            for link in links:
                if link.entity[0] == "file":
                    opened.setdefault(link.entity[1], []).append((kind, link))
        direct = {(link.act, link.entity[1]) for link in (*model.used, *model.generated) if link.entity[0] == "file"}
        for (act, path), (role, direction) in self.fileargs.items():
            if (act, path) in direct:
                continue
            start = model.activities[act].start if act in model.activities else None
            found = [(kind, link) for kind, link in opened.get(path, ()) if self._inside(link.act, act)]
            generated = [link for kind, link in found if kind == "gen"]
            read = [link for kind, link in found if kind == "used"]
            if direction == "generated" and generated:
                self._link(model.generated, "gen", act, role, generated[-1].entity, generated[-1].time)
            elif read:
                self._link(model.used, "used", act, role, read[0].entity, read[0].time)
            elif generated:
                self._link(model.generated, "gen", act, role, generated[-1].entity, generated[-1].time)
            elif (path, 0) in model.digests:
                self._link(model.used, "used", act, role, ("file", path, 0), start)
            elif direction == "generated":
                self._link(model.generated, "gen", act, role, ("path", path), start)
            else:
                self._link(model.used, "used", act, role, ("path", path), start)
        self._drop_scratch_files()
        model.inferred = infer(model)

    def _drop_scratch_files(self) -> None:
        """Files one activity created and removed, and nobody else touched (astropy's temporary files
        while writing FITS): intermediate state of that call, not data; they only clutter the record."""
        model = self.model
        touched: dict[str, set[int | None]] = {}
        for link in (*model.used, *model.generated):
            if link.entity[0] == "file":
                touched.setdefault(link.entity[1], set()).add(link.act)
        scratch = {
            path for path, act in self.removed.items()
            if self.version.get(path) and touched.get(path) == {act} and (path, 0) not in model.digests
        }
        if not scratch:
            return
        def keep(key: EntityKey) -> bool:
            return not (key[0] == "file" and key[1] in scratch)
        model.used = [link for link in model.used if keep(link.entity)]
        model.generated = [link for link in model.generated if keep(link.entity)]
        model.invalidated = [item for item in model.invalidated if keep(item[0])]
        model.derived = [item for item in model.derived if keep(item[0]) and keep(item[1])]
        model.revisions = [item for item in model.revisions if keep(item[0]) and keep(item[1])]

    def _inside(self, act: int | None, ancestor: int) -> bool:
        activities = self.model.activities
        while act is not None:
            if act == ancestor:
                return True
            parent = activities.get(act)
            act = parent.parent if parent is not None else None
        return False
