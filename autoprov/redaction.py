"""Secrets are never written: names that look like credentials have their values redacted.

One rule for parameters and environment variables alike: a name is secret when it matches
:data:`SECRET_PATTERN` (case-insensitive), or one of the extra regular expressions listed in the
``AUTOPROV_REDACT`` environment variable (comma-separated).  The value is replaced by
:data:`REDACTED`; the name stays, so a reader knows a value was given.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache

REDACTED = "<redacted>"
# "key" and "pass" only as whole name components (GPG_KEY, db.pass), not inside words (passband)
SECRET_PATTERN = (
    r"password|passwd|passphrase|secret|token|credential|auth|cookie|session[_-]?id|signature|private|cert"
    r"|api[_-]?key|access[_-]?key|(?:^|[_\-.])(?:keys?|pass)(?:$|[_\-.])"
)
REDACT_ENV = "AUTOPROV_REDACT"


@lru_cache(maxsize=8)
def _compiled(extra: str) -> re.Pattern[str]:
    patterns = [SECRET_PATTERN] + [p.strip() for p in extra.split(",") if p.strip()]
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


def is_secret(name: str) -> bool:
    """True when values called ``name`` must not be written."""
    return bool(_compiled(os.environ.get(REDACT_ENV, "")).search(name))
