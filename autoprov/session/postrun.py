"""The post-run export step and the choice of outputs: what a run writes into its folder when it ends.

PROV-JSON (streamed), ``environment.json`` and ``graph.dot`` are always written before the
program's process ends; they cost milliseconds.  The slower formats are written by a detached
``autoprov export --all`` just after the program has exited, unless ``--export sync``.  Used by
``python -m autoprov`` and by ``autoprov.capture()``; imports of ``prov`` and friends happen only
when the step runs, after the program has finished.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from ..export import FORMATS, GRAPH_FORMATS
from ..export.quiet_gc import paused_gc

if TYPE_CHECKING:  # the exporter proper is imported after the run, not at start-up
    from ..store.location import StoreLocation
    from ..export.model import RunModel
    from ..export.outputs import Written


def parse_formats(text: str | None) -> tuple[str, ...]:
    """``--format json,provn,html`` (default: all of :data:`FORMATS`); PROV-JSON is always written."""
    if text is None or text == "all":
        return FORMATS
    chosen = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    unknown = [fmt for fmt in chosen if fmt not in FORMATS]
    if unknown:
        raise UsageError(f"unknown --format {unknown[0]!r}; choose from {', '.join(FORMATS)} (comma separated) or all")
    return chosen


def parse_graphs(text: str | None) -> tuple[str, ...] | None:
    """``--graph svg,png`` / ``none``; None means the default (svg when Graphviz is installed)."""
    if text is None:
        return None
    if text == "none":
        return ()
    chosen = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    unknown = [fmt for fmt in chosen if fmt not in GRAPH_FORMATS]
    if unknown:
        raise UsageError(f"unknown --graph {unknown[0]!r}; choose from {', '.join(GRAPH_FORMATS)} or none")
    return chosen


EMBED_KINDS = ("fits",)


def parse_embed(text: str | None, cwd: Path | None = None) -> tuple[str, ...]:
    """``--embed fits`` / ``none``; without the option, ``[tool.autoprov] embed`` of the nearest
    ``pyproject.toml`` (as for filters), else nothing."""
    if text is None:
        chosen = _pyproject_embed(cwd or Path.cwd())
    else:
        chosen = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip() and part.strip() != "none"))
    unknown = [kind for kind in chosen if kind not in EMBED_KINDS]
    if unknown:
        raise UsageError(f"unknown --embed {unknown[0]!r}; choose from {', '.join(EMBED_KINDS)} or none")
    return chosen


def _pyproject_embed(cwd: Path) -> tuple[str, ...]:
    from ..pyproject import PyprojectError, tool_settings

    try:
        found = tool_settings(cwd)
    except PyprojectError as error:
        raise UsageError(str(error)) from None
    if found is None:
        return ()
    path, settings = found
    value = settings.get("embed", [])
    value = [value] if isinstance(value, str) else value
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise UsageError(f'{path}: [tool.autoprov] embed must be a list such as ["fits"]')
    unknown = [kind for kind in value if kind not in EMBED_KINDS]
    if unknown:
        raise UsageError(f"{path}: [tool.autoprov] embed: unknown {unknown[0]!r}; choose from {', '.join(EMBED_KINDS)}")
    return tuple(value)


def display_path(path: Path) -> str:
    """``.prov/<run-id>/`` when under the working directory, else the absolute path."""
    try:
        text = os.path.relpath(path)
    except ValueError:
        text = str(path)
    return (str(path) if text.startswith("..") else text).rstrip(os.sep) + os.sep


EXPORT_MODES = ("background", "sync")
EXPORT_ENV = "AUTOPROV_EXPORT"


def export_mode(text: str | None) -> str:
    """``--export`` / ``$AUTOPROV_EXPORT``: background (default) or sync."""
    mode = text or os.environ.get(EXPORT_ENV) or "background"
    if mode not in EXPORT_MODES:
        raise UsageError(f"unknown --export mode {mode!r}; choose background or sync")
    return mode


def record_notes(run_dir: Path, step: str, notes: list[str]) -> None:
    """Keep what an export step had to say in the run folder's ``notes.json`` (``autoprov list`` and
    ``show`` print it): the post-run step and the background exporter each replace their own part."""
    from ..store.atomic import atomic_write
    from ..store.layout import RunFolder

    path = RunFolder(Path(run_dir)).notes
    recorded = read_notes(Path(run_dir))
    if not notes and step not in recorded:
        return
    recorded[step] = list(notes)
    atomic_write(path, json.dumps({key: value for key, value in recorded.items() if value}, indent=2) + "\n")


def read_notes(run_dir: Path) -> dict[str, list[str]]:
    """The notes of a run folder (step -> notes); an unreadable file reads as one note saying so."""
    from ..store.layout import RunFolder

    folder = RunFolder(Path(run_dir))
    notes: dict[str, list[str]] = {}
    try:
        with open(folder.notes, encoding="utf-8") as handle:
            data: Any = json.loads(handle.read(1 << 20))
        if isinstance(data, dict):
            notes = {str(k): [str(n) for n in v] for k, v in data.items() if isinstance(v, list)}
    except (FileNotFoundError, NotADirectoryError):  # no notes; or not a run folder (an imported ctapipe log)
        pass
    except (OSError, ValueError) as error:
        notes = {"notes": [f"{folder.notes.name} unreadable ({type(error).__name__})"]}
    try:
        with open(folder.export_log, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 4096))
            tail = [line for line in handle.read().decode("utf-8", "replace").strip().splitlines()
                    if line.strip() and ": note: " not in line]  # its notes are in notes.json already
        if tail:
            notes.setdefault("background", []).append(f"the background export failed: {tail[-1]} (see {folder.export_log.name})")
    except OSError:
        pass
    return notes


class ExportStep:
    """The post-run step of ``python -m autoprov``: write the outputs into the run folder.

    PROV-JSON (streamed), ``environment.json`` and ``graph.dot`` are always written before the
    program's process ends; they cost milliseconds.  PROV-N, PROV-XML, Turtle, the HTML report and
    the rendered graph cost up to a second (prov.model, rdflib, Graphviz), which would show in every
    run's wall time, so by default a detached ``autoprov export --all`` writes them just after the
    program has exited (each file appears atomically).  ``--export sync`` writes everything before
    exiting.  With ``embed=("fits",)`` the run's FITS outputs get their provenance first, always
    before the process ends (:mod:`.fits_embed`).  The run is indexed into ``index`` (a store
    location) the same way: by the detached process after exit, first, or before returning with
    ``sync``; a failure there is a note, never the run's.
    """

    def __init__(
        self, formats: tuple[str, ...] = FORMATS, graphs: tuple[str, ...] | None = None, mode: str = "background",
        embed: tuple[str, ...] = (), index: StoreLocation | None = None, asked: bool = True,
    ) -> None:
        self.formats = formats
        self.asked = asked  # the formats were named (--format): a missing extra is worth a note
        self.graphs = graphs
        self.mode = mode
        self.embed = embed  # "fits": provenance into the run's FITS outputs, before the documents
        self.index = index  # the store whose index gets the run (None: not indexed)
        self.model: RunModel | None = None
        self.written: Written | None = None

    def __call__(self, run_dir: Path) -> Written:
        from ..export import load, write_run

        deferred = self.mode == "background" and (set(self.formats) - {"json"} or self.graphs != ())
        notes = self._embed(Path(run_dir)) if "fits" in self.embed else []
        with paused_gc():
            self.model = load(run_dir)
            if deferred:
                self.written = write_run(Path(run_dir), self.model, ("json",), ())
            else:
                self.written = write_run(Path(run_dir), self.model, self.formats, self.graphs, self.asked)
        self.written.notes[:0] = notes
        record_notes(Path(run_dir), "post-run", self.written.notes)
        if self.index is not None and self.mode == "sync":
            self._index_now(Path(run_dir))  # its note is printed, not kept: the index is not the record
        if deferred or (self.index is not None and self.mode == "background"):
            self._detach(Path(run_dir), deferred)
        return self.written

    def _index_now(self, run_dir: Path) -> None:
        """Index the run before returning (sync); a database problem becomes one note line."""
        from ..errors import AutoprovError, IndexDatabaseError
        from ..index.api import Store

        assert self.index is not None and self.written is not None
        later = "the run folder is kept: `autoprov index` adds it later"
        store = Store(self.index)
        try:
            store.add(run_dir, self.model)
        except AutoprovError as error:
            self.written.notes.append(str(type(error)(f"{error.args[0]}; {later}")))
        except Exception as error:  # indexing never changes the run's outcome
            self.written.notes.append(str(IndexDatabaseError(f"indexing failed ({type(error).__name__}: {error}); {later}")))
        finally:
            store.database.dispose()

    def index_arguments(self) -> list[str | None] | None:
        """The index location as plain values, for the I/O helper that runs this step (:mod:`autoprov.session.offload`)."""
        return None if self.index is None else [str(self.index.runs), self.index.url, self.index.origin]

    def _embed(self, run_dir: Path) -> list[str]:
        """Provenance into the FITS outputs, before the process exits (a next pipeline step may read
        them at once); a failure is a note, never a change of the run's outcome."""
        try:
            from ..export.fits_embed import embed_run

            results = embed_run(run_dir)
        except Exception as error:
            return [f"provenance not embedded in the FITS outputs ({type(error).__name__}: {error})"]
        notes = [f"{result.path}: provenance {result.how}" for result in results if not result.done]
        done = sum(1 for result in results if result.done)
        if done:
            notes.append(f"provenance embedded in {done} FITS file{'s' if done > 1 else ''} (`autoprov export --from-fits FILE` reads it)")
        return notes

    def _detach(self, run_dir: Path, export: bool = True) -> None:
        """Start ``autoprov index RUN`` and ``autoprov export --all`` (the slow outputs), once this
        process has exited.

        The exporter's Python (0.3 s of CPU for prov, rdflib and Graphviz) would otherwise start
        while this process is still finishing and compete with it for the CPU: ~30 ms of every
        run's wall time on two cores.  So a tiny ``sh`` waits, blocked on a pipe whose only write
        end this process keeps open and never writes, and execs the exporter when the pipe closes:
        when this process exits, however it exits (the kernel closes the descriptor).

        The waiting shell is started in the background by a first ``sh`` that exits at once and is
        waited for (~2 ms): the program's process is left with no running child of autoprov's
        (no ``ResourceWarning: subprocess N is still running`` under ``-X dev``, nothing for the
        program's own ``os.wait()`` to reap).  The exporter runs with warnings ignored (a
        ``PYTHONWARNINGS=error`` meant for the program must not abort it), and its error output
        goes to the run folder's ``export.log``, which ``autoprov show`` reports.

        The indexer runs first (a fraction of a second), its output discarded: a database that
        cannot be used leaves the run for the next query or ``autoprov index`` to catch up.  The
        store's URL reaches it through the environment, never a command line (``ps`` shows those).
        """
        import shlex

        from ..store.layout import RunFolder

        command: list[str] = []
        if export:
            command = [sys.executable, "-W", "ignore", "-m", "autoprov", "export", run_dir.name, "--store", str(run_dir.parent),
                       "--all", *(("--format", ",".join(self.formats)) if self.asked else ())]
            if self.graphs is not None:
                command += ["--graph", ",".join(self.graphs) or "none"]
        index, environment = "", None
        if self.index is not None and self.mode == "background":
            indexer = [sys.executable, "-W", "ignore", "-m", "autoprov", "index", run_dir.name, "--quiet"]
            index = f"{shlex.join(indexer)} </dev/null 3<&- >/dev/null 2>&1; "
            environment = {**os.environ, **self.index.child_environment()}
        then = 'exec "$@" </dev/null 3<&- >/dev/null 2>>"$log"' if export else ":"
        # (a background job's stdin is /dev/null unless given through another descriptor: fd 3)
        script = f'log=$1; shift; exec 3<&0; (read -r _ <&3; {index}{then}) >/dev/null 2>&1 &'
        wait_end, exit_end = os.pipe()  # both close-on-exec: only this process holds exit_end
        try:
            _start_and_wait(["/bin/sh", "-c", script, "autoprov-export", str(RunFolder(run_dir).export_log), *command],
                            wait_end, environment)
        except BaseException:
            os.close(exit_end)
            raise
        finally:
            os.close(wait_end)
        # exit_end stays open on purpose, until this process exits

    def summary(self, run_dir: Path) -> list[str]:
        """Notes, then the final line: ``autoprov: <run-id>: N activities, M entities -> .prov/<run-id>/``,
        followed by where the HTML report is, or will be in a moment when the background export
        writes it."""
        if self.model is None or self.written is None:
            return []
        lines = [f"autoprov: {self.model.run_id}: note: {note}" for note in self.written.notes]
        lines.append(
            f"autoprov: {self.model.run_id}: {activities_text(self.model)}, "
            f"{self.model.entity_count} entities -> {display_path(run_dir)}{self._report_note(Path(run_dir))}"
        )
        return lines

    def _report_note(self, run_dir: Path) -> str:
        from ..store.layout import RunFolder
        from ..export.renderers import RENDERERS

        report = RunFolder(run_dir).report
        assert self.written is not None
        if report in self.written.files:
            return f" (report: {display_path(report).rstrip(os.sep)})"
        limit = RENDERERS["html"].limit or self.written.records
        if "html" in self.formats and self.mode == "background" and self.written.records <= limit:
            return f" (report: {display_path(report).rstrip(os.sep)}, written in a moment)"
        return ""


