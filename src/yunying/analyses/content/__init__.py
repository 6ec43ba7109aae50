"""Content operations (內容運營): per-piece funnel, flags, topics and timing, early forecast, referrals.

Definitions: docs/content.md.
"""
from .flags import FlagsSpec, flags
from .funnel import ContentSpec, content

__all__ = ["ContentSpec", "content", "FlagsSpec", "flags"]
