"""The execution environment of a run: platform, Python, loaded distributions, variables, git.

Collected once, in-process, when capture stops (the ``ENV`` event), because the interesting
parts are only known then (which distributions the program imported) and because the expensive
parts (scanning installed distributions, running ``git``) must not slow start-up.  The fields
cover everything ctapipe's ``Provenance`` records, plus cwd, hostname, total memory and the
script's git state.  Collection never raises: a part that fails is replaced by ``{"error": ...}``.

Collection runs before every ``python -m autoprov`` exits, so it avoids what costs milliseconds
there for no information: importing psutil (~20 ms; Linux's /proc gives the same two numbers),
``platform.architecture()`` (it runs the ``file`` program, ~8 ms), importing socket (~5 ms, for
the host name ``os.uname()`` also gives) and running ``git`` where no repository can be (~7 ms).

Environment variables are recorded only from :data:`ALLOWED_VARIABLES` (exact names) and
:data:`ALLOWED_PREFIXES`; a recorded variable whose name looks secret (:mod:`autoprov.redaction`) is
kept with the value ``"<redacted>"``, and every value is scanned for credentials (URL passwords,
tokens) by the same rules as parameters; so is ``argv``.
"""

from __future__ import annotations

import getpass
import os
import platform
import re
import struct
import sys
from datetime import datetime, timezone
from typing import Any

from .redaction import REDACTED, is_secret, redact_argv, redact_text

# ctapipe's list, plus what changes the numbers of a scientific Python analysis.
ALLOWED_VARIABLES = frozenset(
    {
        "PATH", "LD_LIBRARY_PATH", "DYLD_LIBRARY_PATH", "USER", "HOME", "SHELL", "LANG", "LC_ALL", "TZ",
        "PYTHONPATH", "PYTHONHASHSEED", "PYTHONHOME", "VIRTUAL_ENV", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
        "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS", "CUDA_VISIBLE_DEVICES",
    }
)
ALLOWED_PREFIXES = ("CONDA_", "GAMMAPY_", "CTAPIPE_", "CALDB", "AUTOPROV_", "SLURM_JOB_", "PBS_JOB")
GIT_TIMEOUT = 5.0


def _guarded(part: Any, *args: Any) -> Any:
    try:
        return part(*args)
    except Exception as error:  # one failing part must not lose the others
        return {"error": f"{type(error).__name__}: {error}"}


def collect(hash_algorithm: str = "xxh3_128") -> dict[str, Any]:
    """Everything about where and how the run executed (called once, at the end of capture)."""
    return complete(snapshot(), hash_algorithm)


def snapshot() -> dict[str, Any]:
    """What only this process knows, read without any I/O (no file, no process, no import).

    :func:`complete` adds what needs I/O; the two halves may run in different processes (when the
    program watches audit events, :mod:`autoprov.session.offload` does the I/O out of its sight).
    """
    main = sys.modules.get("__main__")
    script = getattr(main, "__file__", None)
    return {
        "collected": datetime.now(timezone.utc).isoformat(),
        "user": _guarded(getpass.getuser),
        "hostname": _guarded(_hostname),
        "cwd": _guarded(os.getcwd),
        "argv": redact_argv(sys.argv),
        "python": _guarded(python_info),
        "environment_variables": _guarded(environment_variables, dict(os.environ)),
        "modules": {name: _module_file(module) for name, module in list(sys.modules.items()) if "." not in name},
        "sys_path": list(sys.path),
        "script": os.path.abspath(script) if isinstance(script, str) else None,
    }


def complete(facts: dict[str, Any], hash_algorithm: str = "xxh3_128") -> dict[str, Any]:
    """The environment record from a :func:`snapshot`: the parts that read files or run git."""
    script = facts["script"] if facts["script"] and os.path.isfile(facts["script"]) else None
    return {
        "collected": facts["collected"],
        "user": facts["user"],
        "hostname": facts["hostname"],
        "cwd": facts["cwd"],
        "argv": facts["argv"],
        "platform": _guarded(platform_info),
        "python": facts["python"],
        "packages": _guarded(loaded_distributions, facts["modules"], facts["sys_path"]),
        "environment_variables": facts["environment_variables"],
        "script": _guarded(script_info, script, hash_algorithm),
        "git": _guarded(git_state, os.path.dirname(script) if script else facts["cwd"]),
    }