def _start_and_wait(argv: list[str], stdin: int, environment: dict[str, str] | None) -> None:
    """Run ``argv`` in a new session, stdin from ``stdin``, stdout and stderr to /dev/null, holding no
    other descriptor of this process (as ``subprocess.Popen(..., close_fds=True,
    start_new_session=True)``), and wait for it.

    ``os.posix_spawn`` where ``/proc/self/fd`` lists the descriptors to leave behind: importing
    ``subprocess`` (with ``selectors``) was ~8 M instructions of a run's end (callgrind, empty
    script outside a git repository).  Elsewhere, or if the spawn fails, ``subprocess`` as before.
    """
    if hasattr(os, "posix_spawn") and os.path.isdir("/proc/self/fd"):
        import signal

        actions: list[tuple] = [(os.POSIX_SPAWN_DUP2, stdin, 0), (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
                                (os.POSIX_SPAWN_DUP2, 1, 2)]
        for name in os.listdir("/proc/self/fd"):
            fd = int(name)
            try:
                if fd > 2 and fd != stdin and os.get_inheritable(fd):  # the others close at exec
                    actions.append((os.POSIX_SPAWN_CLOSE, fd))
            except OSError:  # the listing's own descriptor, closed by now
                pass
        try:
            pid = os.posix_spawn(argv[0], argv, os.environ if environment is None else environment, file_actions=actions,
                                 setsid=True, setsigdef=(signal.SIGPIPE, signal.SIGXFSZ))  # as Popen's restore_signals
        except OSError:
            pass
        else:
            os.waitpid(pid, 0)
            return
    import subprocess

    subprocess.Popen(argv, stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                     close_fds=True, env=environment).wait()


def activities_text(model: RunModel) -> str:
    """``N activities``; for none, why, since a run that matched nothing usually has a filter problem."""
    if model.activities:
        from collections import Counter

        from ..export.clutter import READ, hidden_activities

        hidden = Counter(hidden_activities(model).values())  # counted apart, as the graph leaves them out
        shown = f"{len(model.activities) - hidden.total()} activities"
        kinds = [f"+{count} {reason}{'s' if reason == READ and count > 1 else ''}" for reason, count in sorted(hidden.items())]
        return shown + (f" ({', '.join(kinds)}, not drawn: autoprov graph --all)" if hidden else "")
    from ..filtering.locate import NO_FILTER

    filters = [str(name) for name in model.info.get("filters") or () if name != NO_FILTER]
    if not filters:
        return "0 activities (no filter was used: give --filter or --match)"
    return f"0 activities (the filters {', '.join(filters)} matched no call: see `autoprov filters check`, or run with --debug filter)"
