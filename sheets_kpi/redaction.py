"""The one redaction of secrets: every error string passes `redact()` before it is logged,
printed, stored or written to a tab.

Two kinds of secret are removed. Known values: the configured long-lived token and OAuth
client secret (remembered when the config is parsed) and the access and refresh tokens of the
token file (remembered when it is read or rotated). Shapes, for secrets this process never
held (a token echoed by a proxy, a foreign key in a body): `Bearer …`, `key: value` pairs of
secret-named keys, JWTs, amoCRM refresh tokens (`def50200…`), Google OAuth tokens, and PEM
private-key blocks (a block cut off before its END line is removed to the end of the text).
"""

from __future__ import annotations

import re
import threading

MASK = "***"
#: Shorter known values are not secrets worth matching (and would mask ordinary words).
MIN_KNOWN_LENGTH = 8

_PEM = re.compile(
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)",
    re.DOTALL,
)
_PAIRS = re.compile(
    r"(?i)(bearer\s+|"
    r"(?:access_token|refresh_token|id_token|client_secret|long_lived_token|code|"
    r"private_key|api_key|password|authorization|x-api-key)"
    r"(?:\\?[\"'])?\s*[:=]\s*(?:\\?[\"'])?(?:bearer\s+)?)"
    r"(?!bearer\s)[A-Za-z0-9._~+/=-]{6,}"
)
_SHAPES = re.compile(
    r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"  # a JWT (amoCRM access token)
    r"|def50200[0-9a-fA-F]{16,}"  # an amoCRM refresh token
    r"|ya29\.[A-Za-z0-9_-]{10,}"  # a Google access token
    r"|1//[A-Za-z0-9_-]{20,}"  # a Google refresh token
)

_known: set[str] = set()
_lock = threading.Lock()


def remember(*values: str | None) -> None:
    """Values that must never appear in any output from now on (in this process)."""
    with _lock:
        _known.update(v for v in values if isinstance(v, str) and len(v) >= MIN_KNOWN_LENGTH)


def forget_all() -> None:
    """Tests only need this to keep one test's secrets out of another's expectations."""
    with _lock:
        _known.clear()


def redact(text: str) -> str:
    """`text` with every known secret value and every secret-shaped string replaced by ***."""
    with _lock:
        known = sorted(_known, key=len, reverse=True)
    for value in known:
        if value in text:
            text = text.replace(value, MASK)
    text = _PEM.sub(f"-----PRIVATE KEY {MASK}-----", text)
    text = _PAIRS.sub(lambda m: f"{m.group(1)}{MASK}", text)
    return _SHAPES.sub(MASK, text)


def redact_optional(text: str | None) -> str | None:
    return None if text is None else redact(text)
