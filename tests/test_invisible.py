"""Adversarial programs: each runs under plain python and under autoprov on every engine, and must
give the same status, stdout, stderr and files (docs/reliability.md, section 1).

Every program runs in a fresh folder of its own, once per interpreter, so "the same files" means
the same names and contents there; the store of the autoprov run is looked at separately.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autoprov.log.reader import read_events
from autoprov.store import run_dirs
from conftest import environment

MATCH = ["--match", "toy.*:*"]


def files_of(folder: Path, skip: tuple[str, ...] = (".prov", ".prov-test")) -> dict[str, bytes]:
    """Every file under ``folder`` (relative name -> content), the store excepted."""
    found = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if relative.parts[0] in skip or not path.is_file():
            continue
        found[str(relative)] = path.read_bytes()
    return found


class Ran:
    def __init__(self, done: subprocess.CompletedProcess, folder: Path, store: Path) -> None:
        self.status, self.stdout, self.stderr = done.returncode, done.stdout, done.stderr
        self.folder, self.store = folder, store
        self.files = files_of(folder)

    def runs(self) -> list[Path]:
        return run_dirs(self.store)

    def events(self) -> list:
        (run,) = self.runs()
        return list(read_events(run))


def run_both(tmp_path: Path, source: str, engine: str, args: tuple[str, ...] = (), options: tuple[str, ...] = (),
             interpreter: tuple[str, ...] = (), env: dict | None = None, setup=None, timeout: float = 120,
             default_store: bool = False) -> tuple[Ran, Ran]:
    """The program ``source`` run as ``python main.py`` and as ``python -m autoprov main.py``, each in
    a new folder at the same path (tracebacks name it; ``setup(folder)`` prepares both alike); the
    plain run's folder is moved aside afterwards."""
    results = []
    for kind in ("plain", "autoprov"):
        folder = tmp_path / "work"
        folder.mkdir()
        (folder / "main.py").write_text(source)
        if setup is not None:
            setup(folder)
        store = folder / ".prov" if default_store else tmp_path / f"store-{kind}"
        if kind == "plain":
            command = [sys.executable, *interpreter, "main.py", *args]
        else:
            store_option = [] if default_store else ["--store", str(store)]
            command = [sys.executable, *interpreter, "-m", "autoprov", "--engine", engine, *store_option, "--quiet",
                       *MATCH, *options, "main.py", *args]
        done = subprocess.run(command, cwd=folder, capture_output=True, text=True, env=environment(env), timeout=timeout)
        results.append(Ran(done, folder, store))
        if kind == "plain":
            folder.rename(tmp_path / "plain")
            results[0].folder = tmp_path / "plain"
    return results[0], results[1]


def assert_same(plain: Ran, captured: Ran) -> None:
    assert captured.status == plain.status, captured.stderr
    assert captured.stdout == plain.stdout
    assert captured.stderr == plain.stderr
    assert captured.files == plain.files


def exit_event(ran: Ran) -> list:
    (exit_,) = [e for e in ran.events() if e[0] == "exit"]
    return exit_


# -- threads -------------------------------------------------------------------------------------

JOIN_EVERY_THREAD = """
import threading
from toy.core import outer
worker = threading.Thread(target=outer, args=(1,), name="worker")
worker.start()
for thread in threading.enumerate():   # the common idiom: join everything that is running
    if thread is not threading.current_thread():
        thread.join(timeout=20)
print(sorted(t.name for t in threading.enumerate()))
"""

OPEN_POOL = """
from concurrent.futures import ThreadPoolExecutor
from toy.core import outer
pool = ThreadPoolExecutor(2)          # never shut down: python's exit tells its idle workers to end
print([f.result() for f in [pool.submit(outer, i) for i in range(4)]])
"""


def test_joining_every_thread_does_not_wait_for_autoprov(tmp_path: Path, engine: str) -> None:
    started = time.monotonic()
    plain, captured = run_both(tmp_path, JOIN_EVERY_THREAD, engine)
    assert time.monotonic() - started < 30  # the log thread used to be joined for ever (20 s here)
    assert_same(plain, captured)
    assert plain.stdout == "['MainThread']\n"
    assert exit_event(captured)[2] == "completed"


def test_an_executor_left_open_ends_as_under_python(tmp_path: Path, engine: str) -> None:
    plain, captured = run_both(tmp_path, OPEN_POOL, engine, timeout=60)
    assert_same(plain, captured)
    assert sum(1 for e in captured.events() if e[0] == "act" and e[3].endswith("outer")) == 4


FORKS = """
import os, sys
from toy.core import outer
outer(1)
pid = os.fork()
if pid == 0:
    outer(2)
    print("child", flush=True)
    sys.exit(0)                       # the child runs to the end of the program
os.waitpid(pid, 0)
outer(3)
print("parent")
"""


