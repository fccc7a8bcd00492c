"""Google API error bodies: `{"error": {"code", "message", "status"[, "details"]}}` (§3.9)."""

from __future__ import annotations

from typing import Any

UNAUTHENTICATED_MESSAGE = (
    "Request is missing required authentication credential. Expected OAuth 2 access token, "
    "login cookie or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project."
)


class ApiError(Exception):
    """An error the real API would answer with its JSON error body."""

    def __init__(
        self,
        code: int,
        message: str,
        status: str,
        details: list[dict[str, Any]] | None = None,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status
        self.details, self.errors = details, errors

    def body(self) -> dict[str, Any]:
        """Sheets bodies carry `status` (+ `details`); Drive's older ones `errors` instead."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.errors:
            error["errors"] = self.errors
        if self.status:
            error["status"] = self.status
        if self.details:
            error["details"] = self.details
        return {"error": error}


def invalid(message: str) -> ApiError:
    return ApiError(400, message, "INVALID_ARGUMENT")


def not_found() -> ApiError:
    return ApiError(404, "Requested entity was not found.", "NOT_FOUND")


def permission_denied() -> ApiError:
    return ApiError(403, "The caller does not have permission", "PERMISSION_DENIED")


def service_disabled(project: str = "0") -> ApiError:
    """403 as Google sends it when the caller's project has the Sheets API off."""
    url = f"https://console.developers.google.com/apis/api/sheets.googleapis.com/overview?project={project}"
    message = (
        f"Google Sheets API has not been used in project {project} before or it is disabled. "
        f"Enable it by visiting {url} then retry. If you enabled this API recently, wait a few "
        "minutes for the action to propagate to our systems and retry."
    )
    return ApiError(
        403,
        message,
        "PERMISSION_DENIED",
        [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "SERVICE_DISABLED",
                "domain": "googleapis.com",
                "metadata": {
                    "service": "sheets.googleapis.com",
                    "consumer": f"projects/{project}",
                    "activationUrl": url,
                    "serviceTitle": "Google Sheets API",
                    "containerInfo": project,
                },
            },
            {
                "@type": "type.googleapis.com/google.rpc.LocalizedMessage",
                "locale": "en-US",
                "message": message,
            },
            {
                "@type": "type.googleapis.com/google.rpc.Help",
                "links": [{"description": "Google developers console API activation", "url": url}],
            },
        ],
    )


def unauthenticated() -> ApiError:
    return ApiError(401, UNAUTHENTICATED_MESSAGE, "UNAUTHENTICATED")


def internal_error() -> ApiError:
    return ApiError(500, "Internal error encountered.", "INTERNAL")


def bad_value(field: str, value: Any, proto: str = "google.protobuf.ListValue") -> ApiError:
    """A JSON value of the wrong type, with the BadRequest details Google attaches."""
    shown = f'"{value}"' if isinstance(value, str) else str(value)
    message = f"Invalid value at '{field}' (type.googleapis.com/{proto}), {shown}"
    details = [
        {
            "@type": "type.googleapis.com/google.rpc.BadRequest",
            "fieldViolations": [{"field": field, "description": message}],
        }
    ]
    return ApiError(400, message, "INVALID_ARGUMENT", details)


def quota_exceeded(kind: str, project: str = "0") -> ApiError:
    """429 as Sheets sends it when a per-minute per-user bucket is empty (§3.9)."""
    metric = "Read requests" if kind == "read" else "Write requests"
    limit = "ReadRequestsPerMinutePerUser" if kind == "read" else "WriteRequestsPerMinutePerUser"
    return ApiError(
        429,
        f"Quota exceeded for quota metric '{metric}' and limit '{metric} per minute per user' "
        f"of service 'sheets.googleapis.com' for consumer 'project_number:{project}'.",
        "RESOURCE_EXHAUSTED",
        [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "RATE_LIMIT_EXCEEDED",
                "domain": "googleapis.com",
                "metadata": {
                    "quota_limit": limit,
                    "quota_metric": f"sheets.googleapis.com/{kind}_requests",
                    "service": "sheets.googleapis.com",
                    "consumer": f"projects/{project}",
                },
            },
        ],
    )
