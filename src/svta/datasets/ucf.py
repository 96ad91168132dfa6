"""UCF-Crime naming rules shared by every reader of UCF-Crime-based data (UCFCrime-AR, UCA): the
class of a video name, its taxonomy category, and the recording key that ties a UCA sentence, a
UCFCrime-AR row and an imported video to the same source recording.
"""

from __future__ import annotations

import re
from pathlib import Path

from svta.taxonomy import UCF_CRIME_CLASSES, Taxonomy, default_taxonomy

NORMAL_CLASS = "Normal"
# UCF-Crime's normal videos are untrimmed surveillance footage of ordinary scenes (streets, shops,
# halls) where people mostly walk through; of the taxonomy's normal categories, `walking` is the
# generic one that fits such a whole recording, so imported normal videos get it.
UCF_NORMAL_CATEGORY = "walking"
_CLASS_PREFIX = re.compile(r"^([A-Za-z]+?)(?:_?\d|_x264|$)")
_KNOWN = {name.lower(): name for name in UCF_CRIME_CLASSES}
# UCF-Crime file stems (Abuse028_x264, Normal_Videos_003_x264).
_UCF_KEY = re.compile(r"([a-z][a-z_]*?_?\d+(?:_\d+)?_x264)", re.IGNORECASE)


def ucf_class(name: str) -> str | None:
    """The UCF-Crime class of a video name or path; the one rule every reader uses.

    Normal videos (any name or folder with "normal") are ``"Normal"``; otherwise the letters before
    the file's number (``Shoplifting_x264.mp4`` and ``Abuse/Abuse028_x264.mp4`` give ``Shoplifting``
    and ``Abuse``), spelt as UCF-Crime spells its classes, else the folder that holds the file.

    Returns:
        The class, or ``None`` when the name carries none.
    """
    text = name.strip().replace("\\", "/")
    if "normal" in text.lower():
        return NORMAL_CLASS
    path = Path(text)
    match = _CLASS_PREFIX.match(path.stem)
    prefix = match.group(1) if match else None
    if prefix and prefix.lower() in _KNOWN:
        return _KNOWN[prefix.lower()]
    folder = path.parent.name
    if folder.lower() in _KNOWN:
        return _KNOWN[folder.lower()]
    return prefix or (folder or None)


def ucf_category(
    ucf: str | None,
    map_to_taxonomy: bool = True,
    taxonomy: Taxonomy | None = None,
    normal_category: str = UCF_NORMAL_CATEGORY,
) -> tuple[str | None, bool | None]:
    """``(category, is_anomaly)`` of a UCF-Crime class.

    Args:
        ucf: a class from :func:`ucf_class` (``None``: unknown, gives ``(None, None)``).
        map_to_taxonomy: anomaly classes become taxonomy ids (``RoadAccidents`` → ``road_accident``);
            off: the class name is kept.
        taxonomy: the taxonomy to map into (default: the shipped one).
        normal_category: the category of normal videos (see :data:`UCF_NORMAL_CATEGORY`).
    """
    if ucf is None:
        return None, None
    if ucf == NORMAL_CLASS:
        return normal_category, False
    if map_to_taxonomy:
        category = (taxonomy or default_taxonomy()).by_ucf_crime().get(ucf)
        if category is not None:
            return category.id, True
    return ucf, True


def source_key(*texts: str | None) -> str | None:
    """The UCF-Crime recording a name, path or source_ref refers to (lower-case stem), if any."""
    for text in texts:
        match = _UCF_KEY.search(Path(str(text)).name if text else "")
        if match:
            return match.group(1).lower()
    return None
