"""Findings: what a detector or the OCR check says went wrong, and where."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import Enum
from typing import Any


class Severity(str, Enum):
    """How much a finding matters.

    ``info`` is within what an honest denoiser does; ``warning`` is a visible
    defect; ``critical`` changes what the picture says (invented or altered text).
    """

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return ("info", "warning", "critical").index(self.value)


@dataclass(frozen=True)
class Finding:
    """One observation about a candidate image.

    Attributes
    ----------
    detector : str
        Registry name of what produced it (``"text_hallucination"``).
    severity : Severity
        ``info``, ``warning`` or ``critical``.
    score : float
        The detector's measure; its meaning and units are in the detector's docs.
    bbox : (x, y, w, h) or None
        Where, in pixels of the reference; ``None`` for a whole-image finding.
    message : str
        One sentence a photographer understands.
    """

    detector: str
    severity: Severity
    score: float
    bbox: tuple[int, int, int, int] | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: severity as its string, bbox as a list or ``None``."""
        data = asdict(self)
        data["severity"] = Severity(self.severity).value
        data["bbox"] = list(self.bbox) if self.bbox is not None else None
        return data
