"""The Python worker behind `LocalSandbox`: one persistent interpreter driven over pipes.

The sandbox starts this file as a script with the protocol on the worker's stdin and
stdout. The worker first moves the protocol to private (non-inheritable) descriptors and
points fds 0/1/2 at /dev/null and two capture pipes, so nothing that user code or the
processes it spawns print can corrupt the protocol; what they print is still captured.

Protocol: every message is a 4-byte big-endian length, then that many bytes.
The worker sends {"ready": <pid>} once, then answers each request with a reply, both JSON:
{"stdout": str, "stderr": str, "results": [str],
 "error": null | {"name": str, "value": str, "traceback": str}}.
Requests {"code": str, "max_chars": int} come from the host, which is trusted, in the
faster `marshal` format of the same interpreter. It exits when its stdin closes.

Standard library only: it runs in the sandbox's interpreter, where codehelm itself may
not be importable. The one piece it shares with the host, output capping (output.py), is
compiled by the host beside this file and loaded from there (`load_output`). It starts with
`python -S` and imports only built-in modules up front, so a fresh worker is ready in a
few milliseconds; `--site DIR` arguments name the site-packages directories to put on
`sys.path` (their .pth files are processed, except editable-install finders, whose
sources are outside the sandbox).
"""

import _ast
import _json
import _signal
import _sitebuiltins
import _thread
import builtins
import codecs
import io
import marshal
import os
import select
import struct
import sys
import types

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from codehelm.tools.sandbox import output
else:
    output = types.ModuleType("output")  # filled in by `load_output` at start

HEADER = struct.Struct(">I")
CELL_PREFIX = "<cell-"  # filename of the code of each execution: <cell-1>, <cell-2>, ...
SKIPPED_PTH = ("__editable__",)  # .pth import lines not run in the sandbox
OUTPUT_FILE = "output.pyc"  # output.py, compiled by the host beside this worker
SOURCES: "dict[str, tuple[int, None, list[str], str]]" = {}  # linecache entries of the cells


class LinecacheHook:
    """Hands the cells' sources to `linecache` when something first imports it.

    Tracebacks and `inspect.getsource` find a cell's code through `linecache`, but
    importing it up front would cost the worker's start more than everything else.
    """

    @staticmethod
    def find_spec(name: str, path: "Any" = None, target: "Any" = None) -> "Any":
        if name != "linecache":
            return None
        sys.meta_path.remove(LinecacheHook)
        spec: Any = None
        for finder in sys.meta_path:
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                break
        else:
            return None
        load = spec.loader.exec_module

        def exec_module(module: types.ModuleType) -> None:
            load(module)
            module.cache.update(SOURCES)

        spec.loader.exec_module = exec_module
        return spec


class Capture(io.TextIOBase):
    """Stands in for sys.stdout / sys.stderr; writes land in the worker's current buffer.

    The same object stays installed across executions, so loggers and handlers that
    captured `sys.stderr` in one cell keep being captured in later ones.
    """

    encoding = "utf-8"

    def __init__(self, worker: "Worker", fd: int) -> None:
        self._worker = worker
        self._fd = fd

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return self._fd  # the capture pipe: child processes given this fd are captured too

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        self._worker.write(self._fd, text)
        return len(text)


