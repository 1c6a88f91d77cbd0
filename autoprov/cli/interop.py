"""``autoprov import ctapipe LOG...``: other programs' provenance logs into the run index.

Each activity of a ctapipe provenance log becomes an indexed run of its own (``urn:uuid:<activity
uuid>``), so ``lineage`` walks from a gammapy product through the DL3 file into the ctapipe Tool
that made it (``autoprov/interop``).  Importing a log again replaces its runs' rows.
"""

from __future__ import annotations

from pathlib import Path

from .options import store_parser


def import_command(argv: list[str]) -> int:
    from ..interop.ctapipe_import import import_logs
    from ..index.api import Store

    parser = store_parser("autoprov import", description="Import other programs' provenance logs into the run index.")
    parser.add_argument("kind", choices=("ctapipe",), help="the log format: ctapipe (<tool>.provenance.log)")
    parser.add_argument("logs", nargs="+", metavar="LOG", type=Path)
    options = parser.parse_args(argv)
    store = Store(options.store)
    imported = import_logs(store.database, options.logs)
    for run_id in imported:
        print(f"imported  {run_id}")
    print(f"{len(imported)} ctapipe activities from {len(options.logs)} log(s): {store.location.display()}")
    return 0
