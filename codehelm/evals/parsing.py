"""Lenient answer extraction shared by the checkers.

Checkers are lenient in *format* and strict in *content*: these helpers strip the wrapping a
model tends to add (code fences, "Answer:" prefixes, markdown bold, LaTeX `\\boxed{}`, quotes,
trailing periods, thousands separators) and hand the remaining text to the family's own
parser, which then validates every constraint exactly.
"""

from __future__ import annotations

import re
from fractions import Fraction

MAX_ANSWER_CHARS = 20_000
MAX_NUMBER_CHARS = 200

_FENCE_RE = re.compile(r"```[ \t]*([^\n`]*)\n?(.*?)```", re.DOTALL)
_MARKER_RE = re.compile(
    r"\b(?:final\s+answer|answer)\b\s*(?:is\b)?\s*[:=]?|\b(?:result|solution|output)\s*:",
    re.IGNORECASE,
)
_BOXED_RE = re.compile(r"\\boxed\{([^{}]*)\}")
_STRIP_CHARS = " \t\r\n*`'\"$"

# An optionally signed number: thousands-grouped or plain integer part, optional decimals.
# A minus sign only counts when it does not follow a word character or ")" (so "12-3" is 12, 3).
_NUMBER_RE = re.compile(
    r"(?:(?<![\w)])[-−])?(?<![\d.])(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?(?![\d])"
)


def _fence_spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in _FENCE_RE.finditer(text)]


def _fence_content(match: re.Match[str]) -> str:
    lang, body = match.group(1), match.group(2)
    if not body.strip():
        return lang
    if lang.strip() and not re.fullmatch(r"[A-Za-z][\w+-]*", lang.strip()):
        # "```42\n```"-style: what looked like a language tag is content
        return lang + "\n" + body
    return body


def answer_segment(answer: str, strip_periods: bool = True) -> str:
    """The part of `answer` that holds the answer proper, with its wrapping removed.

    Order of preference: the text after the last "Answer:"-style marker outside code fences;
    else the content of the last fenced block; else the whole text. Then fences, backticks,
    `\\boxed{}`, markdown emphasis, surrounding quotes and (unless `strip_periods` is false,
    for answers such as boards where "." is content) trailing periods are removed.
    """
    text = answer[:MAX_ANSWER_CHARS].replace("\r\n", "\n")
    spans = _fence_spans(text)
    segment: str | None = None
    for m in reversed(list(_MARKER_RE.finditer(text))):
        if any(a <= m.start() < b for a, b in spans):
            continue
        rest = text[m.end() :]
        if rest.strip(_STRIP_CHARS + ":.="):
            segment = rest
            break
    if segment is None:
        fences = list(_FENCE_RE.finditer(text))
        segment = _fence_content(fences[-1]) if fences else text
    else:
        inner = list(_FENCE_RE.finditer(segment))
        if inner:
            segment = _fence_content(inner[-1])
    boxed = _BOXED_RE.findall(segment)
    if boxed:
        segment = boxed[-1]
    segment = re.sub(r"```[\w+-]*", "", segment)
    return clean(segment, strip_periods)


def clean(text: str, strip_periods: bool = True) -> str:
    """Strip surrounding whitespace, emphasis, quotes, a leading ":" and trailing periods."""
    text = text.strip(_STRIP_CHARS)
    text = text.lstrip(":").strip(_STRIP_CHARS)
    while strip_periods and text.endswith((".", "!")):
        text = text[:-1].rstrip(_STRIP_CHARS)
    return text


def parse_number(token: str) -> Fraction | None:
    """A number token ("1,234", "-7", "2.50", "7/2") as an exact Fraction, or None.

    Tokens longer than MAX_NUMBER_CHARS are rejected (no answer here needs them, and Python
    refuses to convert very long digit strings).
    """
    token = token.strip().replace("−", "-").replace("_", "")
    if len(token) > MAX_NUMBER_CHARS:
        return None
    if re.fullmatch(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?", token):
        token = token.replace(",", "")
    if re.fullmatch(r"-?\d+(?:\.\d+)?", token):
        return Fraction(token)
    m = re.fullmatch(r"(-?\d+)\s*/\s*(\d+)", token)
    if m and int(m.group(2)) != 0:
        return Fraction(int(m.group(1)), int(m.group(2)))
    return None


def to_int(digits: str) -> int | None:
    """`int(digits)` for a plain digit string, or None when it is too long to be an answer."""
    return int(digits) if digits.isdigit() and len(digits) <= MAX_NUMBER_CHARS else None


def find_numbers(text: str) -> list[Fraction]:
    """Every number in `text`, in order (thousands separators and decimals understood)."""
    found: list[Fraction] = []
    for m in _NUMBER_RE.finditer(text):
        value = parse_number(m.group(0))
        if value is not None:
            found.append(value)
    return found


def extract_integer(answer: str) -> tuple[int | None, str]:
    """The integer answer in `answer`, or None with a reason.

    Takes the whole answer segment when it is a single number, else the last number in it.
    A number with a non-zero fractional part is reported as not an integer.
    """
    segment = answer_segment(answer)
    tokens = [m.group(0) for m in _NUMBER_RE.finditer(segment)]
    value = next((v for v in map(parse_number, reversed(tokens)) if v is not None), None)
    if value is None:
        return None, "could not parse an integer"
    if value.denominator != 1:
        return None, f"could not parse an integer: {float(value)} is not an integer"
    return int(value), "ok"


def nonempty_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def expression_candidates(segment: str) -> list[str]:
    """Candidate arithmetic expressions in `segment`, most likely first.

    Each line (last first) is split at "=" and the parts holding an operator are kept, so
    "(8-4)*(7-1) = 24" and "24 = (8-4)*(7-1)" both yield the expression.
    """
    candidates: list[str] = []
    for line in reversed(nonempty_lines(segment)):
        parts = [clean(p) for p in line.split("=")]
        for part in parts:
            if part and re.search(r"\d", part) and re.search(r"[-+*/×÷−·]", part):
                candidates.append(part)
    if not candidates and segment.strip():
        candidates.append(clean(segment))
    return candidates


def normalize_operators(expr: str) -> str:
    """Map typographic/LaTeX operators and brackets to ASCII ones."""
    for src, dst in (
        ("\\times", "*"),
        ("\\cdot", "*"),
        ("\\div", "/"),
        ("×", "*"),
        ("·", "*"),
        ("∗", "*"),
        ("÷", "/"),
        ("−", "-"),
        ("–", "-"),
        ("—", "-"),
        ("[", "("),
        ("]", ")"),
        ("{", "("),
        ("}", ")"),
        ("\\left", ""),
        ("\\right", ""),
    ):
        expr = expr.replace(src, dst)
    return re.sub(r"(?<=[\d)])\s*[xX]\s*(?=[\d(])", "*", expr)
