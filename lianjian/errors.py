"""Errors that end a run with one line a non-programmer can act on (file, column, what to do)."""


class FatalError(Exception):
    """A problem that stops the run. ``str(err)`` is the whole message shown to the user: one line
    naming the file and column concerned and what to do about it. Never carries personal data."""

    def __init__(self, message: str):
        super().__init__(message.replace("\n", " "))


class ReportsNotWritten(Exception):
    """The yearly reports could not all be written (disk full, no permission). Raised after the data
    is published: the run fails (exit 1) and says that the data is live and the reports are not;
    the next run writes the missing reports. ``str(err)`` is one line naming the folder."""
