"""Emulated amoCRM auth: long-lived tokens and OAuth2 with single-use, rotating refresh tokens.

Lifetimes follow AMOCRM_API.md §1.2 and are measured on the emulator clock, so tests can expire
an access token by moving the clock instead of waiting a day.
"""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

ACCESS_LIFETIME = 86400
CODE_LIFETIME = 20 * 60
REFRESH_LIFETIME = 90 * 86400
LONG_LIVED_LIFETIME = 5 * 365 * 86400
OAUTH_PROBLEM = "https://developers.amocrm.ru/v3/errors/OAuthProblemJson"
BAD_CLIENT = {
    "title": "Некорректный клиент",
    "type": OAUTH_PROBLEM,
    "status": 401,
    "detail": "Авторизация клиента не прошла",
}


#: What amoCRM grants an integration, as a recorded token lists it (conformance 13).
SCOPES = ("push_notifications", "files", "crm", "files_delete", "notifications")


def jwt_like(claims: dict[str, Any], signature: bytes | None = None) -> str:
    """A token shaped like amoCRM's RS256 JWTs, for clients that decode it without verifying:
    the header repeats `jti`, the signature is 256 random bytes unless given."""
    header = {"typ": "JWT", "alg": "RS256", "jti": claims["jti"]}
    parts = (
        _json(header),
        _json(claims),
        secrets.token_bytes(256) if signature is None else signature,
    )
    return ".".join(base64.urlsafe_b64encode(p).decode().rstrip("=") for p in parts)


def amo_claims(
    client_id: str,
    now: int,
    expires_at: int,
    user_id: int | None,
    account_id: int,
    api_domain: str | None,
    jti: str | None = None,
) -> dict[str, Any]:
    """The claims of an amoCRM token (conformance 13); `api_domain` is the shard host tokens
    issued since 2024-08 carry, None leaves it out as older tokens do."""
    claims: dict[str, Any] = {
        "aud": client_id,
        "jti": jti or secrets.token_hex(40),
        "iat": now,
        "nbf": now,
        "exp": expires_at,
        "sub": str(user_id or 0),
        "grant_type": "",
        "account_id": account_id,
        "base_domain": "amocrm.ru",
        "version": 2,
        "scopes": list(SCOPES),
    }
    if api_domain is not None:
        claims["api_domain"] = api_domain
    return claims


