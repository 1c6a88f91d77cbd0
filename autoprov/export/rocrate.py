"""A run as a Workflow Run RO-Crate of the Process Run Crate profile (0.5), for the research-data world.

Galaxy, Nextflow, Snakemake, cwltool and WorkflowHub/Zenodo read and write Process Run Crates; this
module writes one with ro-crate-py (``pip install 'autoprov[rocrate]'``), from the same
:class:`RunModel` every other renderer uses.  What goes where:

* the root ``Dataset`` ``conformsTo`` the profile (RO-Crate 1.1, the version profile 0.5 extends),
  ``hasPart`` every file below and ``mentions`` every action;
* ``provenance.json`` (the run's PROV-JSON) and ``environment.json``, the record in full;
* the script as ``File`` + ``SoftwareSourceCode`` (the instrument of the run);
  ``SoftwareApplication``s with ``softwareVersion`` for Python, autoprov and every distribution an
  action names (ids are their PyPI pages: the profile asks for absolute URIs);
* one ``CreateAction`` for the run: ``instrument`` the script, ``object`` the inputs and the
  program's arguments as ``PropertyValue``s, ``result`` the outputs, ``startTime``/``endTime``,
  ``actionStatus``, ``agent`` the user, ``environment`` the recorded environment variables;
* one action per child process, external command, pool task and top-level call of the program,
  with its parameters as ``PropertyValue``s and the crate's files it read and wrote; an activity
  that changed a file in place (opened for update) is an ``UpdateAction``;
* every input and output, copied into the crate when its content is still the recorded one, with
  RO-Crate's ``sha256`` beside the run's own digest (``identifier``, e.g. ``xxh3_128:<hex>``).
  A file that is gone or changed since the run is described, not copied, under its original
  ``file://`` URI, with a ``description`` saying why it has no ``sha256``.

Files inside the run's working directory keep their relative paths; the others go under
``external/``, relative to the folder they share.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..recorder.files import hash_file
from ..store.layout import RunFolder
from .model import Activity, RunModel
from .names import local, utc
from .products import FileVersion, inputs, outputs, program

PROFILE = "https://w3id.org/ro/wfrun/process/0.5"
CRATE_VERSION = "1.1"
EXTERNAL = "external"
# Terms the RO-Crate 1.1 context does not define: Process Run Crate's ``environment`` and the
# ``sha256`` checksum (schema.org's, as RO-Crate 1.2 maps it)
TERMS = {"environment": "https://w3id.org/ro/terms/workflow-run#environment", "sha256": "http://schema.org/sha256"}
STATUS = {"completed": "http://schema.org/CompletedActionStatus"}  # every other status: failed
PROCESS_RULES = ("autoprov:process", "autoprov:command")
CHUNK = 1 << 20
MAX_ACTIONS = 5_000  # ro-crate-py holds every entity in memory; beyond this the calls stay in provenance.json only


def write_crate(run_dir: Path, model: RunModel, target: Path) -> list[str]:
    """Write the crate of ``model`` to ``target`` (a ``.zip`` file, else a new or empty directory);
    returns notes for the user (files not copied, and why)."""
    try:
        from rocrate.rocrate import ROCrate
    except ImportError:
        raise RuntimeError("the RO-Crate export needs ro-crate-py: pip install 'autoprov[rocrate]'") from None
    notes: list[str] = []
    crate = ROCrate(version=CRATE_VERSION)
    crate.metadata.extra_terms.update(TERMS)
    _Builder(crate, run_dir, model, notes).build()
    target = Path(target)
    if target.suffix.lower() == ".zip":
        crate.write_zip(str(target))
    else:
        if target.exists() and any(target.iterdir()):
            raise RuntimeError(f"{target}: the folder exists and is not empty; name a new or empty folder, or a .zip")
        crate.write(str(target))
    return notes


def file_digests(item: FileVersion) -> tuple[str | None, str]:
    """(sha256 of the file now, or None; why not) when its recorded digest still matches."""
    if not os.path.isfile(item.path):
        return None, "the file is gone since the run"
    if not item.digest or not item.algorithm or item.algorithm == "none":
        return None, "the run recorded no digest of it (--hash none), so its content cannot be vouched for"
    now, _, _ = hash_file(item.path, item.algorithm)
    if now != item.digest:
        return None, f"the file changed since the run ({item.algorithm} differs)"
    sha = hashlib.sha256()
    with open(item.path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            sha.update(chunk)
    return sha.hexdigest(), ""


def _iso(ns: int | None) -> str | None:
    """ISO 8601 to the millisecond, the precision the profile's pattern allows."""
    return utc(ns).isoformat(timespec="milliseconds") if ns is not None else None


