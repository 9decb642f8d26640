"""HTML comparison reports, self-contained and viewable from ``file://``."""

from ._html import write_report

__all__ = ["write_report"]
