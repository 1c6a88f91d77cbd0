"""Probe: print what the program sees of its own start, as JSON."""
import json
import os
import sys

main = sys.modules["__main__"]
spec = globals().get("__spec__")
print(json.dumps({
    "name": __name__,
    "file": globals().get("__file__"),
    "doc": __doc__,
    "package": globals().get("__package__"),
    "cached": globals().get("__cached__"),
    "spec": None if spec is None else [spec.name, spec.origin, spec.parent],
    "loader": type(globals().get("__loader__")).__name__,
    "globals": sorted(k for k in globals() if k not in ("json", "os", "sys", "main", "spec")),
    "argv": sys.argv,
    "path0": sys.path[0],
    "cwd": os.getcwd(),
    "main_is_module": main.__dict__ is globals(),
    "builtins": type(__builtins__).__name__,
    "stdin": sys.stdin.read(),
    "autoprov_in_globals": any("autoprov" in k for k in globals()),
}, sort_keys=True))
