"""The viewer's pages: runs, a run (live while it runs), eval folders; and `serve`."""

from __future__ import annotations

import asyncio
import math
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from sse_starlette import EventSourceResponse
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from codehelm.errors import RunNotFoundError
from codehelm.evals.report import ALL, calibrate, summarize
from codehelm.evals.runner import EvalRecord, read_records
from codehelm.runtime.trace import RunRecord, TraceEvent
from codehelm.ui import approvals, details, live
from codehelm.ui.graph import mermaid
from codehelm.ui.render import Steps, environment, pygments_css
from codehelm.ui.security import TokenGate, is_loopback
from codehelm.ui.stores import HOME, Stores

PAGE_SIZE = 50
STATUSES = ("running", "paused", "done", "stopped", "failed", "interrupted")
INTERNAL_CALLS = ("snapshot",)  # tool calls shown only with ?all=1, as `codehelm show --all`
HERE = Path(__file__).parent


class Viewer:
    """The pages over `stores`; `secret` guards the approval form against other sites.

    A handler never blocks the event loop (and so every other page and live stream): the
    stores, checkpoints and eval files are read in a worker thread, each store opened, read
    and closed within the one thread call (a SQLite connection stays in its thread)."""

    def __init__(self, stores: Stores, secret: str) -> None:
        self.stores, self.secret = stores, secret
        self.env = environment()
        for template in self.env.list_templates():  # loaded now, not from a handler
            self.env.get_template(template)
        self.templates = Jinja2Templates(env=self.env)
        self.steps = Steps(self.env)

    def page(
        self, request: Request, template: str, http_status: int = 200, /, **context: Any
    ) -> Response:
        return self.templates.TemplateResponse(request, template, context, status_code=http_status)

    async def runs(self, request: Request) -> Response:
        query = request.query_params
        store_name = query.get("store", HOME)
        search, status = query.get("q", "").strip(), query.get("status") or None
        asked = query.get("page", "")
        page = int(asked) if asked.isdigit() and int(asked) > 0 else 1
        if store_name not in self.stores.names() or status not in (None, *STATUSES):
            raise HTTPException(400, "unknown store or status")

        def read() -> tuple[list[RunRecord], int, dict[str, tuple[str | None, int]]]:
            with self.stores.open(store_name) as store:
                if store is None:
                    return [], 0, {}
                offset = (page - 1) * PAGE_SIZE
                records, total = store.find_runs(
                    search=search, status=status, limit=PAGE_SIZE, offset=offset
                )
                return records, total, store.run_digests([r.run_id for r in records])

        records, total, digests = await asyncio.to_thread(read)
        return self.page(
            request,
            "runs.html",
            records=records,
            digests=digests,
            total=total,
            page=page,
            pages=max(1, math.ceil(total / PAGE_SIZE)),
            search=search,
            status=status or "",
            statuses=STATUSES,
            store=store_name,
            stores=self.stores.names(),
        )

    async def run(self, request: Request) -> Response:
        run_id = request.path_params["run_id"]
        everything = request.query_params.get("all") == "1"

        def read() -> tuple[str, RunRecord, list[TraceEvent], tuple[str | None, int], str | None]:
            name = self.stores.holding(run_id)
            with self.stores.open(name) as store:
                assert store is not None
                record = store.get_run(run_id)
                events = store.events(run_id)
                digest = store.run_digests([run_id])[run_id]
            return name, record, events, digest, mermaid(record, events)  # may import a graph

        name, record, events, digest, graph = await asyncio.to_thread(read)
        settings = self.stores.settings(name)
        research = fix = pending = None
        if record.kind.endswith(":research_graph"):
            research = await details.research(settings, run_id)
        elif record.kind.endswith(":fix_graph"):
            fix = await details.fix(settings, record)
        if record.status == "paused":
            pending = await details.pending_approval(settings, run_id)
        shown = [e for e in events if everything or e.name not in INTERNAL_CALLS]
        return self.page(
            request,
            "run.html",
            record=record,
            digest=digest,
            steps=[self.steps.html(name, e) for e in shown],
            after=events[-1].id if events else 0,
            everything=everything,
            graph=graph,
            research=research,
            fix=fix,
            pending=pending,
            secret=self.secret,
        )

    async def stream(self, request: Request) -> Response:
        run_id = request.path_params["run_id"]
        name = await asyncio.to_thread(self.stores.holding, run_id)
        everything = request.query_params.get("all") == "1"
        after = int(request.query_params.get("after", "0") or 0)
        head = self.env.get_template("run_head.html")

        def step_html(event: TraceEvent) -> str | None:
            hidden = not everything and event.name in INTERNAL_CALLS
            return None if hidden else str(self.steps.html(name, event))

        def head_html(record: RunRecord, digest: tuple[str | None, int]) -> str:
            return head.render(record=record, digest=digest)

        updates = live.updates(self.stores, name, run_id, after, step_html, head_html)
        return EventSourceResponse(updates, ping=15)

    async def call(self, request: Request) -> Response:
        """A model call's prompt and reply, which the run page loads when opened."""
        run_id, event_id = request.path_params["run_id"], int(request.path_params["event_id"])

        def read() -> list[TraceEvent]:
            with self.stores.open(self.stores.holding(run_id)) as store:
                assert store is not None
                return store.events(run_id, after=event_id - 1, limit=1)

        found = await asyncio.to_thread(read)
        if not found or found[0].id != event_id:
            raise HTTPException(404, f"run {run_id} has no event {event_id}")
        return self.page(request, "call.html", event=found[0])

    async def approve(self, request: Request) -> Response:
        run_id = request.path_params["run_id"]
        form = dict(parse_qsl((await request.body()).decode()))  # a plain urlencoded form

        def check_paused(name: str) -> None:
            with self.stores.open(name) as store:
                assert store is not None
                if store.get_run(run_id).status != "paused":
                    raise HTTPException(409, f"run {run_id} is not waiting for an approval")

        name = await asyncio.to_thread(self.stores.holding, run_id)
        if not secrets.compare_digest(form.get("secret", ""), self.secret):
            raise HTTPException(403, "the form is not from this viewer")
        await asyncio.to_thread(check_paused, name)
        try:
            fields = approvals.decision(form)
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from None
        approvals.resume_with(self.stores.settings(name), run_id, fields)
        return RedirectResponse(f"/runs/{run_id}", 303)

    async def evals(self, request: Request) -> Response:

        def count() -> dict[str, int]:
            return {
                name: len(read_records(path / "runs.jsonl")) for name, path in self.eval_folders()
            }

        folders = await asyncio.to_thread(count)
        return self.page(request, "evals.html", folders=folders)

    async def eval(self, request: Request) -> Response:
        name, folder = self.eval_folder(request)

        def read() -> dict[str, Any]:
            records = read_records(folder / "runs.jsonl")
            return {
                "rows": summarize(records),
                "calibration": calibrate(records),
                "chart": (folder / "accuracy_vs_tokens.png").is_file(),
            }

        report = await asyncio.to_thread(read)
        return self.page(request, "eval.html", name=name, folder=folder, everything=ALL, **report)

    async def eval_records(self, request: Request) -> Response:
        name, folder = self.eval_folder(request)
        family, mode = request.query_params.get("family", ALL), request.query_params.get("mode")

        def read() -> list[EvalRecord]:
            return [
                r
                for r in read_records(folder / "runs.jsonl")
                if family in (ALL, r.family) and mode in (None, r.mode)
            ]

        records = await asyncio.to_thread(read)
        return self.page(
            request, "eval_records.html", name=name, family=family, mode=mode, records=records
        )

    async def eval_chart(self, request: Request) -> Response:
        _, folder = self.eval_folder(request)
        chart = folder / "accuracy_vs_tokens.png"
        if not await asyncio.to_thread(chart.is_file):
            raise HTTPException(404, "this eval has no chart yet")
        return FileResponse(chart, media_type="image/png")  # no guess: it reads files

    def eval_folders(self) -> list[tuple[str, Path]]:
        return sorted(self.stores.evals.items())

    def eval_folder(self, request: Request) -> tuple[str, Path]:
        name = request.path_params["name"]
        if name not in self.stores.evals:
            raise HTTPException(404, f"no eval folder named {name!r}")
        return name, self.stores.evals[name]

    async def not_found(self, request: Request, exc: Exception) -> Response:
        return self.page(request, "error.html", 404, message=str(exc))


