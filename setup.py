"""Build the optional native core, ``autoprov._native`` (everything else is in pyproject.toml).

The extension is optional: when there is no compiler or no Python headers the install still
succeeds and autoprov runs its pure-Python twin (``autoprov.engine.core`` says which is in use,
and why, in ``--debug engine`` and in the run's recorded ``engine_reason``).
``AUTOPROV_BUILD_NATIVE=0`` skips the build on purpose.
"""

import os

from setuptools import Extension, setup

build_native = os.environ.get("AUTOPROV_BUILD_NATIVE", "1") != "0"
extensions = [
    Extension("autoprov._native", ["autoprov/_native.c"], optional=True, extra_compile_args=["-O2"] if os.name != "nt" else []),
] if build_native else []

setup(ext_modules=extensions)
