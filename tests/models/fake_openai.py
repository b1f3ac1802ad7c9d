"""A misbehaving OpenAI-compatible server on 127.0.0.1, for the model layer's error tests.

One server plays every scenario: the scenario is the first path segment of the
base URL (`http://127.0.0.1:PORT/<scenario>/v1`), so each scenario is a distinct
`api_base` and the server can count the requests each one saw. Scenarios answer
the way real providers do (OpenAI's error bodies and codes).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HANG_SECONDS = 30.0


def error_body(message: str, kind: str, code: str | None = None, param: str | None = None) -> Any:
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


# scenario -> (status, extra headers, body); a body that is a str is sent as is.
FAILURES: dict[str, tuple[int, dict[str, str], Any]] = {
    "context": (
        400,
        {},
        error_body(
            "This model's maximum context length is 4096 tokens. However, your messages "
            "resulted in 9000 tokens. Please reduce the length of the messages.",
            "invalid_request_error",
            "context_length_exceeded",
            "messages",
        ),
    ),
    "401": (
        401,
        {},
        error_body(
            "Incorrect API key provided: sk-***.", "invalid_request_error", "invalid_api_key"
        ),
    ),
    "403": (
        403,
        {},
        error_body("You are not allowed to use this model.", "permission_error"),
    ),
    "404": (
        404,
        {},
        error_body(
            "The model `x` does not exist or you do not have access to it.",
            "invalid_request_error",
            "model_not_found",
        ),
    ),
    "429": (
        429,
        {"Retry-After": "1"},
        error_body("Rate limit reached for requests.", "requests", "rate_limit_exceeded"),
    ),
    "500": (500, {}, error_body("The server had an error.", "server_error")),
    "502": (502, {}, "<html><body>502 Bad Gateway</body></html>"),
    "not-json": (200, {}, "this is not JSON"),
    "wrong-shape": (200, {}, {"id": "x", "object": "chat.completion", "result": "no choices"}),
}

SCHEMA_REJECTION = error_body(
    "Invalid parameter: 'response_format' of type 'json_schema' is not supported with this model.",
    "invalid_request_error",
    None,
    "response_format",
)


def chat_reply(content: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": "x",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 7, "completion_tokens": 5, "total_tokens": 12},
    }


@dataclass
class FakeOpenAI:
    """The server's state: requests seen per scenario, and replies for the healthy ones.

    Healthy scenarios: `ok` answers `reply`; `flaky-429` answers 429 (Retry-After: 1)
    once, then `reply`; `no-schema` rejects JSON-schema response formats with a 400,
    `no-format` rejects every response format, and both otherwise answer `reply`.
    `keys` holds the Authorization header of every request.
    """

    reply: str = '{"x": 1, "y": 2}'
    requests: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    keys: list[str] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)
    port: int = 0

    def base(self, scenario: str) -> str:
        return f"http://127.0.0.1:{self.port}/{scenario}/v1"

    def seen(self, scenario: str) -> list[dict[str, Any]]:
        return self.requests.get(scenario, [])

    def answer(self, scenario: str, body: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        """Status, headers and body to answer a request of `scenario` with."""
        seen = self.requests.setdefault(scenario, [])
        seen.append(body)
        if scenario in FAILURES:
            return FAILURES[scenario]
        if scenario == "flaky-429" and len(seen) == 1:
            return FAILURES["429"]
        response_format = body.get("response_format") or {}
        if scenario == "no-schema" and response_format.get("type") == "json_schema":
            return 400, {}, SCHEMA_REJECTION
        if scenario == "no-format" and response_format:
            return 400, {}, SCHEMA_REJECTION
        return 200, {}, chat_reply(self.reply)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        scenario = self.path.strip("/").split("/", 1)[0]
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        fake = self.server.fake
        fake.keys.append(self.headers.get("Authorization", ""))
        if scenario == "hang":
            fake.requests.setdefault(scenario, []).append(body)
            fake.stopping.wait(HANG_SECONDS)
            return
        status, headers, payload = fake.answer(scenario, body)
        data = (payload if isinstance(payload, str) else json.dumps(payload)).encode()
        self.send_response(status)
        content_type = "text/plain" if isinstance(payload, str) else "application/json"
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeOpenAI


def serve() -> tuple[FakeOpenAI, _Server]:
    """Start the server on a free port in a daemon thread; `shutdown()` it when done."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.fake = FakeOpenAI(port=server.server_address[1])
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server.fake, server
