"""The run folder layout: every file name in a run folder is spelled here, once.

A run folder ``<store>/<run-id>/`` holds the append-only event log (the record of truth) and the
documents derived from it.  Everything that names a file of a run goes through :class:`RunFolder`,
so renaming an output is a one-line change and readers and writers can never disagree.
"""

from __future__ import annotations

from pathlib import Path
from ..records import NamedTuple

EVENTS = "events.jsonl"
CHILDREN = "children"  # one event log per child process (issue 14): children/<process>.jsonl
CHILD_LOG_SUFFIX = ".jsonl"
CHILD_MATCHER = "matcher.json"  # how the run's filters were asked for, for child processes to rebuild them
ENVIRONMENT = "environment.json"
DOCUMENT_STEM = "provenance"
GRAPH_STEM = "graph"
REPORT = "report.html"
NOTES = "notes.json"  # what the export steps had to say (skipped formats, a failed graph)
EXPORT_LOG = "export.log"  # the background exporter's own error output (empty when all went well)
TARGET_STORE = "target-store"  # in a staged run folder only: the store it belongs to (store/live.py)
# Prefixes of the derived outputs (what `autoprov show` lists, what a re-export replaces).
OUTPUT_PREFIXES = (DOCUMENT_STEM + ".", GRAPH_STEM + ".", "environment.", "report.")


class RunFolder(NamedTuple):
    """One run's folder and the names of the files in it."""

    path: Path

    @property
    def run_id(self) -> str:
        return self.path.name

    @property
    def events(self) -> Path:
        return self.path / EVENTS

    @property
    def environment(self) -> Path:
        return self.path / ENVIRONMENT

    @property
    def report(self) -> Path:
        """The self-contained HTML report (``autoprov report``)."""
        return self.path / REPORT

    @property
    def notes(self) -> Path:
        return self.path / NOTES

    @property
    def export_log(self) -> Path:
        return self.path / EXPORT_LOG

    @property
    def target_store(self) -> Path:
        return self.path / TARGET_STORE

    @property
    def children(self) -> Path:
        """The folder of the child processes' logs and what they need to start capture."""
        return self.path / CHILDREN

    def child_log(self, process: str) -> Path:
        """``children/<process>.jsonl``: the log of one child process (``process`` is its key)."""
        return self.path / CHILDREN / f"{process}{CHILD_LOG_SUFFIX}"

    def child_logs(self) -> list[Path]:
        """The child processes' logs present, sorted by name."""
        folder = self.path / CHILDREN
        if not folder.is_dir():
            return []
        return sorted(p for p in folder.iterdir() if p.name.endswith(CHILD_LOG_SUFFIX))

    @property
    def child_matcher(self) -> Path:
        return self.path / CHILDREN / CHILD_MATCHER

    def document(self, suffix: str) -> Path:
        """``provenance.<suffix>`` (json, provn, xml, ttl)."""
        return self.path / f"{DOCUMENT_STEM}.{suffix}"

    def graph(self, suffix: str) -> Path:
        """``graph.<suffix>`` (dot, svg, png, pdf)."""
        return self.path / f"{GRAPH_STEM}.{suffix}"

    def outputs(self) -> list[str]:
        """Names of the derived outputs present, sorted."""
        return sorted(p.name for p in self.path.iterdir() if p.name.startswith(OUTPUT_PREFIXES))

    def is_run(self) -> bool:
        return self.path.is_dir() and self.events.exists()
