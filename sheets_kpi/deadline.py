"""Wall-clock limits a slow server cannot stretch: one per HTTP request, one per `serve` cycle.

A socket timeout bounds each read, not the answer: a server that sends a byte every second
never trips a 2 s timeout. `RequestDeadline` reads every answer's body in chunks against
`time.monotonic` and gives up once the request has taken longer than allowed; `CycleDeadline`
is checked by both HTTP clients before each request, so an overrunning cycle ends at the next
request boundary. Both measure durations with `time.monotonic` and wait on nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import DecodeError, ProtocolError, ReadTimeoutError

#: The most a single read may return; a chunk is checked against the deadline as it arrives.
CHUNK = 64 * 1024


class RequestTooSlow(requests.exceptions.ReadTimeout):
    """The whole answer did not arrive within the request's deadline (retried like a timeout)."""


class RequestDeadline:
    """A `requests` response hook: read the body now, within `seconds` of the request's start.

    Installed on a session (`session.hooks["response"]`), it runs once the headers are in
    (`response.elapsed` is the time they took) and before requests reads the body itself, so
    every answer of that session, token refreshes included, is bounded. A read already under
    way when the deadline passes ends within the socket timeout.
    """

    def __init__(
        self, seconds: float, service: str, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.seconds = seconds
        self.service = service
        self._clock = clock

    def install(self, session: requests.Session) -> None:
        """Add the hook to `session`, replacing one installed before."""
        hooks = session.hooks["response"]
        hooks[:] = [hook for hook in hooks if not isinstance(hook, RequestDeadline)] + [self]

    def __call__(self, response: requests.Response, **kwargs: Any) -> requests.Response:
        if response._content is not False:  # read already (a second hook on the same session)
            return response
        until = self._clock() + self.seconds - response.elapsed.total_seconds()
        chunks: list[bytes] = []
        while self._clock() < until:
            chunk = _read1(response)
            if not chunk:
                response._content = b"".join(chunks)
                response._content_consumed = True
                return response
            chunks.append(chunk)
        response.close()  # the rest of the body is abandoned with the connection
        host = urlsplit(response.url).netloc
        raise RequestTooSlow(
            f"{self.service} at {host} did not send its whole answer within the "
            f"{self.seconds:g} s deadline per request; {sum(map(len, chunks))} bytes arrived",
            response=response,
        )


def _read1(response: requests.Response) -> bytes:
    """What one socket read brings, urllib3's errors told as requests tells them
    (`Response.iter_content`), so the clients' handling of a cut-off answer is unchanged."""
    try:
        return response.raw.read1(CHUNK, decode_content=True)
    except ProtocolError as err:
        raise requests.exceptions.ChunkedEncodingError(err) from err
    except DecodeError as err:
        raise requests.exceptions.ContentDecodingError(err) from err
    except ReadTimeoutError as err:
        raise requests.exceptions.ConnectionError(err) from err


class CycleOverrun(Exception):
    """A cycle ran past `schedule.cycle_deadline_seconds`; not a SheetsKpiError on purpose, so
    no step's error handling mistakes it for a failure of its own and carries on."""


class CycleDeadline:
    """The time a `serve` cycle may take, checked by both HTTP clients before each request.

    `arm()` starts the clock at the start of a cycle and `disarm()` stops it. Past the limit,
    `check()` raises `CycleOverrun` once and disarms itself, so the cycle's own run-log row
    (the last requests it makes) still gets written.
    """

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._until: float | None = None

    def arm(self) -> None:
        self._until = self._clock() + self.seconds

    def disarm(self) -> None:
        self._until = None

    def check(self, service: str) -> None:
        if self._until is not None and self._clock() >= self._until:
            self._until = None
            raise CycleOverrun(
                f"the cycle ran past schedule.cycle_deadline_seconds ({self.seconds:g} s) and "
                f"was abandoned before its next {service} request; the next cycle starts over"
            )
