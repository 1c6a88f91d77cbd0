"""ctapipe activities as runs of the index: ``autoprov import ctapipe LOG...``.

Each activity of a log becomes one run with the id ``urn:uuid:<activity_uuid>``, one activity (the
Tool, named as ctapipe named it), its configuration flattened into parameters
(``MakeDL3.gain = 3.0``), its input and output files with their roles, ctapipe's system record as
the run's environment, and the log file as the run's folder (where the record lives).  So an
imported run is an ordinary indexed run: ``list``, ``lineage`` and every query that walks the
ProvTAP tables cover it with no special case.

ctapipe records no checksums.  A file is given the index's digest (xxh3_128, the id files are
joined on across runs) only when its current content can be tied to the activity:

* ``activity-uuid``: the file carries the activity's UUID in its CTAO reference metadata (an output),
  or the UUID its reference metadata had when the activity read it (an input);
* ``path-and-time``: no UUID to compare, and the file was last modified before the activity ended
  (an output) or before it started (an input);

otherwise (gone, rewritten since, or carrying another activity's UUID) the file is recorded by path
with no digest and ``verifiable: false`` and the reason, so no chain is joined through a content
the activity never saw.  A file that was gone (``gone: true``: deleted scratch space, nothing to
contradict the log) is still reached by ``lineage`` through its path, reported as ``path-only``.  How each file was matched is kept in the entity's ``annotation``
(``ctapipe_match``), which ``lineage`` reports.  An output that is a byte copy of an input (same
content, another path) is an entity of its own, so ``lineage`` walks from the copy to its source.
Importing replaces a run's rows (idempotent).
"""

from __future__ import annotations

import json
import shlex
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import unquote, urlparse

from ..errors import ForeignLogError
from ..recorder.files import hash_file
from ..index import schema
from .ctapipe_log import read_log
from .reference_meta import activity_id

ALGORITHM = "xxh3_128"  # the index's default file identity (autoprov run --hash)
SLACK = timedelta(seconds=2)  # file systems with coarse modification times (FAT: 2 s)
STATUS = {"completed": "completed", "success": "completed", "error": "failed", "interrupted": "interrupted"}
Rows = dict[str, list[dict[str, Any]]]


class Match(NamedTuple):
    """How a file's current content was tied to an activity (``how`` None: it was not, ``reason`` says why)."""

    how: str | None
    reason: str | None
    hexdigest: str | None
    size: int | None
    mtime: int | None


def import_logs(database: Any, logs: list[Path]) -> list[str]:
    """Read every log first (a bad one imports nothing), then write each log's runs in one
    transaction; the run ids, in log order.  ``database`` is the store's :class:`Database`."""
    from ..index.writer import write_rows

    parsed = [(log, read_log(log)) for log in logs]
    imported: list[str] = []
    for log, activities in parsed:
        # a Tool that ran twice in one process logs its first activity again: the last record of a UUID wins
        latest = {activity["activity_uuid"]: activity for activity in activities}
        runs = [activity_rows(activity, log) for activity in latest.values()]
        write_rows(database, runs)
        imported += [run_id for run_id, _ in runs]
    return imported


