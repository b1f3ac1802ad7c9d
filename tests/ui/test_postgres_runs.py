"""The viewer over runs kept in PostgreSQL (`codehelm ui --checkpoints URL`), asked over HTTP."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.ui.conftest import MULTIPLY, make_run, start_viewer, stop


def test_the_viewer_shows_runs_kept_in_postgres(
    home: Path, tmp_path: Path, database_url: str
) -> None:
    done = make_run(home, MULTIPLY, "What is 6 * 7?", database_url=database_url)
    paused = make_run(home, MULTIPLY, "What is 6 * 7?", approve=True, database_url=database_url)
    assert done.answer is not None and paused.status == "paused"
    assert not list(home.glob("*.sqlite"))  # nothing of the runs is in the home folder
    viewer = start_viewer(home, tmp_path, "--checkpoints", database_url)
    try:
        runs = httpx.get(viewer.url("/runs"))
        assert runs.status_code == 200
        assert done.run_id in runs.text and paused.run_id in runs.text
        page = httpx.get(viewer.url(f"/runs/{done.run_id}"))
        assert page.status_code == 200 and done.answer.content in page.text
        waiting = httpx.get(viewer.url(f"/runs/{paused.run_id}")).text
        assert "Waiting for your approval" in waiting  # read from the run's checkpoint
    finally:
        stop(viewer)
