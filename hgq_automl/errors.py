"""Errors that mean "the user's input is wrong": the CLI prints them on one line and exits 2."""


class UsageError(ValueError):
    """Bad input (a search space, a flag or argument, a data file, a tracking server): nothing was run.

    A ValueError, so that Python callers of the API can catch it as one."""


class SpaceError(UsageError):
    """A search-space file is invalid. The message names the file, the key and the problem."""

    def __init__(self, source: str, key: str, problem: str):
        self.source, self.key, self.problem = source, key, problem
        super().__init__(f"{source}: {key}: {problem}" if key else f"{source}: {problem}")
