"""Errors that mean "the user's input is wrong": the CLI prints them on one line and exits 2."""


def first_line(exc: BaseException, limit: int = 200, typed: bool = False) -> str:
    """The first line of `exc`'s message, at most `limit` characters (its type's name when it has
    no message); with `typed`, prefixed by its type's name. What a one-line error quotes of a
    library's exception, whose later lines (tracebacks, TensorFlow's logs) would break the line."""
    lines = str(exc).strip().splitlines()
    if not lines:
        return type(exc).__name__
    return f"{type(exc).__name__}: {lines[0][:limit]}" if typed else lines[0][:limit]


class TrialFailed(RuntimeError):
    """Training went wrong in a way that makes the trial's numbers meaningless (e.g. NaN loss)."""


class UsageError(ValueError):
    """Bad input (a search space, a flag or argument, a data file, a tracking server): nothing was run.

    A ValueError, so that Python callers of the API can catch it as one."""


class SpaceError(UsageError):
    """A search-space file is invalid. The message names the file, the key and the problem."""

    def __init__(self, source: str, key: str, problem: str):
        self.source, self.key, self.problem = source, key, problem
        super().__init__(f"{source}: {key}: {problem}" if key else f"{source}: {problem}")


#: How many errors of one space a `SpaceErrors` reports.
MAX_SPACE_ERRORS = 10


class SpaceErrors(SpaceError):
    """Several independent errors of one space, found in one pass: one line each (at most
    `MAX_SPACE_ERRORS`); `source`, `key` and `problem` are the first error's."""

    def __init__(self, errors: list[SpaceError]):
        self.errors = list(errors)
        first = self.errors[0]
        self.source, self.key, self.problem = first.source, first.key, first.problem
        lines = [line for e in self.errors for line in str(e).splitlines()]
        shown = lines[:MAX_SPACE_ERRORS]
        if len(lines) > len(shown):
            shown.append(f"{first.source}: ... and {len(lines) - len(shown)} more error(s)")
        UsageError.__init__(self, "\n".join(shown))


def did_you_mean(word: str, known) -> str:
    """ "did you mean 'x'? " when `word` is close to one of `known` (difflib), else ""."""
    import difflib

    close = difflib.get_close_matches(str(word), [str(k) for k in known], n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}? " if close else ""
