"""Builds matplotlib's font cache (which runs fc-list) and starts a program of its own (``true``)."""

import subprocess

import matplotlib.font_manager  # noqa: F401  (with an empty MPLCONFIGDIR: fc-list)

subprocess.run(["true"], check=True)
