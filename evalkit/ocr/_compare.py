"""Comparing two readings: normalisation, CER, WER and a character-level diff.

Edit distances come from rapidfuzz (Levenshtein, unit costs), not from a
hand-written dynamic programme.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from rapidfuzz.distance import Levenshtein

_SPACES = re.compile(r"\s+")
_SAME_SHAPE_CAPITALS = str.maketrans("COSUVWXZ", "cosuvwxz")


def normalize_text(text: str) -> str:
    """The form in which readings are compared.

    Unicode NFC (so "ő" is one character however it was typed), runs of white
    space collapsed to one space, punctuation and symbols stripped from both ends
    (OCR engines read crop borders as "~", "|" or "."), and the letters whose
    capital has the same shape as the small letter (c, o, s, u, v, w, x, z) put in
    lower case: which of the two they are depends only on their size relative to
    their neighbours, which recognisers get wrong on clean text too. Every other
    letter keeps its case, so "kEyboard" differs from "keyboard"; digits and
    diacritics are kept: "8" and "B", "e" and "ő" stay different.
    """
    text = unicodedata.normalize("NFC", text)
    text = _SPACES.sub(" ", text).strip()
    start, end = 0, len(text)
    while start < end and not _is_word_char(text[start]):
        start += 1
    while end > start and not _is_word_char(text[end - 1]):
        end -= 1
    return text[start:end].translate(_SAME_SHAPE_CAPITALS)


def character_error_rate(reference: str, hypothesis: str) -> float:
    """Levenshtein distance over characters divided by the reference length.

    Parameters
    ----------
    reference, hypothesis : str
        Already normalised strings (:func:`normalize_text`).

    Returns
    -------
    float
        >= 0; 0 for equal strings. Can exceed 1 when the hypothesis is longer.
        An empty reference gives 0 against an empty hypothesis and 1 otherwise.
    """
    if not reference:
        return 0.0 if not hypothesis else 1.0
    return Levenshtein.distance(reference, hypothesis) / len(reference)


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Levenshtein distance over space-separated words divided by the reference word count.

    Same conventions as :func:`character_error_rate`, with words as the symbols.
    """
    reference_words = reference.split()
    hypothesis_words = hypothesis.split()
    if not reference_words:
        return 0.0 if not hypothesis_words else 1.0
    return Levenshtein.distance(reference_words, hypothesis_words) / len(reference_words)


def character_diff(reference: str, hypothesis: str) -> list[dict[str, Any]]:
    """The edits that turn ``reference`` into ``hypothesis``, character by character.

    Returns
    -------
    list of dict
        One JSON-ready dict per edit block, in reading order, with ``op`` (one of
        ``"substitute"``, ``"insert"``, ``"delete"``), ``position`` (index in the
        reference where it happens), ``reference`` (the characters removed or
        replaced, "" for an insertion) and ``output`` (the characters put there,
        "" for a deletion). Equal stretches are left out; equal strings give ``[]``.
    """
    names = {"replace": "substitute", "insert": "insert", "delete": "delete"}
    edits = []
    for op in Levenshtein.opcodes(reference, hypothesis):
        if op.tag == "equal":
            continue
        edits.append(
            {
                "op": names[op.tag],
                "position": op.src_start,
                "reference": reference[op.src_start : op.src_end],
                "output": hypothesis[op.dest_start : op.dest_end],
            }
        )
    return edits


def describe_diff(edits: list[dict[str, Any]], *, limit: int = 3) -> str:
    """A short phrase for a message: ``"e" → "o", "l" inserted``."""
    parts = []
    for edit in edits[:limit]:
        if edit["op"] == "substitute":
            parts.append(f'"{edit["reference"]}" → "{edit["output"]}"')
        elif edit["op"] == "insert":
            parts.append(f'"{edit["output"]}" inserted')
        else:
            parts.append(f'"{edit["reference"]}" deleted')
    if len(edits) > limit:
        parts.append(f"{len(edits) - limit} more")
    return ", ".join(parts)


def _is_word_char(char: str) -> bool:
    return unicodedata.category(char)[0] in "LN"
