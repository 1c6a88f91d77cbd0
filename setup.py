"""Build steps pyproject.toml cannot express (the project's metadata is all in pyproject.toml).

* The optional native core, ``autoprov._native``: when there is no compiler or no Python headers
  the install still succeeds and autoprov runs its pure-Python twin (``autoprov.engine.core`` says
  which is in use, and why, in ``--debug engine`` and in the run's recorded ``engine_reason``).
  ``AUTOPROV_BUILD_NATIVE=0`` skips the build on purpose.
* ``autoprov-children.pth`` (issue 14): Python runs the ``import`` lines of ``.pth`` files in
  site-packages at start-up, which is how a Python child process joins a capturing parent's run
  (``autoprov/children/startup.py``).  The file is put at the root of the wheel, which installs it
  into site-packages, and, for an editable install, at the root of the editable wheel, which
  setuptools assembles in the install command's directory instead of ``build_lib``.
"""

import os
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_py import build_py

build_native = os.environ.get("AUTOPROV_BUILD_NATIVE", "1") != "0"
extensions = [
    Extension("autoprov._native", ["autoprov/_native.c"], depends=["autoprov/_evalframe.c"], optional=True, extra_compile_args=["-O2"] if os.name != "nt" else []),
] if build_native else []

PTH = Path(__file__).resolve().parent / "autoprov" / "children" / "autoprov-children.pth"


class BuildPyWithPth(build_py):
    def run(self) -> None:
        super().run()
        target = self.get_finalized_command("install").install_lib if self.editable_mode else self.build_lib
        self.copy_file(str(PTH), str(Path(target) / PTH.name))


setup(ext_modules=extensions, cmdclass={"build_py": BuildPyWithPth})
