"""Located problems in content definitions, and the error that carries them.

Every check in the loader reports a `Problem` (file, line, key path, message) instead of
raising, so that one run can tell an editor about every mistake at once.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    """One mistake in the content, located as `file:line: key.path: message`."""

    file: str
    line: int
    key: str
    message: str

    def __str__(self) -> str:
        location = f"{self.file}:{self.line}" if self.line else self.file
        return (
            f"{location}: {self.key}: {self.message}" if self.key else f"{location}: {self.message}"
        )


class ContentError(Exception):
    """The content definitions are invalid; `problems` lists every mistake found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
