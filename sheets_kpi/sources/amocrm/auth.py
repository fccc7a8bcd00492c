"""amoCRM credentials: a long-lived token, or OAuth2 whose refresh token rotates on every use.

A spent refresh token is dead, so the rotated pair is written to disk (atomically, mode 0600)
before the new access token is used, and refreshes are serialised across processes.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests
from filelock import FileLock

from sheets_kpi import redaction
from sheets_kpi.config import AmoAuth, OAuthConfig
from sheets_kpi.errors import AuthError

log = logging.getLogger(__name__)

REAUTHORISE = "run `sheets-kpi auth` to authorise the integration again"
#: Refresh this long before the access token expires, so a page walk never crosses expiry.
REFRESH_MARGIN_SECONDS = 300


class LongLivedToken:
    """A token generated in amoCRM's private integration settings; it cannot be refreshed."""

    def __init__(self, token: str) -> None:
        self._token = token

    def header(self) -> str:
        return f"Bearer {self._token}"

    def on_unauthorized(self) -> None:
        raise AuthError(
            "amoCRM rejected the long-lived token (expired or revoked): generate a new one in "
            "amoCRM → Settings → Integrations → your private integration → Keys and scopes, "
            "and put it where amocrm.auth.long_lived_token points"
        )


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_at: float

    @classmethod
    def from_response(cls, payload: dict, now: float) -> TokenPair:
        return cls(
            access_token=payload["access_token"],
            refresh_token=payload["refresh_token"],
            expires_at=now + float(payload.get("expires_in", 86400)),
        )


def write_private_json(path: Path, payload: dict) -> None:
    """Replace `path` atomically: temp file in the same folder, fsync, rename; mode 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(payload, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


_TOKEN_FIELDS: dict[str, type | tuple[type, ...]] = {
    "access_token": str,
    "refresh_token": str,
    "expires_at": (int, float),
}


class TokenFile:
    """The OAuth token pair on disk."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> TokenPair | None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):  # the message never quotes the file's text
            raise AuthError(
                f"{self.path}: the token file is not valid JSON; {REAUTHORISE}"
            ) from None
        if not isinstance(data, dict):
            raise AuthError(f"{self.path}: the token file is not a JSON object; {REAUTHORISE}")
        redaction.remember(*(v for v in data.values() if isinstance(v, str)))
        wrong = [
            key
            for key, kind in _TOKEN_FIELDS.items()
            if not isinstance(data.get(key), kind) or isinstance(data.get(key), bool)
        ]
        if wrong:  # named, never shown: a malformed file still holds a live refresh token
            raise AuthError(
                f"{self.path}: the token file has a missing or malformed {', '.join(wrong)}; "
                f"{REAUTHORISE}"
            )
        return TokenPair(data["access_token"], data["refresh_token"], float(data["expires_at"]))

    def save(self, pair: TokenPair) -> None:
        redaction.remember(pair.access_token, pair.refresh_token)
        write_private_json(self.path, vars(pair))


