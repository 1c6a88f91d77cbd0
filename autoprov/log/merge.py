"""One event stream for a run of several processes: the reading boundary of the exporter.

Each child process logs with ids local to it (``children/<process>.jsonl``, see
:mod:`autoprov.events`).  :func:`merged_events` reads the run's first log unchanged, then each
child's in start order, and rewrites the child's events so that :func:`autoprov.export.model.build`
sees one run:

* each child becomes a ``process`` activity (its PROC header and EXIT), started by the activity
  that started it: the command activity whose recorded pid is the child's (subprocess, exec), else
  the activity noted by the fork or ``Process.start``, else its parent process;
* activity and object ids are renumbered after those of the processes read before it, the child's
  top level (``None``) becomes its process activity, and INFORM names global ids;
* file versions, counted per process, become global: versions a child wrote follow those written
  before; a child's version 0 (the file as it found it) is the version another process wrote when
  their digests are equal and that write came first, so a file written by one process and read by
  another is one entity.
A run without children reads exactly as before (the first log, unchanged).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .. import events
from ..errors import RecordError
from .reader import read_events, read_log
from ..store.layout import RunFolder
from ..events import MAIN

PROCESS_RULE = "autoprov:process"
VERSIONED_OPS = frozenset({"read", "write", "update"})
WRITE_OPS = frozenset({"write", "update"})


class ProcessLog:
    """One process' log: its key, start, PROC info, events (without PROC, ENV, EXIT) and EXIT."""

    __slots__ = ("key", "start", "info", "events", "exit", "versions")

    def __init__(self, key: str, start: int, info: dict[str, Any], events: list[list], exit: list | None = None) -> None:
        self.key, self.start, self.info, self.events, self.exit = key, start, info, events, exit
        self.versions: dict[tuple[str, int], int] = {}  # (path, local version) -> global version


def merged_events(run_dir: Path | str) -> Iterator[list]:
    """The events of every process of the run, as one run's events (see the module docstring)."""
    folder = RunFolder(Path(run_dir))
    paths = folder.child_logs()
    if not paths:
        yield from read_events(run_dir)
        return
    first = ProcessLog(MAIN, 0, {}, list(read_events(run_dir)))
    children = sorted(filter(None, (_read_child(path) for path in paths)), key=lambda log: log.start)
    yield from _Merger(first, children).events()


def _read_child(path: Path) -> ProcessLog | None:
    try:
        stream = list(read_log(path, events.PROC))
    except RecordError:
        return None  # not a child's log (or torn before its first batch)
    if not stream or stream[0][0] != events.PROC:
        return None  # not a child log (or torn before its first batch)
    _, key, start, info, *_ = stream[0]
    exit_event = next((event for event in reversed(stream) if event[0] == events.EXIT), None)
    body = [event for event in stream[1:] if event[0] not in (events.EXIT, events.ENV)]
    return ProcessLog(key, start, info or {}, body, exit_event)