def _module_file(module: Any) -> str | None:
    try:
        path = getattr(module, "__file__", None)
    except Exception:  # a lazy module object whose attribute access fails
        return None
    return path if isinstance(path, str) else None


def _hostname() -> str:
    """``socket.gethostname()``: on POSIX systems that is the node name uname(2) reports."""
    return os.uname().nodename


def platform_info() -> dict[str, Any]:
    libc_name, libc_version = platform.libc_ver()
    boot_time, total_memory = _boot_time_and_memory()
    return {
        "machine": platform.machine(),
        "node": platform.node(),
        "system": platform.system(),
        "release": platform.release(),
        "version": platform.version(),
        # platform.architecture()[0] of the running interpreter, without running `file` on it
        "architecture": f"{struct.calcsize('P') * 8}bit",
        "libc": {"name": libc_name, "version": libc_version},
        "n_cpus": os.cpu_count(),
        "boot_time": datetime.fromtimestamp(boot_time, timezone.utc).isoformat(),
        "total_memory": total_memory,
    }


def _boot_time_and_memory() -> tuple[float, int]:
    """``psutil.boot_time()`` and ``psutil.virtual_memory().total``.

    On Linux both are read from /proc exactly as psutil reads them there (``btime`` of
    /proc/stat, ``MemTotal`` of /proc/meminfo in bytes); psutil is imported only elsewhere.
    """
    if not sys.platform.startswith("linux"):
        import psutil

        return psutil.boot_time(), psutil.virtual_memory().total
    with open("/proc/stat", "rb") as stat:
        boot_time = next(float(line.split()[1]) for line in stat if line.startswith(b"btime"))
    with open("/proc/meminfo", "rb") as meminfo:
        total_memory = next(int(line.split()[1]) * 1024 for line in meminfo if line.startswith(b"MemTotal:"))
    return boot_time, total_memory


def python_info() -> dict[str, Any]:
    return {
        "version": platform.python_version(),
        "version_string": sys.version,
        "implementation": platform.python_implementation(),
        "compiler": platform.python_compiler(),
        "executable": sys.executable,
        "prefix": sys.prefix,
        "base_prefix": sys.base_prefix,
    }


def loaded_distributions(modules: dict[str, str | None] | None = None, path: list[str] | None = None) -> dict[str, str]:
    """name -> version of each installed distribution that provides a module now imported.

    ``modules`` (top-level module name -> its file) and ``path`` default to this process's.

    ``importlib.metadata.packages_distributions()`` parses every RECORD file of the environment
    into paths (0.3-0.8 s with a scientific stack).  Most distributions are named like their
    top-level module, so metadata folders are matched by name first, then by their small
    ``top_level.txt``, and only then are the remaining RECORD files scanned, as plain text.
    """
    if modules is None:
        modules = {name: _module_file(module) for name, module in list(sys.modules.items()) if "." not in name}
    folders: dict[str, tuple[str, str, str]] = {}  # normalised name -> (name, version, folder path)
    for entry in dict.fromkeys(sys.path if path is None else path):
        if not entry or not os.path.isdir(entry):
            continue
        try:
            names = os.listdir(entry)
        except OSError:
            continue
        for folder in names:
            stem = folder.rsplit(".", 1)[0]
            if folder.endswith((".dist-info", ".egg-info")) and "-" in stem:
                name, version = stem.split("-", 1)
                folders.setdefault(_normalise(name), (name, version.split("-")[0], os.path.join(entry, folder)))
    versions: dict[str, str] = {}
    unexplained = set()
    for module, file in modules.items():
        found = folders.get(_normalise(module))
        if found is not None:
            versions[found[0]] = found[1]
        elif _is_installed_module(module, file):
            unexplained.add(module)
    for name, version, path in folders.values():
        if not unexplained or name in versions:
            continue
        provided = _top_level(path)
        if provided & unexplained:
            versions[name] = version
            unexplained -= provided
    for name, version, path in folders.values():
        if not unexplained or name in versions:
            continue
        provided = _recorded_modules(path)
        if provided & unexplained:  # the exact way, for the few left: the files it installed
            versions[name] = version
            unexplained -= provided
    return dict(sorted(versions.items(), key=lambda item: item[0].lower()))


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _is_installed_module(module: str, origin: str | None) -> bool:
    """A module imported from site-packages (not the standard library, not built in)."""
    if module.startswith("__editable__"):
        return False  # setuptools' import hook for editable installs, not a distribution's module
    origin = origin or ""
    return "site-packages" in origin or "dist-packages" in origin


