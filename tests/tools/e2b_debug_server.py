"""A local stand-in for an E2B sandbox, so `E2BSandbox` runs through the real SDK in tests.

In debug mode (`E2B_DEBUG=true`) the E2B SDK creates no sandbox through E2B's API: it makes
up the id `debug_sandbox_id`, takes envd to be version 99.99.99, skips `kill()`, and sends
everything else over plain HTTP to `localhost:49983` (envd) and `localhost:49999` (the code
interpreter). `E2B_SANDBOX_URL` replaces both with one address, so this server answers both
on one free port of 127.0.0.1 and the tests never need the fixed ports.

It speaks just what `E2BSandbox` uses, as the real services do:

- the code interpreter: `POST /contexts` starts a real IPython kernel (jupyter_client and
  ipykernel) in the given directory, `DELETE /contexts/{id}` shuts it down, and
  `POST /execute` streams newline-delimited JSON events translated from the kernel's
  messages as E2B's server translates them (stdout, stderr, result, error,
  number_of_executions, end_of_execution; string results lose their quotes; a kernel that
  dies becomes a `ContextRestarting` error and is restarted);
- envd's HTTP API: `GET /files` and `POST /files` (multipart or octet-stream), `/health`;
- envd's Connect-RPC API with the JSON codec: `Filesystem/ListDir`, `Stat` and `MakeDir`
  (unary), `Process/Start` (a server stream of enveloped messages: start, data, end; the
  command runs as `/bin/bash -l -c ...` on this machine) and `Process/SendSignal`.

Setting `FakeE2B.gone` makes every request answer as E2B's proxy answers for a sandbox that
has ended (502, "... was not found").

The "VM" is this machine: paths are host paths, commands and kernels are host processes,
run as the current user without isolation. `reset()` stands in for killing the sandbox:
it ends every kernel and command started since the last reset. One spare kernel is kept
started ahead of need, since a kernel takes about a second to start; it moves to the
context's directory as E2B's server moves its kernels, with a silent cell.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import queue
import signal
import stat
import struct
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import BodyPartReader, web
from jupyter_client.manager import AsyncKernelManager

Json = dict[str, Any]

KNOWN_MIME = {  # how E2B's server names the formats of a result; the rest goes to `extra`
    "text/html": "html",
    "text/markdown": "markdown",
    "image/svg+xml": "svg",
    "image/png": "png",
    "image/jpeg": "jpeg",
    "application/pdf": "pdf",
    "text/latex": "latex",
    "application/json": "json",
    "application/javascript": "javascript",
    "e2b/data": "data",
    "e2b/chart": "chart",
}
RPC_STATUS = {  # Connect error codes and the HTTP status a unary error carries
    "invalid_argument": 400,
    "not_found": 404,
    "already_exists": 409,
    "internal": 500,
    "unimplemented": 501,
}
SIGNALS = {"SIGNAL_SIGKILL": signal.SIGKILL, "SIGNAL_SIGTERM": signal.SIGTERM, 9: 9, 15: 15}
END_STREAM = 0x02  # the Connect envelope flag of a stream's last message


class RpcError(Exception):
    """A Connect error: `code` is the protocol's snake_case name (e.g. `not_found`)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def envelope(message: Json, flags: int = 0) -> bytes:
    payload = json.dumps(message).encode()
    return struct.pack(">BI", flags, len(payload)) + payload


def result_event(data: Json, *, main: bool) -> Json:
    """A kernel's display data as E2B's server sends it (its `Result` model)."""
    data = dict(data)
    event: Json = {"type": "result", "is_main_result": main}
    text = data.pop("text/plain", None)
    if text and text[0] in "'\"" and text.endswith(text[0]):
        text = text[1:-1]  # E2B's server strips the quotes of a string's repr
    if text is not None:
        event["text"] = text
    for mime, name in KNOWN_MIME.items():
        if mime in data:
            event[name] = data.pop(mime)
    event["extra"] = data
    return event


