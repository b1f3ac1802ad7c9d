"""Who may use the viewer, asked over real HTTP: off loopback only with the printed token;
on loopback only pages that name this machine; approvals only from the viewer's own form."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from tests.ui.conftest import MULTIPLY, Viewer, make_run, start_viewer, stop


def test_off_loopback_every_request_needs_the_printed_token(home: Path, tmp_path: Path) -> None:
    run = make_run(home, MULTIPLY, "What is 6 * 7?")
    viewer = start_viewer(home, tmp_path, "--host", "0.0.0.0")
    try:
        printed = re.search(r"http://0\.0\.0\.0:(\d+)/\?token=(\S+)", viewer.printed)
        assert printed is not None, viewer.printed
        assert int(printed.group(1)) == viewer.port
        token = printed.group(2)
        for path in (
            "/runs",
            f"/runs/{run.run_id}",
            f"/runs/{run.run_id}/stream",
            "/static/app.js",
        ):
            refused = httpx.get(viewer.url(path))
            assert refused.status_code == 403, path
            assert run.run_id not in refused.text
        assert httpx.get(viewer.url("/runs?token=wrong")).status_code == 403
        bearer = httpx.get(viewer.url("/runs"), headers={"Authorization": f"Bearer {token}"})
        assert bearer.status_code == 200 and run.run_id in bearer.text

        with httpx.Client() as client:  # the printed URL: a cookie, then pages without the token
            first = client.get(viewer.url(f"/runs?token={token}&q=6"))
            assert first.status_code == 303 and first.headers["location"].endswith("/runs?q=6")
            assert run.run_id in client.get(viewer.url(f"/runs/{run.run_id}")).text
    finally:
        stop(viewer)


def test_on_loopback_pages_must_name_this_machine(home: Path, viewer: Viewer) -> None:
    run = make_run(home, MULTIPLY, "What is 6 * 7?")
    assert run.run_id in httpx.get(viewer.url("/runs")).text
    rebound = httpx.get(viewer.url("/runs"), headers={"Host": "attacker.example"})
    assert rebound.status_code == 400 and run.run_id not in rebound.text


def test_an_approval_from_another_site_is_refused(home: Path, viewer: Viewer) -> None:
    paused = make_run(home, MULTIPLY, "What is 6 * 7?", approve=True)
    forged = httpx.post(
        viewer.url(f"/runs/{paused.run_id}/approval"), data={"decision": "run", "secret": "guess"}
    )
    assert forged.status_code == 403
    assert "paused" in httpx.get(viewer.url(f"/runs/{paused.run_id}")).text
    assert httpx.get(viewer.url("/runs/nosuchrun")).status_code == 404
