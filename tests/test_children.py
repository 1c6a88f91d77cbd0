"""Child processes are merged into one run: real forks, real pools, real Python and non-Python children.

Each program runs under ``python -m autoprov`` with the toy filter; the record is read back as the
exporter reads it (the merged model) and as PROV-JSON with ``prov.read``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import prov.model
import pytest

from autoprov.log.merge import merged_events
from autoprov.export.model import RunModel, load
from conftest import environment

MATCH = ["--filter", "none", "--match", "toy.*:*", "--export", "sync", "--graph", "none", "--format", "json"]

POOL = '''
import multiprocessing, sys
from toy.core import leaf
from toy.io import read_text, write_text

def work(i):
    write_text(f"out{i}.txt", str(leaf(i)))
    return read_text(f"out{i}.txt")

def submit(pool):
    return pool.map(work, range(4))

if __name__ == "__main__":
    with multiprocessing.get_context(sys.argv[1]).Pool(2) as pool:   # __exit__: terminate(), SIGTERM
        print(submit(pool))
'''

EXECUTOR = '''
import concurrent.futures, multiprocessing, sys
from toy.core import leaf, outer

def submit(executor):
    return list(executor.map(outer, range(3))) + [executor.submit(leaf, 5).result()]

if __name__ == "__main__":
    context = multiprocessing.get_context(sys.argv[1])
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=context) as executor:
        print(submit(executor))
'''

FORK = '''
import os
from toy.core import leaf, outer
from toy.io import write_text

def fork_and_work():
    pid = os.fork()
    if pid == 0:
        write_text("child.txt", str(leaf(7)))
        os._exit(3)                       # no atexit: the log must be complete anyway
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])

print(outer(1), fork_and_work())
'''

SUBPROCESS = '''
import os, subprocess, sys
from toy.core import leaf
from toy.io import read_text

def pipeline():
    subprocess.run([sys.executable, "step.py", "from-script"], check=True)
    own = {"PYTHONPATH": os.environ["PYTHONPATH"], "PATH": os.environ["PATH"]}
    subprocess.run([sys.executable, "-m", "stepmodule"], check=True, env=own)  # an environment of its own
    assert sorted(own) == ["PATH", "PYTHONPATH"]           # left as the program made it
    subprocess.run(["sh", "-c", "exit 4"])                 # not Python: a command activity only
    return read_text("step.txt")

print(pipeline(), leaf(1))
'''

STEP = '''
import os, sys
from toy.io import write_text
write_text("step.txt", "written by step " + sys.argv[1])
if len(sys.argv) > 2:
    os.execv(sys.executable, [sys.executable, "step.py", "after-exec"])
'''

STEPMODULE = '''
from toy.core import leaf
print(leaf(21))
'''

OS_COMMANDS = '''
import os, sys
print(os.waitstatus_to_exitcode(os.system(f"{sys.executable} step.py by-shell")))
print(os.waitstatus_to_exitcode(os.system("exit 3")))
pid = os.posix_spawnp("sh", ["sh", "-c", "exit 5"], os.environ)
print(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), os.system.__name__)
'''

EXEC_FROM_FORK = '''
import os, sys
from toy.core import leaf

def run_step_in_fork():
    pid = os.fork()
    if pid == 0:
        leaf(3)
        os.execv(sys.executable, [sys.executable, "step.py", "exec"])
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])

print(run_step_in_fork())
'''


def run(tmp_path: Path, program: str, *args: str, options: list[str] | None = None,
        env: dict | None = None, files: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess, Path]:
    (tmp_path / "program.py").write_text(textwrap.dedent(program))
    for name, text in (files or {}).items():
        (tmp_path / name).write_text(textwrap.dedent(text))
    store = tmp_path / "store"
    command = [sys.executable, "-m", "autoprov", "--store", str(store), "--quiet", *MATCH, *(options or []), "program.py", *args]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, env=environment(env), timeout=300)
    assert done.returncode == 0 or env, done.stderr
    runs = sorted(p for p in store.iterdir() if p.is_dir())
    assert len(runs) == 1, runs
    return done, runs[0]


def children_of(model: RunModel, act: int | None) -> list:
    return [a for a in model.activities.values() if a.parent == act]


def processes(model: RunModel) -> list:
    return [a for a in model.activities.values() if a.name == "process"]


def names_under(model: RunModel, act: int) -> list[str]:
    found, pending = [], [act]
    while pending:
        for child in children_of(model, pending.pop()):
            found.append(child.name)
            pending.append(child.act)
    return sorted(found)


def assert_ids_unique(run_dir: Path) -> None:
    acts = [e[1] for e in merged_events(run_dir) if e[0] == "act"]
    assert len(acts) == len(set(acts))


def read_prov(run_dir: Path) -> prov.model.ProvDocument:
    return prov.read(run_dir / "provenance.json", format="json")


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_pool_workers_are_processes_and_tasks_keep_their_submitter(tmp_path: Path, method: str) -> None:
    done, run_dir = run(tmp_path, POOL, method)
    assert done.stdout.strip() == "['0', '2', '4', '6']"  # the program's own results, unchanged
    model = load(run_dir)
    assert_ids_unique(run_dir)
    workers = processes(model)
    assert 1 <= len(workers) <= 2 and all(w.params["start_method"] == method for w in workers)
    assert all(w.status == "completed" for w in workers), [(w.status, w.params) for w in workers]  # even those SIGTERM ended
    tasks = [a for a in model.activities.values() if a.name == "task"]
    assert len(tasks) == 4 and {model.activities[t.parent].name for t in tasks} == {"process"}
    assert all(t.params["function"] == "__main__.work" for t in tasks)
    for task in tasks:  # what each task did, nested under it, with its files
        assert names_under(model, task.act) == ["toy.core.leaf", "toy.io.read_text", "toy.io.write_text"]
    # every task was informed by the call that submitted it: the session (submit is not matched)
    assert sorted(model.informed) == sorted((t.act, None) for t in tasks)
    written = {link.entity[1].rsplit("/", 1)[-1] for link in model.generated if link.entity[0] == "file"}
    assert written == {f"out{i}.txt" for i in range(4)}
    document = read_prov(run_dir)
    informed = [r for r in document.get_records(prov.model.ProvCommunication)]
    assert len(informed) == 4


def test_a_task_is_attributed_to_the_matched_call_that_submitted_it(tmp_path: Path) -> None:
    program = POOL.replace("from toy.core import leaf", "from toy.core import call, leaf")
    program = program.replace("return pool.map(work, range(4))", "return call(pool.map, work, range(4))")
    done, run_dir = run(tmp_path, program, "fork")
    assert done.stdout.strip() == "['0', '2', '4', '6']"
    model = load(run_dir)
    (caller,) = [a for a in model.activities.values() if a.name == "toy.core.call"]
    tasks = [a for a in model.activities.values() if a.name == "task"]
    assert len(tasks) == 4 and sorted(model.informed) == sorted((t.act, caller.act) for t in tasks)
    # the workers were started when the pool was made, at top level: the run started them
    assert {w.parent for w in processes(model)} == {None}


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_process_pool_executor(tmp_path: Path, method: str) -> None:
    done, run_dir = run(tmp_path, EXECUTOR, method)
    assert done.stdout.strip() == "[2, 6, 10, 10]"
    model = load(run_dir)
    tasks = [a for a in model.activities.values() if a.name == "task"]
    assert sorted(t.params["function"] for t in tasks) == ["toy.core.leaf"] + ["toy.core.outer"] * 3  # one task per item
    assert all(model.activities[t.parent].name == "process" for t in tasks)
    assert sorted(name for t in tasks for name in names_under(model, t.act)) == ["toy.core.leaf"] * 7 + ["toy.core.outer"] * 3
    assert all(w.status == "completed" and w.params["start_method"] == method for w in processes(model))


def test_os_fork_child_is_a_process_under_the_forking_call(tmp_path: Path) -> None:
    program = FORK.replace("from toy.core import leaf, outer", "from toy.core import call, leaf, outer")
    program = program.replace("print(outer(1), fork_and_work())", "print(outer(1), call(fork_and_work))")
    done, run_dir = run(tmp_path, program)
    assert done.stdout.split() == ["6", "3"]
    model = load(run_dir)
    (child,) = processes(model)
    (caller,) = [a for a in model.activities.values() if a.name == "toy.core.call"]
    assert child.parent == caller.act and child.params["kind"] == "fork"
    assert child.status == "failed" and child.params["exit_code"] == 3  # os._exit(3), recorded before exiting
    assert names_under(model, child.act) == ["toy.core.leaf", "toy.io.write_text"]
    (written,) = [link for link in model.generated if link.entity[0] == "file"]
    assert written.entity[1].endswith("child.txt") and model.activities[written.act].parent == child.act
    # the parent's own calls are not repeated by the child
    assert [a.name for a in model.activities.values()].count("toy.core.outer") == 1


def test_python_subprocesses_and_commands(tmp_path: Path) -> None:
    done, run_dir = run(tmp_path, SUBPROCESS, files={"step.py": STEP, "stepmodule.py": STEPMODULE})
    assert done.stdout.split() == ["42", "written", "by", "step", "from-script", "2"]
    model = load(run_dir)
    assert_ids_unique(run_dir)
    commands = [a for a in model.activities.values() if a.name == "command"]
    assert [c.params["argv"][1:] for c in commands] == [["step.py", "from-script"], ["-m", "stepmodule"], ["-c", "exit 4"]]
    assert {c.parent for c in commands} == {None}  # pipeline() is not matched: the run started them
    assert [c.params["exit_status"] for c in commands] == [0, 0, 4]
    assert [c.status for c in commands] == ["completed", "completed", "failed"]
    children = processes(model)
    assert len(children) == 2  # the two Python programs; sh is a command only
    by_command = {model.activities[p.parent].params["argv"][1]: p for p in children}
    assert set(by_command) == {"step.py", "-m"}
    assert names_under(model, by_command["step.py"].act) == ["toy.io.write_text"]
    assert names_under(model, by_command["-m"].act) == ["toy.core.leaf"]
    # the file a child wrote and the parent read is one entity: generated in the child, used by the parent
    step = [link for link in model.generated if link.entity[0] == "file" and link.entity[1].endswith("step.txt")]
    used = [link for link in model.used if link.entity[0] == "file" and link.entity[1].endswith("step.txt")]
    assert len(step) == 1 and len(used) == 1 and step[0].entity == used[0].entity
    assert model.activities[used[0].act].name == "toy.io.read_text"
    document = read_prov(run_dir)
    labels = sorted(str(a.label) for a in document.get_records(prov.model.ProvActivity))
    assert labels.count("command") == 3 and labels.count("process") == 2


def test_os_system_and_posix_spawn_are_commands_with_their_exit_status(tmp_path: Path) -> None:
    """Programs started without subprocess: no audit event carries their status, the record does."""
    done, run_dir = run(tmp_path, OS_COMMANDS, files={"step.py": STEP})
    assert done.stdout.split() == ["0", "3", "5", "system"], done.stderr
    model = load(run_dir)
    commands = sorted((a for a in model.activities.values() if a.name == "command"), key=lambda a: a.start)
    assert [c.params["how"] for c in commands] == ["os.system", "os.system", "posix_spawnp"]
    assert [c.params["argv"][-1] for c in commands] == [f"{sys.executable} step.py by-shell", "exit 3", "exit 5"]
    assert [c.params["exit_status"] for c in commands] == [0, 3, 5]
    assert [c.status for c in commands] == ["completed", "failed", "failed"]
    (child,) = processes(model)  # the Python program the shell ran joined the run under its command
    assert child.parent == commands[0].act
    assert names_under(model, child.act) == ["toy.io.write_text"]


def test_exec_replaces_a_forked_child(tmp_path: Path) -> None:
    done, run_dir = run(tmp_path, EXEC_FROM_FORK, files={"step.py": STEP})
    assert done.stdout.strip() == "0"
    model = load(run_dir)
    fork, program = sorted(processes(model), key=lambda a: a.start)
    assert fork.params["kind"] == "fork" and program.params["kind"] == "program"
    assert fork.params["pid"] == program.params["pid"]  # exec keeps the pid
    (exec_command,) = [a for a in model.activities.values() if a.name == "command"]
    assert exec_command.parent == fork.act and exec_command.params["how"] == "exec"
    assert program.parent == exec_command.act
    assert names_under(model, fork.act) == ["command", "process", "toy.core.leaf", "toy.io.write_text"]
    assert fork.status == "completed" and fork.params["ended_by"] == "exec"


def test_children_switch_off(tmp_path: Path) -> None:
    for how, extra, env in (("option", ["--no-children"], None), ("environment", [], {"AUTOPROV_CHILDREN": "0"})):
        folder = tmp_path / how
        folder.mkdir()
        done, run_dir = run(folder, SUBPROCESS, options=extra, env=env, files={"step.py": STEP, "stepmodule.py": STEPMODULE})
        assert done.returncode == 0, done.stderr
        model = load(run_dir)
        assert processes(model) == [] and not (run_dir / "children").exists()
        assert len([a for a in model.activities.values() if a.name == "command"]) == 3  # still the parent's own record


def test_the_start_up_file_is_installed_and_idle_without_a_run() -> None:
    import site

    from autoprov.children import startup

    shipped = (Path(startup.__file__).parent / startup.PTH_NAME).read_text()
    installed = [Path(folder, startup.PTH_NAME) for folder in site.getsitepackages() if Path(folder, startup.PTH_NAME).exists()]
    assert installed and installed[0].read_text() == shipped
    # without the variable a child does nothing: autoprov is not even imported
    probe = subprocess.run([sys.executable, "-c", "import sys; print('autoprov' in sys.modules)"], capture_output=True, text=True,
                           env={k: v for k, v in environment().items() if k != "AUTOPROV_CHILD"})
    assert probe.stdout.strip() == "False"


def test_merge_without_children_is_the_first_log(tmp_path: Path) -> None:
    done, run_dir = run(tmp_path, "from toy.core import leaf\nprint(leaf(1))\n")
    from autoprov.log.reader import read_events

    assert list(merged_events(run_dir)) == list(read_events(run_dir))
    assert not (run_dir / "children").exists() or not list((run_dir / "children").glob("*.jsonl"))
    json.loads((run_dir / "provenance.json").read_text())
