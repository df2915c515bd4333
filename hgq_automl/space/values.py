"""The checks of single values in a space (a section is a mapping, a key is known, a
number is in range, a name is one of a set), raising `SpaceError` with the file and key;
`_Collect` gathers independent errors so that a space's are reported together."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ..errors import SpaceError, SpaceErrors, did_you_mean


def _section(raw: dict, key: str, source: str) -> dict:
    value = raw.get(key) or {}
    if not isinstance(value, dict):
        raise SpaceError(source, key, f"must be a mapping; got {type(value).__name__}")
    return value


def _no_unknown_keys(d: dict, allowed, source: str, prefix: str) -> None:
    """Every unknown key of the mapping `d`, each on its line with a did-you-mean."""
    errors = [
        SpaceError(source, f"{prefix}.{key}" if prefix else str(key), f"unknown key; {did_you_mean(key, allowed)}allowed keys are {', '.join(allowed)}")
        for key in d
        if key not in allowed
    ]
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise SpaceErrors(errors)


class _Collect:
    """Runs independent checks of a space and keeps their SpaceErrors, so that one pass
    reports them all (`SpaceErrors`); a check that failed gives None."""

    def __init__(self):
        self.errors: list[SpaceError] = []

    def __call__(self, check, *args, **kwargs):
        try:
            return check(*args, **kwargs)
        except SpaceErrors as exc:
            self.errors += exc.errors
        except SpaceError as exc:
            self.errors.append(exc)
        return None

    def raise_any(self) -> None:
        if len(self.errors) == 1:
            raise self.errors[0]
        if self.errors:
            raise SpaceErrors(self.errors)


def _one_of(value: Any, allowed: Sequence[str], source: str, key: str, names: tuple[str, str] | None = None) -> Any:
    """`value` if it is one of `allowed`, else a SpaceError: "unknown <name> 'v'; known
    <names> are ..." when `names` (singular, plural) are given, else "must be one of ...; got 'v'"."""
    if isinstance(value, str) and value in allowed:
        return value
    hint = did_you_mean(value, allowed) if isinstance(value, str) else ""
    if names:
        raise SpaceError(source, key, f"unknown {names[0]} {value!r}; {hint}known {names[1]} are {', '.join(allowed)}")
    raise SpaceError(source, key, f"must be one of {', '.join(allowed)}; got {value!r}" + (f"; {hint.strip()}" if hint else ""))


#: the largest integer a space holds (trials, epochs, batch_size, ...): a signed 32-bit
#: integer, as Keras, NumPy and Optuna take counts; seeds have their own range (MAX_SEED)
MAX_INT = 2**31 - 1


def _number(value: Any, source: str, key: str, kind: type = float, limit: int | None = MAX_INT) -> float | int:
    """A number from YAML; strings such as '1e-5' (which YAML 1.1 reads as text) are accepted.
    An integer beyond +-`limit` is refused (it would overflow where it is used)."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise SpaceError(source, key, f"must be a number; got {value!r}") from None
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**1023:  # beyond any float
        raise SpaceError(source, key, f"must be a number of at most {MAX_INT if kind is int else 'about 1.8e308'}; got {len(str(abs(value)))} digits")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise SpaceError(source, key, f"must be a finite number; got {value!r}")
    if kind is int:
        if not float(value).is_integer():
            raise SpaceError(source, key, f"must be an integer; got {value!r}")
        if limit is not None and abs(int(value)) > limit:
            raise SpaceError(source, key, f"must be an integer of at most {limit}; got {value!r}")
        return int(value)
    return float(value)


def _int_at_least(value: Any, minimum: int, source: str, key: str) -> int:
    n = _number(value, source, key, int)
    if n < minimum:
        raise SpaceError(source, key, f"must be an integer >= {minimum}; got {value!r}")
    return n


#: NumPy's and Optuna's seeds are unsigned 32-bit numbers.
MAX_SEED = 2**32 - 1


def _seed(value: Any, source: str, key: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and not 0 <= value <= MAX_SEED:
        raise SpaceError(source, key, f"must be an integer from 0 to {MAX_SEED}; got {value if value < 2**64 else f'{len(str(value))} digits'}")
    n = _number(value, source, key, int, limit=None)
    if not 0 <= n <= MAX_SEED:
        raise SpaceError(source, key, f"must be an integer from 0 to {MAX_SEED}; got {value!r}")
    return n
