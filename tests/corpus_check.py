"""Run a corpus script (tests/corpus/) under plain python and under ``python -m autoprov``, and compare.

Shared by ``tests/test_corpus.py`` (the checks) and ``benchmarks/corpus.py`` (the table).  Each run
gets a fresh working folder and writes its products into ``out/`` there (the script's first
argument); HOME and XDG_STATE_HOME point into the run's own temporary folder.  The plain run has an
audit hook of its own (``tests/data/corpus_audit/sitecustomize.py``) that lists the files the
program opened: the oracle for "every file read is recorded", independent of autoprov's hook.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
CORPUS = TESTS / "corpus"
AUDIT = TESTS / "data" / "corpus_audit"
GAMMAPY_DATA = (REPO.parent / "shared" / "data" / "gammapy-data").resolve()
# autoprov's one line at the end of a run (docs/record.md): "autoprov: <run-id>: N activities, M entities -> ..."
SUMMARY = re.compile(r"^autoprov: (?P<run>\S+): \d+ activit(?:y|ies)(?: \([^)]*\))?, \d+ entit(?:y|ies) -> .*$")
TRACE_ORDER = {"none": 0, "inferred": 1, "recorded": 2}


@dataclass
class Run:
    folder: Path  # the working folder; products are in folder / "out"
    returncode: int
    stdout: str
    stderr: str
    cpu: float  # user + system CPU seconds of the program's own process (os.wait4)
    wall: float
    opened: dict[str, str] = field(default_factory=dict)  # plain runs: path -> "r", "w" or "rw"


def environment(home: Path, extra: dict | None = None) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AUTOPROV_")}
    env.update(GAMMAPY_DATA=str(GAMMAPY_DATA), HOME=str(home), XDG_STATE_HOME=str(home / "state"), MPLBACKEND="Agg")
    for name in ("PYTHONPATH", "XDG_CACHE_HOME", "XDG_CONFIG_HOME"):
        env.pop(name, None)
    env.update(extra or {})
    return env


def run(script: Path, folder: Path, *, autoprov: bool, audit: bool = False, python: str = sys.executable,
        prefix: tuple[str, ...] = (), timeout: float = 900) -> Run:
    """One run of ``script out`` in ``folder`` (created), plain or under autoprov with default options."""
    folder.mkdir(parents=True)
    home = folder.parent / f"{folder.name}.home"
    home.mkdir()
    extra = {}
    log = folder.parent / f"{folder.name}.opened.json"
    if audit:
        extra = {"PYTHONPATH": str(AUDIT), "CORPUS_AUDIT_LOG": str(log)}
    command = [*prefix, python, *(["-m", "autoprov"] if autoprov else []), str(script), "out"]
    stdout_path, stderr_path = folder.parent / f"{folder.name}.stdout", folder.parent / f"{folder.name}.stderr"
    started = time.perf_counter()
    with open(stdout_path, "wb") as stdout, open(stderr_path, "wb") as stderr:
        process = subprocess.Popen(command, cwd=folder, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
                                   env=environment(home, extra))
        try:
            _, status, usage = _wait4(process.pid, timeout)
        except BaseException:
            process.kill()
            process.wait()
            raise
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4: tell Popen
    wall = time.perf_counter() - started
    result = Run(folder, process.returncode, stdout_path.read_text(), stderr_path.read_text(),
                 usage.ru_utime + usage.ru_stime, wall)
    if audit and log.exists():
        result.opened = json.loads(log.read_text())
    if autoprov:
        wait_for_post_run(folder)
    return result


def _wait4(pid: int, timeout: float):
    """os.wait4 of one child (its own rusage, unlike RUSAGE_CHILDREN when runs go in parallel)."""
    deadline = time.monotonic() + timeout
    while True:
        done_pid, status, usage = os.wait4(pid, os.WNOHANG)
        if done_pid == pid:
            return done_pid, status, usage
        if time.monotonic() > deadline:
            raise TimeoutError(f"run {pid} did not end in {timeout} s")
        time.sleep(0.05)


def run_folder(folder: Path) -> Path:
    (run_dir,) = [path for path in (folder / ".prov").iterdir() if (path / "events.jsonl").exists()]
    return run_dir


def wait_for_post_run(folder: Path, timeout: float = 300) -> None:
    """autoprov indexes and exports a run in a detached process once the program has exited: wait
    until no process names this run (its indexer and exporter carry the run id on their command
    line), so the index is complete and nothing still runs when the folder is removed."""
    run_id = run_folder(folder).name.encode()
    deadline = time.monotonic() + timeout
    while _processes_naming(run_id):
        if time.monotonic() > deadline:
            raise TimeoutError(f"autoprov's post-run processes for {run_id.decode()} still running after {timeout} s")
        time.sleep(0.1)


def _processes_naming(text: bytes) -> bool:
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/cmdline", "rb") as stream:
                    if text in stream.read():
                        return True
            except OSError:
                continue
    return False


def strip_summary(stderr: str) -> tuple[str, str | None]:
    """stderr without autoprov's summary line (the last line), and the run id it names (None: absent)."""
    lines = stderr.splitlines(keepends=True)
    if lines:
        match = SUMMARY.match(lines[-1].rstrip("\n"))
        if match:
            return "".join(lines[:-1]), match["run"]
    return stderr, None


# -- written files --------------------------------------------------------------------------------

def written_files(folder: Path) -> dict[str, Path]:
    """Files the program left in its folder (relative name -> path), autoprov's store left out."""
    return {str(path.relative_to(folder)): path for path in sorted(folder.rglob("*"))
            if path.is_file() and ".prov" not in path.relative_to(folder).parts}


