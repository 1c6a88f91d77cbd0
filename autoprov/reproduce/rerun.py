"""``autoprov rerun``: execute a recorded run's program again, elsewhere, and compare its outputs.

The program is started as the run started it (:data:`RunModel.info`: the program or ``-m`` module,
its arguments, the engine, the filters, the digest algorithm, the embedding), by the same Python
interpreter when it still exists, under capture, so the re-run has its own record.  It runs in a
scratch folder (a new temporary directory, or ``--into DIR``)::

    <scratch>/work    the mirror of the original working directory (:mod:`.mirror`): the re-run's cwd
    <scratch>/store   the re-run's provenance store
    <scratch>/guard.json   what :mod:`.guard` protects

Program arguments that are absolute paths inside the original working directory (also as
``--opt=/path``) are rewritten to the same place in the mirror; relative ones need no change.
Outputs written outside the original working directory cannot be redirected, so the re-run
refuses to start when the run had any; and while it runs, the guard fails any write to the
original run's files.  Each output of the run is then compared with the file at the same
relative path in the mirror (:mod:`.compare`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import NamedTuple

from ..errors import ReproduceError
from ..export.model import RunModel, load
from ..export.products import outputs
from ..recorder.paths import library_folders
from ..store import run_dirs
from . import guard, mirror
from .compare import Comparison, Tolerance, compare
from .verify import Check, check_inputs

CLEARED_VARIABLES = ("AUTOPROV_FILTERS", "AUTOPROV_STORE", "AUTOPROV_EXPORT")  # the recorded choices are passed explicitly


class Plan(NamedTuple):
    """How the program is started again."""

    command: list[str]
    cwd: Path  # the mirror
    environment: dict[str, str]
    scratch: Path
    store: Path
    original_cwd: Path
    relative_outputs: dict[str, str]  # original absolute path -> path relative to the working directory
    notes: list[str]


class Row(NamedTuple):
    output: str  # relative to the working directory
    comparison: Comparison


class Result(NamedTuple):
    rows: list[Row]
    new: list[str]  # files the re-run wrote that the run did not
    returncode: int
    record: Path | None  # the re-run's run folder
    plan: Plan


def changed_inputs(model: RunModel) -> list[Check]:
    """The program and inputs that changed or vanished since the run."""
    return [check for check in check_inputs(model) if check.changed]


def scratch_folder(into: str | None) -> Path:
    if into is None:
        return Path(tempfile.mkdtemp(prefix="autoprov-rerun-"))
    path = Path(into).absolute()
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise ReproduceError(f"--into {into}: the folder exists and is not empty; name a new or empty folder")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _rewrite(argument: str, original: str, mirrored: str) -> str:
    """An argument naming a path inside the original working directory, moved into the mirror."""
    prefix, separator, value = argument.partition("=") if argument.startswith("-") else ("", "", argument)
    if os.path.isabs(value) and mirror.inside(os.path.normpath(value), original):
        value = mirrored + os.path.normpath(value)[len(original.rstrip(os.sep)):]
        return prefix + separator + value
    return argument


def _filter_options(recorded: list[str], cwd: Path) -> list[str]:
    """``--filter``/``--match`` options that give the re-run the run's filters again (those its
    ``pyproject.toml``, found again through the mirror, names are not repeated)."""
    from ..filtering.locate import requested

    found = [ref.spec for ref in requested(None, cwd, {}) if ref.origin.endswith("pyproject.toml")]
    rest = recorded[len(found):] if recorded[: len(found)] == found else list(recorded)
    options: list[str] = []
    for source in rest:
        options += ["--match", source[len("--match "):]] if source.startswith("--match ") else ["--filter", source]
    if not found and not any(source == "--filter" for source in options):
        options = ["--filter", "none", *options]  # no default filter the run did not have
    return options


def plan(model: RunModel, scratch: Path) -> Plan:
    """Check that the run can be re-run here, build the mirror, and say how to start the program."""
    info = model.info
    original = Path(str(info.get("cwd") or ""))
    if not info.get("program") or not original.is_dir():
        raise ReproduceError(f"run {model.run_id}: no program or working directory to re-run from (cwd {original})")
    relative: dict[str, str] = {}
    outside: list[str] = []
    for item in outputs(model):
        if mirror.inside(item.path, str(original)):
            relative[item.path] = os.path.relpath(item.path, original)
        else:
            outside.append(item.path)
    if outside:
        listed = ", ".join(outside[:5]) + (f" (+{len(outside) - 5})" if len(outside) > 5 else "")
        raise ReproduceError(f"run {model.run_id} wrote outside its working directory {original}, where a re-run would "
                             f"overwrite the originals: {listed}")
    work, store = scratch / "work", scratch / "store"
    skip = tuple(Path(p) for p in (info.get("store"), scratch) if p)
    mirror.build(original, work, list(relative.values()), skip)
    protected = {link.entity[1] for link in (*model.used, *model.generated) if link.entity[0] in ("file", "path")}
    (scratch / "guard.json").write_text(guard.settings(sorted(protected), [str(original)], [str(scratch), *sorted(library_folders())]), encoding="utf-8")
    target = str(info["program"])
    if not info.get("module"):
        target = _rewrite(target, str(original), str(work))
    arguments = [_rewrite(str(argument), str(original), str(work)) for argument in info.get("program_args") or []]
    options = ["--store", str(store), "--engine", str(info.get("engine") or "auto"), "--hash", str(info.get("hash_algorithm") or "xxh3_128"),
               "--export", "sync", "--format", "json", "--graph", "none", "--quiet", *_filter_options(list(info.get("filters") or []), work)]
    if info.get("embed"):
        options += ["--embed", ",".join(info["embed"])]
    program = ["-m", target] if info.get("module") else ["--", target]
    python = str(((model.environment or {}).get("python") or {}).get("executable") or "")
    notes = []
    if not python or not os.path.exists(python):
        notes.append(f"the run's Python {python or '(not recorded)'} is gone; using {sys.executable}")
        python = sys.executable
    environment = {name: value for name, value in os.environ.items() if name not in CLEARED_VARIABLES}
    for name, value in ((model.environment or {}).get("environment_variables") or {}).items():
        if not name.startswith("AUTOPROV_") and value != "<redacted>" and os.environ.get(name) != value:
            notes.append(f"${name} was {value!r} in the run, is {os.environ.get(name)!r} now")
    command = [python, "-m", "autoprov.cli.guarded", str(scratch / "guard.json"), "--", *options, *program, *arguments]
    return Plan(command, work, environment, scratch, store, original, relative, notes)


def execute(steps: Plan, tolerance: Tolerance = Tolerance()) -> Result:
    """Re-run as planned (the program's own output goes to stderr) and compare every output."""
    try:
        into = sys.stderr.fileno()  # the program's output must not mix with the table on stdout
    except (AttributeError, OSError, ValueError):
        into = None
    done = subprocess.run(steps.command, cwd=steps.cwd, env=steps.environment, stdin=subprocess.DEVNULL, stdout=into, check=False)
    records = run_dirs(steps.store)
    record = records[-1] if records else None
    rows = []
    for path, relative in sorted(steps.relative_outputs.items(), key=lambda item: item[1]):
        rows.append(Row(relative, compare(Path(path), steps.cwd / relative, tolerance, (str(steps.cwd), str(steps.original_cwd)))))
    new: list[str] = []
    if record is not None:
        for item in outputs(load(record)):
            if mirror.inside(item.path, str(steps.cwd)):
                relative = os.path.relpath(item.path, steps.cwd)
                if relative not in steps.relative_outputs.values():
                    new.append(relative)
    return Result(rows, new, done.returncode, record, steps)
