"""``svta doctor``: the environment checks behind every stage's preflight, gathered in one list.

Each check returns a :class:`Check` (name, ok/warn/fail, what was found, how to fix it); none downloads
anything, and the network checks are single TCP connects with a short timeout.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

Status = Literal["ok", "warn", "fail"]

# extra -> the modules it brings (one per line of pyproject's optional-dependencies that matters at run time)
EXTRAS: dict[str, tuple[str, ...]] = {
    "gen": ("diffusers", "transformers", "accelerate", "tokenizers"),
    "llm": ("openai", "httpx"),
    "embed": ("sentence_transformers",),
    "retrieval": ("open_clip", "tensorboard"),
    "search": ("faiss", "fastapi", "uvicorn"),
    "ray": ("ray",),
    "plot": ("matplotlib",),
    "io": ("openpyxl",),
    "release": ("datasets", "mlcroissant"),
}
WAN_DEFAULT = "Wan-AI/Wan2.1-T2V-1.3B-Diffusers"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


@dataclass
class Check:
    """One line of the doctor's table."""

    name: str
    status: Status
    detail: str
    fix: str = ""

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def check_extras() -> list[Check]:
    """One check per optional extra: which of its modules import, and which stages use it (from the stage
    declarations in :mod:`svta.stages`)."""
    from svta.stages import STAGES

    checks = []
    for extra, modules in EXTRAS.items():
        missing = [m for m in modules if importlib.util.find_spec(m) is None]
        status: Status = "ok" if not missing else "warn"
        users = [declared.name for declared in STAGES if extra in declared.extras]
        detail = "installed" if not missing else f"missing {', '.join(missing)}"
        if users:
            detail += f" (used by {', '.join(users)})"
        checks.append(Check(f"extra [{extra}]", status, detail, f"pip install 'svta[{extra}]'" if missing else ""))
    return checks


def check_torch() -> list[Check]:
    """torch's version and the CUDA devices it sees."""
    if importlib.util.find_spec("torch") is None:
        return [Check("torch", "fail", "not installed", "pip install torch")]
    import torch

    checks = [Check("torch", "ok", torch.__version__)]
    if torch.cuda.is_available():
        names = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
        checks.append(Check("CUDA", "ok", f"CUDA {torch.version.cuda}: {names}"))
    else:
        checks.append(
            Check(
                "CUDA",
                "warn",
                "no CUDA device visible",
                "wan and ViT-B training want a GPU; --device cpu forces the CPU",
            )
        )
    checks.append(_embed_precision_check())
    return checks


def _embed_precision_check() -> Check:
    from svta.embed import PRECISION_ENV, cpu_has_fast_bf16, resolve_precision
    from svta.errors import ConfigError

    try:
        precision = resolve_precision()
    except ConfigError as error:
        return Check("text embedder precision", "fail", str(error), f"unset {PRECISION_ENV} or set it to auto")
    units = "bfloat16 units" if cpu_has_fast_bf16() else "no bfloat16 units"
    source = f"${PRECISION_ENV}" if os.environ.get(PRECISION_ENV) else "auto"
    return Check("text embedder precision", "ok", f"{precision} ({source}; this CPU has {units})")


def check_video_io() -> list[Check]:
    """ffmpeg on PATH and the H.264 encoder and decoder PyAV was built with."""
    checks = []
    ffmpeg = shutil.which("ffmpeg")
    checks.append(
        Check(
            "ffmpeg",
            "ok" if ffmpeg else "warn",
            ffmpeg or "not on PATH",
            "" if ffmpeg else "optional (svta uses PyAV): apt-get install ffmpeg",
        )
    )
    if importlib.util.find_spec("av") is None:
        return [*checks, Check("PyAV", "fail", "not installed", "pip install av")]
    import av

    missing = [
        f"{name} {mode}"
        for name, mode in (("h264", "w"), ("libx264", "w"), ("h264", "r"))
        if not _has_codec(av, name, mode)
    ]
    encoders = "libx264 or h264" if {"h264 w", "libx264 w"} <= set(missing) else ""
    decode_missing = "h264 r" in missing
    problems = [
        p for p in (f"no {encoders} encoder" if encoders else "", "no h264 decoder" if decode_missing else "") if p
    ]
    checks.append(
        Check(
            "PyAV codecs",
            "fail" if problems else "ok",
            "; ".join(problems) or f"PyAV {av.__version__}: H.264 encode and decode",
            "pip install --force-reinstall av (wheels bundle ffmpeg with x264)" if problems else "",
        )
    )
    return checks


