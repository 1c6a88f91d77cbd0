"""``autoprov index [RUN...]``: (re)build the run index from the run folders, idempotently.

Without RUN, every run folder of the store whose event log is not indexed as it is now gets
indexed, and rows of this machine's runs whose folders are gone are dropped; with RUN, those runs
are indexed again.  ``--force`` re-indexes everything.  This is also what the detached step after
each run calls (``autoprov index <run-id> --quiet``), and what catches up after the database was
unavailable.
"""

from __future__ import annotations

import sys

from .options import store_parser


def index_command(argv: list[str]) -> int:
    from ..index.api import Store

    parser = store_parser("autoprov index", description="Index the store's run folders (idempotent).")
    parser.add_argument("runs", nargs="*", metavar="RUN", help="run ids or unique prefixes (default: every folder not indexed as it is)")
    parser.add_argument("--force", action="store_true", help="re-index every run, changed or not")
    parser.add_argument("--quiet", "-q", action="store_true", help="print nothing on success")
    options = parser.parse_args(argv)
    store = Store(options.store)
    report = store.index(options.runs or None, force=options.force)
    if not options.quiet:
        for run_id in report.indexed:
            print(f"indexed  {run_id}")
        for run_id in report.dropped:
            print(f"dropped  {run_id}  (its folder is gone)")
        print(f"{len(report.indexed)} indexed, {report.unchanged} unchanged, {len(report.dropped)} dropped: {store.location.display()}")
    for failure in report.failed:
        print(f"autoprov: not indexed: {failure}", file=sys.stderr)
    return 1 if report.failed else 0