def activity_rows(activity: dict[str, Any], log: Path) -> tuple[str, Rows]:
    """(run id, rows by table) for one ctapipe activity read from ``log``."""
    run_id = _run_id(activity, log)
    start, stop = _time(activity.get("start")), _time(activity.get("stop"))
    system = activity.get("system") if isinstance(activity.get("system"), dict) else {}
    rows: Rows = {table.name: [] for table in schema.RUN_TABLES}
    rows[schema.activity.name].append({
        "id": run_id, "seq": 1, "name": activity["activity_name"], "start_time": start, "end_time": stop,
        "status": _status(activity), "error": None, "thread": None, "rule": "ctapipe provenance log",
        "parent_id": None, "activity_description_id": None,
    })
    rows[schema.parameter.name] = [
        {"activity_id": run_id, "name": name, "value": value, "parameter_description_id": None}
        for name, value in flatten(activity.get("config") or {}).items()
    ]
    version = system.get("ctapipe_version")
    agent = f"{run_id}#ctapipe"
    rows[schema.agent.name].append({"id": agent, "name": f"ctapipe {version or ''}".strip(), "type": "SoftwareAgent", "comment": None})
    rows[schema.wasassociatedwith.name].append({"activity_id": run_id, "agent_id": agent, "role": "software", "plan_id": None})
    files: dict[str, dict[str, Any]] = {}
    for number, item in enumerate(activity.get("input") or []):
        entity = _file_entity(run_id, "input", number, item, log, start, stop, files)
        rows[schema.used.name].append({"activity_id": run_id, "entity_id": entity, "role": item.get("role"), "time": start,
                                       "usage_description_id": None})
    for number, item in enumerate(activity.get("output") or []):
        entity = _file_entity(run_id, "output", number, item, log, start, stop, files)
        rows[schema.wasgeneratedby.name].append({"entity_id": entity, "activity_id": run_id, "role": item.get("role"),
                                                 "time": stop, "generation_description_id": None})
        files[entity]["generated_at_time"] = stop
    environment = {key: value for key, value in system.items() if key != "python"}
    environment["python"] = {key: value for key, value in (system.get("python") or {}).items() if key != "packages"}
    files[f"{run_id}#environment"] = _entity(f"{run_id}#environment", "environment", "ctapipe system", None, None,
                                              annotation=json.dumps(environment, sort_keys=True, default=str))
    rows[schema.entity.name] = list(files.values())
    rows[schema.run_package.name] = _packages(system)
    rows[schema.run.name].append(_run_row(activity, system, log, start, stop, len(files)))
    for table_rows in rows.values():
        for row in table_rows:
            row["run_id"] = run_id
    return run_id, _unique(rows)


def flatten(config: Any, prefix: str = "") -> dict[str, str]:
    """Traitlets configuration as ``Class.trait`` names: strings as they are, other values as compact JSON."""
    if not isinstance(config, dict) or not config:
        return {prefix: config if isinstance(config, str) else json.dumps(config, default=str)} if prefix else {}
    flat: dict[str, str] = {}
    for key, value in config.items():
        flat.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def file_path(url: str, log: Path) -> Path:
    """A log's ``url`` as an absolute path: ``file://`` URLs and plain paths (relative ones: to the log's folder)."""
    parsed = urlparse(url)
    path = Path(unquote(parsed.path)) if parsed.scheme == "file" else Path(url)
    return path if path.is_absolute() else (log.absolute().parent / path)


def match(direction: str, item: dict[str, Any], path: Path, start: datetime | None, stop: datetime | None,
          uuid_text: str) -> Match:
    """Tie the file at ``path`` (an activity's input or output) to the activity ``uuid_text``, or say why not."""
    hexdigest, size, mtime = hash_file(str(path), ALGORITHM)
    if hexdigest is None or mtime is None:
        return Match(None, "the file is gone (or unreadable): its content cannot be verified", None, None, None)
    found = activity_id(path)
    expected = uuid_text if direction == "output" else _recorded_activity(item)
    if found is not None and expected is not None:
        if found == expected:
            return Match("activity-uuid", None, hexdigest, size, mtime)
        return Match(None, f"the file now carries activity {found}, not {expected}: rewritten since", None, size, mtime)
    limit = stop if direction == "output" else start
    modified = datetime.fromtimestamp(mtime / 1e9, timezone.utc).replace(tzinfo=None)
    if limit is None or modified <= limit + SLACK:
        return Match("path-and-time", None, hexdigest, size, mtime)
    moment = "ended" if direction == "output" else "started"
    return Match(None, f"modified at {modified.isoformat()}Z, after the activity {moment}", None, size, mtime)


def _file_entity(run_id: str, direction: str, number: int, item: dict[str, Any], log: Path, start: datetime | None,
                 stop: datetime | None, files: dict[str, dict[str, Any]]) -> str:
    path = file_path(item["url"], log)
    how, reason, hexdigest, size, mtime = match(direction, item, path, start, stop, run_id.removeprefix("urn:uuid:"))
    identifier = f"file:{ALGORITHM}_{hexdigest}" if hexdigest else f"{run_id}#{direction}.{number}"
    if direction == "output" and identifier in files and files[identifier]["location"] != str(path):
        # an input's content under another path: a copy, an entity of its own, so lineage walks on to its source
        identifier = f"{run_id}#{direction}.{number}"
    annotation: dict[str, Any] = {"ctapipe_match": how, "verifiable": how is not None}
    if reason:
        annotation["reason"] = reason
    if mtime is None:  # gone: lineage may still join it by path alone, and says so
        annotation["gone"] = True
    files.setdefault(identifier, _entity(
        identifier, "file", path.name, str(path), f"{ALGORITHM}:{hexdigest}" if hexdigest else None, size=size,
        mtime=None if mtime is None else datetime.fromtimestamp(mtime / 1e9, timezone.utc).replace(tzinfo=None),
        annotation=json.dumps(annotation, sort_keys=True)))
    return identifier