def _recorded_modules(folder: str) -> set[str]:
    """Top-level module names among the files a distribution's RECORD lists."""
    try:
        with open(os.path.join(folder, "RECORD"), encoding="utf-8") as handle:
            paths = [line.split(",", 1)[0] for line in handle]
    except OSError:
        return set()
    return {path.split("/", 1)[0].split(".", 1)[0] for path in paths if path and not path.startswith("..")}


def _top_level(folder: str) -> set[str]:
    try:
        with open(os.path.join(folder, "top_level.txt"), encoding="utf-8") as handle:
            return {line.strip() for line in handle if line.strip()}
    except OSError:
        return set()


def environment_variables(environ: dict[str, str]) -> dict[str, str]:
    """The allow-listed variables, secret-looking ones redacted."""
    chosen: dict[str, str] = {}
    for name in sorted(environ):
        if name not in ALLOWED_VARIABLES and not name.startswith(ALLOWED_PREFIXES):
            continue
        chosen[name] = REDACTED if is_secret(name) else redact_text(environ[name])
    return chosen


def script_info(path: str | None, hash_algorithm: str) -> dict[str, Any] | None:
    """Path and content digest of the program (the plan of the run)."""
    if path is None:
        return None
    from .recorder.files import hash_file

    algorithm = "xxh3_128" if hash_algorithm == "none" else hash_algorithm
    digest, size, mtime_ns = hash_file(path, algorithm)
    return {"path": path, "algorithm": algorithm, "digest": digest, "size": size, "mtime_ns": mtime_ns}


def git_state(directory: str) -> dict[str, Any] | None:
    """Commit, branch and dirty state of the repository holding ``directory``; None outside one."""
    if not _may_be_in_repository(directory):
        return None if _on_path("git") else {"error": "git is not installed"}
    import subprocess  # only here: most runs outside a repository never start a process

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", directory, *args], capture_output=True, text=True, timeout=GIT_TIMEOUT,
            stdin=subprocess.DEVNULL, env={**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"},
        )
        if done.returncode != 0:
            raise _GitFailed(done.stderr.strip())
        return done.stdout.strip()

    try:
        root = git("rev-parse", "--show-toplevel")
    except FileNotFoundError:
        return {"error": "git is not installed"}
    except subprocess.TimeoutExpired:
        return {"error": f"git did not answer within {GIT_TIMEOUT:g} s"}
    except _GitFailed:
        return None  # not a repository
    state: dict[str, Any] = {"root": root}
    try:
        state["commit"] = git("rev-parse", "HEAD")
    except _GitFailed:
        state["commit"] = None  # a repository without commits
    try:
        state["branch"] = git("rev-parse", "--abbrev-ref", "HEAD")
    except _GitFailed:
        state["branch"] = None
    changes = git("status", "--porcelain", "--untracked-files=no")
    state["dirty"] = bool(changes)
    state["changed_files"] = len(changes.splitlines())
    return state


def _may_be_in_repository(directory: str) -> bool:
    """False when git would certainly answer "not a repository": no ``.git`` in ``directory`` or
    above it (through the path as given or with symbolic links resolved, as git walks it), and no
    ``GIT_DIR`` / ``GIT_WORK_TREE`` pointing git elsewhere."""
    if "GIT_DIR" in os.environ or "GIT_WORK_TREE" in os.environ:
        return True
    for path in {os.path.abspath(directory), os.path.realpath(directory)}:
        while True:
            if os.path.lexists(os.path.join(path, ".git")):
                return True
            parent = os.path.dirname(path)
            if parent == path:
                break
            path = parent
    return False


def _on_path(program: str) -> bool:
    """Whether running ``program`` would find it on $PATH (without running it)."""
    directories = os.environ.get("PATH", os.defpath).split(os.pathsep)
    return any(os.access(os.path.join(directory or ".", program), os.X_OK) for directory in directories)


class _GitFailed(Exception):
    """git ran and said no (not a repository, no commits yet)."""
