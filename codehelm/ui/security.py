"""Who may use the viewer: on a loopback address, this machine's pages (the Host header
must name it, against DNS rebinding); elsewhere, only requests that carry the token."""

from __future__ import annotations

import ipaddress
import secrets
from urllib.parse import urlencode

from starlette.datastructures import URL
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

COOKIE = "codehelm_token"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def new_token() -> str:
    return secrets.token_urlsafe(24)


class TokenGate:
    """Refuses (403) every request without the token: as `?token=` (which sets a cookie and
    redirects to the same page without it), as that cookie, or as `Authorization: Bearer`."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app, self.token = app, token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        in_query = request.query_params.get("token")
        header = request.headers.get("authorization", "")
        given = in_query or request.cookies.get(COOKIE) or header.removeprefix("Bearer ")
        response: Response
        if not secrets.compare_digest(given.encode(), self.token.encode()):
            response = PlainTextResponse("forbidden: this viewer needs its token", 403)
        elif in_query is not None:
            rest = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
            response = RedirectResponse(str(URL(scope=scope).replace(query=urlencode(rest))), 303)
            response.set_cookie(COOKIE, self.token, httponly=True, samesite="strict")
        else:
            await self.app(scope, receive, send)
            return
        await response(scope, receive, send)
