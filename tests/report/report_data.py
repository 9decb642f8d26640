"""Results folders for report tests: a real run on a tiny dataset, plus hand-written
findings and OCR rows (the detectors and OCR are other issues)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

#: A denoiser label and an OCR reading that would be markup if not escaped.
HOSTILE_LABEL = "<b>tv \"q\" 'x'</b>"
SCRIPT = "<script>alert(1)</script>"
HOSTILE_PAIR = 'p"<i>3200'


def _image(height=60, width=80):
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    image = np.stack(
        [x / (width - 1), y / (height - 1), 0.5 + 0.4 * np.sin(x / 5) * np.cos(y / 7)], axis=-1
    )
    image[20:32, 10:60] = [0.9, 0.1, 0.2]
    return image.astype(np.float32)


def make_results(folder, *, seed=0, sigma_scale=1.0, denoisers=None):
    """Run evalkit on three tiny pairs into ``folder/results``; add findings and text rows."""
    from evalkit.io import save_image
    from evalkit.runner import RunConfig, run

    rng = np.random.default_rng(seed)
    data = folder / "data"
    data.mkdir(parents=True)
    reference = _image()
    save_image(data / "ref.png", reference)
    pairs = []
    for index, (pair_id, iso) in enumerate(
        (("p-iso800", 800), (HOSTILE_PAIR, 3200), ("p-iso12800", 12800))
    ):
        noisy = np.clip(
            reference + rng.normal(0, 0.03 * (index + 1) * sigma_scale, reference.shape), 0, 1
        )
        save_image(data / f"n{iso}.png", noisy)
        pairs.append(
            f'[[pair]]\nid = {json.dumps(pair_id)}\nreference = "ref.png"\n'
            f'noisy = "n{iso}.png"\niso = {iso}\ncamera = "test"\n'
        )
    (data / "manifest.toml").write_text('[dataset]\nname = "tiny"\n\n' + "\n".join(pairs))
    config = RunConfig.from_dict(
        {
            "dataset": str(data / "manifest.toml"),
            "metrics": ["psnr", "ssim"],
            "ocr": "none",
            "denoiser": denoisers
            or [{"name": "noisy"}, {"name": "gaussian"}, {"name": "tv", "label": HOSTILE_LABEL}],
        }
    )
    out = folder / "results"
    result = run(config, out=out)
    findings = pd.DataFrame(
        [
            {
                "pair": "p-iso800",
                "denoiser": "gaussian",
                "detector": "text_hallucination",
                "severity": "critical",
                "score": 0.9,
                "bbox": "[10, 20, 50, 12]",
                "message": f"reads {SCRIPT} where the reference reads keyboard",
            },
            {
                "pair": HOSTILE_PAIR,
                "denoiser": "noisy",
                "detector": "texture_hallucination",
                "severity": "warning",
                "score": 0.4,
                "bbox": "[50, 5, 20, 20]",
                "message": "paper given a texture",
            },
            {
                "pair": HOSTILE_PAIR,
                "denoiser": HOSTILE_LABEL,
                "detector": "colour_shift",
                "severity": "info",
                "score": 0.1,
                "bbox": "",
                "message": "colours shifted slightly",
            },
        ]
    )
    findings.to_csv(out / "findings.csv", index=False)
    text = [
        {
            "pair": "p-iso800",
            "denoiser": "gaussian",
            "bbox": [10, 20, 50, 12],
            "true_text": "keyboard",
            "reference_text": "keyboard",
            "candidate_text": SCRIPT,
            "cer": 1.0,
            "hallucinated": True,
            "verdict": "changed",
            "engine": "easyocr",
        },
        {
            "pair": "p-iso800",
            "denoiser": "noisy",
            "bbox": [10, 20, 50, 12],
            "true_text": "keyboard",
            "reference_text": "keyboard",
            "candidate_text": "kőłyboard",
            "cer": 0.25,
            "verdict": "uncertain",
            "evidence": {
                "readings": {
                    "easyocr x1.5": {"reference": "keyboard", "candidate": "kolyboard"},
                    "tesseract": {"reference": "keyboard", "candidate": "keyboard"},
                },
                "glyph_change": 0.41,
                "threshold": 0.15,
                "changed": True,
            },
            "doubt": "tesseract reads reference and output alike",
        },
    ]
    (out / "text.json").write_text(json.dumps(text), encoding="utf-8")
    return out, result
