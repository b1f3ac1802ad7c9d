"""The `codehelm` command. Heavy modules (litellm, langgraph) are imported inside commands,
so `codehelm --help` stays fast."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import sys
import warnings
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer
from rich.console import Console
from rich.markdown import Markdown
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from codehelm.config import Settings
    from codehelm.runtime.runner import RunResult
    from codehelm.runtime.trace import TraceStore

app = typer.Typer(
    help="codehelm: teams of code-using LLM agents, steered between code and text, verified.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
PAUSED = 3  # exit code of a run that waits for a person's approval
INTERNAL_CALLS = ("snapshot",)  # tool calls `show` lists only with --all
out = Console()
err = Console(stderr=True)

HomeOption = Annotated[
    Path | None,
    typer.Option("--home", help="Run store directory [env CODEHELM_HOME; default ~/.codehelm]."),
]
CheckpointsOption = Annotated[
    str | None,
    typer.Option(
        "--checkpoints",
        help="A PostgreSQL URL (postgres://USER:PASSWORD@HOST:PORT/DB) keeping checkpoints and"
        " traces, shared by many processes and machines [env CODEHELM_DATABASE_URL;"
        " default: SQLite files in --home].",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
DebugOption = Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")]


def _show_version(wanted: bool) -> None:
    if wanted:
        from importlib.metadata import version

        out.print(f"codehelm {version('codehelm')}")
        raise typer.Exit()


@app.callback()
def options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """codehelm: teams of code-using LLM agents, steered between code and text, verified."""


def _settings(**overrides: Any) -> Settings:
    from pydantic import ValidationError

    from codehelm.config import Settings
    from codehelm.errors import ConfigError

    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"invalid setting {where}: {first['msg']}") from exc


def _show_warning(message: Warning | str, *_: Any, **__: Any) -> None:
    """Warnings as one line on stderr, without the source line Python adds."""
    err.print(f"[yellow]warning:[/yellow] {escape(str(message))}", soft_wrap=True)


def _run(
    command: Callable[[], Coroutine[Any, Any, int]], debug: bool, run_id: str | None = "RUN_ID"
) -> None:
    """Run a command; map errors to one line on stderr and an exit code (2 bad input, 1 failed)."""
    from codehelm.errors import CodehelmError

    warnings.showwarning = _show_warning
    try:
        code = asyncio.run(command())
    except CodehelmError as exc:
        if debug:
            err.print_exception()
        err.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        again = (
            f"`codehelm resume {run_id}` continues the run" if run_id else "run it again to go on"
        )
        err.print(f"[yellow]interrupted[/yellow]: {again}")
        raise typer.Exit(130) from None
    except Exception as exc:
        if debug:
            err.print_exception()
        err.print(
            f"[red]error:[/red] {type(exc).__name__}: {escape(str(exc))} (--debug for details)",
            soft_wrap=True,
        )
        raise typer.Exit(1) from None
    raise typer.Exit(code)


@app.command()
def solve(
    task: Annotated[
        str,
        typer.Argument(
            help="What to solve, e.g. 'What is 3847 * 2931?'; @FILE reads it from a file,"
            " - from standard input."
        ),
    ],
    model: Annotated[
        str | None,
        typer.Option(help="litellm model string, local/smollm2, or scripted:FILE.json."),
    ] = None,
    api_base: Annotated[
        str | None,
        typer.Option(help="OpenAI-compatible server URL for 'openai/NAME' models, e.g. vLLM."),
    ] = None,
    steer: Annotated[
        str | None,
        typer.Option(help="Code/text steering: steer, plan, code, text, self-estimate."),
    ] = None,
    sandbox: Annotated[
        str | None,
        typer.Option(help="Where code runs: local, e2b (needs E2B_API_KEY), or a registered name."),
    ] = None,
    max_steps: Annotated[int | None, typer.Option(help="Agent steps per run.")] = None,
    max_tokens: Annotated[int | None, typer.Option(help="Tokens per run.")] = None,
    max_seconds: Annotated[float | None, typer.Option(help="Wall time per run.")] = None,
    max_cost: Annotated[float | None, typer.Option(help="Dollars per run.")] = None,
    approve: Annotated[
        bool, typer.Option("--approve", help="Show each program and ask before it runs.")
    ] = False,
    candidates: Annotated[
        int | None,
        typer.Option(help="Programs per code step, chosen by execution with generated checks."),
    ] = None,
    selector: Annotated[
        str | None,
        typer.Option(help="How --candidates programs are chosen: codet or b4."),
    ] = None,
    home: HomeOption = None,
    checkpoints: CheckpointsOption = None,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Solve a reasoning or computation task: plan, code or reason, verify, answer."""

    from codehelm.messages import new_id

    run_id = new_id()

    async def command() -> int:
        from codehelm.runtime.runner import solve as run_solve

        prompt = _read_task(task)
        settings = _settings(
            model=model,
            api_base=api_base,
            steer=steer,
            sandbox=sandbox,
            max_steps=max_steps,
            max_tokens=max_tokens,
            max_seconds=max_seconds,
            max_cost_usd=max_cost,
            approve=approve or None,
            candidates=candidates,
            selector=selector,
            home=home,
            database_url=checkpoints,
        )
        with Progress(live=not as_json) as progress:
            result = await run_solve(
                prompt,
                settings=settings,
                run_id=run_id,
                on_update=progress,
                on_approval=progress.ask,
            )
        return _report(result, as_json)

    _run(command, debug, run_id)


