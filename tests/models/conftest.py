"""Fixtures for the model layer: a misbehaving OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.models.fake_openai import FakeOpenAI, serve


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    fake, server = serve()
    yield fake
    fake.stopping.set()
    server.shutdown()
    server.server_close()
