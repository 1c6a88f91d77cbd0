"""Programs the run starts are command activities: argv from the audit event, pid and exit status.

The ``subprocess.Popen`` audit event (raised in the calling thread just before the child is
created) opens a ``command`` activity under the current activity, with the argv, executable and
working directory.  Two thin patches of ``subprocess.Popen`` add what no audit event carries: the
child's pid once it exists (a CMDPID event: a Python child's own log is then nested under this
command) and its exit status when the program reaps it.  ``os.exec*`` replaces the process: the
command is recorded, then this process' record is completed before the exec happens.

``os.system`` and ``os.posix_spawn``/``posix_spawnp`` start programs too, and their audit events
carry no exit status: thin wrappers (:func:`patch_os`) record those commands.  ``os.system`` returns
the status; a spawned pid's status is taken when the program reaps it with ``os.waitpid``,
``os.wait`` or ``os.wait4`` (the wrappers read what the real call returned, nothing more).
``os.spawn*`` is ``fork`` then ``exec`` on POSIX: a forked child whose exec is its command.

Any program is a command, Python or not; a Python child also captures itself (:mod:`.startup`).
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Mapping
from types import ModuleType
from typing import Any

from .. import events
from .context import CHILD_ENV, ChildContext
from ..redaction import redact_argv
from .patches import replace

COMMAND_RULE = "autoprov:command"
MAX_ARGV = 64  # arguments kept per command (the rest are counted)

_active: Commands | None = None
_launching = threading.local()  # .active: this thread is inside Popen._execute_child


def launching_program() -> bool:
    """True in the child of a fork made by ``subprocess`` (a ``preexec_fn`` runs the fork hooks):
    it execs the program at once, which captures itself if it is Python."""
    return getattr(_launching, "active", False)


def attach(recorder: Any) -> None:
    """Record this process' commands into ``recorder`` (called when capture starts here)."""
    global _active
    _active = Commands(recorder)
    recorder.file_events.on_command = _active.on_audit


def detach(recorder: Any) -> None:
    """Stop recording commands; the ones still running end as incomplete."""
    global _active
    if _active is not None and _active.recorder is recorder:
        _active.close()
        _active = None
    recorder.file_events.on_command = None


def command_line(argv: list[str]) -> list[str]:
    """The argv of a command as recorded: credentials redacted (as the run's own), long ones cut."""
    out = redact_argv(argv[:MAX_ARGV])
    if len(argv) > MAX_ARGV:
        out.append(f"... {len(argv) - MAX_ARGV} more")
    return out


def _text(value: Any) -> str:
    try:
        return os.fsdecode(value)
    except TypeError:
        return str(value)