@app.command()
def research(
    question: Annotated[
        str,
        typer.Argument(help="What to research; @FILE reads it from a file, - from standard input."),
    ],
    corpus: Annotated[
        Path | None, typer.Option(help="A folder of HTML, Markdown, text and PDF files to search.")
    ] = None,
    search: Annotated[
        str | None, typer.Option(help="Where to search: corpus (default), searxng, ddgs, tavily.")
    ] = None,
    searxng_url: Annotated[str | None, typer.Option(help="SearXNG's base URL.")] = None,
    allow_host: Annotated[
        list[str] | None,
        typer.Option(help="A private host the fetcher may reach (repeatable), e.g. 127.0.0.1."),
    ] = None,
    report: Annotated[
        Path | None, typer.Option("--out", help="Write the report (Markdown) to this file.")
    ] = None,
    model: Annotated[str | None, typer.Option(help="litellm model string, as for solve.")] = None,
    api_base: Annotated[str | None, typer.Option(help="OpenAI-compatible server URL.")] = None,
    max_steps: Annotated[int | None, typer.Option(help="Agent steps.")] = None,
    max_tokens: Annotated[int | None, typer.Option(help="Tokens.")] = None,
    max_seconds: Annotated[float | None, typer.Option(help="Wall-clock seconds.")] = None,
    max_cost: Annotated[float | None, typer.Option(help="Dollars, where prices are known.")] = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Research a question in a corpus or on the web: a cited report, or an abstention."""

    from codehelm.messages import new_id

    run_id = new_id()

    async def command() -> int:
        from codehelm.runtime.research import research as run_research

        settings = _settings(
            corpus=corpus,
            search=search,
            searxng_url=searxng_url,
            allow_hosts=allow_host,
            model=model,
            api_base=api_base,
            max_steps=max_steps,
            max_tokens=max_tokens,
            max_seconds=max_seconds,
            max_cost_usd=max_cost,
            home=home,
        )
        with Progress(live=not as_json) as progress:
            result = await run_research(
                _read_task(question), settings=settings, run_id=run_id, on_update=progress
            )
        if report is not None and result.answer is not None:
            report.write_text(result.answer, encoding="utf-8")
        if as_json:
            fields = {"run_id", "answer", "abstained", "citations", "mindmap", "stop_reason"}
            data = result.model_dump(mode="json", include=fields | {"usage"})
            out.print_json(json.dumps(data))
            return 0 if result.answer else 1
        if result.answer is None:
            out.print(f"[bold red]No report.[/bold red] {escape(result.stop_reason or '')}")
        elif report is None:
            out.print(Markdown(result.answer))
        usage = result.usage
        cost = f"${usage.cost_usd:.4f}" if usage.cost_usd is not None else "cost unknown"
        written = [f"report {report}"] if report is not None and result.answer else []
        written += [f"mind map {result.mindmap}"] if result.mindmap else []
        err.print(
            f"[dim]{result.status} ({result.stop_reason}) · run {result.run_id}"
            f" · {len(result.citations)} citations · {usage.total_tokens} tokens · {cost}"
            f" · {result.wall_s:.1f} s{''.join(' · ' + w for w in written)}[/dim]"
        )
        return 0 if result.answer else 1

    _run(command, debug, run_id)


@app.command()
def fix(
    repo: Annotated[Path, typer.Option(help="The repository's root (it is never edited).")],
    issue: Annotated[
        str, typer.Option(help="The issue; @FILE reads it from a file, - from standard input.")
    ],
    test_cmd: Annotated[
        str | None,
        typer.Option(help="The tests guarding against regressions [default: pytest, all]."),
    ] = None,
    patch_file: Annotated[
        Path | None,
        typer.Option("--out", help="Write the patch here [default: <home>/patches/<run>.patch]."),
    ] = None,
    candidates: Annotated[
        int | None, typer.Option(help="Candidate patches to make and test [default: 3].")
    ] = None,
    python: Annotated[
        str | None, typer.Option(help="Python version for the repository's virtualenv, e.g. 3.10.")
    ] = None,
    model: Annotated[str | None, typer.Option(help="litellm model string, as for solve.")] = None,
    api_base: Annotated[str | None, typer.Option(help="OpenAI-compatible server URL.")] = None,
    max_steps: Annotated[int | None, typer.Option(help="Agent steps.")] = None,
    max_tokens: Annotated[int | None, typer.Option(help="Tokens.")] = None,
    max_seconds: Annotated[float | None, typer.Option(help="Wall-clock seconds.")] = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Fix an issue in a repository: localise, reproduce, edit candidates, test, select.

    Exit 0 with a patch the tests verified, 1 with an unverified patch or none, 2 on bad input.
    """
    from codehelm.messages import new_id

    run_id = new_id()

    async def command() -> int:
        from codehelm.runtime.fix import fix as run_fix

        settings = _settings(
            model=model,
            api_base=api_base,
            fix_candidates=candidates,
            max_steps=max_steps,
            max_tokens=max_tokens,
            max_seconds=max_seconds,
            home=home,
        )
        with Progress(live=not as_json) as progress:
            result = await run_fix(
                repo,
                _read_task(issue),
                test_cmd=test_cmd,
                environment={"python": python} if python else None,
                settings=settings,
                run_id=run_id,
                on_update=progress,
            )
        written = None
        if result.patch is not None:
            written = patch_file or settings.home / "patches" / f"{result.run_id}.patch"
            written.parent.mkdir(parents=True, exist_ok=True)
            written.write_text(result.patch, encoding="utf-8")
        code = 0 if result.verdict == "pass" else 1
        if as_json:
            data = result.model_dump(mode="json")
            out.print_json(json.dumps({**data, "patch_file": str(written) if written else None}))
            return code
        if result.environment_error:
            err.print(f"[yellow]{escape(result.environment_error)}[/yellow]")
        if result.patch is None:
            out.print(f"[bold red]No patch.[/bold red] {escape(result.stop_reason or '')}")
        else:
            if out.is_terminal:
                from rich.syntax import Syntax

                out.print(Syntax(result.patch, "diff"))
            else:  # piped: the patch exactly, ready for `git apply`
                sys.stdout.write(result.patch)
            for check in result.checks:
                mark = "✓" if check.passed else "?" if check.passed is None else "✗"
                err.print(f"{mark} {check.name}: {escape(check.detail)}")
        usage = result.usage
        err.print(
            f"[dim]{result.status} ({result.stop_reason}) · run {result.run_id}"
            f" · {len(result.candidates)} candidates tested · {usage.total_tokens} tokens"
            f" · {result.wall_s:.1f} s{' · patch ' + str(written) if written else ''}[/dim]"
        )
        return code

    _run(command, debug, run_id)


@app.command()
def swebench(
    instances: Annotated[Path, typer.Option(help="SWE-bench instances: JSONL or parquet.")],
    repos: Annotated[
        Path, typer.Option(help="A folder with one clone per repository: <owner>__<name>.")
    ],
    predictions: Annotated[
        Path, typer.Option("--out", help="Predictions JSONL; instances already in it are skipped.")
    ],
    candidates: Annotated[
        int | None, typer.Option(help="Candidate patches per instance [default: 3].")
    ] = None,
    model: Annotated[str | None, typer.Option(help="litellm model string, as for solve.")] = None,
    api_base: Annotated[str | None, typer.Option(help="OpenAI-compatible server URL.")] = None,
    max_seconds: Annotated[float | None, typer.Option(help="Wall-clock seconds each.")] = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Write SWE-bench predictions with the fix graph (resumable); grade them with `grade`."""

    async def command() -> int:
        from codehelm.evals.swebench.instances import read_instances
        from codehelm.evals.swebench.predict import predict

        settings = _settings(
            model=model,
            api_base=api_base,
            fix_candidates=candidates,
            max_seconds=max_seconds,
            home=home,
        )

        def started(instance: Any) -> None:
            if not as_json:
                err.print(f"[cyan]●[/cyan] [bold]{instance.instance_id}[/bold] fixing…")

        def done(instance: Any, result: Any) -> None:
            if not as_json:
                patch = "no patch" if not result.patch else f"{result.verdict or 'untested'} patch"
                err.print(f"  {escape(patch)} · {escape(result.stop_reason or '')}")

        report = await predict(
            read_instances(instances),
            repos,
            predictions,
            settings=settings,
            on_start=started,
            on_done=done,
        )
        if as_json:
            out.print_json(report.model_dump_json())
        else:
            for instance_id, why in report.error.items():
                err.print(f"[yellow]{escape(instance_id)}[/yellow]: {escape(why)}")
            err.print(
                f"[dim]{len(report.written)} written, {len(report.skipped)} already there,"
                f" {len(report.error)} could not start · {predictions}[/dim]"
            )
        return 0 if not report.error else 1

    _run(command, debug, None)


@app.command(name="eval")
def evaluate(
    families: Annotated[
        str, typer.Option(help="Comma-separated task families, or 'all'.")
    ] = "multiplication,letters",
    n: Annotated[int, typer.Option(help="Items per family.")] = 10,
    seed: Annotated[int, typer.Option(help="Seed of the item generators.")] = 0,
    difficulty: Annotated[
        int | None, typer.Option(help="1-3; default cycles through all three.")
    ] = None,
    steer: Annotated[
        str, typer.Option(help="Comma-separated modes: steer, plan, code, text, self-estimate.")
    ] = "text,code,steer",
    model: Annotated[str | None, typer.Option(help="Model string, as for solve.")] = None,
    samples: Annotated[int, typer.Option(help="Runs per item, combined by weighted vote.")] = 1,
    concurrency: Annotated[int, typer.Option(help="Jobs at once.")] = 2,
    executor: Annotated[str, typer.Option(help="local, or ray to spread jobs over Ray.")] = "local",
    ray_address: Annotated[
        str | None, typer.Option(help="Ray cluster address (default: a local instance).")
    ] = None,
    out_dir: Annotated[
        Path, typer.Option("--out", help="Folder for runs.jsonl, report.md and the chart.")
    ] = Path("codehelm-eval"),
    max_steps: Annotated[int | None, typer.Option(help="Agent steps per run.")] = None,
    checkpoints: CheckpointsOption = None,
    debug: DebugOption = False,
) -> None:
    """Evaluate steering modes on generated tasks with exact checkers (resumable)."""

    async def command() -> int:
        from pydantic import ValidationError
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        from codehelm.errors import ConfigError
        from codehelm.evals.report import summarize, write_report
        from codehelm.evals.runner import EvalPlan, EvalRecord, run_eval
        from codehelm.evals.tasks import FAMILIES
        from codehelm.runtime.batch import Executor, make_batch_runner

        if importlib.util.find_spec("matplotlib") is None:  # before hours of runs, not after
            raise ConfigError(
                "codehelm eval draws its chart with matplotlib: pip install 'codehelm[eval]'"
            )
        settings = _settings(model=model, max_steps=max_steps, database_url=checkpoints)
        names = sorted(FAMILIES) if families == "all" else _split(families)
        unknown = [f for f in names if f not in FAMILIES]
        if unknown:
            raise ConfigError(f"unknown families {unknown}; known: {', '.join(sorted(FAMILIES))}")
        try:
            plan = EvalPlan.model_validate(
                {
                    "families": names,
                    "n": n,
                    "seed": seed,
                    "difficulty": difficulty,
                    "modes": _split(steer),
                    "samples": samples,
                }
            )
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ConfigError(f"invalid eval option {where}: {first['msg']}") from exc
        runner = make_batch_runner(
            cast(Executor, executor), concurrency=concurrency, ray_address=ray_address
        )
        bar = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
        )
        task_id = bar.add_task("eval", total=None)
        right = 0

        def planned(total: int, done: int) -> None:
            bar.update(task_id, total=total, completed=done)

        def recorded(record: EvalRecord) -> None:
            nonlocal right
            right += record.correct
            bar.update(task_id, advance=1, description=f"eval · {right} correct this run")

        with bar:
            records = await run_eval(
                plan, settings, out_dir, runner, on_record=recorded, on_plan=planned
            )
        table_path, chart_path = write_report(records, out_dir)
        table = Table("family", "mode", "n", "accuracy", "mean tokens", "mean wall s", "errors")
        for row in summarize(records):
            table.add_row(
                row.family,
                row.mode,
                str(row.n),
                f"{row.accuracy:.1%}",
                f"{row.mean_tokens:.0f}",
                f"{row.mean_wall_s:.1f}",
                str(row.errors),
            )
        out.print(table)
        err.print(f"[dim]{out_dir / 'runs.jsonl'} · {table_path} · {chart_path}[/dim]")
        return 0

    _run(command, debug)


def _read_task(task: str) -> str:
    """The task itself, or the text of `@FILE`, or standard input for `-`."""
    from codehelm.errors import ConfigError

    if task == "-":
        return sys.stdin.read()
    if not task.startswith("@"):
        return task
    path = Path(task[1:]).expanduser()
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(f"cannot read the task from {path}: {reason}") from None


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


@app.command()
def grade(
    instances: Annotated[
        Path, typer.Option(help="SWE-bench instances, JSONL or parquet.", show_default=False)
    ],
    predictions: Annotated[
        Path, typer.Option(help="Predictions JSONL (instance_id, model_patch).", show_default=False)
    ],
    repos: Annotated[
        Path | None,
        typer.Option(help="Folder of clones, one per repository: DIR/<owner>__<name>."),
    ] = None,
    harness: Annotated[
        str, typer.Option(help="local (virtualenvs, no Docker) or official (SWE-bench's Docker).")
    ] = "local",
    workers: Annotated[int, typer.Option(help="Instances graded at once.")] = 2,
    home: HomeOption = None,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Grade SWE-bench predictions: resolved, unresolved, or error (not the patch's fault)."""

    async def command() -> int:
        from codehelm.errors import ConfigError
        from codehelm.evals.swebench import GradeConfig, read_instances, read_predictions
        from codehelm.evals.swebench import grade as grade_all
        from codehelm.evals.swebench.official import run_official
        from codehelm.evals.swebench.upstream import load_upstream

        if harness not in ("local", "official"):
            raise ConfigError(f"--harness must be local or official, not {harness!r}")
        if workers < 1:
            raise ConfigError(f"--workers must be at least 1, got {workers}")
        settings = _settings(home=home)
        load_upstream()
        chosen = read_instances(instances)
        wanted = read_predictions(predictions)
        if harness == "official":
            run_id = f"codehelm-{predictions.stem}"
            cwd = settings.home / "swebench" / "official"
            report = await run_official(instances, predictions, run_id, workers=workers, cwd=cwd)
        else:
            if repos is None or not repos.is_dir():
                raise ConfigError(f"--repos must name a folder of clones, not {repos}")
            config = GradeConfig(repos=repos, home=settings.home, workers=workers)
            colour = {"resolved": "green", "unresolved": "yellow", "error": "red"}

            def started(instance_id: str) -> None:
                if not as_json:
                    err.print(f"[dim]grading {escape(instance_id)}[/dim]")

            def done(result: Any) -> None:
                if not as_json:
                    note = f" [dim]{escape(result.reason[:160])}[/dim]" if result.reason else ""
                    err.print(
                        f"[{colour[result.outcome]}]{result.outcome}[/] "
                        f"{escape(result.instance_id)} ({result.duration_s:.0f}s){note}",
                        soft_wrap=True,
                    )

            report = await grade_all(chosen, wanted, config, on_start=started, on_done=done)
        if as_json:
            typer.echo(json.dumps(report.summary()))
        else:
            out.print(
                f"{len(report.resolved)} resolved, {len(report.unresolved)} unresolved, "
                f"{len(report.error)} errors"
            )
        return 0

    _run(command, debug)


@app.command()
def resume(
    run_id: Annotated[str, typer.Argument(help="The run to continue (see `codehelm runs`).")],
    home: HomeOption = None,
    checkpoints: CheckpointsOption = None,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Continue a run that was interrupted or paused for approval, from its last checkpoint."""

    async def command() -> int:
        from codehelm.runtime.runner import resume as run_resume

        settings = _settings(home=home, database_url=checkpoints)
        _store(home, run_id, checkpoints).close()  # a clear error, with where, for an unknown id
        with Progress(live=not as_json) as progress:
            result = await run_resume(
                run_id, settings=settings, on_update=progress, on_approval=progress.ask
            )
        return _report(result, as_json)

    _run(command, debug, run_id)


@app.command()
def runs(
    limit: Annotated[int, typer.Option(help="How many of the latest runs.")] = 20,
    home: HomeOption = None,
    checkpoints: CheckpointsOption = None,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """List past runs, newest first."""

    async def command() -> int:
        from codehelm.errors import RunNotFoundError
        from codehelm.runtime.trace import TraceStore

        try:
            where = _settings(home=home, database_url=checkpoints).trace_location
            with TraceStore(where, create=False) as store:
                records = store.runs(limit)
        except RunNotFoundError:
            records = []  # no store yet: no runs
        if as_json:
            out.print_json(json.dumps([r.model_dump(mode="json") for r in records]))
            return 0
        table = Table(box=None, pad_edge=False, header_style="bold")
        # Whole ids (show and resume take them) and statuses; task and answer get what is left.
        for name, width in (("run", 12), ("status", 6), ("started", 5)):
            table.add_column(name, no_wrap=True, min_width=width)
        for name in ("task", "answer"):
            table.add_column(name, overflow="ellipsis", no_wrap=True, max_width=24)
        table.add_column("tokens", justify="right", no_wrap=True)
        table.add_column("wall", justify="right", no_wrap=True)
        for r in records:
            table.add_row(
                r.run_id,
                r.status,
                r.started_at[5:16].replace("T", " "),
                _clip(r.prompt, 40),
                _clip(r.answer or r.error or "", 30),
                str(r.tokens),
                f"{r.wall_s:.1f}s",
            )
        out.print(table)
        return 0

    _run(command, debug)


@app.command()
def show(
    run_id: Annotated[str, typer.Argument(help="The run to show.")],
    every: Annotated[
        bool, typer.Option("--all", help="Also list internal calls (sandbox snapshots).")
    ] = False,
    mindmap: Annotated[
        bool, typer.Option("--mindmap", help="Draw the run's mind map (PNG and HTML).")
    ] = False,
    home: HomeOption = None,
    checkpoints: CheckpointsOption = None,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Show a run's messages, model calls and tool calls from its trace."""

    async def command() -> int:
        if mindmap:
            return await _draw_mindmap(run_id, home, checkpoints)
        with _store(home, run_id, checkpoints) as store:
            record = store.get_run(run_id)
            events = store.events(run_id)
        if not every:
            events = [e for e in events if e.name not in INTERNAL_CALLS]
        if as_json:
            data = {
                "run": record.model_dump(mode="json"),
                "events": [e.model_dump(mode="json") for e in events],
            }
            out.print_json(json.dumps(data))
            return 0
        task = escape(_clip(record.prompt, 200))
        out.print(f"[bold]run {record.run_id}[/bold] · {record.status} · {task}")
        out.print(
            f"[dim]{'time':<12} {'kind':<10} {'agent':<9} {'name':<12} {'status':<7}"
            f" {'took':>8}  detail[/dim]"
        )
        for event in events:
            took = f"{event.duration_ms:.0f} ms" if event.duration_ms is not None else ""
            out.print(
                f"{event.ts[11:23]} {event.kind:<10} {event.agent:<9} {event.name:<12}"
                f" {event.status:<7} {took:>8}  {escape(_describe_event(event.payload))}"
            )
        ending = _clip(record.stop_reason or record.error or "", 300)
        out.print(f"answer: {escape(_clip(record.answer or '-', 300))} · {escape(ending)}")
        return 0

    _run(command, debug)


@app.command()
def ui(
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8765,
    host: Annotated[
        str, typer.Option(help="Address to bind; any but a loopback one needs the printed token.")
    ] = "127.0.0.1",
    evals: Annotated[
        list[Path] | None,
        typer.Option("--eval", help="An eval folder to show (repeatable; those in . are found)."),
    ] = None,
    home: HomeOption = None,
    checkpoints: CheckpointsOption = None,
    debug: DebugOption = False,
) -> None:
    """Browse runs, their steps and evals in a local web app; nothing leaves the machine."""

    async def command() -> int:
        from codehelm.ui.app import serve
        from codehelm.ui.security import is_loopback, new_token
        from codehelm.ui.stores import Stores

        settings = _settings(home=home, database_url=checkpoints)
        stores = Stores.found(settings.home, evals or [], Path.cwd(), settings.database_url)
        token = None if is_loopback(host) else new_token()
        where = f"http://{host}:{port}/" + (f"?token={token}" if token else "")
        out.print(f"codehelm ui: {where}", soft_wrap=True, highlight=False)
        if token:
            err.print("[yellow]not a loopback address: pages need the token in that URL[/yellow]")
        await serve(stores, host=host, port=port, token=token)
        return 0

    _run(command, debug, None)


async def _draw_mindmap(run_id: str, home: Path | None, checkpoints: str | None) -> int:
    """Draw a run's mind map as PNG and HTML beside its JSON export; print the paths."""
    from codehelm.agents.mindmap import MindMap
    from codehelm.errors import ConfigError
    from codehelm.graphs.research import ResearchState
    from codehelm.runtime.runner import checkpointed_state

    _store(home, run_id, checkpoints).close()  # an unknown run is a clear error
    settings = _settings(home=home, database_url=checkpoints)
    state = await checkpointed_state(settings, run_id, ResearchState)
    if not state.mindmap.nodes:
        raise ConfigError(f"run {run_id} has no mind map (only research runs build one)")
    mind_map = MindMap.from_data(state.mindmap)
    folder = settings.home / "mindmaps"
    folder.mkdir(parents=True, exist_ok=True)
    html = folder / f"{run_id}.html"
    mind_map.to_html(html)
    out.print(f"mind map: {html}")
    png = folder / f"{run_id}.png"
    mind_map.to_png(png)
    out.print(f"drawing: {png}")
    return 0


def _store(home: Path | None, run_id: str, checkpoints: str | None = None) -> TraceStore:
    """The run store holding `run_id`, opened without creating anything; where it is not in
    the home folder, say which eval folder in the current directory has it."""
    from codehelm.errors import RunNotFoundError
    from codehelm.runtime.trace import TraceStore

    settings = _settings(home=home, database_url=checkpoints)
    path = settings.trace_path
    try:
        return TraceStore.holding(settings.trace_location, run_id)
    except RunNotFoundError as exc:
        if settings.database_url:
            raise
        for other in sorted(Path.cwd().glob("*/runs/trace.sqlite")):
            try:
                TraceStore.holding(other, run_id).close()
            except RunNotFoundError:
                continue
            raise RunNotFoundError(
                f"no run {run_id!r} in {path.parent}; it is an eval run: add --home {other.parent}"
            ) from None
        raise exc from None


def _describe_event(payload: dict[str, Any]) -> str:
    for key in ("reply", "error", "content", "code", "stdout", "goal"):
        if payload.get(key):
            return _clip(str(payload[key]), 80)
    if payload.get("steps"):
        return "; ".join(f"[{s['mode']}] {s['goal']}" for s in payload["steps"])
    if payload.get("outcome"):
        return str(payload["outcome"])
    return ""


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _environment_line(update: dict[str, Any]) -> str:
    if update.get("environment_error"):
        return str(update["environment_error"])
    outcomes = list((update.get("baseline") or {}).values())
    return f"baseline: {outcomes.count('passed')} of {len(outcomes)} tests pass"


def _localise_line(update: dict[str, Any]) -> str:
    found = update.get("localisation")
    if found is None or not found.files:
        return "no source file found"
    where = ", ".join(loc.key for loc in found.locations) or ", ".join(found.files)
    return f"{where} ({found.chosen_by})"


def _reproduce_line(update: dict[str, Any]) -> str:
    made = update.get("reproduction")
    return f"{len(made.failing)} test(s) fail on the base commit" if made else "no failing test"


def _edit_line(update: dict[str, Any]) -> str:
    made = update.get("candidates", [])
    return f"{sum(bool(c.patch) for c in made)} of {len(made)} candidates changed the code"


def _test_line(update: dict[str, Any]) -> str:
    parts = []
    for o in update.get("outcomes", []):
        lost = "untested" if o.regressions is None else _count(len(o.regressions), "regression")
        repro = {True: ", reproduction passes", False: ", reproduction fails", None: ""}
        parts.append(
            f"{o.candidate_id}: {lost}{repro[o.reproduced]}" if o.usable else f"{o.candidate_id}: -"
        )
    return "; ".join(parts)


FIX_STAGES: dict[str, Callable[[dict[str, Any]], str]] = {
    "environment": _environment_line,
    "localise": _localise_line,
    "reproduce": _reproduce_line,
    "edit": _edit_line,
    "test": _test_line,
    "select": lambda update: f"chose {update['selected']}" if update.get("selected") else "",
}
"""What `Progress` says after each stage of the fix graph."""


class Progress:
    """Prints one line per agent step as the run goes, a spinner while an agent works, and
    asks a person about programs awaiting approval. With `live=False` (--json) it is silent
    but for the approval questions."""

    def __init__(self, *, live: bool = True) -> None:
        self.live = live
        self.status = err.status("[dim]planning…[/dim]", spinner="dots")

    def __enter__(self) -> Progress:
        if self.live:
            self.status.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.status.stop()

    async def ask(self, request: dict[str, Any]) -> dict[str, Any] | None:
        """Show the program and ask to run, edit or reject it (None: no answer, stay paused)."""
        self.status.stop()
        try:
            return await asyncio.to_thread(ask_approval, request)
        finally:
            if self.live:
                self.status.start()

    def __call__(self, node: str, update: dict[str, Any]) -> None:
        if not self.live:
            return
        line = self.describe(node, update)
        if line:
            took = update.get("elapsed_ms")
            suffix = f" [dim]{took / 1000:.1f} s[/dim]" if took else ""
            err.print(f"[cyan]●[/cyan] [bold]{node:<9}[/bold] {escape(line)}{suffix}")
        self.status.update(f"[dim]working (after {node})…[/dim]")

    @staticmethod
    def describe(node: str, update: dict[str, Any]) -> str:
        if node == "restore":
            lost = f"; not restorable: {', '.join(update['lost'])}" if update["lost"] else ""
            return f"sandbox state back: {len(update['restored'])} variables{lost}"
        if node == "planner" and update.get("plan"):
            return "; ".join(f"[{s.mode}] {s.goal}" for s in update["plan"].steps)
        if node == "coder":
            action = update.get("action")
            return _clip(action.code, 70) if action else "reply had no code block"
        if node == "approver":
            approval = next(m for m in update["messages"] if m.type == "approval")
            if approval.decision == "reject":
                return f"rejected: {_clip(approval.reason, 60)}"
            return "edited, then run" if approval.decision == "edit" else "approved"
        if node == "executor" and update.get("execution"):
            ex = update["execution"]
            if ex.ok:
                return f"ok → {_clip(ex.stdout.strip() or '(no output)', 60)}"
            return "timed out" if ex.timed_out else ex.error.summary()
        if node == "reasoner" and update.get("candidate"):
            return f"answer: {_clip(update['candidate'].content, 60)}"
        if node == "steerer" and update.get("guidance"):
            g = update["guidance"]
            return f"{g.action} ({g.mode})" + (f": {_clip(g.hint, 60)}" if g.hint else "")
        if node in ("scope", "followup") and update.get("queries"):
            return "searching: " + "; ".join(_clip(q, 40) for q in update["queries"])
        if node == "researcher":
            (query, quotes), *_ = update.get("found", {"?": 0}).items()
            skipped = sum(m.type == "error" for m in update.get("messages", []))
            return f"{quotes} quotes for {_clip(query, 40)!r}" + (
                f", {skipped} sources skipped" if skipped else ""
            )
        if node == "map" and update.get("mindmap"):
            return f"mind map: {len(update['mindmap'].nodes)} nodes"
        if node in FIX_STAGES:
            return FIX_STAGES[node](update)
        if node == "writer":
            return f"report drafted, {len(update.get('citations', []))} citations"
        if node in ("verifier", "citations") and update.get("verdict"):
            v = update["verdict"]
            marks = " ".join(
                f"{c.name}{'✓' if c.passed else '?' if c.passed is None else '✗'}" for c in v.checks
            )
            return f"{v.outcome} · {marks}"
        return ""


def ask_approval(request: dict[str, Any]) -> dict[str, Any] | None:
    """Ask on the terminal: [r]un, [e]dit (in $EDITOR) or reject ([x]) with a reason."""
    import click
    from rich.syntax import Syntax

    err.rule(f"[bold]approve this program?[/bold] [dim]{escape(request.get('goal', ''))}[/dim]")
    err.print(Syntax(request["code"], "python", line_numbers=True))
    if request.get("problem"):
        err.print(f"[yellow]{escape(request['problem'])}[/yellow]")
    try:
        while True:
            choice = typer.prompt("[r]un, [e]dit or reject [x]", default="r", err=True)
            choice = choice.strip().lower()[:1]
            if choice == "r":
                return {"decision": "run"}
            if choice == "e":
                edited = click.edit(request["code"], extension=".py", require_save=True)
                if edited and edited.strip():
                    return {"decision": "edit", "code": edited}
                err.print("[yellow]nothing saved; the program is unchanged[/yellow]")
            elif choice == "x":
                reason = typer.prompt("why (goes back to the coder)", err=True)
                if reason.strip():
                    return {"decision": "reject", "reason": reason}
    except (typer.Abort, EOFError):
        return None  # no one to answer: the run stays paused


def _report(result: RunResult, as_json: bool) -> int:
    if as_json:
        out.print_json(result.model_dump_json())
        return 0 if result.answer else PAUSED if result.status == "paused" else 1
    if result.status == "paused":
        err.print(
            f"[yellow]paused[/yellow] · run {result.run_id} waits for approval of a program;"
            f" `codehelm resume {result.run_id}` continues it"
        )
        return PAUSED
    usage = result.usage
    cost = f"${usage.cost_usd:.4f}" if usage.cost_usd is not None else "cost unknown"
    if result.answer is not None:
        out.print(f"[bold green]Answer:[/bold green] {escape(result.answer.content)}")
    else:
        out.print("[bold red]No answer.[/bold red]")
        for goal, value in result.partial.items():
            out.print(f"[dim]partial:[/dim] {escape(goal)} = {escape(value)}")
    err.print(
        f"[dim]{result.status} ({result.stop_reason}) · run {result.run_id} · {result.steps} steps"
        f" · {usage.calls} model calls · {usage.total_tokens} tokens · {cost}"
        f" · {result.wall_s:.1f} s[/dim]"
    )
    return 0 if result.answer else 1


def main() -> None:
    app()
