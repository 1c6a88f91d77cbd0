"""Secrets are never written: one rule set for every value autoprov records (docs/secrets.md).

Two kinds of rules, applied to everything that reaches a run folder (the event log, and through it
every document and graph; ``environment.json``): command-line arguments, parameter values at any
depth, exception messages, environment variables.

**Names.**  A parameter, dictionary key, option or variable is secret when one of its *words* is a
secret word (:data:`SECRET_WORDS`: ``password``, ``pwd``, ``token``, ``auth``...), when a word
*ends* with a strong secret word (``PGPASSWORD``, ``dbsecret``), or when two words make a secret
pair (:data:`KEY_QUALIFIERS` + ``key``: ``api_key``, ``privateKey``, ``AWS_SECRET_ACCESS_KEY``).
Words are split at ``_ - . /``, spaces and camelCase, so ``author``, ``certainty``, ``passband``
and ``tokenizer`` are not secret: a substring is never enough.  The value of a secret name is
replaced by :data:`REDACTED` (the name stays, so a reader knows a value was given); so is the item
after a secret option in an argument list (``["--password", "X"]``).

**Values.**  Every string is scanned (:func:`redact_text`) for credentials wherever they appear:
the password of a URL's user-info (``postgresql://user:PASS@host``), the value of a secret-looking
``key=value`` or ``key: value`` (query strings, libpq/ODBC/JDBC connection strings, ``--api-key=X``,
dictionary reprs in exception messages), ``Bearer``/``Basic`` credentials, and known token formats
(:data:`TOKEN_FORMATS`: GitHub, GitLab, AWS access key ids, Slack, JWT, Google, Stripe, npm, PyPI,
OpenAI-style ``sk-`` keys, PEM private keys).  Only the secret part is replaced, so
``postgresql://user:<redacted>@host/db`` still says which database was used.

**Extending.**  ``AUTOPROV_REDACT`` adds name rules (comma-separated regular expressions, searched
case-insensitively in the whole name: ``AUTOPROV_REDACT=user,^db_``); ``AUTOPROV_REDACT_VALUES``
adds value rules (comma-separated regular expressions whose matches are replaced).

What is not recognised cannot be redacted: a bare password passed positionally under an innocent
name (``connect("db", "hunter2")``), or a token of an unknown format.  Name such parameters in a
filter's ``parameters`` with a secret-looking name, or add an ``AUTOPROV_REDACT_VALUES`` rule.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

REDACTED = "<redacted>"
REDACT_ENV = "AUTOPROV_REDACT"
REDACT_VALUES_ENV = "AUTOPROV_REDACT_VALUES"

# Words that make a name secret wherever they stand in it.
SECRET_WORDS = frozenset({
    "password", "passwords", "passwd", "passphrase", "pass", "pwd", "pw", "secret", "secrets",
    "token", "tokens", "credential", "credentials", "creds", "auth", "authorization", "cookie",
    "cookies", "sessionid", "apikey", "apikeys", "privatekey", "secretkey", "accesskey", "sig",
    "signature", "otp", "passcode", "pin", "bearer", "jwt", "sas",
})
# Secret words that also count at the end of a glued word (PGPASSWORD, dbsecret, csrftoken).
STRONG_SUFFIXES = ("password", "passwd", "passphrase", "secret", "token", "apikey", "pwd")
# "<qualifier> key" (or id, for session) is secret: api_key, privateKey, AWS_SECRET_ACCESS_KEY.
KEY_QUALIFIERS = frozenset({
    "api", "access", "private", "secret", "signing", "encryption", "client", "master", "ssh", "gpg",
    "pgp", "session", "auth", "account", "storage", "license", "app", "service",
})
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")

# Known credential formats, replaced whole wherever they appear.
TOKEN_FORMATS = (
    r"\bgh[pousr]_[A-Za-z0-9]{20,}",  # GitHub personal, OAuth, user-to-server, server, refresh tokens
    r"\bgithub_pat_[A-Za-z0-9_]{20,}",  # GitHub fine-grained tokens
    r"\bgl(?:pat|dt|rt|cbt|ptt|ft|imt|oas|soat|agent)-[A-Za-z0-9_\-]{20,}",  # GitLab tokens
    r"\b(?:AKIA|ASIA|AIDA|AROA|AGPA|ANPA|ANVA|APKA|ABIA|ACCA)[A-Z0-9]{16}\b",  # AWS access key ids
    r"\bxox[abposr]-[A-Za-z0-9\-]{10,}",  # Slack tokens
    r"https://hooks\.slack\.com/services/[A-Za-z0-9/_\-]+",  # Slack webhooks
    r"\beyJ[A-Za-z0-9_\-]{5,}\.eyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{5,}",  # JSON Web Tokens
    r"\bAIza[0-9A-Za-z_\-]{35}",  # Google API keys
    r"\b(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{10,}",  # Stripe secret and restricted keys
    r"\bsk-(?:ant-|proj-)?[A-Za-z0-9_\-]{20,}",  # OpenAI / Anthropic style secret keys
    r"\bnpm_[A-Za-z0-9]{36}",  # npm tokens
    r"\bpypi-[A-Za-z0-9_\-]{50,}",  # PyPI upload tokens
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)",  # PEM keys
)
# scheme://user:PASSWORD@host (the user may be empty: redis://:PASSWORD@host)
URL_PASSWORD = r"(?<=://)(?P<userinfo>[^:/?#\s@]*):(?P<urlpass>[^@/?#\s]+)(?=@)"
# Authorization: Bearer XYZ / Basic XYZ
SCHEME_CREDENTIAL = r"(?i:\b(?P<scheme>bearer|basic|digest)\s+)(?P<schemecred>[A-Za-z0-9._~+/=\-]{6,})"
# key=value, key: value, 'key': 'value', "key"="value": the key is checked by name rules
# (":" followed by "//" is a URL's scheme, and a value starting with "Bearer " is left to the rule above)
ASSIGNMENT = (
    r"(?<![A-Za-z0-9_.])(?P<key>[A-Za-z_][A-Za-z0-9_.\-]*)(?P<keyquote>['\"]?)(?P<sep>\s*(?:=|:(?!//))\s*)"
    r"(?!(?i:bearer|basic|digest)\s)(?P<value>'[^']*'|\"[^\"]*\"|\{[^}]*\}|[^\s;&,)}\]'\"]+)"
)


# What every credential above contains besides "=", ":" or "@": a run of 16 token characters, a PEM
# header or an authorization scheme.  Most strings (names, paths, numbers) have none of it and are
# passed on after this test (0.3-0.9 us measured) instead of the full scan (5-20 us).
_LONG_RUN = re.compile(r"[A-Za-z0-9_\-]{16}")
_SCHEME_WORD = re.compile(r"(?i:bearer|basic|digest)\s")


def _may_hold_secret(text: str) -> bool:
    if "=" in text or ":" in text or "@" in text or "-----BEGIN" in text:
        return True
    if (" " in text or "\t" in text) and _SCHEME_WORD.search(text) is not None:
        return True
    return len(text) >= 16 and _LONG_RUN.search(text) is not None  # a shorter string has no such run


# The rules in force (read at import and by reload_rules()).  The native core reads "values" too:
# with no value rule it takes a short string of letters and digits as redact_text would, uncalled.
RULES = {"names": os.environ.get(REDACT_ENV, ""), "values": os.environ.get(REDACT_VALUES_ENV, "")}


def reload_rules() -> None:
    """Read ``AUTOPROV_REDACT`` / ``AUTOPROV_REDACT_VALUES`` again (they are read once, at import)."""
    RULES["names"] = os.environ.get(REDACT_ENV, "")
    RULES["values"] = os.environ.get(REDACT_VALUES_ENV, "") or (NEVER if _known else "")


# Values known to be secret: once a value is redacted for its name (a parameter, a dictionary key,
# the argument after --password, an environment variable), it is replaced wherever it appears in a
# recorded string from then on (an exception message, a repr, a command line): docs/secrets.md.
MIN_KNOWN = 6  # shorter values ("1", "true", "admin") would blot out ordinary text
NEVER = "(?!)"  # a value rule that matches nothing: with known secrets, the native core's short-string
# shortcut (taken only when there is no value rule) must not pass a short secret through
_known: set[str] = set()
_known_pattern: re.Pattern[str] | None = None


def learn_secret(value: Any) -> None:
    """Remember ``value`` (redacted for its name) so that every later recorded string is scrubbed of it."""
    global _known_pattern
    if not isinstance(value, str) or len(value) < MIN_KNOWN or value in _known or value == REDACTED:
        return
    _known.add(value)
    # longest first: a secret that contains another is replaced whole
    _known_pattern = re.compile("|".join(re.escape(known) for known in sorted(_known, key=len, reverse=True)))
    if not RULES["values"]:
        RULES["values"] = NEVER


# Variables whose names look secret to the word rules but hold none: the shell's working directories.
NOT_SECRET_VARIABLES = frozenset({"PWD", "OLDPWD"})


def learn_environment(environ: Any = None) -> None:
    """The values of the environment variables with secret names are known secrets from the start."""
    for name, value in (os.environ if environ is None else environ).items():
        if is_secret(name) and name not in NOT_SECRET_VARIABLES:
            learn_secret(value)


def words(name: str) -> list[str]:
    """The lower-case words of a name: ``dbPassword`` -> db, password; ``API_KEY`` -> api, key."""
    return [word.lower() for word in _WORD.findall(name)]


@lru_cache(maxsize=4096)
def _name_is_secret(name: str, extra: str) -> bool:
    parts = words(name)
    for index, word in enumerate(parts):
        if word in SECRET_WORDS or word.endswith(STRONG_SUFFIXES):
            return True
        if word in ("key", "keys", "id") and index and parts[index - 1] in KEY_QUALIFIERS:
            return word != "id" or parts[index - 1] == "session"
    return bool(extra) and _extra_names(extra).search(name) is not None


@lru_cache(maxsize=8)
def _extra_names(extra: str) -> re.Pattern[str]:
    patterns = [p.strip() for p in extra.split(",") if p.strip()]
    return re.compile("|".join(f"(?:{p})" for p in patterns) or r"(?!)", re.IGNORECASE)


def is_secret(name: str) -> bool:
    """True when values called ``name`` must not be written (see the module docstring)."""
    if not isinstance(name, str):
        return False
    return _name_is_secret(name, RULES["names"])


@lru_cache(maxsize=8)
def _value_pattern(extra: str) -> re.Pattern[str]:
    user = [p.strip() for p in extra.split(",") if p.strip()]
    alternatives = [f"(?P<token>{'|'.join(TOKEN_FORMATS + tuple(f'(?:{p})' for p in user))})", URL_PASSWORD, SCHEME_CREDENTIAL, ASSIGNMENT]
    return re.compile("|".join(alternatives))


def _replace(match: re.Match[str]) -> str:
    if match.group("token") is not None:
        return REDACTED
    if match.group("urlpass") is not None:
        return f"{match.group('userinfo')}:{REDACTED}"
    if match.group("schemecred") is not None:
        return f"{match.group('scheme')} {REDACTED}"
    key, value = match.group("key"), match.group("value")
    if not is_secret(key):
        return _rescan(match)
    quote = value[0] if value[:1] in ("'", '"') and value[-1:] == value[:1] and len(value) > 1 else ""
    return f"{key}{match.group('keyquote')}{match.group('sep')}{quote}{REDACTED}{quote}"


def _rescan(match: re.Match[str]) -> str:
    """An innocent ``key=value``: its value may still hold a credential (``url=postgres://u:p@h``)."""
    value = match.group("value")
    inner = redact_text(value) if len(value) > 3 else value
    return match.group(0)[: match.start("value") - match.start(0)] + inner


def redact_text(text: str) -> str:
    """``text`` with every credential found in it replaced (see the module docstring)."""
    if _known_pattern is not None and len(text) >= MIN_KNOWN:
        text = _known_pattern.sub(REDACTED, text)
    extra = RULES["values"]
    # letters and digits only, shorter than a token (a name such as "crab", "cash"): none of the
    # marks _may_hold_secret looks for, passed on in 0.07 us instead of 0.2
    if len(text) < 4 or (not extra and ((len(text) < 16 and text.isalnum()) or not _may_hold_secret(text))):
        return text
    return _value_pattern(extra).sub(_replace, text)


def _secret_option(item: Any) -> bool:
    """``--password`` / ``-api-key`` / ``--token``: an option whose next argument is its value."""
    return isinstance(item, str) and item.startswith("-") and "=" not in item and is_secret(item.lstrip("-"))


def redact_items(items: list[Any], item: Callable[[Any], Any] | None = None) -> list[Any]:
    """A list with each string scanned and the argument after a secret option replaced."""
    scan = item or redact
    result: list[Any] = []
    previous: Any = None
    for value in items:
        if _secret_option(previous) and isinstance(value, str):
            learn_secret(value)
            result.append(REDACTED)
        else:
            result.append(scan(value))
        previous = value
    return result


def redact(value: Any) -> Any:
    """A JSON-ready value (rendered parameters, argv, environment) with every secret replaced."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {key: _learned(item) if is_secret(key) else redact(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return redact_items(list(value))
    return value


def _learned(value: Any) -> str:
    learn_secret(value)
    return REDACTED


def redact_argv(argv: list[str]) -> list[str]:
    """Command-line arguments with option values and credentials replaced."""
    return [str(item) for item in redact_items(list(argv))]


learn_environment()  # at import: before anything is recorded
