"""``python -m autoprov.cli.guarded GUARD.json -- <autoprov run arguments>``: ``autoprov run`` under the re-run's guard.

``autoprov rerun`` starts the program this way: the guard (:mod:`autoprov.reproduce.guard`) is
installed first, then the program runs under capture exactly as ``autoprov run`` runs it.  The
launcher is a front end of the command line, so the reproduce stage never imports the CLI.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ..reproduce.guard import Guard


def main(argv: list[str]) -> int:
    """``GUARD.json -- <autoprov run arguments>``: install the guard, then ``autoprov run``."""
    if len(argv) < 2 or argv[1] != "--":
        print("usage: python -m autoprov.cli.guarded GUARD.json -- <autoprov run arguments>", file=sys.stderr)
        return 2
    config = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    sys.addaudithook(Guard(config["protected_files"], config["protected_roots"], config["allowed_roots"]))
    from . import main as autoprov

    sys.argv = [sys.argv[0], *argv[2:]]
    return autoprov(["run", *argv[2:]])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
