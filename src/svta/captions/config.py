"""Configuration of the caption stage (stage 1): which backend writes captions and how many per
category, the LLM server settings, and the filter rules.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from svta._configbase import StrictModel

# The paper's prompt (SVTA, arXiv 2506.01466, section 3.1), made a template: {category} is the
# category name, {description} its one-line description, {n} the number of prompts asked for.
ANOMALY_PROMPT = (
    "We want to generate a large-scale anomaly video dataset with a text-to-video model. "
    "Write short video descriptions of abnormal, unreasonable, or even dangerous behaviors, as a "
    "surveillance or street camera would record them. Each description is one or two sentences in "
    "English that say who is in the scene (with clothing or colour), where and when it happens, "
    "what they do and what follows. Do not number them twice, do not add explanations.\n"
    "The category means: {description}\n"
    "Next anomalous behavior category: {category}. Continue generating {n} prompts for this. "
    "Answer with a numbered list, one description per line."
)
NORMAL_PROMPT = (
    "We want to generate a large-scale video dataset of everyday, normal behavior with a "
    "text-to-video model. Write short video descriptions of ordinary, harmless activities, as a "
    "surveillance or street camera would record them. Each description is one or two sentences in "
    "English that say who is in the scene (with clothing or colour), where and when it happens and "
    "what they do. Do not add explanations.\n"
    "The category means: {description}\n"
    "Next normal behavior category: {category}. Continue generating {n} prompts for this. "
    "Answer with a numbered list, one description per line."
)
PROMPT_FIELDS = ("category", "description", "n")


def _check_template(template: str) -> str:
    try:
        template.format(**{name: "x" for name in PROMPT_FIELDS})
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(f"prompt template may only use {{category}}, {{description}}, {{n}}: {exc!r}") from None
    return template


class OpenAIBackendConfig(StrictModel):
    """Any OpenAI-compatible chat-completions server: vLLM, Ollama, llama.cpp, or a hosted API."""

    base_url: str = "http://localhost:8000/v1"
    model: str = "Qwen/Qwen2.5-7B-Instruct"
    api_key_env: str = "OPENAI_API_KEY"  # read from the environment; local servers accept any key
    prompt_template: str = ANOMALY_PROMPT
    normal_prompt_template: str = NORMAL_PROMPT
    system_prompt: str = "You are a helpful assistant that writes concise video descriptions."
    batch_size: int = Field(50, ge=1, le=500)  # prompts asked for per request (the paper asks for 50)
    concurrency: int = Field(8, ge=1, le=1024)  # requests in flight at once
    temperature: float = 1.0
    max_tokens: int = 4096
    timeout_s: float = Field(120.0, gt=0)
    max_retries: int = Field(6, ge=0)  # per request, for timeouts, 429 and 5xx
    backoff_s: float = Field(0.5, ge=0)  # first retry delay; doubles each retry, with jitter
    backoff_max_s: float = Field(30.0, ge=0)
    max_rounds: int = Field(20, ge=1)  # requests per category beyond which it gives up (logged)
    commit_interval_s: float = Field(0.5, ge=0)  # accepted captions are written as a part at most this often
    avoid_examples: int = Field(10, ge=0)  # already-written captions quoted back to steer away from repeats

    _check_prompts = field_validator("prompt_template", "normal_prompt_template")(_check_template)


class TemplateBackendConfig(StrictModel):
    """The embedded grammar generator."""

    grammar: Path | None = None  # a YAML grammar file that extends/overrides the shipped one
    consequence_rate: float = Field(0.5, ge=0, le=1)  # share of captions with a second sentence


class FilterConfig(StrictModel):
    """Rules of ``svta captions filter``, applied in this order; each removal is reported with its reason."""

    min_chars: int = Field(10, ge=0)
    max_chars: int = Field(400, ge=1)
    min_words: int = Field(3, ge=0)
    max_words: int = Field(80, ge=1)
    charset: Literal["latin", "any"] = (
        "latin"  # "latin": letters must be Latin script (English captions); "any": no check
    )
    min_script_ratio: float = Field(0.9, ge=0, le=1)  # share of letters in the charset
    min_alpha_ratio: float = Field(0.6, ge=0, le=1)  # share of letters among non-space characters
    blocked_terms: list[str] = Field(default_factory=list)
    blocked_terms_file: Path | None = None  # one term per line, '#' comments
    exact_duplicates: bool = True
    near_duplicates: bool = True
    near_threshold: float = Field(0.95, ge=0, le=1)  # MiniLM cosine at or above which a caption is a near-duplicate
    embedder: str = "minilm"  # registry kind "text_embedder"
    embedder_model: str | None = None
    block_size: int = Field(2048, ge=1)  # rows per similarity block


class CaptionsConfig(StrictModel):
    backend: str = "template"  # registry kind "caption_backend": template | openai
    per_category: int = Field(10, ge=0)
    categories: list[str] | None = None  # None: every category of the taxonomy
    counts: dict[str, int] = Field(default_factory=dict)  # per-category overrides of per_category
    long_tail: bool = False  # Zipf-like allocation of per_category x #categories over categories
    zipf_exponent: float = Field(1.0, ge=0)
    min_per_category: int = Field(1, ge=0)  # floor of the long-tail allocation
    template: TemplateBackendConfig = Field(default_factory=TemplateBackendConfig)
    openai: OpenAIBackendConfig = Field(default_factory=OpenAIBackendConfig)
    filter: FilterConfig = Field(default_factory=FilterConfig)
    options: dict[str, Any] = Field(default_factory=dict)  # settings of third-party backends
