"""uvicorn's HTTP/1.1 protocol (h11) with a time limit on request headers.

uvicorn closes an idle keep-alive connection (``timeout_keep_alive``) but waits forever for a
request whose headers never end (its keep-alive timer stops at the first byte). Here a
connection that has started a request must complete its headers within ``seconds``, or it
is closed. (A body that stalls is answered 408 by :class:`.middleware.Guard`.)
"""
from __future__ import annotations

import asyncio

from uvicorn.protocols.http.h11_impl import H11Protocol


def header_timeout_protocol(seconds: float) -> type[H11Protocol]:
    class HeaderTimeoutH11Protocol(H11Protocol):
        header_seconds = seconds
        _header_timer: asyncio.TimerHandle | None = None
        _armed_for = None

        def connection_made(self, transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self._header_timer is not None and self.cycle is not self._armed_for:
                self._disarm()  # a request's headers are complete
            if self._header_timer is None and (self.cycle is None or self.cycle.response_complete):
                self._arm()  # between requests: the next one's headers are on their way

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._armed_for = self.cycle
            self._header_timer = self.loop.call_later(self.header_seconds, self._headers_too_slow)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _headers_too_slow(self) -> None:
            self._header_timer = None
            if self.cycle is self._armed_for and not self.transport.is_closing():
                self.transport.close()

    return HeaderTimeoutH11Protocol
