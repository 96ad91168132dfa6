"""Registers the built-in video backends (``procedural``, ``wan``); both import their heavy
libraries only when a backend is built.
"""

from __future__ import annotations

from svta.videos import procedural as _procedural  # noqa: F401
from svta.videos import wan as _wan  # noqa: F401
