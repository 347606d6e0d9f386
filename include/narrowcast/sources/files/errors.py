"""Errors for input files that cannot be taken in: unreadable (``parse:truncated``) or off-contract (``schema:*``)."""

from __future__ import annotations

from narrowcast.quality.gate import QualityGateFailed


class InputFileError(QualityGateFailed):
    """A delivered file was rejected as a whole; the message starts with the file name and the rule."""

    def __init__(self, file_name: str, rule: str, detail: str) -> None:
        super().__init__(f"{file_name}: {rule}: {detail}")
        self.file_name = file_name
        self.rule = rule