def _has_codec(av: Any, name: str, mode: str) -> bool:
    try:
        av.codec.Codec(name, mode)
    except Exception:  # noqa: BLE001 - PyAV raises UnknownCodecError or ValueError depending on version
        return False
    return True


def check_weights(wan_model: str = WAN_DEFAULT) -> list[Check]:
    """OpenAI CLIP files in open_clip's cache and the Wan2.1 repository in the Hugging Face cache."""
    checks = []
    if importlib.util.find_spec("open_clip") is not None:
        from svta.retrieval.backbone import OPENAI_PRETRAINED, openai_cache_path

        for name in OPENAI_PRETRAINED:
            path = openai_cache_path(name)
            found = path.is_file()
            checks.append(
                Check(
                    f"weights OpenAI {name}",
                    "ok" if found else "warn",
                    str(path) if found else f"not in {path.parent}",
                    "" if found else "downloaded on first use, or --pretrained FILE",
                )
            )
    if importlib.util.find_spec("huggingface_hub") is not None:
        import huggingface_hub

        local = Path(wan_model).expanduser()
        found = (local / "model_index.json").is_file() or isinstance(
            huggingface_hub.try_to_load_from_cache(wan_model, "model_index.json"), str
        )
        checks.append(
            Check(
                f"weights {wan_model}",
                "ok" if found else "warn",
                "found" if found else f"not in {huggingface_hub.constants.HF_HUB_CACHE}",
                "" if found else f"hf download {wan_model} --local-dir DIR; --wan-model DIR",
            )
        )
    return checks


def check_hub() -> list[Check]:
    """Whether downloads are possible: ``HF_HUB_OFFLINE`` and a TCP connect to the hub."""
    from svta.preflight import hub_endpoint, hub_offline, reachable

    if hub_offline():
        return [
            Check(
                "hub",
                "warn",
                "HF_HUB_OFFLINE is set: nothing is downloaded",
                "put real-backend weights on disk first (see the weights rows)",
            )
        ]
    endpoint = hub_endpoint()
    if reachable(endpoint):
        return [Check("hub", "ok", f"{endpoint} reachable")]
    return [
        Check(
            "hub",
            "warn",
            f"{endpoint} does not answer",
            "set HF_HUB_OFFLINE=1 so nothing waits on it, and use local weights",
        )
    ]


def check_servers(
    llm_url: str | None = None, ray_address: str | None = None, classifier_url: str | None = None
) -> list[Check]:
    """The LLM servers (caption backend, category classifier) and Ray head the config names, when it names them."""
    from svta.preflight import reachable

    checks = []
    for name, url, fix in (
        ("LLM server (captions)", llm_url, "start the server (vllm serve MODEL) or fix captions.openai.base_url"),
        ("LLM server (annotate)", classifier_url, "start the server (vllm serve MODEL) or fix annotate.llm.base_url"),
        ("Ray head", ray_address, "ray start --head, or fix engine.ray_address"),
    ):
        if not url or url in ("auto", "local"):
            continue
        ok = reachable(url)
        checks.append(
            Check(name, "ok" if ok else "warn", f"{url} {'answers' if ok else 'does not answer'}", "" if ok else fix)
        )
    return checks


def check_chromium() -> list[Check]:
    """A Chromium for the search page's browser test."""
    configured = os.environ.get("SVTA_CHROMIUM")
    found = (
        configured
        if configured and Path(configured).exists()
        else next((p for p in map(shutil.which, CHROMIUM_NAMES) if p), None)
    )
    return [
        Check(
            "Chromium",
            "ok" if found else "warn",
            found or "not found",
            "" if found else "apt-get install chromium, or set SVTA_CHROMIUM=/path/to/chromium",
        )
    ]


def run_checks(
    llm_url: str | None = None,
    ray_address: str | None = None,
    wan_model: str = WAN_DEFAULT,
    network: bool = True,
    classifier_url: str | None = None,
) -> list[Check]:
    """Every check, in the order the table shows them (``network=False`` skips the connects)."""
    groups: list[Callable[[], list[Check]]] = [
        check_extras,
        check_torch,
        check_video_io,
        lambda: check_weights(wan_model),
    ]
    if network:
        groups += [check_hub, lambda: check_servers(llm_url, ray_address, classifier_url)]
    groups.append(check_chromium)
    return [check for group in groups for check in group()]
