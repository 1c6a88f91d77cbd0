"""Autoprov's file and process I/O out of sight of a program that watches audit events.

Python's audit hooks see every ``open``, ``os.listdir``, ``os.rename``, ``subprocess.Popen`` and
``import`` in the process, and they cannot be removed or bypassed (nor should they be: they are a
security mechanism).  A program that installs its own hook would see autoprov's hashing, environment
collection, run-folder move and export: about sixty events when a trivial script ends.  So when the
program adds an audit hook, autoprov starts this helper process *at that moment*: the audit event
``sys.addaudithook`` is raised before the program's hook joins the list, so nothing autoprov does
then reaches it.  From then on every piece of autoprov's I/O is a request to the helper, sent and
answered over pipes with ``os.write`` / ``os.read`` (which raise no audit events):

* ``hash``: the digest of a file (before the program overwrites or removes it, and at the end);
* ``environment``: :func:`autoprov.environment.complete` of the in-process snapshot;
* ``settle``: move the run folder into its store, or put back a log the program deleted (read
  through ``/proc/<pid>/fd/<n>``, the program's still-open descriptor);
* ``export``: the post-run export step, which also starts the background exporter.

The helper is started through a shell that puts it in the background and exits at once, in a new
session: it is no child of the program (``os.wait()`` does not see it) and a Ctrl-C in the terminal
does not reach it.  It ends when the program's process ends (its request pipe closes).  If it
fails, the work is done in-process instead: visible, but never lost.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

# Imported now, while the program's hook is not yet installed, because the end of the run needs them.
PRELOAD = ("pwd", "resource", "autoprov.session.postrun", "autoprov.environment")


class OffloadFailed(Exception):
    """The helper is gone or answered with an error: do the work in-process."""


class Offload:
    """The program's side: one helper process and a request/answer channel to it."""

    def __init__(self) -> None:
        import importlib
        import subprocess

        for name in PRELOAD:
            importlib.import_module(name)
        to_helper_read, self._to_helper = os.pipe()
        self._from_helper, from_helper_write = os.pipe()
        package_root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
        command = [sys.executable, "-W", "ignore", "-m", "autoprov.session.offload"]
        starter = subprocess.Popen(["/bin/sh", "-c", 'exec 3<&0; "$@" <&3 3<&- 2>/dev/null &', "autoprov-offload", *command],
                                   stdin=to_helper_read, stdout=from_helper_write, stderr=subprocess.DEVNULL,
                                   start_new_session=True, close_fds=True, env=env)
        starter.wait()
        os.close(to_helper_read)
        os.close(from_helper_write)
        self._pending = b""
        self.alive = True

    def request(self, kind: str, **payload: Any) -> Any:
        """Send one request and wait for its answer (OffloadFailed when the helper cannot)."""
        if not self.alive:
            raise OffloadFailed("the helper has ended")
        try:
            data = memoryview((json.dumps({"kind": kind, **payload}) + "\n").encode("utf-8", "surrogateescape"))
            while data:
                data = data[os.write(self._to_helper, data):]
            while b"\n" not in self._pending:
                chunk = os.read(self._from_helper, 1 << 16)
                if not chunk:
                    raise OSError("the helper closed its answers")
                self._pending += chunk
        except OSError as error:
            self.alive = False
            raise OffloadFailed(str(error)) from None
        line, _, self._pending = self._pending.partition(b"\n")
        answer = json.loads(line.decode("utf-8", "surrogateescape"))
        if "error" in answer:
            raise OffloadFailed(answer["error"])
        return answer["result"]

    def abandon(self) -> None:
        """In a forked child: let go of the parent's channel (the helper ends with the parent)."""
        self.alive = False
        for fd in (self._to_helper, self._from_helper):
            try:
                os.close(fd)
            except OSError:
                pass

    def hash_file(self, path: str, algorithm: str) -> tuple[str | None, int | None, int | None]:
        """:func:`autoprov.recorder.files.hash_file`, done by the helper."""
        try:
            digest, size, mtime = self.request("hash", path=path, algorithm=algorithm)
            return digest, size, mtime
        except OffloadFailed:
            from ..recorder.files import hash_file

            return hash_file(path, algorithm)


# -- the helper's side -----------------------------------------------------------------------------

def _hash(path: str, algorithm: str) -> Any:
    from ..recorder.files import hash_file

    return list(hash_file(path, algorithm))


def _environment(facts: dict[str, Any], hash_algorithm: str) -> Any:
    from ..environment import complete

    return complete(facts, hash_algorithm)


def _settle(folder: str, store: str, run_id: str, lost_log: str | None) -> Any:
    from ..store.live import settle

    content = None
    if lost_log is not None:
        with open(lost_log, "rb") as handle:
            content = handle.read()
    return str(settle(Path(folder), Path(store), run_id, content))


def _export(run_dir: str, formats: list[str], graphs: list[str] | None, mode: str, embed: list[str],
            index: list[str | None] | None = None) -> Any:
    from .postrun import ExportStep
    from ..store.location import StoreLocation

    location = None if index is None else StoreLocation(Path(str(index[0])), index[1], str(index[2]))
    step = ExportStep(tuple(formats), None if graphs is None else tuple(graphs), mode, tuple(embed), index=location)
    written = step(Path(run_dir))
    return {"notes": list(written.notes), "summary": step.summary(Path(run_dir))}


HANDLERS = {"hash": _hash, "environment": _environment, "settle": _settle, "export": _export}


def main() -> None:
    """Answer requests from stdin until it closes (the program's process has ended)."""
    for line in sys.stdin.buffer:
        try:
            request = json.loads(line.decode("utf-8", "surrogateescape"))
            handler = HANDLERS[request.pop("kind")]
            answer = {"result": handler(**request)}
        except Exception as error:  # answered, so the program's side falls back to doing it itself
            answer = {"error": f"{type(error).__name__}: {error}"}
        sys.stdout.buffer.write((json.dumps(answer, default=repr) + "\n").encode("utf-8", "surrogateescape"))
        sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()
