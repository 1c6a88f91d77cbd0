"""``autoprov rm RUN...``: remove runs, their folders and their index rows together."""

from __future__ import annotations

import sys

from .options import STORE_HELP, Parser


def rm_command(argv: list[str]) -> int:
    from ..index.api import Store

    parser = Parser(prog="autoprov rm", description="Remove runs: folder and index rows.")
    parser.add_argument("runs", nargs="+", metavar="RUN", help="run ids, unique prefixes, latest or -N")
    parser.add_argument("--store", default=None, metavar="DIR|URL", help=STORE_HELP)
    options = parser.parse_args(argv)
    removal = Store(options.store).remove(options.runs)
    for run_id in removal.removed:
        print(f"removed  {run_id}")
    for failure in removal.failed:
        print(f"autoprov: could not remove the folder of {failure}; `autoprov index` keeps it indexed", file=sys.stderr)
    return 1 if removal.failed else 0