def create_app(stores: Stores, *, host: str = "127.0.0.1", token: str | None = None) -> Starlette:
    """The viewer over `stores`, for a server bound to `host`: on a loopback address only
    requests naming this machine are served; elsewhere only those carrying `token`."""
    viewer = Viewer(stores, token or secrets.token_urlsafe(24))
    middleware = []
    if is_loopback(host):
        hosts = ["127.0.0.1", "localhost", "[::1]", host]
        middleware.append(Middleware(TrustedHostMiddleware, allowed_hosts=hosts))
    elif token is None:
        raise ValueError(f"serving on {host}, which is not a loopback address, needs a token")
    else:
        middleware.append(Middleware(TokenGate, token=token))

    async def styles(request: Request) -> Response:
        return Response(pygments_css(), media_type="text/css")

    routes = [
        Route("/", lambda request: RedirectResponse("/runs", 303)),
        Route("/runs", viewer.runs),
        Route("/runs/{run_id}", viewer.run),
        Route("/runs/{run_id}/stream", viewer.stream),
        Route("/runs/{run_id}/events/{event_id:int}", viewer.call),
        Route("/runs/{run_id}/approval", viewer.approve, methods=["POST"]),
        Route("/evals", viewer.evals),
        Route("/evals/{name}", viewer.eval),
        Route("/evals/{name}/records", viewer.eval_records),
        Route("/evals/{name}/chart.png", viewer.eval_chart),
        Route("/pygments.css", styles),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    return Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={RunNotFoundError: viewer.not_found},
    )


async def serve(stores: Stores, *, host: str, port: int, token: str | None) -> None:
    """Serve the viewer until interrupted."""
    import uvicorn

    app = create_app(stores, host=host, token=token)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
    await server.serve()