def test_fork_warns_only_as_python_does_and_the_child_stays_silent(tmp_path: Path, engine: str, core: str) -> None:
    """Both cores: from 3.13 on they restart the log's thread after the fork each its own way (log/soon.py)."""
    plain, captured = run_both(tmp_path, FORKS, engine, interpreter=("-W", "always::DeprecationWarning"))
    assert "multi-threaded" not in plain.stderr
    assert_same(plain, captured)
    events = captured.events()
    assert [e[7]["x"] for e in events if e[0] == "act" and e[3].endswith("outer")] == [1, 3]
    assert [e[0] for e in events].count("exit") == 1


# -- the working directory -----------------------------------------------------------------------

LISTS_ITS_FOLDER = """
import os
print(sorted(os.listdir(".")))
print(sorted(entry.name for entry in os.scandir(".")))
print([sorted(dirs) for _, dirs, _ in os.walk(".")])
"""


def test_the_store_does_not_appear_in_the_programs_folder(tmp_path: Path, engine: str) -> None:
    plain, captured = run_both(tmp_path, LISTS_ITS_FOLDER, engine, default_store=True)
    assert_same(plain, captured)
    assert plain.stdout.splitlines()[0] == "['main.py']"
    (run,) = captured.runs()  # and after the run the record is in .prov, where the user expects it
    assert run.parent == captured.folder / ".prov"
    assert exit_event(captured)[2] == "completed"


CLEARS_ITS_FOLDER = """
import os, shutil
from toy.core import outer
outer(1)
for name in os.listdir("."):
    if os.path.isdir(name):
        shutil.rmtree(name)           # clears every sub-folder: the store with it
outer(2)
print(sorted(os.listdir(".")))
"""


def _previous_run(folder: Path) -> None:
    (folder / ".prov" / "old").mkdir(parents=True)
    (folder / "results").mkdir()


def test_a_program_that_deletes_the_store_keeps_its_record(tmp_path: Path, engine: str) -> None:
    plain, captured = run_both(tmp_path, CLEARS_ITS_FOLDER, engine, setup=_previous_run, default_store=True)
    assert_same(plain, captured)
    (run,) = captured.runs()  # the store was deleted with the run folder: both are put back
    events = list(read_events(run))
    assert [e[7]["x"] for e in events if e[0] == "act" and e[3].endswith("outer")] == [1, 2]
    assert events[-1][0] == "exit" and events[-1][2] == "completed"
    assert (run / "provenance.json").is_file()


