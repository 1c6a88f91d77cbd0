"""Put on PYTHONPATH of a *plain* corpus run (tests/test_corpus.py): the files the program opens,
seen by an audit hook of its own (independent of autoprov's), written as JSON at exit to the
file named by CORPUS_AUDIT_LOG.  Each entry: [absolute path, "r" / "w" / "rw"]."""

import atexit
import json
import os
import sys

_LOG = os.environ.get("CORPUS_AUDIT_LOG")
_opened: dict[str, set[str]] = {}


def _hook(event, args):
    if event != "open":
        return
    path, mode, flags = args
    if not isinstance(path, (str, bytes, os.PathLike)):
        return  # a descriptor
    if isinstance(flags, int):  # io.open and os.open both give the OS flags
        kinds = {os.O_RDONLY: "r", os.O_WRONLY: "w", os.O_RDWR: "rw"}[flags & os.O_ACCMODE]
    else:
        kinds = "rw" if "+" in (mode or "r") else ("w" if any(c in (mode or "r") for c in "wax") else "r")
    _opened.setdefault(os.path.abspath(os.fsdecode(path)), set()).update(kinds)


def _write():
    with open(_LOG, "w", encoding="utf-8") as stream:  # opened after the hook's last use: not listed
        json.dump({path: "".join(sorted(kinds)) for path, kinds in _opened.items()}, stream)


if _LOG:
    atexit.register(_write)
    sys.addaudithook(_hook)
