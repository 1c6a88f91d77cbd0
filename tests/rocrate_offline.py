"""Run ``rocrate-validator`` on a crate with no network.

The validator (roc-validator 0.13) ships its profiles (SHACL shapes) inside the package; the one
resource it fetches is the RO-Crate 1.1 JSON-LD context named by the crate's ``@context``, through
a requests-cache SQLite cache that ``--offline --cache-path`` reads.  The cache is seeded here
with the RO-Crate JSON-LD context that ro-crate-py ships (``rocrate/data/ro-crate.jsonld``, the
1.3 context: the 1.1 terms with the same IRIs, and more; the crate defines the two terms 1.1 lacks,
``environment`` and ``sha256``, itself).  With network, ``rocrate-validator validate -p
process-run-crate-0.5 CRATE`` needs none of this.
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

CONTEXT = "https://w3id.org/ro/crate/1.1/context"
PROFILE = "process-run-crate-0.5"


def seed_cache(cache: Path) -> Path:
    """A requests-cache SQLite cache holding the RO-Crate context; returns the name to pass as --cache-path."""
    import requests
    import rocrate
    import urllib3
    from requests_cache import CachedSession

    body = (Path(rocrate.__file__).parent / "data" / "ro-crate.jsonld").read_bytes()
    cache.mkdir(parents=True, exist_ok=True)
    name = cache / "http_cache"
    session = CachedSession(cache_name=str(name), backend="sqlite", expire_after=-1)
    response = requests.Response()
    response.status_code, response.reason, response.url, response._content = 200, "OK", CONTEXT, body
    response.headers["Content-Type"] = "application/ld+json"
    response.request = requests.Request("GET", CONTEXT).prepare()
    response.raw = urllib3.HTTPResponse(body=io.BytesIO(body), headers={"Content-Type": "application/ld+json"}, status=200,
                                        preload_content=False, request_url=CONTEXT)
    session.cache.save_response(response)
    session.close()
    return name


def validate(crate: Path, work: Path, severity: str = "required") -> subprocess.CompletedProcess:
    """``rocrate-validator validate`` at the Process Run Crate profile, offline, with the details of
    any failure in its output.  (Its ``-f json`` report fails on a zipped crate in 0.13: "Object of
    type URI is not JSON serializable", so the text report is read.)"""
    command = [str(Path(sys.executable).parent / "rocrate-validator"), "validate", "-p", PROFILE, "-l", severity, "--offline",
               "--cache-path", str(seed_cache(work / "cache")), "--no-paging", "--verbose", "-w", "200", str(crate)]
    return subprocess.run(command, capture_output=True, text=True, timeout=600)


def valid(done: subprocess.CompletedProcess) -> bool:
    return done.returncode == 0 and f"RO-Crate is a valid {PROFILE}" in done.stdout
