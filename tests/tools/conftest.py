"""Fixtures of the sandbox tests: a local stand-in for E2B, reached by the SDK in debug mode."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.tools.e2b_debug_server import FakeE2BServer


@pytest.fixture(scope="session")
def e2b_debug_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeE2BServer]:
    """The stand-in sandbox (envd and the code interpreter), on a free port of 127.0.0.1."""
    pytest.importorskip("jupyter_client", reason="the e2b-debug backend runs an IPython kernel")
    pytest.importorskip("ipykernel", reason="the e2b-debug backend runs an IPython kernel")
    from tests.tools.e2b_debug_server import FakeE2BServer

    server = FakeE2BServer(home=str(tmp_path_factory.mktemp("e2b-home").resolve()))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def e2b_debug(
    e2b_debug_server: FakeE2BServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FakeE2BServer]:
    """Puts the E2B SDK in debug mode, pointed at the stand-in; kills its "sandbox" after."""
    monkeypatch.setenv("E2B_DEBUG", "true")
    monkeypatch.setenv("E2B_SANDBOX_URL", e2b_debug_server.url)
    monkeypatch.delenv("E2B_API_URL", raising=False)
    yield e2b_debug_server
    e2b_debug_server.reset()
