"""Which library started a command: a helper program of a library, not a call of the program's own.

matplotlib lists the system fonts with ``fc-list`` when it builds its font cache; compilers and
``uname`` are run by packages probing the system.  Such a command is the library's business: it is
recorded (the record stays complete), marked ``internal`` with the library's name, and left out of
the graph, the summary and the report unless asked for (``autoprov export --all``, ``--all``).

**The rule** (docs/record.md): the frame that started the command is found by walking out of the
stack past the standard library (``subprocess``, ``os``, ``multiprocessing``...) and autoprov itself.
When that frame is code of an *installed* package (a file under ``site-packages`` or
``dist-packages``), the command is internal to that package; when it is the program's own code (the
script, a notebook cell, a module of the project, an editable install of it), the command is the
program's.  Cost: one walk of the stack per program started (a few microseconds).
"""

from __future__ import annotations

import os
import sys
import sysconfig

_STDLIB = tuple(os.path.join(path, "") for path in {sysconfig.get_path("stdlib"), sysconfig.get_path("platstdlib")} if path)
_AUTOPROV = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "")
_INSTALLED = (os.sep + "site-packages" + os.sep, os.sep + "dist-packages" + os.sep)


def library_starting_it() -> str | None:
    """The top-level package whose code started the command being opened, or None (the program's)."""
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if filename.startswith("<frozen ") or filename.startswith(_AUTOPROV):
            frame = frame.f_back
            continue
        for marker in _INSTALLED:  # before the standard library: a venv's site-packages is inside its lib folder
            where = filename.find(marker)
            if where >= 0:
                return _package(filename[where + len(marker):], frame.f_globals.get("__name__"))
        if filename.startswith(_STDLIB):
            frame = frame.f_back
            continue
        return None
    return None


def _package(relative: str, module: object) -> str:
    if isinstance(module, str) and module and module != "__main__":
        return module.split(".", 1)[0]
    return relative.split(os.sep, 1)[0].removesuffix(".py")
