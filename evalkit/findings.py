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


def boxes_overlap(
    a: tuple[int, int, int, int], b: tuple[int, int, int, int], share: float = 0.25
) -> bool:
    """True when boxes ``a`` and ``b`` (x, y, w, h, pixels) share ``share`` of the smaller one."""
    w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    return w > 0 and h > 0 and w * h >= share * min(a[2] * a[3], b[2] * b[3])
