"""Settings in one place: defaults, then `CODEHELM_*` variables, then CLI flags."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from codehelm.messages import Budget
from codehelm.policy import Selector, SteeringPolicy


class Settings(BaseSettings):
    """Everything a run can be configured with. Each field reads `CODEHELM_<NAME>`."""

    model_config = SettingsConfigDict(env_prefix="CODEHELM_", extra="ignore")

    model: str = Field(
        default="local/smollm2",
        description="litellm model string, 'local/smollm2' (embedded), or 'scripted:FILE.json'.",
    )
    api_base: str | None = Field(
        default=None,
        description="Base URL of an OpenAI-compatible server (vLLM, Ollama, llama.cpp), "
        "e.g. http://127.0.0.1:8080/v1, for model strings such as 'openai/NAME'.",
    )
    sandbox: str = Field(
        default="local",
        description="Where code runs: local, e2b (needs E2B_API_KEY), or a registered name.",
    )
    e2b_api_key: str | None = Field(
        default=None,
        validation_alias="E2B_API_KEY",
        description="E2B's API key, read from E2B_API_KEY (only for sandbox=e2b).",
        repr=False,
    )
    search: str = Field(
        default="corpus",
        description="Where research searches: corpus (a local folder, see corpus), searxng,"
        " ddgs (DuckDuckGo), tavily (needs TAVILY_API_KEY), or a registered name.",
    )
    corpus: Path | None = Field(
        default=None, description="A folder of HTML, Markdown, text and PDF files to search."
    )
    searxng_url: str | None = Field(
        default=None, description="Base URL of a SearXNG instance (for search=searxng)."
    )
    tavily_api_key: str | None = Field(
        default=None,
        validation_alias="TAVILY_API_KEY",
        description="Tavily's API key, read from TAVILY_API_KEY (only for search=tavily).",
        repr=False,
    )
    allow_hosts: list[str] = Field(
        default_factory=list,
        description="Private or loopback hosts the web fetcher may reach (e.g. 127.0.0.1);"
        " everything else private is refused.",
    )
    steer: SteeringPolicy = Field(
        default="steer",
        description="How steps choose code or text: steer, plan, code, text, self-estimate.",
    )
    home: Path = Field(
        default=Path.home() / ".codehelm",
        description="Directory for run checkpoints and traces.",
    )
    database_url: str | None = Field(
        default=None,
        description="A PostgreSQL URL (postgres://USER:PASSWORD@HOST:PORT/DATABASE) to keep"
        " checkpoints and traces in, shared by many processes and machines; unset: SQLite"
        " files in home.",
        repr=False,
    )
    temperature: float | None = Field(
        default=None, ge=0, description="Sampling temperature (None: the provider's default)."
    )
    seed: int | None = Field(default=None, description="Sampling seed, where the model takes one.")
    model_timeout: float = Field(default=300.0, gt=0, description="Seconds per model call.")
    model_retries: int = Field(default=3, ge=0, description="Retries on transient errors.")
    max_repairs: int = Field(default=2, ge=0, description="Re-asks after an unparseable reply.")
    exec_timeout: float = Field(default=10.0, gt=0, description="Seconds per code execution.")
    max_revisions: int = Field(default=3, ge=0, description="Retries of a failed step.")
    max_replans: int = Field(default=1, ge=0, description="New plans after a step gives up.")
    candidates: int = Field(
        default=1, ge=1, description="Programs per code step, chosen with generated checks."
    )
    selector: Selector = Field(
        default="codet",
        description="How candidate programs are chosen from their pass matrix: codet or b4.",
    )
    fix_candidates: int = Field(
        default=3, ge=1, description="Candidate patches the fix graph makes and tests."
    )
    max_steps: int = Field(default=20, ge=1, description="Agent steps per run.")
    max_tokens: int | None = Field(default=50_000, ge=1, description="Tokens per run.")
    max_cost_usd: float | None = Field(default=None, gt=0, description="Dollars per run.")
    max_seconds: float | None = Field(default=600.0, gt=0, description="Wall time per run.")

    approve: bool = Field(
        default=False, description="Pause before each program runs until a person approves it."
    )
    snapshots: bool = Field(
        default=True, description="Save the sandbox's variables and files after each execution."
    )

    def budget(self) -> Budget:
        return Budget(
            max_steps=self.max_steps,
            max_tokens=self.max_tokens,
            max_cost_usd=self.max_cost_usd,
            max_seconds=self.max_seconds,
        )

    @property
    def checkpoint_path(self) -> Path:
        return self.home / "checkpoints.sqlite"

    @property
    def checkpoint_location(self) -> Path | str:
        """Where checkpoints are kept: the database URL, else the SQLite file in home."""
        return self.database_url or self.checkpoint_path

    @property
    def trace_location(self) -> Path | str:
        """Where the trace is kept: the database URL, else the SQLite file in home."""
        return self.database_url or self.trace_path

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    @property
    def snapshot_dir(self) -> Path:
        return self.home / "snapshots"

    @property
    def trace_path(self) -> Path:
        return self.home / "trace.sqlite"
