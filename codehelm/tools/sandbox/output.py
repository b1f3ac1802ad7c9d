"""Output capping for every sandbox: the head and tail of long output, in bounded memory.

Used on the host (`LocalSandbox` shell commands, `E2BSandbox` results) and inside the
sandbox by the local worker, where codehelm is not importable: the host compiles this file
next to the worker and the worker executes it into a private namespace at start (see
`_worker.load_output`). So it must stay self-contained: builtins only, no imports, not even
`from __future__` (which is a real import at run time).
"""

TRUNCATION_MARKER = "\n...[truncated {} chars]...\n"


class CappedText:
    """Accumulates text but keeps only the head and tail once it exceeds `limit` chars.

    Memory stays bounded however much is written, so a runaway print loop costs CPU
    but never floods memory or the protocol pipe.
    """

    def __init__(self, limit: int) -> None:
        self.limit = max(limit, 0)
        self.total = 0
        self._head: list[str] = []
        self._head_len = 0
        self._tail: list[str] = []
        self._tail_len = 0

    def add(self, text: str) -> None:
        if not text:
            return
        self.total += len(text)
        room = self.limit - self._head_len
        if room > 0:
            self._head.append(text[:room])
            self._head_len += min(room, len(text))
            text = text[room:]
            if not text:
                return
        self._tail.append(text)
        self._tail_len += len(text)
        keep = self.limit - self.limit // 2
        if self._tail_len > 2 * keep + 4096:  # trim in batches: amortised linear cost
            kept = "".join(self._tail)[-keep:] if keep else ""
            self._tail = [kept]
            self._tail_len = len(kept)

    def text(self) -> str:
        head = "".join(self._head)
        if self.total <= self.limit:
            return head
        keep_head = self.limit // 2
        keep_tail = self.limit - keep_head
        tail = (head + "".join(self._tail))[-keep_tail:] if keep_tail else ""
        omitted = self.total - keep_head - keep_tail
        return head[:keep_head] + TRUNCATION_MARKER.format(omitted) + tail


def clip(text: str, limit: int) -> str:
    """`text` cut to its head and tail with a truncation marker if over `limit` chars."""
    capped = CappedText(limit)
    capped.add(text)
    return capped.text()
