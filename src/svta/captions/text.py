"""Caption text hygiene shared by generation, import and filtering: normalisation, the duplicate
key, and the validity checks (empty, control characters, length, charset, blocked terms), each
failure returned as a short machine-readable reason.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from svta.captions.config import FilterConfig
from svta.errors import InputError

# Tab, newline and carriage return are whitespace (imported spreadsheets carry stray newlines);
# every other C0/C1 control character means binary junk or a broken encoding.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_INVISIBLE = re.compile(r"[\u200b-\u200f\u2060-\u2064\ufeff\u00ad]")
_SPACES = re.compile(r"\s+")
_QUOTES = {'"': '"', "'": "'", "\u201c": "\u201d", "\u2018": "\u2019", "`": "`", "\u00ab": "\u00bb"}
_LETTER = re.compile(r"[^\W\d_]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f\u1e00-\u1eff]")
_PUNCT = re.compile(r"[^\w\s]")


@dataclass(frozen=True)
class CaptionCheck:
    """The normalised caption and why it is rejected (``reason`` is ``None`` when it is fine)."""

    text: str
    reason: str | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.reason is None


def normalize_caption(text: str) -> str:
    """NFKC, invisible characters removed, whitespace (incl. newlines) collapsed, wrapping quotes stripped."""
    text = unicodedata.normalize("NFKC", text)
    text = _INVISIBLE.sub("", text)
    text = _SPACES.sub(" ", text).strip()
    while len(text) >= 2 and _QUOTES.get(text[0]) == text[-1]:
        text = text[1:-1].strip()
    return text


def dedupe_key(text: str) -> str:
    """The exact-duplicate key: case-folded, punctuation dropped, whitespace collapsed."""
    return _SPACES.sub(" ", _PUNCT.sub(" ", normalize_caption(text).casefold())).strip()


def check_caption(
    text: object, config: FilterConfig | None = None, blocked: re.Pattern[str] | None = None
) -> CaptionCheck:
    """Normalise ``text`` and check it against the filter's validity rules (not duplicates).

    Args:
        text: The raw caption (anything that is not a string is rejected as ``empty``).
        config: Length/charset bounds; the defaults when ``None``.
        blocked: A compiled blocked-terms pattern (:func:`blocked_pattern`), or ``None``.

    Returns:
        The normalised text with ``reason`` ``None``, or the first failed rule's reason and detail.
    """
    config = config or FilterConfig()
    if not isinstance(text, str) or not text.strip():
        return CaptionCheck("", "empty", "no text")
    bad = _CONTROL.search(text)
    if bad:
        return CaptionCheck(text[:200], "control_chars", f"U+{ord(bad.group()):04X} at offset {bad.start()}")
    if "\ufffd" in text:
        return CaptionCheck(text[:200], "replacement_char", "U+FFFD: text decoded with the wrong encoding")
    if len(text) > 4 * config.max_chars:  # cheap early exit before normalising a huge string
        return CaptionCheck(text[:200], "too_long", f"{len(text)} characters > {config.max_chars}")
    clean = normalize_caption(text)
    return CaptionCheck(clean, *_rule_failure(clean, config, blocked))


def _rule_failure(clean: str, config: FilterConfig, blocked: re.Pattern[str] | None) -> tuple[str | None, str]:  # noqa: C901 (the filter rules, in order)
    if not clean:
        return "empty", "only whitespace or quotes"
    if len(clean) > config.max_chars:
        return "too_long", f"{len(clean)} characters > {config.max_chars}"
    if len(clean) < config.min_chars:
        return "too_short", f"{len(clean)} characters < {config.min_chars}"
    letters = len(_LETTER.findall(clean))
    visible = len(clean) - clean.count(" ")
    if visible and letters / visible < config.min_alpha_ratio:
        return "not_text", f"{letters} letters in {visible} visible characters"
    if config.charset == "latin" and letters:
        latin = len(_LATIN.findall(clean))
        if latin / letters < config.min_script_ratio:
            return "charset", f"{letters - latin} of {letters} letters are not Latin script"
    words = len(clean.split())
    if words < config.min_words:
        return "too_few_words", f"{words} words < {config.min_words}"
    if words > config.max_words:
        return "too_many_words", f"{words} words > {config.max_words}"
    if blocked is not None:
        hit = blocked.search(clean)
        if hit:
            return "blocked_term", hit.group(0).lower()
    return None, ""


def load_blocked_terms(config: FilterConfig) -> list[str]:
    """The blocked terms of the config plus those of its file (one per line, ``#`` comments).

    Raises:
        InputError: The terms file cannot be read.
    """
    terms = list(config.blocked_terms)
    if config.blocked_terms_file is not None:
        path = Path(config.blocked_terms_file)
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: cannot read blocked-terms file: {exc}") from None
        terms.extend(line.split("#", 1)[0] for line in lines)
    return [t for t in (normalize_caption(t).lower() for t in terms) if t]


@lru_cache(maxsize=16)
def _compile(terms: tuple[str, ...]) -> re.Pattern[str] | None:
    if not terms:
        return None
    alternatives = "|".join(r"\s+".join(map(re.escape, t.split())) for t in sorted(set(terms), key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def blocked_pattern(config: FilterConfig) -> re.Pattern[str] | None:
    """A case-insensitive whole-word pattern of every blocked term, or ``None`` when there are none."""
    return _compile(tuple(load_blocked_terms(config)))