def _entity(identifier: str, kind: str, name: str | None, location: str | None, digest: str | None, *,
            size: int | None = None, mtime: datetime | None = None, annotation: str | None = None) -> dict[str, Any]:
    return {"id": identifier, "kind": kind, "name": name, "location": location, "digest": digest, "size": size,
            "mtime": mtime, "version": 0, "python_type": None, "annotation": annotation, "generated_at_time": None,
            "invalidated_at_time": None, "entity_description_id": None}


def _recorded_activity(item: dict[str, Any]) -> str | None:
    """The activity UUID an input's reference metadata had when the activity read it."""
    meta = item.get("reference_meta")
    if not isinstance(meta, dict):
        return None
    return next((str(value) for key, value in meta.items() if key.upper().replace(".", " ") in ("CTA ACTIVITY ID", "CTAO ACTIVITY ID")), None)


def _run_id(activity: dict[str, Any], log: Path) -> str:
    try:
        return f"urn:uuid:{uuid.UUID(activity['activity_uuid'])}"
    except ValueError:
        raise ForeignLogError(f"{log}: activity {activity['activity_name']!r}: activity_uuid {activity['activity_uuid']!r} "
                              "is not a UUID") from None


def _time(moment: Any) -> datetime | None:
    text = moment.get("time_utc") if isinstance(moment, dict) else None
    try:
        return datetime.fromisoformat(str(text).replace(" ", "T")).replace(tzinfo=None) if text else None
    except ValueError:
        return None


def _status(activity: dict[str, Any]) -> str:
    return STATUS.get(str(activity.get("status")), "incomplete")


def _packages(system: dict[str, Any]) -> list[dict[str, Any]]:
    packages = (system.get("python") or {}).get("packages") or []
    found = {str(p["name"]): p.get("version") for p in packages if isinstance(p, dict) and p.get("name")}
    return [{"name": name, "version": None if version is None else str(version)} for name, version in sorted(found.items())]


def _run_row(activity: dict[str, Any], system: dict[str, Any], log: Path, start: datetime | None, stop: datetime | None,
             entities: int) -> dict[str, Any]:
    arguments = [str(arg) for arg in system.get("arguments") or []]
    python = system.get("python") if isinstance(system.get("python"), dict) else {}
    platform = system.get("platform") if isinstance(system.get("platform"), dict) else {}
    environment = system.get("environment") if isinstance(system.get("environment"), dict) else {}
    duration = activity.get("duration_min")
    stat = log.stat()
    return {
        "status": _status(activity), "exit_code": activity.get("exit_code") if isinstance(activity.get("exit_code"), int) else None,
        "program": activity["activity_name"], "command": shlex.join(arguments) if arguments else None,
        "script_path": None, "script_digest": None, "start_time": start, "end_time": stop,
        "duration": duration * 60 if isinstance(duration, (int, float)) else None, "cpu_time": None, "peak_rss": None,
        "user_name": environment.get("USER"), "host": platform.get("node"), "cwd": None, "folder": str(log.absolute()),
        "engine": "ctapipe", "hash_algorithm": ALGORITHM, "autoprov_version": None,
        "python_version": ".".join(str(part) for part in python.get("version") or []) or None,
        "python_implementation": python.get("implementation"),
        "platform": " ".join(str(platform[key]) for key in ("system", "release", "machine") if platform.get(key)) or None,
        "git_commit": None, "git_dirty": None, "activity_count": 1, "entity_count": entities,
        "log_size": stat.st_size, "log_mtime": stat.st_mtime_ns, "indexed_at": datetime.now(timezone.utc).replace(tzinfo=None),
    }


def _unique(rows: Rows) -> Rows:
    """One row per primary key (a file read twice by one activity is one entity, one use)."""
    for table in schema.RUN_TABLES:
        keys = [column.name for column in table.primary_key.columns]
        unique: dict[tuple, dict[str, Any]] = {}
        for row in rows.get(table.name, ()):
            unique.setdefault(tuple(row[key] for key in keys), row)
        rows[table.name] = list(unique.values())
    return rows