def entry_info(path: str) -> Json:
    """envd's `EntryInfo` of `path` (proto3 JSON: camelCase names, int64 as a string)."""
    info = os.lstat(path)
    link = stat.S_ISLNK(info.st_mode)
    kind = info.st_mode
    if link:
        with contextlib.suppress(OSError):
            kind = os.stat(path).st_mode
    entry: Json = {
        "name": os.path.basename(path.rstrip("/")) or "/",
        "type": "FILE_TYPE_DIRECTORY" if stat.S_ISDIR(kind) else "FILE_TYPE_FILE",
        "path": path,
        "size": str(info.st_size),
        "mode": stat.S_IMODE(info.st_mode),
        "permissions": stat.filemode(info.st_mode),
        "owner": str(info.st_uid),
        "group": str(info.st_gid),
        "modifiedTime": datetime.fromtimestamp(info.st_mtime, UTC).isoformat(),
        "isSymlink": link,
    }
    if link:
        entry["symlinkTarget"] = os.readlink(path)
    return entry


class Kernel:
    """One code context: a real IPython kernel and the client that talks to it."""

    def __init__(self) -> None:
        self.id = str(uuid.uuid4())
        self.manager = AsyncKernelManager(kernel_name="python3")
        self.client: Any = None
        self.lock = asyncio.Lock()  # one execution at a time, as in E2B's server
        self.restarting: asyncio.Task[None] | None = None
        self.removed = False

    async def start(self, cwd: str) -> None:
        await self.manager.start_kernel(cwd=cwd)
        self.client = self.manager.client()
        self.client.start_channels()
        await self.client.wait_for_ready(timeout=60)

    async def chdir(self, cwd: str) -> None:
        """Move to `cwd` as E2B's server does, with a silent cell (no trace in the namespace)."""
        code = f"__import__('os').chdir({cwd!r})"
        msg_id = self.client.execute(code, silent=True, store_history=False)
        while True:
            msg = await self.client.get_iopub_msg(timeout=60)
            mine = msg["parent_header"].get("msg_id") == msg_id
            if mine and msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                return

    async def restart(self) -> None:
        """What Jupyter's kernel restarter does for a kernel that died."""
        await self.manager.restart_kernel(now=True)
        await self.client.wait_for_ready(timeout=60)

    async def stop(self) -> None:
        self.removed = True
        if self.restarting is not None:
            self.restarting.cancel()
            with contextlib.suppress(BaseException):
                await self.restarting
        if self.client is not None:
            self.client.stop_channels()
        with contextlib.suppress(Exception):
            await self.manager.shutdown_kernel(now=True)

    async def execute(self, code: str) -> AsyncIterator[Json]:
        """The events of one cell, translated as E2B's server translates Jupyter messages."""
        if self.restarting is not None:
            await self.restarting
            self.restarting = None
        msg_id = self.client.execute(code, store_history=True, allow_stdin=False)
        accepted = errored = False
        while True:
            try:
                msg = await self.client.get_iopub_msg(timeout=0.2)
            except queue.Empty:
                if self.removed or await self.manager.is_alive():
                    continue
                value = "Context was restarted"  # Jupyter restarts a kernel that died
                yield {
                    "type": "error",
                    "name": "ContextRestarting",
                    "value": value,
                    "traceback": "",
                }
                yield {"type": "end_of_execution"}
                self.restarting = asyncio.ensure_future(self.restart())
                return
            if msg["parent_header"].get("msg_id") != msg_id:
                continue  # e.g. a cell whose caller went away, still running
            kind, content = msg["msg_type"], msg["content"]
            if kind == "execute_input":
                accepted = True
                yield {
                    "type": "number_of_executions",
                    "execution_count": content["execution_count"],
                }
            elif kind == "stream":
                yield {
                    "type": content["name"],
                    "text": content["text"],
                    "timestamp": time.time_ns(),
                }
            elif kind in ("execute_result", "display_data"):
                yield result_event(content["data"], main=kind == "execute_result")
            elif kind == "error" and not errored:
                errored = True
                yield {
                    "type": "error",
                    "name": content["ename"],
                    "value": content["evalue"],
                    "traceback": "".join(content["traceback"]),  # joined as E2B joins it
                }
            elif kind == "status" and content["execution_state"] == "idle" and accepted:
                yield {"type": "end_of_execution"}
                return


