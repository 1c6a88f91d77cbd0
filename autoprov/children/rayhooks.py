"""Ray: workers join the run through ``runtime_env``, pool tasks keep their submitter.

Ray's workers are started by its raylet, not by the program, so neither a fork hook nor the
start-up file fits them.  ``ray.init`` is patched to add, to the job's ``runtime_env``, the run's
context as an environment variable and :func:`setup_worker` as ``worker_process_setup_hook``,
Ray's documented way to run set-up in every worker of a job (a hook the program set runs first).
``ray.util.multiprocessing.Pool`` (gammapy's Ray backend) sends every batch of tasks through
``Pool._run_batch``, in the submitting thread, where each task's function is wrapped with its
submitter (:mod:`.tasks`), as for a multiprocessing pool.
"""

from __future__ import annotations

import atexit
import importlib
import os
from types import ModuleType
from typing import Any

from . import live
from .context import CHILD_ENV, ChildContext, exclude_folder
from .patches import replace
from .tasks import Submitter, Task

SETUP_HOOK = "autoprov.children.rayhooks.setup_worker"
USER_HOOK_ENV = "AUTOPROV_RAY_SETUP_HOOK"  # a setup hook (module.function) the program gave


def setup_worker() -> None:
    """Ray's worker set-up hook: run the program's own hook, then join the run."""
    user_hook = os.environ.get(USER_HOOK_ENV)
    if user_hook:
        module, _, name = user_hook.rpartition(".")
        getattr(importlib.import_module(module), name)()
    raw = os.environ.get(CHILD_ENV)
    if not raw or live() is not None:
        return
    from . import forks, patches
    from .capture import ChildCapture

    forks.register()
    context = ChildContext.decode(raw)
    capture = ChildCapture(context, "ray", (context.parent, context.act), {"name": "ray worker"}).start()
    assert capture.recorder is not None
    _exclude_ray_files(capture.recorder)
    patches.install_all()
    atexit.register(capture.stop)


def _runtime_env(runtime_env: Any, context: ChildContext) -> dict[str, Any]:
    """The job's runtime_env with the run's context and the setup hook added."""
    runtime_env = dict(runtime_env or {})
    env_vars = dict(runtime_env.get("env_vars") or {})
    env_vars[CHILD_ENV] = context.encode()
    user_hook = runtime_env.get("worker_process_setup_hook")
    if callable(user_hook):
        def autoprov_setup_worker() -> None:  # serialised by value by Ray, with the program's hook
            user_hook()
            setup_worker()

        runtime_env["worker_process_setup_hook"] = autoprov_setup_worker
    else:
        if user_hook:
            env_vars[USER_HOOK_ENV] = user_hook
        runtime_env["worker_process_setup_hook"] = SETUP_HOOK
    runtime_env["env_vars"] = env_vars
    return runtime_env


def _exclude_ray_files(recorder: Any) -> None:
    """Ray's session folder (sockets, logs, spilled objects) and its per-user folder ``~/.ray`` (Ray
    2.60 writes its ``auth_token`` there at ``ray.init``) are Ray's own state, not the analysis' files."""
    exclude_folder(recorder.file_events, os.path.join(os.path.expanduser("~"), ".ray"))
    try:
        from ray._private.utils import get_ray_temp_dir

        folder = get_ray_temp_dir()
    except Exception:
        return
    exclude_folder(recorder.file_events, folder)


def patch_ray(module: ModuleType) -> None:
    original_init = module.init

    def init(*args: Any, **kwargs: Any) -> Any:
        state = live()
        if state is not None and state.follow:
            act, _ = state.recorder.context()
            kwargs["runtime_env"] = _runtime_env(kwargs.get("runtime_env"), state.context.handed_over(state.key, act))
        if state is not None:
            _exclude_ray_files(state.recorder)
        return original_init(*args, **kwargs)

    init.__doc__ = original_init.__doc__
    init.__wrapped__ = original_init  # type: ignore[attr-defined]
    replace(module, "init", init)


def patch_ray_pool(module: ModuleType) -> None:
    pool = module.Pool
    original_run_batch = pool._run_batch

    def _run_batch(self: Any, actor_index: int, func: Any, batch: Any) -> Any:
        submitter = Submitter.here()
        if submitter is not None:
            func = Task(func, submitter)
        return original_run_batch(self, actor_index, func, batch)

    replace(pool, "_run_batch", _run_batch)