def _json(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


@dataclass
class OAuthClient:
    client_id: str
    client_secret: str
    redirect_uri: str


@dataclass
class TokenBook:
    """Who may call the API, as whom and until when; spent refresh tokens stay known as revoked."""

    long_lived: dict[str, int] = field(default_factory=dict)
    access: dict[str, int] = field(default_factory=dict)
    refresh: dict[str, dict[str, Any]] = field(default_factory=dict)
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    clients: dict[str, OAuthClient] = field(default_factory=dict)
    #: token → the user it acts as; tokens not listed act as the account admin.
    owners: dict[str, int] = field(default_factory=dict)
    #: Claims of minted tokens: the host the client called, the account, and the private
    #: integration long-lived tokens belong to (their `aud`).
    api_domain: str = "127.0.0.1"
    account_id: int = 0
    integration_id: str = ""

    def add_long_lived(self, token: str, expires_at: int) -> None:
        self.long_lived[token] = expires_at

    def mint_long_lived(
        self, now: int, lifetime: int = LONG_LIVED_LIFETIME, user_id: int | None = None
    ) -> str:
        """A private-integration token (JWT-shaped, with `exp`); `user_id` sets its rights."""
        claims = amo_claims(
            self.integration_id, now, now + lifetime, user_id, self.account_id, self.api_domain
        )
        token = jwt_like(claims)
        self.long_lived[token] = now + lifetime
        if user_id is not None:
            self.owners[token] = user_id
        return token

    def mint_code(self, client_id: str, now: int, user_id: int | None = None) -> str:
        """An authorization code as the redirect after consent carries it: 20 min, single use."""
        code = "def50200" + secrets.token_hex(32)
        self.codes[code] = {"client_id": client_id, "issued_at": now, "used": False}
        if user_id is not None:
            self.codes[code]["user_id"] = user_id
        return code

    def register(
        self, redirect_uri: str, client_id: str = "", client_secret: str = ""
    ) -> OAuthClient:
        """An integration as amoCRM creates one, id and secret made up unless given; an id
        already known is replaced."""
        if not isinstance(redirect_uri, str) or not redirect_uri:
            raise ValueError("redirect_uri is required")
        client = OAuthClient(
            str(client_id or uuid.uuid4()),
            str(client_secret or secrets.token_hex(32)),
            redirect_uri,
        )
        self.clients[client.client_id] = client
        return client

    def revoke(self, token: str) -> None:
        self.long_lived.pop(token, None)
        self.access.pop(token, None)

    def valid_bearer(self, token: str, now: int) -> bool:
        expires = self.long_lived.get(token, self.access.get(token))
        return expires is not None and now < expires

    def grant(self, body: dict[str, Any], now: int) -> tuple[int, dict[str, Any]]:
        """The token endpoint: (status, body) exactly as amoCRM answers."""
        client = self.clients.get(str(body.get("client_id")))
        if client is None or client.client_secret != body.get("client_secret"):
            return 401, dict(BAD_CLIENT)
        grant_type = body.get("grant_type")
        if grant_type == "authorization_code":
            code = self.codes.get(str(body.get("code")))
            if (
                code is None
                or code["used"]
                or code["client_id"] != client.client_id
                or now - code["issued_at"] > CODE_LIFETIME
                or body.get("redirect_uri", client.redirect_uri) != client.redirect_uri
            ):
                return 400, _invalid(400, "Authorization code has expired or was already used")
            code["used"] = True
            return 200, self._issue(client.client_id, now, code.get("user_id"))
        if grant_type == "refresh_token":
            entry = self.refresh.get(str(body.get("refresh_token")))
            if (
                entry is None
                or entry["revoked"]
                or entry["client_id"] != client.client_id
                or now - entry["issued_at"] > REFRESH_LIFETIME
            ):
                return 401, _invalid(401, "Token has been revoked")
            entry["revoked"] = True
            return 200, self._issue(client.client_id, now, entry.get("user_id"))
        return 400, _invalid(400, "Unsupported grant type")

    def snapshot(self, skip: set[str]) -> dict[str, Any]:
        """What survives a restart from `--data`: tokens, refresh state and extra clients."""
        return {
            "long_lived": {t: e for t, e in self.long_lived.items() if t not in skip},
            "access": dict(self.access),
            "refresh": {t: dict(entry) for t, entry in self.refresh.items()},
            "owners": dict(self.owners),
            "clients": [vars(c).copy() for c in self.clients.values() if c.client_id not in skip],
        }

    def load(self, data: dict[str, Any]) -> None:
        for token, expires in (data.get("long_lived") or {}).items():
            self.add_long_lived(token, int(expires))
        self.access.update({t: int(e) for t, e in (data.get("access") or {}).items()})
        self.refresh.update({t: dict(e) for t, e in (data.get("refresh") or {}).items()})
        self.owners.update({t: int(u) for t, u in (data.get("owners") or {}).items()})
        for client in data.get("clients") or []:
            self.clients[client["client_id"]] = OAuthClient(**client)

    def _issue(self, client_id: str, now: int, user_id: int | None) -> dict[str, Any]:
        access = jwt_like(
            amo_claims(
                client_id, now, now + ACCESS_LIFETIME, user_id, self.account_id, self.api_domain
            )
        )
        refresh = "def50200" + secrets.token_hex(48)
        self.access[access] = now + ACCESS_LIFETIME
        self.refresh[refresh] = {"client_id": client_id, "issued_at": now, "revoked": False}
        if user_id is not None:
            self.owners[access] = user_id
            self.refresh[refresh]["user_id"] = user_id
        return {
            "token_type": "Bearer",
            "expires_in": ACCESS_LIFETIME,
            "server_time": now,
            "access_token": access,
            "refresh_token": refresh,
        }


def _invalid(status: int, hint: str) -> dict[str, Any]:
    return {
        "hint": hint,
        "title": "Некорректный запрос",
        "type": OAUTH_PROBLEM,
        "status": status,
        "detail": "В запросе отсутствует ряд параметров или параметры невалидны",
    }
