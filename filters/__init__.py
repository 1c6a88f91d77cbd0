"""Filter files shipped with autoprov (package data: `--filter gammapy` finds gammapy.yaml here)."""