class Worker:
    """The interpreter state (one `__main__` namespace) and the output capture around it."""

    def __init__(self, out_read: int, err_read: int) -> None:
        self.lock = _thread.allocate_lock()  # guards buffers and decoders (shared with the pump)
        self.pipes = {1: out_read, 2: err_read}
        self.decoders = {fd: codecs.getincrementaldecoder("utf-8")("replace") for fd in (1, 2)}
        self.buffers = {fd: output.CappedText(0) for fd in (1, 2)}
        self.stdout = Capture(self, 1)
        self.stderr = Capture(self, 2)
        self.cells = 0
        self.forked = False
        os.register_at_fork(after_in_child=self.after_fork)
        # User code runs in a fresh __main__ module, as in a notebook, so pickle and
        # multiprocessing resolve classes defined by the user.
        main = types.ModuleType("__main__")
        main.__dict__["__builtins__"] = builtins
        self.worker_module = sys.modules["__main__"]
        sys.modules["__main__"] = main
        self.namespace = main.__dict__
        _thread.start_new_thread(self.pump, ())

    def after_fork(self) -> None:
        # The pump thread is gone in the child and the lock may be held forever.
        self.forked = True

    def drain(self, fd: int) -> None:
        """Move whatever child processes wrote to fd 1/2 into the buffer. Hold the lock."""
        while True:
            try:
                chunk = os.read(self.pipes[fd], 65536)
            except BlockingIOError:
                return
            if not chunk:
                return
            self.buffers[fd].add(self.decoders[fd].decode(chunk))

    def write(self, fd: int, text: str) -> None:
        if self.forked:  # a fork()ed child: hand the text to the parent's capture pipe
            os.write(fd, text.encode("utf-8", "replace"))
            return
        with self.lock:
            self.drain(fd)  # keeps order with output of child processes that already ran
            self.buffers[fd].add(text)

    def pump(self) -> None:
        """Keep the capture pipes empty, so chatty child processes never block."""
        poller = select.poll()
        fds = {}
        for fd, pipe in self.pipes.items():
            poller.register(pipe, select.POLLIN)
            fds[pipe] = fd
        while True:
            for pipe, _ in poller.poll():
                with self.lock:
                    self.drain(fds[pipe])

    def execute(self, code: str, max_chars: int) -> "dict[str, Any]":
        with self.lock:
            for fd in (1, 2):
                self.drain(fd)  # output written between executions is dropped
                self.buffers[fd] = output.CappedText(max_chars)
        sys.stdout, sys.stderr = self.stdout, self.stderr
        results: list[str] = []
        error = None
        try:
            value = self.run(code)
            if value is not None:
                results.append(output.clip(repr(value), max_chars))
        except BaseException as exc:  # the user's SystemExit and KeyboardInterrupt too
            error = describe(exc, max_chars)
        with self.lock:
            for fd in (1, 2):
                self.drain(fd)
            stdout, stderr = self.buffers[1].text(), self.buffers[2].text()
        return {"stdout": stdout, "stderr": stderr, "results": results, "error": error}

    def run(self, code: str) -> "Any":
        """Run a cell; if its last statement is an expression, return that value."""
        self.cells += 1
        filename = f"{CELL_PREFIX}{self.cells}>"
        entry = (len(code), None, code.splitlines(True), filename)
        SOURCES[filename] = entry
        linecache = sys.modules.get("linecache")
        if linecache is not None:
            linecache.cache[filename] = entry
        tree: Any = compile(code, filename, "exec", _ast.PyCF_ONLY_AST, dont_inherit=True)
        last = None
        if tree.body and isinstance(tree.body[-1], _ast.Expr):
            last = _ast.Expression(tree.body[-1].value)
            del tree.body[-1]
        exec(compile(tree, filename, "exec", dont_inherit=True), self.namespace)
        if last is None:
            return None
        return eval(compile(last, filename, "eval", dont_inherit=True), self.namespace)


def describe(exc: BaseException, max_chars: int) -> "dict[str, str]":
    """Name, message and traceback of `exc`, starting at the user's code.

    Frames before the first cell frame belong to the worker (or to `compile` for a
    syntax error, whose location is shown from the exception itself) and are dropped.
    """
    import traceback  # only needed for errors; keeps the worker's start fast

    tb = exc.__traceback__
    while tb is not None and not tb.tb_frame.f_code.co_filename.startswith(CELL_PREFIX):
        tb = tb.tb_next
    try:
        value = str(exc)
    except Exception:
        value = "<exception str() failed>"
    text = "".join(traceback.format_exception(type(exc), exc, tb))
    return {
        "name": type(exc).__name__,
        "value": output.clip(value, max_chars),
        "traceback": output.clip(text, max_chars),
    }


