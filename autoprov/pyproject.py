"""``[tool.autoprov]`` of the nearest ``pyproject.toml``: the one reader of project settings.

The filters (:mod:`autoprov.filtering.locate`) and the store (:mod:`autoprov.store.location`)
both read their settings here.  The search walks from the working directory up to the root and
stops at the first ``pyproject.toml``; a file that does not mention ``tool.autoprov`` is not parsed,
so a project without settings pays one small read at start-up, not a TOML import.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


class PyprojectError(ValueError):
    """A pyproject.toml that cannot be read or parsed; callers turn it into their own error."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def tool_settings(cwd: Path) -> tuple[Path, dict[str, Any]] | None:
    """(path of the nearest pyproject.toml, its ``[tool.autoprov]`` table), or None without one."""
    for directory in (cwd, *cwd.parents):
        path = directory / "pyproject.toml"
        if not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise PyprojectError(path, f"cannot read it ({error})") from None
        if "tool.autoprov" not in text:
            return path, {}
        try:
            import tomllib
        except ImportError:  # Python 3.10
            try:
                import tomli as tomllib  # type: ignore[no-redef]
            except ImportError:
                raise PyprojectError(path, "reading [tool.autoprov] on Python 3.10 needs the 'tomli' package") from None
        try:
            settings = tomllib.loads(text).get("tool", {}).get("autoprov", {})
        except tomllib.TOMLDecodeError as error:
            raise PyprojectError(path, f"invalid TOML ({error})") from None
        return path, settings if isinstance(settings, dict) else {}
    return None
