"""``autoprov list``, ``autoprov show`` and ``autoprov events``: the runs of a store, one run, its raw events."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..store import RunFolder
from .options import run_folder, store_parser

if TYPE_CHECKING:
    from ..export.model import RunModel


def list_command(argv: list[str]) -> int:
    """``autoprov list [filters]``: runs of the index with their status, oldest first.

    Each filter narrows the list (all must match); files are matched by their current content.
    The index first takes in the store's run folders it does not have yet.
    """
    from ..index.api import Store

    parser = store_parser("autoprov list", description="Runs of the store, oldest first, from its index.")
    parser.add_argument("--status", action="append", default=[], metavar="STATUS", help="completed, failed, interrupted or incomplete (comma list, repeatable)")
    parser.add_argument("--since", default=None, metavar="TIME", help="started at or after: 2026-12-01, 2026-12-01T18:00 (local time) or an age: 3d, 12h")
    parser.add_argument("--until", default=None, metavar="TIME", help="started at or before (same forms)")
    parser.add_argument("--script", default=None, metavar="SCRIPT", help="runs of this script (path, or file name)")
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="an activity had this parameter value (repeatable)")
    parser.add_argument("--used", action="append", default=[], metavar="FILE", help="read this file's current content (repeatable)")
    parser.add_argument("--generated", action="append", default=[], metavar="FILE", help="wrote this file's current content (repeatable)")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="text lines (default) or a JSON list")
    options = parser.parse_args(argv)
    statuses = [part for value in options.status for part in value.split(",") if part]
    store = Store(options.store)
    runs = store.runs(status=statuses or None, since=options.since, until=options.until, script=options.script,
                      param=options.param, used=options.used, generated=options.generated)
    filtered = any((statuses, options.since, options.until, options.script, options.param, options.used, options.generated))
    if options.format == "json":
        import json
        from dataclasses import asdict

        json.dump([asdict(info) for info in runs], sys.stdout, indent=1, default=str)
        print()
        return 0
    from ..session.postrun import read_notes

    lines = []
    for info in runs:
        notes = sum(len(n) for n in read_notes(Path(info.folder)).values())
        flag = f"  ({notes} note{'s' if notes > 1 else ''}: autoprov show {info.run_id})" if notes else ""
        lines.append((info.run_id, f"{info.run_id}  {info.status:<11}  {info.activities:>6} activities  {info.program or ''}{flag}"))
    if not filtered:  # one unreadable run never hides the others, nor is it hidden
        lines += [(run_id, f"{run_id}  {'unreadable':<11}  {reason}") for run_id, reason in store.unreadable.items()]
    for _, line in sorted(lines) if store.unreadable and not filtered else lines:
        print(line)
    return 0


def events_command(argv: list[str]) -> int:
    """``autoprov events RUN``: the raw captured events, one JSON array per line."""
    options = store_parser("autoprov events", run=True).parse_args(argv)
    print_events(run_folder(options), sys.stdout)
    return 0


def print_events(run_dir: Path, out: Any, prefix: str = "") -> None:
    """A run's events, one JSON array per line (``--debug events`` and ``autoprov events``)."""
    from ..log.reader import read_events
    from ..log.writer import encode

    for event in read_events(run_dir):
        print(prefix + encode(tuple(event)), file=out)


def show_command(argv: list[str]) -> int:
    """``autoprov show RUN``: a short human summary of a run."""
    from ..export import load

    options = store_parser("autoprov show", run=True).parse_args(argv)
    run_dir = run_folder(options)
    print(describe(load(run_dir), run_dir))
    return 0


def describe(model: RunModel, run_dir: Path) -> str:
    """What ``autoprov show`` prints: who, where, what was called, read and written."""
    from ..export.names import utc

    info = model.info
    lines = [f"run       {model.run_id}  ({model.status}" + (f", exit status {model.exit_code})" if model.exit_code is not None else ")")]
    lines.append(f"program   {info.get('program', '?')}  {' '.join(map(str, info.get('program_args') or []))}".rstrip())
    if model.start is not None:
        stop = utc(model.end).isoformat() if model.end is not None else "-"
        lines.append(f"time      {utc(model.start).isoformat()} -> {stop}")
    environment = model.environment or {}
    python, git = environment.get("python") or {}, environment.get("git") or {}
    if environment:
        lines.append(f"where     {environment.get('user')}@{environment.get('hostname')}  Python {python.get('version')}  {info.get('engine', '')} engine")
    if git.get("commit"):
        lines.append(f"git       {git['commit'][:12]}{' (dirty)' if git.get('dirty') else ''}  {git.get('root')}")
    names = Counter(activity.name for activity in model.activities.values())
    lines.append(f"calls     {len(model.activities)} activities, {model.entity_count} entities")
    for name, count in names.most_common(12):
        lines.append(f"          {count:>5} x {name}")
    if len(names) > 12:
        lines.append(f"          ... {len(names) - 12} more functions")
    for title, links in (("read", model.used), ("written", model.generated)):
        files = {link.entity for link in links if link.entity[0] == "file"}
        for key in sorted(files)[:20]:
            digest = model.digests.get((key[1], key[2]))
            lines.append(f"{title:<9} {key[1]}" + (f"  {digest[0]}:{digest[1][:16]}" if digest and digest[1] else ""))
        if len(files) > 20:
            lines.append(f"          ... {len(files) - 20} more files {title}")
    outputs = RunFolder(run_dir).outputs()
    lines.append(f"outputs   {' '.join(outputs) if outputs else '(none yet: autoprov export)'}")
    from ..session.postrun import read_notes

    for step, notes in read_notes(run_dir).items():
        for note in notes:
            lines.append(f"note      {step}: {note}")
    for error in model.errors:
        lines.append(f"error     {error}")
    return "\n".join(lines)
