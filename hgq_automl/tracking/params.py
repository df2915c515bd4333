"""A trial's parameters as MLflow keeps them (text, `param_texts`) and back as the values
they were (`param_value`): for the tracker writing them, and for reading a search back
and exporting one of its runs."""

from __future__ import annotations

from typing import Any


def param_texts(params: dict[str, Any]) -> dict[str, str]:
    """Parameters as MLflow params (text; None left out); `param_value` reads them back."""
    return {k: str(v) for k, v in params.items() if v is not None}


def param_value(text: str, kind: type | None = None) -> Any:
    """An MLflow param (always text, as `param_texts` wrote it) as the value it was: of
    `kind` (a space rule's float, int or str) when known, else the number or word it reads as."""
    if kind is not None:
        return kind(float(text)) if kind is int else kind(text)
    for guess in (int, float):
        try:
            return guess(text)
        except ValueError:
            pass
    return text
