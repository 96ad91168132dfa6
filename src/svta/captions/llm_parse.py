"""Reading an LLM's answer: a numbered (or bulleted) list, or JSON (a list of strings, a list of
objects, or an object holding such a list, possibly inside a code fence), and telling refusals apart.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)
_ITEM = re.compile(r"^\s*(?:\(?\d{1,4}\s*[.):\]]|[-*\u2022])\s+(.*\S)\s*$")
_LABEL = re.compile(r"^(?:\*\*)?(?:prompt|description|caption)\s*\d*\s*[:.-]\s*(?:\*\*)?\s*", re.IGNORECASE)
_REFUSAL = re.compile(
    r"\b(?:I(?:'m| am) sorry|I apologi[sz]e|I can(?:'|no)t (?:help|assist|comply|provide|create|generate|write)|"
    r"I(?:'m| am) (?:not able|unable) to|I won'?t (?:be able|help|write|create)|as an AI(?: language model)?|"
    r"cannot (?:fulfil|fulfill|assist|comply)|against (?:my|our) (?:guidelines|policy|policies))",
    re.IGNORECASE,
)
_TEXT_KEYS = ("prompt", "caption", "description", "text", "sentence", "content")
_WRAPPERS = ('"', "'", "\u201c", "\u201d", "*", "`")


@dataclass(frozen=True)
class ParsedReply:
    """The captions found in an answer.

    Attributes:
        items: The caption texts, in order (not yet validated or deduplicated).
        format: ``"json"``, ``"list"`` or ``"none"`` (nothing usable).
        refusal: The answer, or all of it that is not a list, is a refusal.
    """

    items: tuple[str, ...]
    format: str
    refusal: bool = False


def is_refusal(text: str) -> bool:
    """Whether ``text`` reads like a model declining the request."""
    return bool(_REFUSAL.search(text or ""))


def parse_reply(content: str | None) -> ParsedReply:
    """Extract the captions of an answer; refusal lines inside a list are dropped."""
    content = (content or "").strip()
    if not content:
        return ParsedReply((), "none")
    items = _json_items(content)
    fmt = "json"
    if items is None:
        items, fmt = _list_items(content), "list"
    items = [clean_item(i) for i in items]
    items = [i for i in items if i and not is_refusal(i)]
    if not items:
        return ParsedReply((), "none", refusal=is_refusal(content))
    return ParsedReply(tuple(items), fmt)


def clean_item(text: str) -> str:
    """Strip markdown emphasis, "Prompt 3:" labels and wrapping quotes from one list item."""
    text = " ".join(text.split())
    text = _LABEL.sub("", text)
    changed = True
    while changed and len(text) >= 2:
        changed = False
        if text[0] in _WRAPPERS and text[-1] in _WRAPPERS:
            text, changed = text[1:-1].strip(), True
        elif text.startswith("**") and "**" in text[2:]:
            text, changed = text.replace("**", "").strip(), True
    return text


def _json_items(content: str) -> list[str] | None:
    fenced = _FENCE.search(content)
    candidates = [fenced.group(1).strip()] if fenced else []
    start = min((i for i in (content.find("["), content.find("{")) if i >= 0), default=-1)
    if start >= 0:
        candidates.append(content[start:])
    for candidate in candidates:
        try:
            data = json.loads(candidate)
        except ValueError:
            try:  # trailing prose after the JSON value
                data, _ = json.JSONDecoder().raw_decode(candidate)
            except ValueError:
                continue
        items = _strings_in(data)
        if items:
            return items
    return None


def _strings_in(data: Any) -> list[str]:
    if isinstance(data, dict):
        for value in data.values():
            if isinstance(value, list):
                found = _strings_in(value)
                if found:
                    return found
        return []
    if not isinstance(data, list):
        return []
    out = []
    for item in data:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict):
            text = next((item[k] for k in _TEXT_KEYS if isinstance(item.get(k), str)), None)
            if text is not None:
                out.append(text)
    return out


def _list_items(content: str) -> list[str]:
    return [m.group(1) for m in map(_ITEM.match, content.splitlines()) if m]