class Commands:
    """The command activities of one process' capture."""

    def __init__(self, recorder: Any) -> None:
        self.recorder = recorder
        self._pending = threading.local()  # .act: opened by the audit event, not yet given its pid
        self._running: set[int] = set()
        self._spawned: dict[int, int] = {}  # pid of a posix_spawn'ed program -> its command activity

    def on_audit(self, event: str, args: tuple) -> None:
        """``subprocess.Popen`` (executable, args, cwd, env) or ``os.exec`` (path, args, env)."""
        if event == "subprocess.Popen":
            executable, argv, cwd = args[0], args[1], args[2]
            self._pending.act = self._open(executable, argv, cwd, "subprocess")
        elif event == "os.exec":
            path, argv = args[0], args[1]
            if not (os.path.isfile(path) and os.access(path, os.X_OK)):
                return  # execvp tries each PATH entry: only the one that can run replaces us
            act = self._open(path, argv, None, "exec")
            self.recorder.buffer.append((events.CMDPID, act, os.getpid()))
            self._running.discard(act)
            self.recorder.finish(act, "completed", None, {"replaced_process": True})
            _complete_before_exec()

    def _open(self, executable: Any, argv: Any, cwd: Any, how: str) -> int:
        items = [_text(item) for item in argv] if isinstance(argv, (list, tuple)) else [_text(argv)]
        params = {"argv": command_line(items), "executable": _text(executable) if executable is not None else items[0],
                  "cwd": os.path.abspath(_text(cwd)) if cwd is not None else os.getcwd(), "how": how}
        from .internal import library_starting_it

        library = library_starting_it()
        if library is not None:
            params["internal"] = library  # a library's own helper: left out of the graph and report by default
        act = self.recorder.begin("command", params, rule_id=COMMAND_RULE, push=False)
        self._running.add(act)
        return act

    def spawned(self, act: int, pid: int) -> None:
        """A program started without ``subprocess`` (``posix_spawn``): its status comes when reaped."""
        self.started(act, pid)
        self._spawned[pid] = act

    def reaped(self, pid: int, wait_status: int) -> None:
        """The program reaped a child (``os.waitpid`` and its kin): a spawned command has ended."""
        act = self._spawned.pop(pid, None)
        if act is not None and (os.WIFEXITED(wait_status) or os.WIFSIGNALED(wait_status)):
            self.exited(act, os.waitstatus_to_exitcode(wait_status))
        elif act is not None:
            self._spawned[pid] = act  # stopped or continued (WUNTRACED): not the end

    def take_pending(self) -> int | None:
        act = getattr(self._pending, "act", None)
        self._pending.act = None
        return act

    def started(self, act: int, pid: int) -> None:
        self.recorder.buffer.append((events.CMDPID, act, pid))

    def failed_to_start(self, act: int, error: BaseException) -> None:
        self._running.discard(act)
        self.recorder.finish(act, "failed", f"{type(error).__qualname__}: {error}")

    def exited(self, act: int, returncode: int) -> None:
        if act not in self._running:
            return
        self._running.discard(act)
        status = "completed" if returncode == 0 else "failed"
        self.recorder.finish(act, status, None if returncode == 0 else f"exit status {returncode}", {"exit_status": returncode})

    def close(self) -> None:
        for act in sorted(self._running):
            self.recorder.finish(act, "incomplete", "still running when capture stopped")
        self._running.clear()


def _complete_before_exec() -> None:
    """The process is about to be replaced: complete its record now (nothing of it runs after)."""
    from . import live

    state = live()
    if state is None:
        return
    owner = state.owner
    if type(owner).__module__ == "autoprov.children.capture":
        owner.stop("completed", None, ended_by="exec")
    else:  # the run's first process: its successor program records into the same run folder
        owner.stop("completed", None)


ENV_ARGUMENT = 6  # Popen._execute_child(args, executable, preexec_fn, close_fds, pass_fds, cwd, env, ...)


def _with_child_context(args: tuple) -> tuple:
    """A program that gives its child an environment of its own (``env={...}``) would drop
    ``AUTOPROV_CHILD`` and leave a Python child uncaptured: the child gets a copy of that
    environment with the run's context added; the program's own dict is left as it was."""
    context = os.environ.get(CHILD_ENV)
    env = args[ENV_ARGUMENT] if len(args) > ENV_ARGUMENT else None
    if context is None or not isinstance(env, Mapping):
        return args  # None: the child inherits os.environ, the context with it
    as_bytes = any(isinstance(name, bytes) for name in env)
    key: str | bytes = os.fsencode(CHILD_ENV) if as_bytes else CHILD_ENV
    if key in env:
        return args
    child_env = dict(env)
    child_env[key] = os.fsencode(context) if as_bytes else context
    return (*args[:ENV_ARGUMENT], child_env, *args[ENV_ARGUMENT + 1:])


