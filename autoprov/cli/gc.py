"""``autoprov gc --older-than DURATION``: remove old runs (folders and index rows) and stale rows.

Runs that started longer ago than DURATION (``30d``, ``12h``, ``2w``) are removed with their
folders; index rows of this machine's runs whose folders were deleted by hand are dropped.  Runs
recorded on other machines (a shared PostgreSQL index) are left to ``autoprov gc`` there.
"""

from __future__ import annotations

import sys

from .options import STORE_HELP, Parser


def gc_command(argv: list[str]) -> int:
    from ..index.api import Store

    parser = Parser(prog="autoprov gc", description="Remove runs older than a duration.")
    parser.add_argument("--older-than", required=True, metavar="DURATION", help="e.g. 30d, 12h, 2w, 1d12h")
    parser.add_argument("--dry-run", action="store_true", help="say what would be removed, remove nothing")
    parser.add_argument("--store", default=None, metavar="DIR|URL", help=STORE_HELP)
    options = parser.parse_args(argv)
    removal = Store(options.store).gc(options.older_than, dry_run=options.dry_run)
    verb = "would remove" if options.dry_run else "removed"
    for run_id in removal.removed:
        print(f"{verb}  {run_id}")
    for failure in removal.failed:
        print(f"autoprov: could not remove the folder of {failure}; `autoprov index` keeps it indexed", file=sys.stderr)
    if removal.elsewhere:
        hosts = sorted({info.host or "?" for info in removal.elsewhere})
        print(f"autoprov: note: {len(removal.elsewhere)} old run(s) live on {', '.join(hosts)}: run `autoprov gc` there", file=sys.stderr)
    print(f"{len(removal.removed)} run(s) {verb}")
    return 1 if removal.failed else 0