def test_the_summary_names_a_folder_that_exists(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text(CLEARS_ITS_FOLDER)
    _previous_run(tmp_path)
    done = subprocess.run([sys.executable, "-m", "autoprov", *MATCH, "main.py"], cwd=tmp_path, capture_output=True,
                          text=True, env=environment())
    assert done.returncode == 0, done.stderr
    folder = done.stderr.strip().splitlines()[-1].split("-> ", 1)[1].split()[0]  # "-> .prov/<run>/ (report: ...)"
    assert (tmp_path / folder / "events.jsonl").is_file()


# -- what the program prints and sees ------------------------------------------------------------

@pytest.mark.parametrize("interpreter, env", [(("-X", "dev"), None), ((), {"PYTHONWARNINGS": "error"}), (("-W", "error", "-X", "dev"), None)],
                         ids=["dev-mode", "warnings-error", "both"])
def test_strict_warning_modes_show_nothing_of_autoprov(tmp_path: Path, engine: str, interpreter: tuple, env: dict | None) -> None:
    source = "from toy.core import outer\nprint(outer(2))\n"
    plain, captured = run_both(tmp_path, source, engine, interpreter=interpreter, env=env, options=("--export", "background"))
    assert_same(plain, captured)
    assert exit_event(captured)[2] == "completed"


SEES_ITS_TRACER = """
import sys
print("trace", sys.gettrace() is None, "profile", sys.getprofile() is None)
"""


def test_no_debugger_appears_attached(tmp_path: Path, engine: str, core: str) -> None:
    """``sys.gettrace()`` stays None (programs take it for a debugger).  The pure settrace engine
    cannot promise it: its hook *is* the Python trace function (docs/reliability.md)."""
    plain, captured = run_both(tmp_path, SEES_ITS_TRACER, engine)  # the core fixture sets AUTOPROV_CORE
    assert plain.stdout == "trace True profile True\n"
    if core == "pure" and engine == "settrace":
        assert captured.stdout == "trace False profile True\n"
    elif core == "pure" and engine == "setprofile":  # the profile hook is visible instead, and only there
        assert captured.stdout == "trace True profile False\n"
    else:
        assert_same(plain, captured)


WALKS_ITS_STACK = """
import inspect, sys, traceback, warnings
warnings.warn("at module level", stacklevel=2)
def helper():
    warnings.warn("two levels up", stacklevel=3)
helper()
print(len(inspect.stack()), [f.function for f in inspect.stack()])
traceback.print_stack()
try:
    sys._getframe(1)
except ValueError as error:
    print(error)
"""


# where python names a warning whose stacklevel reaches past the bottom of the stack
ABOVE_THE_BOTTOM = "sys:1" if sys.version_info < (3, 13) else "<sys>:0"


def test_the_program_sees_a_stack_of_its_own(tmp_path: Path, engine: str) -> None:
    """The native core runs the program's module frame at the bottom of the stack, as python
    does: warnings with a stacklevel past it name ``sys:1`` (``<sys>:0`` from 3.13 on), and no
    autoprov or runpy frame shows."""
    plain, captured = run_both(tmp_path, WALKS_ITS_STACK, engine, env={"AUTOPROV_CORE": "native"})
    assert plain.stderr.count(f"{ABOVE_THE_BOTTOM}: UserWarning") == 2
    assert_same(plain, captured)


NESTED_CAPTURE = """
import autoprov
from toy.core import outer
with autoprov.capture(match=["toy.*:*"], quiet=True) as capture:
    outer(1)
run = capture.stop()
print("inner capture ran", run is not None)
"""


def test_a_program_that_captures_itself(tmp_path: Path, engine: str) -> None:
    plain, captured = run_both(tmp_path, NESTED_CAPTURE, engine, env={"AUTOPROV_STORE": str(tmp_path / "own-store")})
    assert_same(plain, captured)
    assert captured.status == 0
    assert [e for e in captured.events() if e[0] == "act" and e[3].endswith("outer")]  # recorded once, in the run


@pytest.mark.parametrize("source", ["def (\n", "x = 1\nif x:\nprint(x)\n", "x = 1\0\n"], ids=["syntax", "indentation", "null-byte"])
def test_a_program_that_does_not_compile(tmp_path: Path, engine: str, source: str) -> None:
    plain, captured = run_both(tmp_path, source, engine)
    assert plain.status == 1 and "Error" in plain.stderr
    assert_same(plain, captured)
    assert not captured.runs()  # nothing ran, nothing recorded


def test_a_module_that_does_not_compile(tmp_path: Path, engine: str) -> None:
    def module(folder: Path) -> None:
        (folder / "broken.py").write_text("def (\n")

    module(tmp_path)
    plain_done = subprocess.run([sys.executable, "-m", "broken"], cwd=tmp_path, capture_output=True, text=True, env=environment())
    captured_done = subprocess.run([sys.executable, "-m", "autoprov", "--engine", engine, "--quiet", "-m", "broken"],
                                   cwd=tmp_path, capture_output=True, text=True, env=environment())
    assert plain_done.returncode == captured_done.returncode == 1
    assert captured_done.stderr == plain_done.stderr and "<frozen runpy>" in plain_done.stderr


WATCHES_AUDIT_EVENTS = """
import os, sys
from toy.io import write_text
# Introspection events (id(), frame and code attribute reads, sys._getframe) are raised by any
# tracer and by the interpreter itself; everything else, file and process I/O first, must be the
# program's own.
INTROSPECTION = ("object.", "builtins.id", "code.", "sys._getframe", "cpython.")
def hook(event, args):
    if not event.startswith(INTROSPECTION):
        sys.stderr.write(f"audit: {event} {args!r:.90}\\n")
sys.addaudithook(hook)
write_text("a.txt", "one")
write_text("a.txt", "two")        # autoprov hashes version 1 before it is overwritten
os.replace("a.txt", "b.txt")
os.remove("b.txt")
print("done")
"""


def test_a_programs_audit_hook_sees_only_the_program(tmp_path: Path, engine: str) -> None:
    plain, captured = run_both(tmp_path, WATCHES_AUDIT_EVENTS, engine, options=("--export", "background"))
    assert plain.stderr.count("audit: open") == 2
    assert_same(plain, captured)
    (run,) = captured.runs()
    events = list(read_events(run))
    digests = [e for e in events if e[0] == "digest"]
    assert [e[4] is not None for e in digests if not e[1].endswith(".py")] == [True, True, True]  # hashed, by the helper
    assert [e[4] is not None for e in digests if e[1].endswith(".py")] == [True, True]  # and the toy modules it imported
    assert events[-1][0] == "exit" and events[-1][2] == "completed"
    assert "packages" in [e for e in events if e[0] == "env"][0][1]


# -- endings that skip Python's clean-up ---------------------------------------------------------

@pytest.mark.parametrize("ending", ["os._exit(7)", "os.execv(sys.executable, [sys.executable, '-c', 'print(\"exec\")'])",
                                    "os.execl(sys.executable, sys.executable, '-c', 'raise SystemExit(3)')"],
                         ids=["_exit", "execv", "execl"])
def test_events_before_exit_or_exec_are_kept(tmp_path: Path, engine: str, ending: str) -> None:
    source = f"import os, sys\nfrom toy.core import outer\nouter(1)\nprint('before', flush=True)\n{ending}\n"
    plain, captured = run_both(tmp_path, source, engine)
    assert_same(plain, captured)
    events = captured.events()  # right away: no waiting for a flush interval
    calls = [e[3] for e in events if e[0] == "act" and e[3] != "command"]
    assert calls == ["toy.core.outer", "toy.core.leaf", "toy.core.leaf"]
    commands = [e[7] for e in events if e[0] == "act" and e[3] == "command"]
    exits = [e for e in events if e[0] == "exit"]
    if ending.startswith("os._exit"):
        assert not commands and not exits  # incomplete: the process image was ended
    else:  # the record is completed just before the image is replaced, the exec its last activity
        assert [(c["how"], c["argv"][0]) for c in commands] == [("exec", sys.executable)]
        assert [e[2] for e in exits] == ["completed"]


# -- Ctrl-C or SIGTERM while autoprov completes the record ---------------------------------------

@pytest.mark.parametrize("fault", ["sigint@hash", "sigint@export"])
def test_ctrl_c_after_the_last_line_does_not_cost_the_record(tmp_path: Path, engine: str, fault: str) -> None:
    source = "from toy.io import write_text\nwrite_text('out.txt', 'result')\nprint('done')\n"
    plain, captured = run_both(tmp_path, source, engine, env={"AUTOPROV_FAULT": fault} , options=("--export", "sync"))
    assert_same(plain, captured)  # status 0 (not 130), no KeyboardInterrupt traceback
    (run,) = captured.runs()
    assert exit_event(captured)[2] == "completed"
    assert {"provenance.json", "provenance.provn", "environment.json"} <= {p.name for p in run.iterdir()}


def test_sigterm_while_the_record_completes_waits_for_it(tmp_path: Path, engine: str) -> None:
    source = "from toy.io import write_text\nwrite_text('out.txt', 'result')\nprint('done')\n"
    plain, captured = run_both(tmp_path, source, engine, env={"AUTOPROV_FAULT": "sigterm@hash"}, options=("--export", "sync"))
    assert captured.status == -signal.SIGTERM  # killed by the signal, as python would be
    assert captured.stdout == plain.stdout and captured.files == plain.files
    (run,) = captured.runs()
    assert exit_event(captured)[2] == "completed"
    assert (run / "provenance.json").is_file()


def test_real_ctrl_c_during_a_slow_hash_keeps_the_status(tmp_path: Path) -> None:
    """A real SIGINT from outside while autoprov hashes a large output (timed by the event of it)."""
    (tmp_path / "main.py").write_text(
        "with open('big.bin', 'wb') as out:\n    out.write(b'x' * (400 << 20))\nprint('done', flush=True)\n"
    )
    command = [sys.executable, "-m", "autoprov", "--quiet", "--store", str(tmp_path / "store"), "--hash", "sha256", "main.py"]
    process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment())
    assert process.stdout.readline() == "done\n"
    big = str(tmp_path / "big.bin")
    deadline = time.monotonic() + 60
    while not _has_open(process.pid, big):
        assert time.monotonic() < deadline, "autoprov never opened the output to hash it"
        time.sleep(0.001)  # polling /proc for the open: there is no event to wait on from here
    process.send_signal(signal.SIGINT)  # the program has ended: autoprov is hashing its 400 MB output
    out, err = process.communicate(timeout=120)
    (tmp_path / "big.bin").unlink()
    assert process.returncode == 0 and err == "", err
    (run,) = run_dirs(tmp_path / "store")
    events = list(read_events(run))
    assert events[-1][0] == "exit" and events[-1][2] == "completed"
    assert [e for e in events if e[0] == "digest" and e[1].endswith("big.bin")][0][4] is not None


def _has_open(pid: int, path: str) -> bool:
    """Whether process ``pid`` has ``path`` open now (Linux /proc)."""
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except FileNotFoundError:
        return False
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == path:
                return True
        except OSError:
            continue  # closed meanwhile
    return False


def test_program_arguments_and_outputs_stay_the_programs(tmp_path: Path, engine: str) -> None:
    """A sanity baseline for the cases above: argv, environment and files are the program's."""
    source = "import json, os, sys\nprint(json.dumps([sys.argv[1:], os.environ.get('X')]))\nopen('o.txt', 'w').write('o')\n"
    plain, captured = run_both(tmp_path, source, engine, args=("--flag", "value"), env={"X": "1"})
    assert_same(plain, captured)
    assert json.loads(plain.stdout) == [["--flag", "value"], "1"]
    assert os.path.exists(captured.folder / "o.txt")
