"""Text panel entries: OCR readings and their character-level differences."""

from __future__ import annotations

from typing import Any

#: Keys of a text entry the panel shows in its own columns; others go to "details".
KNOWN_KEYS = (
    "pair",
    "denoiser",
    "bbox",
    "true_text",
    "reference_text",
    "candidate_text",
    "noisy_text",
    "cer",
    "diff",
    "hallucinated",
    "verdict",
    "evidence",
    "doubt",
)

#: Operations of a diff segment, as rendered: ``equal`` text is plain,
#: ``replace`` marks candidate characters that stand where others were,
#: ``insert`` candidate characters that were not there, ``delete`` lost ones.
OPERATIONS = ("equal", "replace", "insert", "delete")


def character_diff(reference: str, candidate: str) -> list[tuple[str, str, str]]:
    """Segments turning ``reference`` into ``candidate``, character by character.

    Parameters
    ----------
    reference, candidate : str
        The expected reading and the reading of the denoiser's output.

    Returns
    -------
    list of (operation, reference_part, candidate_part)
        ``operation`` is one of :data:`OPERATIONS`; concatenating the candidate
        parts gives ``candidate`` and the reference parts give ``reference``.

    Notes
    -----
    Levenshtein edit operations from ``rapidfuzz.distance.Levenshtein.opcodes``.

    Examples
    --------
    >>> character_diff("keyboard", "kőłyboard")[1:3]
    [('insert', '', 'ő'), ('replace', 'e', 'ł')]
    """
    from rapidfuzz.distance import Levenshtein

    return [
        (op.tag, reference[op.src_start : op.src_end], candidate[op.dest_start : op.dest_end])
        for op in Levenshtein.opcodes(reference, candidate)
    ]


def text_rows(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Prepare OCR entries for the panel: readings, a diff, and the other keys.

    The diff is the entry's own ``diff`` when it is a list of segments in a form
    this module understands, otherwise computed here between the reference
    reading (or the true text when there is no reference reading) and the
    candidate reading.
    """
    rows = []
    for entry in entries:
        reference = _text(entry.get("reference_text"))
        truth = _text(entry.get("true_text"))
        candidate = _text(entry.get("candidate_text"))
        expected = reference if reference is not None else truth
        diff = _given_diff(entry.get("diff"))
        if diff is None and expected is not None and candidate is not None:
            diff = character_diff(expected, candidate)
        rows.append(
            {
                "bbox": entry.get("bbox"),
                "true_text": truth,
                "reference_text": reference,
                "candidate_text": candidate,
                "noisy_text": _text(entry.get("noisy_text")),
                "cer": _number(entry.get("cer")),
                "hallucinated": bool(entry.get("hallucinated")),
                "verdict": _text(entry.get("verdict")),
                "diff": diff,
                "changed": bool(diff) and any(op != "equal" for op, _, _ in diff),
                "evidence": _evidence(entry.get("evidence")),
                "doubt": _text(entry.get("doubt")),
                "details": {
                    key: value
                    for key, value in entry.items()
                    if key not in KNOWN_KEYS and value is not None
                },
            }
        )
    return rows


def _given_diff(value: Any) -> list[tuple[str, str, str]] | None:
    """Accept ``[[op, ref, cand], ...]`` or ``[{"op"/"tag", "reference"/"ref",
    "candidate"/"cand"}, ...]``; anything else → ``None`` (recompute)."""
    if not isinstance(value, list) or not value:
        return None
    segments = []
    for item in value:
        if isinstance(item, list | tuple) and len(item) == 3:
            op, ref, cand = item
        elif isinstance(item, dict):
            op = item.get("op", item.get("tag"))
            ref = item.get("reference", item.get("ref", ""))
            cand = item.get("candidate", item.get("cand", ""))
        else:
            return None
        if op not in OPERATIONS or not isinstance(ref, str) or not isinstance(cand, str):
            return None
        segments.append((op, ref, cand))
    return segments


def _evidence(value: Any) -> dict[str, Any] | None:
    """The re-readings and the glyph measure behind a verdict, as the panel shows them.

    ``readings`` becomes a list of ``(source, reference reading, output reading)``;
    ``None`` when the entry has no evidence (its first reading was not in doubt).
    """
    if not isinstance(value, dict):
        return None
    readings = value.get("readings") if isinstance(value.get("readings"), dict) else {}
    return {
        "readings": [
            (str(source), _text(pair.get("reference")), _text(pair.get("candidate")))
            for source, pair in readings.items()
            if isinstance(pair, dict)
        ],
        "glyph_change": _number(value.get("glyph_change")),
        "threshold": _number(value.get("threshold")),
        "changed": bool(value.get("changed")),
    }


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
