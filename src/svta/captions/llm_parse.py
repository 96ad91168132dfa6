"""Reading an LLM's answer into captions. Accepted: a numbered, lettered or bulleted list (``1.``, ``2)``,
``(3)``, ``- ``, ``•``), labelled lines (``**Prompt 1:** ...``, ``Description 2 - ...``), plain lines after a
"Sure! Here are 5 ..." preamble, and JSON (a list of strings or objects, or an object holding one, possibly
inside a code fence). Preambles, headings and closing remarks are dropped; refusals are told apart.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

_FENCE = re.compile(r"```[A-Za-z]*[ \t]*\n?(.*?)```", re.DOTALL)
# A list marker at the start of a line: "1.", "2)", "(3)", "[4]", "#5", "6 -", "a)", "-", "*", "+", "•", "–".
_MARKER = re.compile(
    r"^\s*(?:\(?\d{1,4}\s*[.):\]]|\[\d{1,4}\]|#\d{1,4}[.:)]?|\d{1,4}\s*[-\u2013\u2014]|[a-z]\)|[-*+\u2022\u2013\u2014])"
    r"\s+(.*\S)\s*$"
)
# A label before a caption: "**Prompt 1:**", "Description 2 -", "Caption #3.", "Video 4)".
_LABEL = re.compile(
    r"^(?:\*\*|__)?\s*(?:prompts?|descriptions?|captions?|videos?|scenes?|examples?|sentences?)\s*#?\s*\d{0,4}"
    r"\s*(?:\*\*|__)?\s*[:.)\-\u2013\u2014]\s*(?:\*\*|__)?\s*",
    re.IGNORECASE,
)
_NUMBERED_LABEL = re.compile(r"^(?:\*\*|__)?\s*[A-Za-z]+\s*#?\s*\d{1,4}\s*(?:\*\*|__)?\s*[:.)\-\u2013\u2014]")
# "**Night theft**: A man ..." - a short bold title before the description.
_TITLE = re.compile(r"^(?:\*\*|__)([^*_]{1,80})(?:\*\*|__)\s*[:\-\u2013\u2014]\s*(\S.*)$")
_REFUSAL = re.compile(
    r"\b(?:I(?:'m| am) sorry|I apologi[sz]e|I can(?:'|no)t (?:help|assist|comply|provide|create|generate|write)|"
    r"I(?:'m| am) (?:not able|unable) to|I won'?t (?:be able|help|write|create)|as an AI(?: language model)?|"
    r"cannot (?:fulfil|fulfill|assist|comply)|against (?:my|our) (?:guidelines|policy|policies))",
    re.IGNORECASE,
)
# Lines around a list that talk to the user instead of describing a scene.
_CHATTER = re.compile(
    r"^(?:sure|certainly|of course|absolutely|okay|ok|alright|great|here(?:'s| is| are)|below (?:is|are)|"
    r"these (?:are|descriptions|prompts|captions)|enjoy|note\b|happy to help|i hope|hope (?:this|these))\b|"
    r"\blet me know\b|\bfeel free\b|\bhope (?:this|these|they) (?:help|work)|\b(?:I|I'm|I'll|I've|you|your)\b",
    re.IGNORECASE,
)
_TEXT_KEYS = ("prompt", "caption", "description", "text", "sentence", "content")
_WRAPPERS = ('"', "'", "\u201c", "\u201d", "*", "`")


@dataclass(frozen=True)
class ParsedReply:
    """The captions found in an answer.

    Attributes:
        items: The caption texts, in order (not yet validated or deduplicated).
        format: ``"json"``, ``"list"`` (marked or labelled lines), ``"lines"`` (plain lines) or ``"none"``.
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
        items, fmt = _marked_items(content), "list"
        if not items:
            items, fmt = _plain_items(content), "lines"
    items = [clean_item(i) for i in items]
    items = [i for i in items if i and not is_refusal(i)]
    if not items:
        return ParsedReply((), "none", refusal=is_refusal(content))
    return ParsedReply(tuple(items), fmt)


def clean_item(text: str) -> str:
    """Strip markdown emphasis, "Prompt 3:" labels, short bold titles and wrapping quotes from one item."""
    text = " ".join(text.split())
    text = _LABEL.sub("", text, count=1)
    titled = _TITLE.match(text)
    if titled and len(titled.group(1).split()) <= 8:
        text = titled.group(2)
    changed = True
    while changed and len(text) >= 2:
        changed = False
        if text[0] in _WRAPPERS and text[-1] in _WRAPPERS:
            text, changed = text[1:-1].strip(), True
        elif text.startswith("**") and "**" in text[2:]:
            text, changed = text.replace("**", "").strip(), True
    return text


def _json_items(content: str) -> list[str] | None:
    """Captions of a JSON answer; ``[]`` for JSON without any, ``None`` when the answer is not JSON."""
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
    whole = _FENCE.fullmatch(content) or content[:1] in "[{"
    return [] if whole and any(_is_json(c) for c in candidates) else None


def _is_json(text: str) -> bool:
    """Whether ``text`` starts with a JSON array or object (a leading number is a list marker, not JSON)."""
    try:
        value, _ = json.JSONDecoder().raw_decode(text)
    except ValueError:
        return False
    return isinstance(value, list | dict)


def _strings_in(data: Any) -> list[str]:
    if isinstance(data, dict):
        for value in data.values():
            if isinstance(value, list | dict):
                found = _strings_in(value)
                if found:
                    return found
        # {"1": "...", "2": "..."} or {"prompt_1": "...", ...} or {"caption": "..."}
        return [v for k, v in data.items() if isinstance(v, str) and _is_text_key(str(k))]
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


def _is_text_key(key: str) -> bool:
    key = key.strip().lower()
    return key.isdigit() or bool(re.fullmatch(r"(?:prompt|caption|description|text|sentence)s?[ _#-]?\d*", key))


def _marked_items(content: str) -> list[str]:
    """Items of a numbered/bulleted/labelled list; indented lines under an item continue it."""
    items: list[str] = []
    open_item = False
    for line in content.splitlines():
        if not line.strip():
            open_item = False
            continue
        marked = _MARKER.match(line)
        if marked:
            items.append(marked.group(1))
            open_item = True
        elif _NUMBERED_LABEL.match(line.strip()) and _LABEL.match(line.strip()):
            items.append(line.strip())
            open_item = True
        elif open_item and line[:1].isspace() and not line.strip().startswith("```"):
            items[-1] += " " + line.strip()
        else:
            open_item = False
    return items


def _plain_items(content: str) -> list[str]:
    """Unmarked lines that are not talk around the list (preamble, headings, closing remarks)."""
    content = _FENCE.sub(lambda m: m.group(1), content)
    return [line.strip() for line in content.splitlines() if line.strip() and not _is_chatter(line.strip())]


def _is_chatter(line: str) -> bool:
    if line.startswith("#") or line.endswith((":", "?")) or set(line) <= set("-=*_~ "):
        return True
    if line.startswith(("**", "__")) and line.endswith(("**", "__")) and len(line.split()) <= 6:
        return True  # a bold heading line
    return bool(_CHATTER.search(line))
