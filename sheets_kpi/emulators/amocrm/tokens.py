"""Emulated amoCRM auth: long-lived tokens and OAuth2 with single-use, rotating refresh tokens."""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass, field

ACCESS_LIFETIME = 86400
CODE_LIFETIME = 20 * 60
REFRESH_LIFETIME = 90 * 86400

DEMO_TOKEN_SUBJECT = "demo"


def jwt_like(claims: dict) -> str:
    """A token shaped like amoCRM's JWTs (header.claims.signature), carrying `exp`/`api_domain`."""

    def part(payload: dict) -> str:
        raw = json.dumps(payload, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    header = part({"typ": "JWT", "alg": "RS256"})
    return f"{header}.{part(claims)}.{secrets.token_urlsafe(24)}"


@dataclass
class OAuthClient:
    client_id: str
    client_secret: str
    redirect_uri: str


@dataclass
class TokenBook:
    """Who may call the API, until when; a spent refresh token is remembered as revoked."""

    long_lived: dict[str, int] = field(default_factory=dict)
    access: dict[str, int] = field(default_factory=dict)
    refresh: dict[str, dict] = field(default_factory=dict)
    codes: dict[str, dict] = field(default_factory=dict)
    clients: dict[str, OAuthClient] = field(default_factory=dict)
    api_domain: str = "127.0.0.1"

    def add_long_lived(self, token: str, expires_at: int) -> None:
        self.long_lived[token] = expires_at

    def mint_long_lived(self, now: int, lifetime: int = 5 * 365 * 86400) -> str:
        token = jwt_like({"exp": now + lifetime, "api_domain": self.api_domain, "sub": "long"})
        self.long_lived[token] = now + lifetime
        return token

    def mint_code(self, client_id: str, now: int) -> str:
        code = "def50200" + secrets.token_hex(32)
        self.codes[code] = {"client_id": client_id, "issued_at": now, "used": False}
        return code

    def valid_bearer(self, token: str, now: int) -> bool:
        expires = self.long_lived.get(token, self.access.get(token))
        return expires is not None and now < expires

    def grant(self, body: dict, now: int) -> tuple[int, dict]:
        """The token endpoint: (status, body) exactly as amoCRM answers."""
        client = self.clients.get(str(body.get("client_id")))
        if client is None or client.client_secret != body.get("client_secret"):
            return 401, {
                "title": "Некорректный клиент",
                "type": "https://developers.amocrm.ru/v3/errors/OAuthProblemJson",
                "status": 401,
                "detail": "Авторизация клиента не прошла",
            }
        grant_type = body.get("grant_type")
        if grant_type == "authorization_code":
            code = self.codes.get(str(body.get("code")))
            if (
                code is None
                or code["used"]
                or code["client_id"] != client.client_id
                or now - code["issued_at"] > CODE_LIFETIME
            ):
                return 400, _invalid("Authorization code has expired or was already used")
            code["used"] = True
            return 200, self._issue(client.client_id, now)
        if grant_type == "refresh_token":
            entry = self.refresh.get(str(body.get("refresh_token")))
            if (
                entry is None
                or entry["revoked"]
                or entry["client_id"] != client.client_id
                or now - entry["issued_at"] > REFRESH_LIFETIME
            ):
                return 401, _invalid("Token has been revoked")
            entry["revoked"] = True
            return 200, self._issue(client.client_id, now)
        return 400, _invalid("Unsupported grant type")

    def _issue(self, client_id: str, now: int) -> dict:
        access = jwt_like(
            {"exp": now + ACCESS_LIFETIME, "api_domain": self.api_domain, "aud": client_id}
        )
        refresh = "def50200" + secrets.token_hex(48)
        self.access[access] = now + ACCESS_LIFETIME
        self.refresh[refresh] = {"client_id": client_id, "issued_at": now, "revoked": False}
        return {
            "token_type": "Bearer",
            "expires_in": ACCESS_LIFETIME,
            "server_time": now,
            "access_token": access,
            "refresh_token": refresh,
        }


def _invalid(hint: str) -> dict:
    return {
        "hint": hint,
        "title": "Некорректный запрос",
        "type": "https://developers.amocrm.ru/v3/errors/OAuthProblemJson",
        "status": 401 if "revoked" in hint else 400,
        "detail": "В запросе отсутствует ряд параметров или параметры невалидны",
    }
