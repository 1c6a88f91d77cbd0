"""Run a script, a module (``-m``) or a directory/zip with ``__main__.py`` as python would.

The program must not be able to tell it runs under autoprov: ``__main__`` is a fresh module in
``sys.modules`` with only the names python gives it, ``sys.argv`` and ``sys.path[0]`` are what
python sets, and an uncaught exception prints the same traceback (autoprov's frames cut off)
through ``sys.excepthook``.  The caller wraps :meth:`PyRunner.run` in a capture and turns the
outcome into the same exit status python would give.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import signal
import sys
import types
import zipimport
from typing import Any, Callable

from .errors import UsageError
from .session import interrupts


class Outcome:
    """How the program ended: ``exception`` is None for a normal end."""

    __slots__ = ("exception",)

    def __init__(self, exception: BaseException | None = None) -> None:  # not a dataclass: start-up
        self.exception = exception

    @property
    def status(self) -> str:
        if self.exception is None:
            return "completed"
        if isinstance(self.exception, KeyboardInterrupt):
            return "interrupted"
        if isinstance(self.exception, SystemExit):
            return "completed" if exit_code_of(self.exception) == 0 else "failed"
        return "failed"


def exit_code_of(error: SystemExit) -> int:
    """The process exit status python gives for ``SystemExit(error.code)``."""
    code = error.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF if code >= 0 else code & 0xFF
    return 1


def _compile_script(source: bytes, path: str) -> types.CodeType:
    """The pure twin of ``_native.compile_script``."""
    return compile(source, path, "exec", dont_inherit=True)


class PyRunner:
    """Prepares and runs one program; ``as_module`` for ``-m``."""

    def __init__(self, target: str, args: list[str], as_module: bool = False) -> None:
        self.target = target
        self.args = list(args)
        self.as_module = as_module
        self.code: types.CodeType | None = None
        self.spec: importlib.machinery.ModuleSpec | None = None
        self.path0: str = ""
        self.argv0: str = target
        self.package: str | None = None
        self.loader: Any = None

    def prepare(self, compile_script: Callable[[bytes, str], types.CodeType] | None = None) -> None:
        """Find and compile the program (UsageError when it cannot be found), before capture starts.

        ``compile_script`` is the native core's twin of ``compile(source, path, "exec",
        dont_inherit=True)``, which spares the start-up the ``_ast`` types compile() builds."""
        if self.as_module:
            self._prepare_module()
        else:
            self._prepare_path(compile_script or _compile_script)

    def _prepare_module(self) -> None:
        self.path0 = os.getcwd()
        self._set_path0()  # the module must be found where python -m would look
        name = self.target
        try:
            spec = importlib.util.find_spec(name)
            if spec is not None and spec.submodule_search_locations is not None:
                name = name + ".__main__"
                spec = importlib.util.find_spec(name)
        except (ImportError, ValueError) as error:
            raise UsageError(f"no module named {self.target!r} ({error})") from None
        if spec is None or spec.loader is None:
            raise UsageError(f"no module named {self.target!r}; check the name and sys.path")
        try:
            code = spec.loader.get_code(name)  # type: ignore[attr-defined]
        except SyntaxError as error:
            raise ProgramDidNotCompile(error, module=self.target) from None
        if code is None:
            raise UsageError(f"module {self.target!r} has no code to run")
        self.spec = spec
        self.code = code
        self.argv0 = spec.origin or self.target
        self.package = name.rpartition(".")[0]
        self.loader = spec.loader

    def _prepare_path(self, compile_script: Callable[[bytes, str], types.CodeType]) -> None:
        path = self.target
        if not os.path.exists(path):
            raise UsageError(f"can't open file {os.path.abspath(path)!r}: no such file or directory")
        if os.path.isdir(path) or zipimport_capable(path):
            self._prepare_main_container(path)
            return
        try:
            with open(path, "rb") as handle:
                source = handle.read()
        except OSError as error:
            raise UsageError(f"can't open file {os.path.abspath(path)!r}: {error.strerror}") from None
        if b"\0" in source:  # python's own message and position for it (compile() words it differently)
            line = source[: source.index(b"\0")].count(b"\n")
            text = source.split(b"\n")[line].split(b"\0")[0].decode("utf-8", "replace")
            error = SyntaxError("source code cannot contain null bytes", (os.path.abspath(path), line + 1, None, text))
            raise ProgramDidNotCompile(error)
        try:
            self.code = compile_script(source, os.path.abspath(path))
        except SyntaxError as error:
            raise ProgramDidNotCompile(error) from None
        self.path0 = os.path.dirname(os.path.realpath(path))
        self.loader = importlib.machinery.SourceFileLoader("__main__", path)

    def _prepare_main_container(self, path: str) -> None:
        """A directory or zip file holding ``__main__.py``: run it with the container on sys.path."""
        self.path0 = os.path.abspath(path)
        if os.path.isdir(path):
            main = os.path.join(self.path0, "__main__.py")
            if not os.path.isfile(main):
                raise UsageError(f"can't find '__main__' module in {os.path.abspath(path)!r}")
            finder = importlib.machinery.FileFinder(self.path0, (importlib.machinery.SourceFileLoader, [".py"]))
            spec = finder.find_spec("__main__")
        else:
            importer = zipimport.zipimporter(self.path0)
            spec = importer.find_spec("__main__")
            if spec is None:
                raise UsageError(f"can't find '__main__' module in {os.path.abspath(path)!r}")
        assert spec is not None and spec.loader is not None
        self.spec = spec
        self.loader = spec.loader
        try:
            self.code = spec.loader.get_code("__main__")  # type: ignore[attr-defined]
        except SyntaxError as error:
            raise ProgramDidNotCompile(error) from None
        self.package = ""

    def module_globals(self) -> dict[str, Any]:
        """The namespace python gives ``__main__`` (same keys, same order; the code sets __doc__)."""
        namespace: dict[str, Any] = {
            "__name__": "__main__",
            "__doc__": None,
            "__package__": self.package,
            "__loader__": self.loader,
            "__spec__": self.spec,
        }
        if sys.version_info < (3, 14):
            namespace["__annotations__"] = {}
        namespace["__builtins__"] = sys.modules["builtins"]
        if self.spec is not None:
            namespace["__file__"] = self.spec.origin
            namespace["__cached__"] = self.spec.cached
        else:
            namespace["__file__"] = os.path.abspath(self.target)
            namespace["__cached__"] = None
        return namespace

    def install(self) -> types.ModuleType:
        """Make ``__main__``, ``sys.argv`` and ``sys.path[0]`` what python would make them."""
        module = types.ModuleType("__main__")
        module.__dict__.clear()
        module.__dict__.update(self.module_globals())
        sys.modules["__main__"] = module
        sys.argv = [self.argv0, *self.args]
        self._set_path0()
        return module

    def _set_path0(self) -> None:
        """Replace the sys.path[0] python made for autoprov by the program's own (none under -P)."""
        if sys.flags.safe_path:
            return
        if sys.path:
            sys.path[0] = self.path0
        else:
            sys.path.insert(0, self.path0)

    def run(self, module: types.ModuleType, execute: Callable[[types.CodeType, dict], Any] = exec) -> Outcome:
        """Execute the program; every ending, even SystemExit, comes back as an Outcome.

        ``execute`` is ``exec`` or the native core's ``exec_as_main``, which runs the program's
        module frame as the bottom of the thread's Python stack, as python does (then
        ``warnings.warn(stacklevel=2)`` at module level names ``sys:1``, not this frame).

        The instant the program's code has ended, Ctrl-C is held (:mod:`autoprov.session.interrupts`):
        from then on it is too late to interrupt the program, and it must not interrupt the
        record.  ``signal.signal`` is the first call made after ``exec`` returns, so no Python-level
        signal handler can run in between (they run only after calls and backward jumps).
        """
        assert self.code is not None
        ending: BaseException | None = None
        try:
            execute(self.code, module.__dict__)
        except BaseException as error:  # noqa: BLE001 - every ending is the user's, to be replayed
            ending = error
        finally:
            try:
                previous = signal.signal(signal.SIGINT, interrupts.note)  # the first call after exec
            except ValueError:  # not the main thread
                previous = None
            interrupts.keep(previous)
        if ending is not None:
            ending.__traceback__ = self._user_traceback(ending.__traceback__)
        return Outcome(ending)

    def _user_traceback(self, tb: types.TracebackType | None) -> types.TracebackType | None:
        """Drop autoprov's own frames from the top of the traceback."""
        while tb is not None and tb.tb_frame.f_code is not self.code:
            if tb.tb_next is None:
                return tb
            tb = tb.tb_next
        return tb