def to_json(value: object) -> str:
    """JSON for the reply's few types, with the C string encoder (no `json` import)."""
    if value is None:
        return "null"
    if isinstance(value, str):
        return str(_json.encode_basestring(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ",".join(to_json(item) for item in value) + "]"
    if isinstance(value, dict):
        items = (to_json(str(key)) + ":" + to_json(item) for key, item in value.items())
        return "{" + ",".join(items) + "}"
    raise TypeError(f"cannot encode {type(value).__name__}")


def send(fd: int, message: "dict[str, Any]") -> None:
    # "replace": lone surrogates (e.g. from os.fsdecode) become "?" instead of failing.
    data = to_json(message).encode("utf-8", "replace")
    view = memoryview(HEADER.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view) :]


def add_site_dir(path: str) -> None:
    """Put a site-packages directory on sys.path and process its .pth files, as `site` does."""
    if not os.path.isdir(path) or path in sys.path:
        return
    sys.path.append(path)
    try:
        names = sorted(n for n in os.listdir(path) if n.endswith(".pth") and n[0] != ".")
    except OSError:
        return
    for name in names:
        try:
            with open(os.path.join(path, name), encoding="utf-8", errors="replace") as f:
                lines = f.read().splitlines()
        except OSError:
            continue
        for line in lines:
            if not line.strip() or line.startswith("#"):
                continue
            if line.startswith(("import ", "import\t")):
                if not any(marker in line for marker in SKIPPED_PTH):
                    try:  # noqa: SIM105 (contextlib would slow the start)
                        exec(line)
                    except Exception:
                        pass  # like `site`, a broken .pth line must not stop the interpreter
                continue
            entry = os.path.join(path, line.rstrip())
            if entry not in sys.path and os.path.exists(entry):
                sys.path.append(entry)


def load_output(directory: str) -> None:
    """Run the compiled output.py found in `directory` into the `output` module.

    codehelm is not importable in the sandbox, so the host compiles output.py beside the
    worker. Executing its code object into a module of our own keeps it off sys.path and
    out of sys.modules (user code cannot import it) and costs no import machinery.
    """
    with open(os.path.join(directory, OUTPUT_FILE), "rb") as handle:
        handle.seek(16)  # the .pyc header (PEP 552); the same interpreter wrote it
        code = marshal.load(handle)
    exec(code, output.__dict__)


def install_site_builtins() -> None:
    """exit(), quit(), help() and copyright, which `site` would add (we run with -S)."""
    builtins.exit = _sitebuiltins.Quitter("exit", "Ctrl-D (i.e. EOF)")
    builtins.quit = _sitebuiltins.Quitter("quit", "Ctrl-D (i.e. EOF)")
    builtins.help = _sitebuiltins._Helper()
    builtins.copyright = _sitebuiltins._Printer("copyright", sys.copyright)


def main(argv: "list[str]") -> None:
    load_output(os.path.dirname(__file__))
    # The sandbox interrupts a timed-out cell with SIGINT to collect its partial output.
    _signal.signal(_signal.SIGINT, _signal.default_int_handler)
    if "linecache" not in sys.modules:
        sys.meta_path.insert(0, LinecacheHook)
    install_site_builtins()
    for index, flag in enumerate(argv[:-1]):
        if flag == "--site":
            add_site_dir(argv[index + 1])
    requests = os.fdopen(os.dup(0), "rb")  # os.dup: not inherited by child processes
    replies = os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.close(null)
    pipes = []
    for fd in (1, 2):
        read_end, write_end = os.pipe()
        os.dup2(write_end, fd)
        os.close(write_end)
        os.set_blocking(read_end, False)
        pipes.append(read_end)
    sys.path.insert(0, "")  # import modules from the workspace, like a notebook
    worker = Worker(*pipes)
    # Exercise the execution path once (AST types, compile, capture, JSON), so the first
    # real cell costs what later ones do: a pre-warmed sandbox answers at once.
    to_json(worker.execute("None", 0))
    worker.cells = 0
    SOURCES.clear()
    send(replies, {"ready": os.getpid()})
    while True:
        header = requests.read(HEADER.size)
        if len(header) < HEADER.size:
            return
        (size,) = HEADER.unpack(header)
        request = marshal.loads(requests.read(size))
        send(replies, worker.execute(request["code"], request["max_chars"]))


if __name__ == "__main__":
    main(sys.argv[1:])