def patch_subprocess(module: ModuleType) -> None:
    popen = module.Popen
    original_execute = popen._execute_child
    original_exit = getattr(popen, "_handle_exitstatus", None)  # POSIX

    def _execute_child(self: Any, *args: Any, **kwargs: Any) -> None:
        commands = _active
        _launching.active = True
        try:
            original_execute(self, *_with_child_context(args), **kwargs)
        except BaseException as error:
            act = commands.take_pending() if commands is not None else None
            if act is not None:
                commands.failed_to_start(act, error)
            raise
        finally:
            _launching.active = False
        act = commands.take_pending() if commands is not None else None
        if act is not None:
            commands.started(act, self.pid)
            self._autoprov_command = (commands, act)

    def _handle_exitstatus(self: Any, *args: Any, **kwargs: Any) -> None:
        original_exit(self, *args, **kwargs)
        command = self.__dict__.pop("_autoprov_command", None)
        if command is not None:
            commands, act = command
            commands.exited(act, self.returncode)

    replace(popen, "_execute_child", _execute_child)
    if original_exit is not None:
        replace(popen, "_handle_exitstatus", _handle_exitstatus)


def _recording(action: Any) -> None:
    """Run one bookkeeping step of a wrapper; autoprov's failure must never reach the program."""
    try:
        action()
    except Exception:
        pass


def _shell_command(commands: Commands, command: Any) -> int:
    return commands._open("/bin/sh", ["/bin/sh", "-c", _text(command)], None, "os.system")


def patch_os(module: ModuleType) -> None:
    """Record ``os.system`` and ``os.posix_spawn(p)`` as commands, with their exit status."""
    real_system = module.system

    @functools.wraps(real_system)
    def system(command: Any) -> int:
        commands = _active
        act: list[int] = []
        context = os.environ.get(CHILD_ENV)
        if commands is not None:
            _recording(lambda: act.append(_shell_command(commands, command)))
        # a Python program run by the shell joins the run under this command (no pid to match)
        hand_over = bool(act) and context is not None and not _program_sees_environ()
        if hand_over:
            _recording(lambda: module.putenv(CHILD_ENV, _handed_to(context, act[0])))
        try:
            status = real_system(command)
        finally:
            if hand_over:  # restored even if the program added an audit hook meanwhile
                _recording(lambda: module.putenv(CHILD_ENV, context))
        if act:
            _recording(lambda: _system_ended(commands, act[0], status))
        return status

    replace(module, "system", system)
    for name in ("posix_spawn", "posix_spawnp"):
        if hasattr(module, name):
            replace(module, name, _spawner(name, getattr(module, name)))
    for name in ("waitpid", "wait", "wait4"):
        if hasattr(module, name):
            replace(module, name, _reaper(getattr(module, name)))


def _handed_to(context: str, act: int) -> str:
    """This process' child context, naming the command ``act`` as what started the child."""
    decoded = ChildContext.decode(context)
    return decoded.handed_over(decoded.parent, act).encode()


def _program_sees_environ() -> bool:
    """The program added an audit hook of its own: a putenv would show in it (``os.putenv``)."""
    from ..engine import audit

    return audit.program_hooked


def _system_ended(commands: Commands, act: int, status: int) -> None:
    if status == -1:  # the shell could not be started
        commands.failed_to_start(act, OSError("os.system could not start /bin/sh"))
    else:
        commands.exited(act, os.waitstatus_to_exitcode(status))


def _spawner(how: str, real: Any) -> Any:
    @functools.wraps(real)
    def spawn(path: Any, argv: Any, *args: Any, **kwargs: Any) -> int:
        commands = _active if not launching_program() else None  # subprocess may spawn with it
        act: list[int] = []
        if commands is not None:
            _recording(lambda: act.append(commands._open(path, argv, None, how)))
        try:
            pid = real(path, argv, *args, **kwargs)
        except BaseException as error:
            if act:
                _recording(lambda: commands.failed_to_start(act[0], error))
            raise
        if act:
            _recording(lambda: commands.spawned(act[0], pid))
        return pid

    return spawn


def _reaper(real: Any) -> Any:
    @functools.wraps(real)
    def wait(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        commands = _active
        if commands is not None and commands._spawned and result[0]:
            _recording(lambda: commands.reaped(result[0], result[1]))
        return result

    return wait