class FakeE2B:
    """The services of one debug-mode E2B sandbox, as an aiohttp application."""

    def __init__(self, home: str) -> None:
        self.home = home  # the user's home: relative paths and the default context start here
        self.kernels: dict[str, Kernel] = {}
        self.spare: asyncio.Task[Kernel] | None = None  # a kernel started ahead of need
        self.processes: dict[int, asyncio.subprocess.Process] = {}
        self.requests: list[str] = []  # "METHOD /path" of every request, for tests to check
        self.gone = False  # set: the sandbox has ended (killed, or reached its lifetime)
        self.rpc: dict[str, Callable[[Json], Awaitable[Json]]] = {
            "filesystem.Filesystem/ListDir": self.list_dir,
            "filesystem.Filesystem/Stat": self.stat,
            "filesystem.Filesystem/MakeDir": self.make_dir,
            "process.Process/SendSignal": self.send_signal,
        }
        self.app = web.Application(middlewares=[self.record], client_max_size=1 << 30)
        self.app.add_routes(
            [
                web.get("/health", self.health),
                web.get("/files", self.read_file),
                web.post("/files", self.write_file),
                web.post("/process.Process/Start", self.start_process),
                web.post("/{service:[a-z]+\\.[A-Za-z]+}/{method}", self.unary),
                web.post("/contexts", self.create_context),
                web.delete("/contexts/{id}", self.remove_context),
                web.post("/execute", self.execute),
            ]
        )

    @web.middleware
    async def record(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        self.requests.append(f"{request.method} {request.path}")
        if self.gone:  # as E2B's proxy answers for a sandbox that was killed or timed out
            message = "The sandbox debug_sandbox_id was not found"
            return web.json_response({"code": 502, "message": message}, status=502)
        return await handler(request)

    async def new_kernel(self) -> Kernel:
        kernel = Kernel()
        try:
            await kernel.start(self.home)
        except BaseException:
            await kernel.stop()
            raise
        return kernel

    async def take_kernel(self, cwd: str) -> Kernel:
        """A kernel working in `cwd`: the spare one if any, as a kernel takes a second to
        start; the next spare starts meanwhile."""
        spare, self.spare = self.spare, None
        kernel = await spare if spare is not None else await self.new_kernel()
        self.spare = asyncio.ensure_future(self.new_kernel())
        await kernel.chdir(cwd)
        return kernel

    async def close(self) -> None:
        await self.reset()
        if self.spare is not None:
            with contextlib.suppress(BaseException):
                await (await self.spare).stop()

    def resolve(self, path: str) -> str:
        return os.path.normpath(os.path.join(self.home, os.path.expanduser(path)))

    async def reset(self) -> None:
        """Kill the sandbox: end every kernel and command (and the commands' sessions)."""
        kernels, self.kernels = list(self.kernels.values()), {}
        await asyncio.gather(*(kernel.stop() for kernel in kernels))
        for pid, process in self.processes.items():
            if process.returncode is None:  # not reaped: the pid (and group id) is still its
                for kill in (os.killpg, os.kill):
                    with contextlib.suppress(OSError):
                        kill(pid, signal.SIGKILL)
        self.processes.clear()
        self.requests.clear()
        self.gone = False

    # -- envd: HTTP API ----------------------------------------------------------------

    async def health(self, request: web.Request) -> web.Response:
        return web.Response(status=204)

    @staticmethod
    def http_error(status: int, message: str) -> web.Response:
        return web.json_response({"code": status, "message": message}, status=status)

    async def read_file(self, request: web.Request) -> web.StreamResponse:
        path = self.resolve(request.query.get("path", ""))
        if not os.path.exists(path):
            return self.http_error(404, f"path '{path}' does not exist")
        if os.path.isdir(path):
            return self.http_error(400, f"path '{path}' is a directory")
        return web.Response(body=Path(path).read_bytes(), content_type="application/octet-stream")

    async def write_file(self, request: web.Request) -> web.Response:
        uploads: list[tuple[str, bytes]] = []
        given = request.query.get("path")
        if request.content_type == "application/octet-stream":
            if given is None:
                return self.http_error(400, "path query parameter is required for raw upload")
            uploads.append((given, await request.read()))
        else:
            reader = await request.multipart()
            async for part in reader:
                if isinstance(part, BodyPartReader) and part.name == "file":
                    uploads.append((given or part.filename or "", bytes(await part.read())))
        written = []
        for name, data in uploads:
            path = self.resolve(name)
            try:
                os.makedirs(os.path.dirname(path), exist_ok=True)
            except OSError as exc:
                return self.http_error(500, f"error ensuring directories: {exc}")
            if os.path.isdir(path):
                return self.http_error(400, f"path is a directory: {path}")
            Path(path).write_bytes(data)
            written.append({"path": path, "name": os.path.basename(path), "type": "file"})
        return web.json_response(written)

    # -- envd: Connect-RPC (JSON codec) --------------------------------------------------

    async def unary(self, request: web.Request) -> web.Response:
        method = self.rpc.get(f"{request.match_info['service']}/{request.match_info['method']}")
        try:
            if method is None:
                raise RpcError("unimplemented", f"{request.path} is not implemented here")
            reply = await method(json.loads(await request.read() or b"{}"))
        except RpcError as exc:
            error = {"code": exc.code, "message": exc.message}
            return web.json_response(error, status=RPC_STATUS[exc.code])
        return web.json_response(reply)

    async def list_dir(self, message: Json) -> Json:
        requested = self.resolve(message.get("path", ""))
        depth = int(message.get("depth") or 1)
        if not os.path.exists(requested):
            raise RpcError("not_found", f"path not found: {requested}")
        if not os.path.isdir(requested):
            raise RpcError("invalid_argument", f"path is not a directory: {requested}")
        entries = []
        for root, dirs, files in os.walk(requested):
            level = os.path.relpath(root, requested).count(os.sep) + (root != requested)
            entries += [entry_info(os.path.join(root, name)) for name in dirs + files]
            if level + 1 >= depth:
                dirs.clear()
        return {"entries": entries}

    async def stat(self, message: Json) -> Json:
        path = self.resolve(message.get("path", ""))
        if not os.path.lexists(path):
            raise RpcError("not_found", f"file not found: {path}")
        return {"entry": entry_info(path)}

    async def make_dir(self, message: Json) -> Json:
        path = self.resolve(message.get("path", ""))
        if os.path.isdir(path):
            raise RpcError("already_exists", f"directory already exists: {path}")
        if os.path.lexists(path):
            raise RpcError(
                "invalid_argument", f"path already exists but is not a directory: {path}"
            )
        os.makedirs(path)
        return {"entry": entry_info(path)}

    async def send_signal(self, message: Json) -> Json:
        pid = int(message.get("process", {}).get("pid", 0))
        process = self.processes.get(pid)
        if process is None:
            raise RpcError("not_found", f"process with pid {pid} not found")
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(SIGNALS[message.get("signal", "SIGNAL_SIGKILL")])
        return {}

    async def start_process(self, request: web.Request) -> web.StreamResponse:
        """`Process/Start`: enveloped request, then start, data and end events, then the end."""
        body = await request.read()
        (size,) = struct.unpack(">I", body[1:5])
        config = json.loads(body[5 : 5 + size]).get("process", {})
        stream = web.StreamResponse(headers={"Content-Type": "application/connect+json"})
        await stream.prepare(request)
        cwd = self.resolve(config.get("cwd") or self.home)
        if not os.path.isdir(cwd):
            error = {"code": "invalid_argument", "message": f"cwd '{cwd}' is not a directory"}
            await stream.write(envelope({"error": error}, END_STREAM))
            return stream
        env = {k: v for k, v in os.environ.items() if k not in ("PWD", "OLDPWD")}
        process = await asyncio.create_subprocess_exec(
            config.get("cmd", "/bin/bash"),
            *config.get("args", []),
            cwd=cwd,
            env={**env, **config.get("envs", {})},
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        self.processes[process.pid] = process
        await stream.write(envelope({"event": {"start": {"pid": process.pid}}}))
        output: asyncio.Queue[tuple[str, bytes] | None] = asyncio.Queue()

        async def pump(name: str, pipe: asyncio.StreamReader) -> None:
            while chunk := await pipe.read(65536):
                await output.put((name, chunk))
            await output.put(None)

        assert process.stdout is not None and process.stderr is not None
        pumps = [
            asyncio.ensure_future(pump("stdout", process.stdout)),
            asyncio.ensure_future(pump("stderr", process.stderr)),
        ]
        try:
            open_pipes = 2
            while open_pipes:  # like envd: the command ends when its output closes
                item = await output.get()
                if item is None:
                    open_pipes -= 1
                    continue
                data = base64.b64encode(item[1]).decode()
                await stream.write(envelope({"event": {"data": {item[0]: data}}}))
            code = await process.wait()
        finally:
            for task in pumps:
                task.cancel()
        self.processes.pop(process.pid, None)
        status = f"exit status {code}" if code >= 0 else f"signal: {signal.Signals(-code).name}"
        end: Json = {"exitCode": max(code, -1), "exited": code >= 0, "status": status}
        if code:
            end["error"] = status
        await stream.write(envelope({"event": {"end": end}}))
        await stream.write(envelope({}, END_STREAM))
        return stream

    # -- the code interpreter ------------------------------------------------------------

    async def create_context(self, request: web.Request) -> web.Response:
        body = await request.json()
        language = body.get("language") or "python"
        cwd = body.get("cwd") or self.home
        if language != "python":
            return web.Response(status=400, text=f"no kernel for {language!r} here")
        if not os.path.isdir(cwd):
            return web.Response(status=400, text=f"the directory {cwd} does not exist")
        kernel = await self.take_kernel(cwd)
        self.kernels[kernel.id] = kernel
        return web.json_response({"id": kernel.id, "language": language, "cwd": cwd})

    async def remove_context(self, request: web.Request) -> web.Response:
        kernel = self.kernels.pop(request.match_info["id"], None)
        if kernel is None:
            return web.Response(status=404, text=f"Context {request.match_info['id']} not found")
        await kernel.stop()
        return web.Response(status=204)

    async def execute(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        context_id = body.get("context_id")
        if context_id is None:  # the default context: created on first use, kept
            if "default" not in self.kernels:
                self.kernels["default"] = await self.take_kernel(self.home)
            context_id = "default"
        kernel = self.kernels.get(context_id)
        if kernel is None:
            return web.Response(status=404, text=f"Context {context_id} not found")
        stream = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        await stream.prepare(request)
        async with kernel.lock:
            async for event in kernel.execute(body["code"]):
                await stream.write(json.dumps(event).encode() + b"\n")
        return stream


class FakeE2BServer:
    """`FakeE2B` served on 127.0.0.1 from a thread of its own, for synchronous fixtures."""

    def __init__(self, home: str) -> None:
        self.fake = FakeE2B(home)
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner = web.AppRunner(self.fake.app, handler_cancellation=True, access_log=None)

    def _call(self, work: Awaitable[Any], timeout: float = 120) -> Any:
        async def run() -> Any:
            return await work

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout)

    def start(self, port: int = 0) -> str:
        """Serve on `port` of 127.0.0.1 (0: a free one) and return the URL."""
        self._thread.start()

        async def serve() -> int:
            await self._runner.setup()
            await web.TCPSite(self._runner, "127.0.0.1", port).start()
            return int(self._runner.addresses[0][1])

        self.url = f"http://127.0.0.1:{self._call(serve())}"
        return self.url

    @property
    def requests(self) -> list[str]:
        return self.fake.requests

    def reset(self) -> None:
        self._call(self.fake.reset())

    def stop(self) -> None:
        if self._thread.is_alive():
            self._call(self.fake.close())
            self._call(self._runner.cleanup())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
