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
#: Exit statuses of ``lianjian`` (README "Exit status"): the same meaning in every command.
EXIT_OK = 0
EXIT_FAILED = 1  # a run's step or blocking data-quality check failed
EXIT_CANNOT_RUN = 2  # bad flags, a missing or wrong file or folder, unreadable rules … (FatalError)
EXIT_NOT_FOUND = 3  # what was asked for (person, unit, year, table, column) is not in what is published


class NotFound(Exception):
    """What the command was asked about — a person, unit or year (explain, report), a table or column
    (lineage) — is not in the published data or the contract. ``str(err)`` is one Chinese line saying
    what exists or what to check; the command ends with ``EXIT_NOT_FOUND``."""

    def __init__(self, message: str):
        super().__init__(message.replace("\n", " "))


def not_a_file(path, what: str, flag: str) -> None:
    """A folder setting (``--landing``, ``--warehouse``, ``--out``) that names an existing file: say
    so — not "missing" or a traceback — with the flag to fix it."""
    from pathlib import Path

    path = Path(path)
    if path.exists() and not path.is_dir():
        raise FatalError(f"{what} {path}: 这是一个文件，不是目录 — 请用 {flag} 指定目录，而不是其中的文件")