def _times(start: int | None, end: int | None) -> dict[str, str]:
    """``startTime``/``endTime`` as ISO 8601, leaving out a time the record does not have."""
    return {name: _iso(ns) for name, ns in (("startTime", start), ("endTime", end)) if ns is not None}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else repr(value)


class _Builder:
    def __init__(self, crate: Any, run_dir: Path, model: RunModel, notes: list[str]) -> None:
        self.crate, self.run_dir, self.model, self.notes = crate, Path(run_dir), model, notes
        self.cwd = str(model.info.get("cwd") or "")
        self.files: dict[tuple, Any] = {}  # entity key -> crate File
        self.taken = {"ro-crate-metadata.json", "ro-crate-preview.html", "provenance.json", "environment.json"}
        self.software: dict[str, Any] = {}
        self.actions: list[Any] = []
        self.packages = {str(k).lower(): str(v) for k, v in ((model.environment or {}).get("packages") or {}).items()}

    def build(self) -> None:
        from rocrate.model.contextentity import ContextEntity

        crate, model = self.crate, self.model
        root = crate.root_dataset
        root["name"] = f"autoprov run {model.run_id}"
        root["description"] = f"The inputs, outputs and provenance of `{self._command()}`, recorded by autoprov (run {model.run_id})"
        root["datePublished"] = _iso(model.end or model.start)
        profile = crate.add(ContextEntity(crate, PROFILE, properties={"@type": "CreativeWork", "name": "Process Run Crate", "version": "0.5"}))
        root["conformsTo"] = profile
        root["license"] = crate.add(ContextEntity(crate, "#license", properties={
            "@type": "CreativeWork", "name": "License not stated",
            "description": "autoprov does not know the terms of this run's data and software: state a license before publishing"}))
        self._record_files()
        self.agent = crate.add(ContextEntity(crate, f"#user-{self._user()}", properties={"@type": "Person", "name": self._user()}))
        root["author"] = self.agent
        script = self._script()
        self._run_action(script)
        self.tasks = {act for act, _ in model.informed}
        self.used_by, self.made_by = self._files_by_activity(model.used), self._files_by_activity(model.generated)
        for activity in self._acting():
            self._activity_action(activity)
        root["mentions"] = self.actions

    def _command(self) -> str:
        info = self.model.info
        program = ["-m", str(info["program"])] if info.get("module") else [str(info.get("program") or "")]
        return shlex.join(["python", *program, *map(str, info.get("program_args") or [])])

    def _user(self) -> str:
        environment = self.model.environment or {}
        return str(environment.get("user") or (environment.get("platform") or {}).get("user") or "user")

    # -- files -----------------------------------------------------------------------------------

    def _record_files(self) -> None:
        folder = RunFolder(self.run_dir)
        for path, description in ((folder.document("json"), "The run's W3C PROV / IVOA provenance, PROV-JSON"),
                                  (folder.environment, "The run's execution environment, in full (secrets redacted)")):
            if path.exists():
                self.crate.add_file(str(path), dest_path=path.name, properties={
                    "name": path.name, "description": description, "encodingFormat": "application/json"})

    def _destinations(self, items: list[FileVersion]) -> dict[str, str]:
        """Each file's path inside the crate."""
        outside = [item.path for item in items if not self._inside(item.path)]
        common = os.path.commonpath([os.path.dirname(p) for p in outside]) if outside else ""
        return {item.path: os.path.relpath(item.path, self.cwd) if self._inside(item.path)
                else os.path.join(EXTERNAL, os.path.relpath(item.path, common)) for item in items}

    def _inside(self, path: str) -> bool:
        return bool(self.cwd) and os.path.commonpath([path, self.cwd]) == self.cwd and path != self.cwd

    def _free(self, destination: str) -> str:
        """``destination``, or the first ``_<n>/destination`` no other file of the crate has taken."""
        candidate, number = destination, 1
        while candidate in self.taken:
            number += 1
            candidate = os.path.join(f"_{number}", destination)
        self.taken.add(candidate)
        return candidate

    def _add_files(self, items: list[FileVersion], kind: str) -> list[Any]:
        destinations = self._destinations(items)
        added = []
        for item in items:
            entity = self._add_file(item, self._free(destinations[item.path]), kind)
            self.files[item.key] = entity
            added.append(entity)
        return added

    def _add_file(self, item: FileVersion, destination: str, kind: str, types: tuple[str, ...] = ("File",)) -> Any:
        sha256, why = file_digests(item)
        properties: dict[str, Any] = {"@type": list(types) if len(types) > 1 else types[0], "name": os.path.basename(item.path),
                                      "alternateName": item.path, "additionalType": kind}
        if item.digest:
            properties["identifier"] = f"{item.algorithm}:{item.digest}"
        properties["encodingFormat"] = _media_type(item.path)
        if item.size is not None:
            properties["contentSize"] = str(item.size)
        if item.roles:
            properties["keywords"] = ", ".join(role for role in item.roles if role)
        if sha256 is not None:
            properties["sha256"] = sha256
            return self.crate.add_file(item.path, dest_path=destination, properties=properties)
        properties["description"] = f"Not in the crate, and no sha256: {why}"
        self.notes.append(f"{item.path}: not copied into the crate: {why}")
        return self.crate.add_file(Path(item.path).absolute().as_uri(), properties=properties)

    def _script(self) -> Any:
        script = program(self.model)
        if script is None:
            return self._application("python", str((self.model.environment or {}).get("python", {}).get("version") or ""))
        destination = os.path.relpath(script.path, self.cwd) if self._inside(script.path) else os.path.basename(script.path)
        entity = self._add_file(script, self._free(destination), "program", ("File", "SoftwareSourceCode"))
        git = (self.model.environment or {}).get("git") or {}
        entity["version"] = str(git.get("commit") or f"{script.algorithm}:{script.digest}")
        entity["url"] = Path(script.path).as_uri()
        entity["programmingLanguage"] = self._application("python", str(((self.model.environment or {}).get("python") or {}).get("version") or ""))
        self.files[script.key] = entity
        return entity

    # -- software ----------------------------------------------------------------------------------

    def _application(self, name: str, version: str) -> Any:
        """A SoftwareApplication with an absolute id: python.org for Python, else its PyPI page."""
        key = name.lower()
        if key in self.software:
            return self.software[key]
        from rocrate.model.softwareapplication import SoftwareApplication

        if key == "python":
            identifier, url = f"https://www.python.org/downloads/release/python-{version.replace('.', '')}/", "https://www.python.org/"
        else:
            identifier, url = f"https://pypi.org/project/{name}/{version}/" if version else f"https://pypi.org/project/{name}/", f"https://pypi.org/project/{name}/"
        properties = {"name": name, "url": url}
        if version:
            properties["softwareVersion"] = version
        entity = self.software[key] = self.crate.add(SoftwareApplication(self.crate, identifier, properties=properties))
        return entity

    def _program(self, executable: str) -> Any:
        """An external program a command ran: its ``file://`` URI when the path is absolute."""
        key = f"program:{executable}"
        if key not in self.software:
            from rocrate.model.softwareapplication import SoftwareApplication

            identifier = Path(executable).as_uri() if os.path.isabs(executable) else f"urn:autoprov:program:{quote(executable)}"
            self.software[key] = self.crate.add(SoftwareApplication(self.crate, identifier, properties={
                "name": os.path.basename(executable), "url": identifier, "description": "a program the run started (no version recorded)"}))
        return self.software[key]

    def _package(self, qualified: str) -> Any:
        """The distribution a call belongs to (by its top-level module), else Python."""
        top = qualified.split(".", 1)[0].lower()
        if top in self.packages:
            return self._application(top, self.packages[top])
        return self._application("python", str(((self.model.environment or {}).get("python") or {}).get("version") or ""))

    # -- actions -----------------------------------------------------------------------------------

    def _parameters(self, prefix: str, params: dict[str, Any]) -> list[Any]:
        from rocrate.model.contextentity import ContextEntity

        values = []
        for name, value in params.items():
            if isinstance(value, dict) and "repr" in value:
                value = value["repr"]
            values.append(self.crate.add(ContextEntity(self.crate, f"{prefix}-param-{local(str(name))}", properties={
                "@type": "PropertyValue", "name": str(name), "value": _text(value)})))
        return values

    def _status(self, status: str, error: str | None, action: Any) -> None:
        action["actionStatus"] = STATUS.get(status, "http://schema.org/FailedActionStatus")
        if status != "completed":
            action["error"] = error or f"status {status}"

    def _run_action(self, script: Any) -> None:
        from rocrate.model.contextentity import ContextEntity

        model = self.model
        found = self._add_files(inputs(model), "input")
        made = self._add_files(outputs(model), "output")
        self.updates = self._updates()
        arguments = {f"argv[{index}]": value for index, value in enumerate(model.info.get("program_args") or [], 1)}
        variables = {name: value for name, value in ((model.environment or {}).get("environment_variables") or {}).items()
                     if not name.startswith("AUTOPROV_")}  # autoprov's own plumbing, not the program's environment
        environment = [self.crate.add(ContextEntity(self.crate, f"#env-{name}", properties={
            "@type": "PropertyValue", "name": name, "value": _text(value)})) for name, value in sorted(variables.items())]
        action = self.crate.add_action(script, identifier="#run", object=_unique(found + self._parameters("#run", arguments)), result=_unique(made), properties={
            "name": f"Run of {model.info.get('program') or 'the program'}",
            "description": f"`{self._command()}` under autoprov (run {model.run_id}, status {model.status}, exit code {model.exit_code})",
            **_times(model.start, model.end)})
        action["agent"] = self.agent
        if environment:
            action["environment"] = environment
        self._status(model.status, None, action)
        self.actions.append(action)
        self._application("autoprov", self.packages.get("autoprov", ""))
        updated = _unique([self.files[key] for key in self.updates.get(None, ())])
        if updated:  # files the program's own code changed in place (no recorded call did)
            update = self.crate.add_action(script, identifier="#run-updates", result=updated, properties={
                "@type": "UpdateAction", "name": f"In-place updates by {model.info.get('program') or 'the program'}",
                "description": "Files the run found and changed in place (rewrote, appended to or updated) from its own code",
                **_times(model.start, model.end)})
            update["agent"] = self.agent
            self._status(model.status, None, update)
            self.actions.append(update)

    def _updates(self) -> dict[int | None, set[tuple]]:
        """Who changed which file in place: an update of a version (``r+``), or a write of a file the
        run found (its version 0 was hashed before the run), as the crate's file versions."""
        model, changed = self.model, {}
        existed = {path for path, version in model.digests if version == 0}
        for new, _, act in model.revisions:
            if new in self.files:
                changed.setdefault(act, set()).add(new)
        for link in model.generated:
            if link.entity in self.files and link.entity[0] == "file" and link.entity[1] in existed:
                changed.setdefault(link.act, set()).add(link.entity)
        return changed

    def _files_by_activity(self, links: list) -> dict[int | None, list[tuple]]:
        """activity -> the crate's file versions it used (or generated), in record order."""
        found: dict[int | None, list[tuple]] = {}
        for link in links:
            if link.entity in self.files:
                found.setdefault(link.act, []).append(link.entity)
        return found

    def _acting(self) -> list[Activity]:
        """The activities that become actions: processes, commands, pool tasks, the program's own
        top-level calls (also those of its child processes and tasks), and in-place updates."""
        activities = self.model.activities
        containers = {act for act, a in activities.items() if a.rule in PROCESS_RULES} | self.tasks
        updating = {act for act in self.updates if act is not None}
        chosen = [a for a in activities.values() if a.act in containers or a.act in updating or a.parent is None or a.parent in containers]
        if len(chosen) <= MAX_ACTIONS:
            return chosen
        self.notes.append(f"{len(chosen)} top-level calls: only the processes, commands, pool tasks and in-place updates are actions "
                          f"(above {MAX_ACTIONS}); every call is in provenance.json")
        return [a for a in chosen if a.act in containers or a.act in updating]

    def _activity_action(self, activity: Activity) -> None:
        used = [self.files[key] for key in self.used_by.get(activity.act, ())]
        made = [self.files[key] for key in self.made_by.get(activity.act, ())]
        updated = self.updates.get(activity.act, set())
        prefix = f"#act-{activity.act}"
        kind = "UpdateAction" if updated else "CreateAction"
        if activity.rule == "autoprov:command":
            instrument = self._program(str(activity.params.get("executable") or "program"))
        else:
            instrument = self._package(str(activity.params.get("function") or activity.name))
        params = {k: v for k, v in activity.params.items() if not str(k).startswith("autoprov:")}
        action = self.crate.add_action(instrument, identifier=prefix, object=_unique(used + self._parameters(prefix, params)),
                                       result=_unique(made + [self.files[key] for key in updated if key in self.files]), properties={
            "@type": kind, "name": activity.name,
            "description": f"{'Pool task' if activity.act in self.tasks else activity.rule or 'call'} "
                           f"{activity.name} (PROV id run:act_{activity.act}, thread {activity.thread})",
            **_times(activity.start, activity.end)})
        action["agent"] = self.agent
        self._status(activity.status, activity.error, action)
        self.actions.append(action)


def _unique(entities: list[Any]) -> list[Any] | Any:
    """The entities once each; one entity alone, not in a list (RO-Crate 1.1 prefers single values)."""
    seen: dict[str, Any] = {}
    for entity in entities:
        seen.setdefault(entity.id, entity)
    return list(seen.values()) if len(seen) != 1 else next(iter(seen.values()))


def _media_type(path: str) -> str:
    """The file's media type, from its first bytes where they tell (gzip, FITS), else its name."""
    try:
        with open(path, "rb") as handle:
            start = handle.read(9)
    except OSError:
        start = b""
    if start[:2] == b"\x1f\x8b":
        return "application/gzip"
    if start == b"SIMPLE  =":
        return "application/fits"
    guessed, _ = mimetypes.guess_type(path)
    if guessed:
        return guessed
    return {".yaml": "application/yaml", ".yml": "application/yaml"}.get(Path(path).suffix.lower(), "application/octet-stream")
