"""Small text normalisers shared by the amoCRM side and the engine."""

from __future__ import annotations

from typing import Any


def phone_digits(value: Any) -> str:
    """The last 10 digits of a phone number: how amoCRM itself matches calls to contacts."""
    digits = "".join(ch for ch in str(value or "") if ch.isdigit())
    return digits[-10:]
