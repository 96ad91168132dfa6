"""Configuration of the video stage (stage 2): which backend renders clips, how the run is made
resumable and checked, and the settings of each backend (procedural renderer, Wan2.1).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from svta._configbase import StrictModel

# Wan2.1's negative prompt, in English: suppresses over-saturation, static frames, subtitles, painterly
# style, low quality, anatomical defects, clutter and backwards motion. diffusers defaults to "".
WAN_NEGATIVE_PROMPT = (
    "bright tones, overexposed, static, blurred details, subtitles, style, works, paintings, images, static, "
    "overall gray, worst quality, low quality, JPEG compression residue, ugly, incomplete, extra fingers, "
    "poorly drawn hands, poorly drawn faces, deformed, disfigured, misshapen limbs, fused fingers, still picture, "
    "messy background, three legs, many people in the background, walking backwards"
)


class WanConfig(StrictModel):
    """Wan2.1 text-to-video through diffusers' ``WanPipeline``.

    ``model`` is a hub id or local directory of a diffusers-format Wan2.1 checkpoint, or
    ``random:tiny`` / ``random:1.3b`` / ``random:14b`` to build that architecture from its config
    with random weights (no download; for tests and timing).
    """

    model: str = "Wan-AI/Wan2.1-T2V-1.3B-Diffusers"
    height: int = 480
    width: int = 832
    num_frames: int = 81
    fps: float = 16.0
    steps: int = 50
    guidance: float = 5.0
    flow_shift: float = 3.0  # diffusers: 3.0 at 480p, 5.0 at 720p; Wan's README suggests 8-12 for 1.3B
    negative_prompt: str = WAN_NEGATIVE_PROMPT
    max_sequence_length: int = 512
    batch_size: int = 1  # prompts per pipeline call (one seeded generator per prompt)
    device: str = "auto"  # "auto": cuda when available, else cpu
    dtype: Literal["bfloat16", "float16", "float32"] = "bfloat16"  # the DiT; fp16 gives black videos
    vae_dtype: Literal["bfloat16", "float16", "float32"] = "float32"
    fp8: bool = False  # store DiT weights as float8_e4m3fn, compute in bf16 (saves memory, not time)
    offload: Literal["none", "model", "sequential"] = "none"
    vae_tiling: bool = False
    cache: Literal["none", "teacache", "first_block", "mag"] = "none"
    cache_threshold: float | None = None  # None: the method's default (teacache 0.08, first_block 0.05, mag 0.06)
    teacache_coefficients: list[float] | None = None  # None: Wan2.1's published ones for the model size
    teacache_ret_steps: bool = False  # modulate on timestep_proj (e0) and keep the first 5 steps
    mag_ratios: list[float] | None = None  # MagCache's per-step magnitude ratios (model-specific)
    mag_calibrate: bool = False  # MagCache calibration run: nothing skipped, ratios logged

    @field_validator("num_frames")
    @classmethod
    def _frames_4k_plus_1(cls, value: int) -> int:
        if value < 1 or (value - 1) % 4:
            raise ValueError(f"Wan needs num_frames = 4k+1 (e.g. 5, 17, 33, 81), got {value}")
        return value

    @field_validator("height", "width")
    @classmethod
    def _multiple_of_16(cls, value: int) -> int:
        if value < 16 or value % 16:
            raise ValueError(f"Wan needs height and width that are multiples of 16, got {value}")
        return value

    @field_validator("steps", "batch_size", "max_sequence_length")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError(f"must be >= 1, got {value}")
        return value

    @model_validator(mode="after")
    def _mag_needs_ratios(self) -> WanConfig:
        if self.cache == "mag" and self.mag_ratios is None and not self.mag_calibrate:
            raise ValueError("cache='mag' needs mag_ratios (or mag_calibrate=true to measure them)")
        return self


class QualityConfig(StrictModel):
    """Thresholds of the automatic clip checks (flags only; nothing is deleted)."""

    black_max_mean: float = 12.0  # mean pixel value (0-255) under which a clip counts as black
    frozen_max_motion: float = 0.5  # mean |frame_t - frame_t-1| (0-255) under which a clip is frozen
    duplicate_min_cosine: float = 0.995  # cosine of two clips' thumbnail signatures marking near-duplicates
    min_agreement: float | None = None  # caption-video score under which a clip is flagged (needs a scorer)


class VideosConfig(StrictModel):
    """The video stage.

    ``frames``/``fps``/``width``/``height`` are the clip geometry of the procedural renderer; Wan
    takes its own from ``wan`` (it needs 4k+1 frames and sizes divisible by 16).
    """

    backend: str = "procedural"
    frames: int = 16
    fps: float = 8.0
    width: int = 224
    height: int = 224
    seed: int = 0  # mixed with each caption's id (and its own seed) into the clip's seed
    retries: int = 2  # extra attempts for an item that fails, within one run
    commit_every: int = 16  # results per committed table part (a crash redoes at most these)
    commit_seconds: float = 30.0  # ... or commit after this long, whichever comes first
    verify: Literal["exists", "probe", "decode", "sha256"] = "probe"  # check of clips a rerun finds done
    encode_crf: int = 18
    encode_threads: int = 1  # x264 threads; 1 makes the bytes identical on every machine
    wan: WanConfig = Field(default_factory=WanConfig)
    quality: QualityConfig = Field(default_factory=QualityConfig)

    @field_validator("frames", "width", "height", "commit_every")
    @classmethod
    def _at_least_one(cls, value: int) -> int:
        if value < 1:
            raise ValueError(f"must be >= 1, got {value}")
        return value

    @field_validator("width", "height")
    @classmethod
    def _even(cls, value: int) -> int:
        if value % 2:
            raise ValueError(f"H.264 (yuv420p) needs even frame sizes, got {value}")
        return value

    @field_validator("fps")
    @classmethod
    def _positive_fps(cls, value: float) -> float:
        if value <= 0:
            raise ValueError(f"fps must be > 0, got {value}")
        return value

    @field_validator("retries")
    @classmethod
    def _non_negative(cls, value: int) -> int:
        if value < 0:
            raise ValueError(f"retries must be >= 0, got {value}")
        return value
