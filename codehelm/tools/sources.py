"""Source texts by content hash: what a citation is checked against.

A researcher keeps the text it quoted from (a fetched page's main text, a corpus file's
text) under the sha256 of that text, and the `Evidence` carries the hash; the citation
verifier reads the very text back, so a quote is checked against what was read, even
after a resume, without fetching anything again.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from pathlib import Path

from codehelm.errors import CodehelmError


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class SourceStore:
    """Texts in files named by their sha256 under `root` (written atomically, once)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    async def put(self, text: str) -> str:
        """Keep `text`; returns its hash."""
        digest = text_hash(text)
        await asyncio.to_thread(self._write, self._path(digest), text)
        return digest

    async def get(self, digest: str) -> str:
        try:
            return await asyncio.to_thread(self._path(digest).read_text, "utf-8")
        except FileNotFoundError:
            raise CodehelmError(f"no source text {digest[:12]} in {self.root}") from None

    def _path(self, digest: str) -> Path:
        return self.root / digest[:2] / f"{digest}.txt"

    @staticmethod
    def _write(path: Path, text: str) -> None:
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temp, path)
