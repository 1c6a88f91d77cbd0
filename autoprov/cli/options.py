"""Option parsing every command shares: one-line usage errors, the store option, run look-up.

argparse is used as it is, with two changes: a usage error raises :class:`UsageError` (one line,
status 2, see :mod:`autoprov.cli`), and the help formatter does not import shutil (~3 ms of every
run's start-up) to learn the terminal width.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from ..errors import UsageError

STORE_HELP = "provenance store: a folder (default .prov, or $AUTOPROV_STORE) or a postgresql:// URL for the index"


def _terminal_columns() -> int:
    """``shutil.get_terminal_size().columns``, computed the same way without importing shutil."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class Formatter(argparse.HelpFormatter):
    """argparse's help formatter, sized as argparse sizes it but without its ``import shutil``.

    argparse builds a formatter for every ``add_argument`` (to check the metavar), and the default
    one imports shutil for the terminal width: ~3 ms (with zlib, bz2, lzma) of every run's start-up.
    """

    def __init__(self, prog: str) -> None:
        super().__init__(prog, width=_terminal_columns() - 2)


class Parser(argparse.ArgumentParser):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(formatter_class=Formatter, **kwargs)

    def error(self, message: str) -> None:  # one line and status 2, as for every usage error
        raise UsageError(message)


class Once(argparse.Action):
    """A single-valued option: repeating it with another value is a conflict, not an override."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, value: Any, option: str | None = None) -> None:
        previous = getattr(namespace, self.dest)
        if previous is not None and previous != self.default and previous != value:
            raise UsageError(f"conflicting {option} values {previous!r} and {value!r}; give it once")
        setattr(namespace, self.dest, value)


def store_parser(prog: str, run: bool = False, **kwargs: Any) -> Parser:
    """A parser with ``--store`` (and, with ``run=True``, the positional RUN, default latest)."""
    parser = Parser(prog=prog, **kwargs)
    if run:
        parser.add_argument("run", nargs="?", default="latest", help="run id, unique prefix, or latest (default)")
    parser.add_argument("--store", default=None, metavar="DIR|URL", help=STORE_HELP)
    return parser


def store_path(value: str | None) -> Path:
    """The folder of run folders named by ``--store`` (a folder, or a URL: its local folder)."""
    from ..store.location import resolve_store

    return resolve_store(value).runs


def run_folder(options: argparse.Namespace) -> Path:
    """The run folder named by ``options.run`` in ``options.store``."""
    from ..store import find_run

    return find_run(store_path(options.store), options.run)