class _Merger:
    def __init__(self, first: ProcessLog, children: list[ProcessLog]) -> None:
        self.first = first
        self.children = children
        self.acts: dict[str, dict[int, int]] = {}  # process -> local act -> global act
        self.objects: dict[str, dict[int, int]] = {}
        self.process_act: dict[str, int | None] = {MAIN: None}  # process -> its activity (main: the run)
        self.commands: dict[tuple[str, int], list[tuple[int, int]]] = {}  # (process, pid) -> [(t, global act)]
        self.starts: dict[tuple[str, int], int] = {}  # (process, local act) -> start time
        self.next_act = 1 + max((e[1] for e in first.events if e[0] == events.ACT), default=0)
        self.next_obj = 1 + max((e[1] for e in first.events if e[0] == events.OBJ), default=0)
        self._assign_versions()

    # -- file versions ---------------------------------------------------------------------------

    def _assign_versions(self) -> None:
        logs = [self.first, *self.children]
        highest: dict[str, int] = {}
        written: dict[tuple[str, str], list[tuple[int, int]]] = {}  # (path, digest) -> [(t, global version)]
        digests: list[dict[tuple[str, int], str]] = []
        for log in logs:
            local_digests: dict[tuple[str, int], str] = {}
            writes: dict[str, dict[int, int]] = {}  # path -> local version -> time
            for event in log.events:
                kind = event[0]
                if kind == events.DIGEST and event[3] is not None and event[4] is not None:
                    local_digests[(event[1], event[2])] = f"{event[3]}:{event[4]}"
                elif kind == events.FILE and event[2] in WRITE_OPS:
                    writes.setdefault(event[3], {})[event[5]] = event[4]
            digests.append(local_digests)
            for path, versions in writes.items():
                base = 0 if log is self.first else highest.get(path, 0)
                for version, t in versions.items():
                    log.versions[(path, version)] = base + version
                highest[path] = max(highest.get(path, 0), base + max(versions))
                for version, t in versions.items():
                    digest = local_digests.get((path, version))
                    if digest is not None:
                        written.setdefault((path, digest), []).append((t, base + version))
        for log, local_digests in zip(logs, digests):
            first_read = {e[3]: e[4] for e in reversed(log.events) if e[0] == events.FILE and e[2] == "read" and e[5] == 0}
            for (path, version), digest in local_digests.items():
                if version != 0 or path not in first_read:
                    continue
                own = {v for (p, v) in log.versions if p == path}
                earlier = [(t, g) for t, g in written.get((path, digest), ()) if t <= first_read[path] and g not in own]
                if earlier:
                    log.versions[(path, 0)] = max(earlier)[1]

    # -- the stream ------------------------------------------------------------------------------

    def events(self) -> Iterator[list]:
        yield from self._rewrite(self.first, identity=True)
        for log in self.children:
            yield from self._child(log)

    def _child(self, log: ProcessLog) -> Iterator[list]:
        act = self.next_act
        self.next_act += 1
        self.process_act[log.key] = act
        info = log.info
        params = {key: info[key] for key in ("pid", "kind", "start_method", "name", "argv", "cwd") if info.get(key) not in (None, "")}
        yield [events.ACT, act, self._starter(log), "process", PROCESS_RULE, log.start, str(info.get("name") or "MainThread"), params]
        yield from self._rewrite(log, identity=False)
        if log.exit is not None:
            _, t, status, exit_code, exit_info, *_ = log.exit
            results = {"exit_code": exit_code, **{k: v for k, v in (exit_info or {}).items() if k in ("cpu_time", "peak_rss", "ended_by")}}
            yield [events.END, act, t, status, None, results]
        elif _idle_at_end(log):  # a pool worker terminated (SIGTERM) between tasks: all it did is here
            yield [events.END, act, _last_time(log), "completed", None, {"ended_by": "ended while idle (no exit record)"}]

    def _starter(self, log: ProcessLog) -> int | None:
        """The activity that started the child (see the module docstring)."""
        parent = log.info.get("parent") or [MAIN, None]
        parent_key, parent_act = parent[0], parent[1]
        pid = log.info.get("pid")
        candidates = [(t, act) for t, act in self.commands.get((parent_key, pid), ()) if t <= log.start]
        if candidates:
            return max(candidates)[1]
        if parent_act is not None and parent_act in self.acts.get(parent_key, {}):
            return self.acts[parent_key][parent_act]
        return self.process_act.get(parent_key)

    def _rewrite(self, log: ProcessLog, identity: bool) -> Iterator[list]:
        key = log.key
        acts = self.acts.setdefault(key, {})
        objects = self.objects.setdefault(key, {})
        top = self.process_act.get(key)
        versions = log.versions

        def act_id(local: int | None) -> int | None:
            if local is None:
                return top
            found = acts.get(local)
            if found is None:
                found = acts[local] = local if identity else self._new_act()
            return found

        def obj_id(local: int) -> int:
            found = objects.get(local)
            if found is None:
                found = objects[local] = local if identity else self._new_obj()
            return found

        for event in log.events:
            kind = event[0]
            if kind == events.ACT:
                self.starts[(key, event[1])] = event[5]
                yield [kind, act_id(event[1]), act_id(event[2]), *event[3:]]
            elif kind == events.END or kind == events.FILEARG:
                yield [kind, act_id(event[1]), *event[2:]]
            elif kind == events.USE or kind == events.GEN:
                yield [kind, act_id(event[1]), event[2], obj_id(event[3]), *event[4:]]
            elif kind == events.OBJ:
                yield [kind, obj_id(event[1]), *event[2:]]
            elif kind == events.MEMBER:
                yield [kind, obj_id(event[1]), obj_id(event[2]), *event[3:]]
            elif kind == events.FILE:
                extra = event[5]
                if event[2] in VERSIONED_OPS:
                    extra = versions.get((event[3], extra), extra)
                yield [kind, act_id(event[1]), event[2], event[3], event[4], extra, *event[6:]]
            elif kind == events.DIGEST:
                yield [kind, event[1], versions.get((event[1], event[2]), event[2]), *event[3:]]
            elif kind == events.CMDPID:
                command = act_id(event[1])
                if command is not None:
                    self.commands.setdefault((key, event[2]), []).append((self.starts.get((key, event[1]), 0), command))
            elif kind == events.INFORM:
                yield [kind, act_id(event[1]), MAIN, self._global(event[2], event[3])]
            elif kind == events.ERROR and not identity:
                yield [kind, event[1], f"process {log.info.get('pid')}: {event[2]}", *event[3:]]
            else:
                yield event

    def _global(self, process: str, act: int | None) -> int | None:
        """A reference to activity ``act`` of ``process`` (None: that process itself) as a global id."""
        if act is not None and act in self.acts.get(process, {}):
            return self.acts[process][act]
        return self.process_act.get(process)

    def _new_act(self) -> int:
        self.next_act += 1
        return self.next_act - 1

    def _new_obj(self) -> int:
        self.next_obj += 1
        return self.next_obj - 1


def _idle_at_end(log: ProcessLog) -> bool:
    """True when every activity the process started had ended when its log stops."""
    open_acts: set[int] = set()
    for event in log.events:
        if event[0] == events.ACT:
            open_acts.add(event[1])
        elif event[0] == events.END:
            open_acts.discard(event[1])
    return not open_acts


def _last_time(log: ProcessLog) -> int:
    """The time of the last timed event of the log (its header's when there is none)."""
    positions = {events.ACT: 5, events.END: 2, events.FILE: 4, events.USE: 4, events.GEN: 4}
    for event in reversed(log.events):
        index = positions.get(event[0])
        if index is not None and len(event) > index and isinstance(event[index], int):
            return event[index]
    return log.start