class OAuth2:
    """Bearer header from the token file; refreshes before expiry and once after a 401."""

    def __init__(
        self,
        base_url: str,
        settings: OAuthConfig,
        session: requests.Session,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._url = f"{base_url}/oauth2/access_token"
        self._settings = settings
        self._session = session
        self._clock = clock
        self._file = TokenFile(settings.token_file)
        self._lock = threading.Lock()
        self._pair: TokenPair | None = None

    def header(self) -> str:
        pair = self._current()
        if pair.expires_at - self._clock() < REFRESH_MARGIN_SECONDS:
            pair = self._refresh(pair)
        return f"Bearer {pair.access_token}"

    def on_unauthorized(self) -> None:
        self._refresh(self._current())

    def exchange_code(self, code: str) -> TokenPair:
        """First authorisation: trade the code from the redirect for a token pair."""
        payload = self._post({"grant_type": "authorization_code", "code": code})
        if payload is None:
            raise AuthError(
                "amoCRM refused the authorisation code (expired after 20 minutes, already "
                "used, or the client id/secret/redirect URI do not match): open the "
                "authorisation link again and paste the new code"
            )
        return self._store(payload)

    def _current(self) -> TokenPair:
        if self._pair is None:
            self._pair = self._file.load()
        if self._pair is None:  # a first run, not a lost authorisation
            raise AuthError(
                f"no amoCRM tokens at {self._file.path} yet: run `sheets-kpi auth` once to "
                "authorise the integration"
            )
        return self._pair

    def _refresh(self, stale: TokenPair) -> TokenPair:
        with self._lock, _file_lock(self._file.path):
            on_disk = self._file.load()
            if on_disk and on_disk.refresh_token != stale.refresh_token:
                log.info("amoCRM tokens were renewed by another process; using them")
                self._pair = on_disk
                return on_disk
            payload = self._post(
                {"grant_type": "refresh_token", "refresh_token": stale.refresh_token}
            )
            if payload is None:
                raise AuthError(
                    f"amoCRM refused the refresh token (revoked or expired): {REAUTHORISE}"
                )
            return self._store(payload)

    def _store(self, payload: dict) -> TokenPair:
        pair = TokenPair.from_response(payload, self._clock())
        self._pair = pair
        self._file.save(pair)
        log.info("amoCRM tokens rotated and saved to %s", self._file.path)
        return pair

    def _post(self, grant: dict) -> dict | None:
        """One attempt only: a refresh whose answer was lost may already have spent the token."""
        body = {
            "client_id": self._settings.client_id,
            "client_secret": self._settings.client_secret,
            "redirect_uri": self._settings.redirect_uri,
            **grant,
        }
        try:
            response = self._session.post(self._url, json=body, timeout=30)
        except requests.RequestException as err:
            raise AuthError(
                f"could not reach amoCRM to refresh the token ({err}); try again"
            ) from err
        if response.status_code == 403 and "json" not in response.headers.get("Content-Type", ""):
            raise AuthError(  # an nginx page, not an OAuth answer: the tokens may still be good
                "amoCRM blocked the token request (HTTP 403 with an HTML page): stop the worker, "
                "lower amocrm.requests_per_second and contact amoCRM support to lift the block"
            )
        if response.status_code == 401 and _invalid_client(response):
            raise AuthError(
                "amoCRM rejected the integration itself (Некорректный клиент): client_id or "
                "client_secret is wrong; copy both from the integration's Keys and scopes tab "
                "into amocrm.auth.oauth (re-creating an integration changes them). The saved "
                "tokens are kept"
            )
        if response.status_code in (400, 401, 403):
            return None
        if response.status_code != 200:
            raise AuthError(
                f"amoCRM token endpoint answered HTTP {response.status_code}; try again"
            )
        return response.json()


def _invalid_client(response: requests.Response) -> bool:
    """amoCRM's answer to a wrong client_id / client_secret: "Некорректный клиент", no `hint`
    (a revoked or spent refresh token says "Некорректный запрос" with a hint)."""
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and (
        body.get("title") == "Некорректный клиент" or body.get("error") == "invalid_client"
    )


class _file_lock:
    """An exclusive lock next to the token file, so two workers never both refresh (filelock:
    flock on POSIX, msvcrt on Windows); a new one per use, so threads exclude each other too."""

    def __init__(self, token_path: Path) -> None:
        self._path = token_path.with_name(token_path.name + ".lock")
        self._lock = FileLock(self._path, mode=0o600)

    def __enter__(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._lock.acquire()

    def __exit__(self, *exc: object) -> None:
        self._lock.release()


def make_auth(
    base_url: str, auth: AmoAuth, session: requests.Session, clock: Callable[[], float] = time.time
) -> LongLivedToken | OAuth2:
    if auth.oauth is not None:
        return OAuth2(base_url, auth.oauth, session, clock)
    return LongLivedToken(auth.long_lived_token or "")