class ProgramDidNotCompile(Exception):
    """The program has a syntax error: python prints it (no traceback for a script) and exits 1."""

    def __init__(self, error: SyntaxError, module: str | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.module = module

    def report(self) -> int:
        """Print the error exactly as python does for the program, and return its exit status.

        For a script python prints the error alone.  For ``-m`` it prints the traceback through
        runpy and importlib: the module is handed to runpy's own ``_run_module_as_main``, which fails
        on the same source in the same frames (it runs nothing: the code does not compile), and the
        traceback is shown from runpy's frame on.
        """
        error: BaseException = self.error
        error.__traceback__ = None
        if self.module is not None:
            import runpy

            try:
                runpy._run_module_as_main(self.module, alter_argv=False)  # type: ignore[attr-defined]
            except SyntaxError as again:
                error = again
                tb = again.__traceback__
                while tb is not None and tb.tb_frame.f_code.co_filename != "<frozen runpy>":
                    tb = tb.tb_next
                error.__traceback__ = tb
                error.__context__ = None  # raised while reporting: not a consequence of it
        sys.excepthook(type(error), error, error.__traceback__)
        return 1


def zipimport_capable(path: str) -> bool:
    """True for a zip archive python could run; asks zipimport (built in) rather than zipfile,
    whose import (with shutil, bz2, lzma) would cost every run ~5 ms of start-up."""
    if not os.path.isfile(path):
        return False
    try:
        zipimport.zipimporter(path)
    except zipimport.ZipImportError:
        return False
    return True