def same_content(a: Path, b: Path) -> str | None:
    """None when the two files hold the same product; else why not.  FITS: astropy's FITSDiff apart
    from the creation date keywords; gammapy YAML: equal after parsing apart from metadata.date and
    the checksum over it; anything else byte for byte."""
    name = a.name
    if name.endswith((".fits", ".fits.gz", ".fit", ".fit.gz")):
        from astropy.io.fits import FITSDiff

        # CHECKSUM's value and both checksums' comments carry the time of writing; DATASUM's value is compared
        diff = FITSDiff(str(a), str(b), ignore_keywords=["CREATED", "DATE", "CHECKSUM"], ignore_comments=["CHECKSUM", "DATASUM"])
        return None if diff.identical else diff.report()[-2000:]
    if name.endswith((".yaml", ".yml")):
        import yaml

        first, second = (_without_dates(yaml.safe_load(path.read_text()), name.endswith(".fits_model.yaml")) for path in (a, b))
        return None if first == second else f"{name}: YAML content differs"
    return None if a.read_bytes() == b.read_bytes() else f"{name}: bytes differ"


def _without_dates(document, estimator_model: bool = False):
    """The YAML document without what changes from run to run in plain python too: the date and the
    checksum over it; in the model file an estimator writes beside its maps (``*.fits_model.yaml``),
    the names gammapy gives the estimator's internal models at random (``make_name``)."""
    if isinstance(document, dict):
        document = {key: value for key, value in document.items() if key != "checksum"}
        if isinstance(document.get("metadata"), dict):
            document["metadata"] = {key: value for key, value in document["metadata"].items() if key != "date"}
        if estimator_model and isinstance(document.get("components"), list):
            document["components"] = [{key: value for key, value in component.items() if key != "name"}
                                      for component in document["components"]]
    return document


# -- files read -----------------------------------------------------------------------------------

def data_reads(opened: dict[str, str], folder: Path) -> set[str]:
    """The data files among those a plain run opened for reading: under $GAMMAPY_DATA, the corpus
    folder (configurations) or the run's own folder; paths made relative to the folder for the last."""
    found = set()
    for path, kinds in opened.items():
        if "r" not in kinds or not os.path.isfile(path):
            continue
        real = os.path.realpath(path)
        if real.startswith((str(GAMMAPY_DATA) + os.sep, str(CORPUS) + os.sep)):
            if not real.endswith(".py"):
                found.add(real)
        elif real.startswith(str(folder.resolve()) + os.sep):
            found.add("./" + os.path.relpath(real, folder.resolve()))
    return found


@dataclass
class FileEntity:
    location: str
    digest: str | None


def recorded_reads(folder: Path) -> dict[str, list[FileEntity]]:
    """The file entities the run's PROV-JSON (read back with ``prov.read``) says were used, by
    location (real path; files of the run's own folder relative to it), with their digests."""
    import prov.model

    run_dir = run_folder(folder)
    document = prov.read(io.StringIO((run_dir / "provenance.json").read_text()), format="json").unified()
    entities = {}
    for entity in document.get_records(prov.model.ProvEntity):
        location = _one(entity, "prov:location")
        if location is not None:
            entities[str(entity.identifier)] = FileEntity(str(location), _one(entity, "autoprov:digest"))
    used: dict[str, list[FileEntity]] = {}
    root = str(folder.resolve()) + os.sep
    for record in document.get_records(prov.model.ProvUsage):
        entity = entities.get(str(_one(record, "prov:entity")))
        if entity is None:
            continue
        real = os.path.realpath(entity.location)
        key = "./" + real[len(root):] if real.startswith(root) else real
        used.setdefault(key, []).append(entity)
    return used


def _one(record, name):
    values = record.get_attribute(name)
    return str(next(iter(values))) if values else None


def digest_of(path: str) -> str:
    import xxhash

    hasher = xxhash.xxh3_128()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            hasher.update(block)
    return hasher.hexdigest()


# -- lineage of the products ----------------------------------------------------------------------

@dataclass
class Trace:
    status: str  # recorded, inferred or none
    by: str  # the activity that generated the product ("run": the script's own code), or "-"
    recorded: set[str]  # source files reached through recorded links only
    inferred: set[str]  # source files reached through at least one inferred link


def trace(folder: Path, product: Path, is_input) -> Trace:
    """How ``autoprov.Store().lineage`` traces a product back to the run's input files (``is_input``)."""
    import autoprov

    lineage = autoprov.Store(folder / ".prov").lineage(product)
    recorded: set[str] = set()
    inferred: set[str] = set()

    def walk(node, through_inferred: bool) -> None:
        through_inferred = through_inferred or node.inferred
        if node.generation is None:
            if node is not lineage.root and is_input(node.path):
                (inferred if through_inferred else recorded).add(node.path)
            return
        for item in node.generation.inputs:
            walk(item, through_inferred)

    walk(lineage.root, False)
    status = "recorded" if recorded else "inferred" if inferred else "none"
    by = lineage.root.generation.activity if lineage.root.generation is not None else "-"
    return Trace(status, by, recorded, inferred)


def is_data_input(path: str) -> bool:
    """An input file of the corpus: the shared data (DL3, IRFs, catalogues, datasets) or a configuration."""
    real = os.path.realpath(path)
    return real.startswith((str(GAMMAPY_DATA) + os.sep, str(CORPUS) + os.sep))
