"""A run in ctapipe's provenance-log format, so ctapipe-side tools read gammapy-side provenance.

ctapipe (``ctapipe.core.provenance``, 0.32) logs a JSON array of activities, each with
``activity_name``, ``activity_uuid``, ``status``, ``start``/``stop`` (``time_utc``), ``system``
(versions, executable, platform, environment, arguments), ``input``/``output`` lists of
``{url, role, reference_meta}``, ``exit_code``, ``config`` and ``duration_min``.  A run is written as
one such activity, as a ctapipe Tool run is: the program's files read from outside the run are its
inputs, the files it left behind its outputs, the recorded calls' parameters its ``config``
(``{"<call> #<n>": {name: value}}``).  The run id is not a UUID, so ``activity_uuid`` is derived
from it (UUID 5): exporting a run twice gives the same activity.  ctapipe has no place for file
digests; ``reference_meta`` carries the content digest under ``AUTOPROV DIGEST`` beside the
``CTA``-style keys ctapipe readers ignore when they do not know them.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .model import RunModel

RUN_NAMESPACE = uuid.UUID("6b1f8c52-4b1e-5a3c-9a55-6175746f7072")  # autoprov run ids -> activity UUIDs
STATUS = {"completed": "completed", "failed": "error", "interrupted": "interrupted", "incomplete": "running"}


def activity_uuid(run_id: str) -> str:
    """The ``activity_uuid`` of an exported run: the same for every export of the run."""
    return str(uuid.uuid5(RUN_NAMESPACE, run_id))


def ctapipe_log(model: RunModel) -> str:
    """The run as ctapipe's ``Provenance().as_json(indent=3)`` would write it (one activity)."""
    return json.dumps([activity(model)], indent=3, default=str)


def activity(model: RunModel) -> dict[str, Any]:
    info, environment = model.info, model.environment or {}
    program = str(info.get("program") or "")
    start, stop = _utc(model.start), _utc(model.end)
    duration = (model.end - model.start) / 6e10 if model.start is not None and model.end is not None else None
    return {
        "activity_name": Path(program).name or model.run_id,
        "activity_uuid": activity_uuid(model.run_id),
        "status": STATUS.get(model.status, model.status),
        "start": {"time_utc": start} if start else {},
        "stop": {"time_utc": stop} if stop else {},
        "system": _system(info, environment, program, start),
        "input": [_file(model, path, version, role) for path, version, role in _inputs(model)],
        "output": [_file(model, path, version, role) for path, version, role in _outputs(model)],
        "exit_code": model.exit_code,
        "config": {f"{call.name} #{number}": dict(call.params) for number, call in sorted(model.activities.items()) if call.params},
        "duration_min": duration,
    }


def _inputs(model: RunModel) -> list[tuple[str, int, str]]:
    """Files the run read that it had not written itself (a file's first role kept)."""
    written = {(link.entity[1], link.entity[2]) for link in model.generated if link.entity[0] == "file"}
    found: dict[tuple[str, int], str] = {}
    for link in model.used:
        if link.entity[0] == "file" and (link.entity[1], link.entity[2]) not in written:
            found.setdefault((link.entity[1], link.entity[2]), link.role)
    return [(path, version, role) for (path, version), role in found.items()]


def _outputs(model: RunModel) -> list[tuple[str, int, str]]:
    """The last version the run wrote of each file (a file's first role kept)."""
    last: dict[str, tuple[int, str]] = {}
    for link in model.generated:
        if link.entity[0] == "file":
            version = link.entity[2]
            role = last.get(link.entity[1], (version, link.role))[1]
            if link.entity[1] not in last or version >= last[link.entity[1]][0]:
                last[link.entity[1]] = (version, role)
    return [(path, version, role) for path, (version, role) in last.items()]


def _file(model: RunModel, path: str, version: int, role: str) -> dict[str, Any]:
    digest = model.digests.get((path, version))
    meta = {"AUTOPROV DIGEST": f"{digest[0]}:{digest[1]}"} if digest and digest[1] else None
    return {"url": path, "role": role, "reference_meta": meta}


def _system(info: dict[str, Any], environment: dict[str, Any], program: str, start: str | None) -> dict[str, Any]:
    python = environment.get("python") if isinstance(environment.get("python"), dict) else {}
    packages = environment.get("packages") if isinstance(environment.get("packages"), dict) else {}
    return {
        "ctapipe_version": None,
        "autoprov_version": info.get("autoprov_version"),
        "executable": python.get("executable"),
        "platform": environment.get("platform") or {},
        "python": {
            "version_string": python.get("version_string"),
            "version": str(python.get("version") or info.get("python") or "").split("."),
            "compiler": python.get("compiler"),
            "implementation": python.get("implementation"),
            "packages": [{"name": name, "version": version} for name, version in sorted(packages.items()) if name != "error"],
        },
        "environment": environment.get("environment_variables") or {},
        "arguments": [program, *[str(arg) for arg in info.get("program_args") or []]],
        "start_time_utc": start,
    }


def _utc(nanoseconds: int | None) -> str | None:
    """ctapipe's ``Time.now().utc.isot``: ISO, UTC, milliseconds, no zone suffix."""
    if nanoseconds is None:
        return None
    return datetime.fromtimestamp(nanoseconds / 1e9, timezone.utc).replace(tzinfo=None).isoformat(timespec="milliseconds")
