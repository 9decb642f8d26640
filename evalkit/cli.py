"""The ``evalkit`` command: a thin shell over the Python API.

Each command parses its arguments, makes one API call and renders the result.
User mistakes (:class:`~evalkit.errors.EvalkitError`) print one line on stderr
and exit with the error's code (2); ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import sys
import warnings
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from . import _json as strict_json
from ._pages import avoid_hugepage_stalls
from .datasets import LAYOUTS
from .errors import EvalkitError

app = typer.Typer(
    name="evalkit",
    help="Score image denoisers against reference pairs, and say what they invented.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_state = {"debug": False}


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
) -> None:
    _state["debug"] = debug


@contextmanager
def _user_errors():
    """Map evalkit's errors to one line on stderr and their exit code."""
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        try:
            yield
        except EvalkitError as exc:
            if _state["debug"]:
                raise
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(exc.exit_code) from None
        except OSError as exc:  # a path that cannot be written: the user's to fix
            if _state["debug"]:
                raise
            where = exc.filename if exc.filename is not None else "error"
            typer.echo(f"error: {where}: {exc.strerror or exc}", err=True)
            raise typer.Exit(2) from None


def _show_warning(message, category, filename, lineno, file=None, line=None):
    typer.echo(f"warning: {message}", err=True)


class AlignMode(str, Enum):
    auto = "auto"
    always = "always"
    never = "never"


@app.command()
def score(
    reference: Annotated[Path, typer.Argument(help="Reference image (long exposure, low ISO).")],
    candidate: Annotated[Path, typer.Argument(help="Denoiser output to score.")],
    noisy: Annotated[Path | None, typer.Option(help="The noisy shot the output came from.")] = None,
    metric: Annotated[
        list[str] | None, typer.Option("--metric", "-m", help="Metric to compute (repeatable).")
    ] = None,
    align: Annotated[
        AlignMode,
        typer.Option(
            help="How the reference is registered and tone-matched to --noisy: auto applies "
            "each correction only when the data show it (benchmark pairs such as PolyU are "
            "scored unaligned, as published); always applies every estimate; never none."
        ),
    ] = "auto",
    no_align: Annotated[
        bool, typer.Option("--no-align", hidden=True, help="Same as --align never.")
    ] = False,
    ocr: Annotated[
        str, typer.Option(help="OCR engine for the text check (easyocr, tesseract), or none.")
    ] = "easyocr",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Score one output image against its reference."""
    from .scoring import DEFAULT_METRICS
    from .scoring import score as score_images

    with _user_errors():
        try:
            result = score_images(
                reference,
                candidate,
                noisy=noisy,
                metrics=metric or DEFAULT_METRICS,
                align="never" if no_align else AlignMode(align).value,
                ocr=None if ocr == "none" else ocr,
                maps=False,
            )
        except KeyError as exc:
            raise EvalkitError(exc.args[0]) from None
    if as_json:
        typer.echo(strict_json.dumps(result.to_dict(), indent=2))
        return
    _print_score(result, candidate)


def _print_score(result, candidate: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    from .metrics import METRICS

    console = Console()
    table = Table(title=f"{candidate}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("better")
    for name, value in result.metrics.items():
        spec = METRICS.get(name) if name in METRICS else None
        unit = spec.unit if spec else ""
        shown = f"{value:.4f} {unit}".strip() if value is not None else "unavailable"
        better = "" if spec is None else "higher" if spec.higher_is_better else "lower"
        table.add_row(name, shown, better)
    console.print(table)
    for name, reason in result.unavailable.items():
        console.print(f"[yellow]{name} unavailable:[/] {reason}")
    for correction in (result.alignment or {}).get("corrections", []):
        console.print(f"alignment {correction['name']}: {correction['reason']}")
    for finding in result.findings:
        console.print(f"[bold]{finding.severity.value}[/] {finding.detector}: {finding.message}")


class Executor(str, Enum):
    local = "local"
    dask = "dask"


@app.command()
def inspect(
    noisy: Annotated[Path, typer.Argument(help="The noisy original (before).")],
    candidate: Annotated[Path, typer.Argument(help="The denoiser's output (after).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    report: Annotated[
        Path | None, typer.Option(help="Also write an HTML report into this folder.")
    ] = None,
    no_text: Annotated[bool, typer.Option("--no-text", help="Skip the OCR check.")] = False,
) -> None:
    """Judge an output against its noisy input alone, when no reference shot exists."""
    from .inspection import inspect as inspect_images
    from .report import write_inspection_report

    with _user_errors():
        result = inspect_images(noisy, candidate, text=not no_text)
        if report is not None:
            typer.echo(
                f"wrote {write_inspection_report(result, noisy, candidate, report)}", err=True
            )
    if as_json:
        typer.echo(strict_json.dumps(result.to_dict(), indent=2))
    else:
        typer.echo("No reference: judged against the noisy shot only.")
        _print_score(result, candidate)


@app.command()
def run(
    config: Annotated[Path, typer.Argument(help="Run configuration (TOML).")],
    out: Annotated[Path, typer.Option(help="Results folder; re-running reuses its work.")] = Path(
        "reports/latest"
    ),
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Worker processes.")] = 1,
    executor: Annotated[Executor, typer.Option(help="Where items run.")] = Executor.local,
    scheduler: Annotated[
        str | None, typer.Option(help="dask scheduler address, with --executor dask.")
    ] = None,
    keep_outputs: Annotated[
        bool | None,
        typer.Option(
            "--keep-outputs/--no-keep-outputs",
            help="Keep the output images in the results folder (default: as the config says).",
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Run denoisers x pairs; write the results database, results.csv and index.html."""
    from .report import write_report
    from .runner import run as run_config

    if executor is Executor.dask and not scheduler:
        typer.echo("error: --executor dask needs --scheduler ADDRESS", err=True)
        raise typer.Exit(2)
    with _user_errors(), _progress_bar(quiet) as progress:
        result = run_config(
            config,
            out=out,
            jobs=jobs,
            scheduler=scheduler if executor is Executor.dask else None,
            keep_outputs=keep_outputs,
            progress=progress,
        )
        report = write_report(result, out, jobs=jobs)
    failures = result.failures
    items = result.table.drop_duplicates(["pair", "denoiser"])
    typer.echo(
        f"{len(items)} items, {result.reused} reused from earlier runs; "
        f"wrote {out / 'results.csv'} and {report}"
    )
    if len(failures):
        typer.echo(f"{len(failures)} item(s) failed:", err=True)
        for row in failures.itertuples():
            typer.echo(f"  {row.pair} {row.denoiser}: {row.error}", err=True)
        raise typer.Exit(1)


@contextmanager
def _progress_bar(quiet: bool):
    """A rich progress bar with ETA over pairs x denoisers; ``None`` when quiet.

    The bar appears with the first finished item, so an error before any work
    prints as one line, with no empty bar around it.
    """
    if quiet:
        yield None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeRemainingColumn(),
        transient=True,
    )
    task = bar.add_task("scoring", total=None)

    def update(done: int, total: int, record: dict) -> None:
        if not bar.live.is_started:
            bar.start()
        label = f"{record['pair']} {record['denoiser']}"
        bar.update(task, completed=done, total=total, description=label)
        if record["status"] == "failed":
            bar.console.print(f"[red]failed[/] {label}: {record['error']}")

    try:
        yield update
    finally:
        if bar.live.is_started:
            bar.stop()


@app.command()
def report(
    results: Annotated[
        list[Path],
        typer.Argument(help="Results folder of a run; a second one is a baseline to compare."),
    ],
    out: Annotated[Path, typer.Option(help="Folder for index.html.")] = Path("reports/latest"),
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Processes drawing images.")] = 1,
) -> None:
    """Write an HTML report of a results folder (optionally against a baseline run)."""
    from .report import write_report

    if len(results) > 2:
        typer.echo("error: give one results folder, or two to compare (run, baseline)", err=True)
        raise typer.Exit(2)
    with _user_errors():
        baseline = results[1] if len(results) == 2 else None
        index = write_report(results[0], out, compare=baseline, jobs=jobs)
    typer.echo(f"wrote {index}")


weights_app = typer.Typer(help="LPIPS/DISTS weights: status, and install from a local file.")
app.add_typer(weights_app, name="weights")


@weights_app.callback(invoke_without_command=True)
def weights(ctx: typer.Context) -> None:
    """List known weights files, where they were found, and whether they verify."""
    if ctx.invoked_subcommand:
        return
    from .metrics import list_weights

    for status in list_weights():
        state = "ok" if status.ok else "MISSING"
        typer.echo(
            f"{status.spec.name:8} {state:8} {status.spec.filename:26} "
            f"used by {', '.join(status.spec.used_by)}: {status.path or status.reason}"
        )


@weights_app.command("install")
def weights_install(
    name: Annotated[str, typer.Argument(help="alexnet, vgg16 or dists.")],
    path: Annotated[Path, typer.Argument(help="The downloaded file.")],
) -> None:
    """Verify a downloaded weights file and copy it into evalkit's weights folder."""
    from .metrics import install_weights

    with _user_errors():
        try:
            target = install_weights(name, path)
        except KeyError as exc:
            raise EvalkitError(exc.args[0]) from None
    typer.echo(f"installed {name} -> {target}")


class AlignMethod(str, Enum):
    translation = "translation"
    affine = "affine"
    homography = "homography"


pair_app = typer.Typer(help="Check your own reference pairs.", no_args_is_help=True)
app.add_typer(pair_app, name="pair")


@pair_app.command("check")
def pair_check(
    reference: Annotated[Path, typer.Argument(help="Reference (long exposure, base ISO).")],
    noisy: Annotated[Path, typer.Argument(help="Noisy shot (high ISO).")],
    method: Annotated[AlignMethod, typer.Option(help="Registration model.")] = (
        AlignMethod.translation
    ),
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Diagnose a pair: misalignment, brightness, motion, clipping, a noisy reference."""
    from .align import check_pair
    from .datasets import Pair
    from .scoring import alignment_mode, benchmark_of

    with _user_errors():
        reference_image, noisy_image = Pair("pair", reference, noisy).load()
        _, convention = alignment_mode("auto", benchmark_of(reference, noisy))
        result = check_pair(
            reference_image, noisy_image, method=method.value, convention=convention
        )
    typer.echo(
        strict_json.dumps(result.to_dict(), indent=2) if as_json else "\n".join(result.lines())
    )
    if result.verdict == "bad":
        raise typer.Exit(1)


dataset_app = typer.Typer(help="Look at a dataset folder.", no_args_is_help=True)
app.add_typer(dataset_app, name="dataset")

Layout = Enum("Layout", {name: name for name in LAYOUTS}, type=str)


@dataset_app.command("show")
def dataset_show(
    path: Annotated[Path, typer.Argument(help="A dataset folder (PolyU, SIDD...) or manifest.")],
    layout: Annotated[Layout, typer.Option(help="The folder's layout.")] = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """What a dataset holds: pairs found, cameras, ISOs, sizes, files that match no pair."""
    from .datasets import survey

    with _user_errors():
        result = survey(path, layout=Layout(layout).value)
    typer.echo(
        strict_json.dumps(result.to_dict(), indent=2) if as_json else "\n".join(result.lines())
    )


class NoNew(str, Enum):
    critical = "critical"
    warning = "warning"
    info = "info"
    none = "none"


@app.command()
def gate(
    results: Annotated[Path, typer.Argument(help="Results folder of the run under test.")],
    baseline: Annotated[Path, typer.Option(help="Results folder of the accepted run.")],
    max_drop: Annotated[
        list[str] | None,
        typer.Option(help="METRIC=AMOUNT: largest allowed worsening (repeatable)."),
    ] = None,
    no_new: Annotated[
        NoNew, typer.Option(help="Fail on more findings of this severity than the baseline.")
    ] = NoNew.critical,
    summary: Annotated[
        Path | None, typer.Option(help="Also write the Markdown summary to this file.")
    ] = None,
) -> None:
    """Exit 1 when RESULTS regressed against --baseline; print a Markdown summary."""
    from .gate import compare_runs

    with _user_errors():
        thresholds = _parse_thresholds(max_drop or [])
        verdict = compare_runs(
            results,
            baseline,
            max_drop=thresholds,
            no_new=None if no_new is NoNew.none else no_new.value,
        )
        text = verdict.markdown()
        if summary is not None:
            with open(summary, "a", encoding="utf-8") as fh:
                fh.write(text)
    typer.echo(text)
    if not verdict.passed:
        raise typer.Exit(1)


def _parse_thresholds(items: list[str]) -> dict[str, float]:
    thresholds = {}
    for item in items:
        name, _, amount = item.partition("=")
        try:
            thresholds[name.strip()] = float(amount)
        except ValueError:
            raise EvalkitError(f"--max-drop expects METRIC=AMOUNT, got {item!r}") from None
    return thresholds


@app.command()
def denoise(
    noisy: Annotated[Path, typer.Argument(help="The noisy photo.")],
    output: Annotated[Path, typer.Argument(help="Where to write the output (.png or .tif).")],
    denoiser: Annotated[
        str, typer.Option("--denoiser", "-d", help="Registered denoiser (see: evalkit denoisers).")
    ],
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param", "-p", help="KEY=VALUE parameter, the value read as TOML (repeatable)."
        ),
    ] = None,
    bit_depth: Annotated[int, typer.Option(help="Bits per channel of the output: 8 or 16.")] = 16,
) -> None:
    """Denoise one photo with a registered denoiser, to score it with: evalkit score."""
    from .denoisers import make_denoiser
    from .io import load_image, save_image

    with _user_errors():
        if bit_depth not in (8, 16):
            raise EvalkitError(f"--bit-depth must be 8 or 16, got {bit_depth}")
        params = _parse_params(param or [])
        built = make_denoiser(denoiser, **params)
        image = load_image(noisy)
        save_image(output, built.denoise(image), bit_depth=bit_depth)
    typer.echo(f"wrote {output}")


def _parse_params(items: list[str]) -> dict[str, object]:
    """``KEY=VALUE`` strings -> parameters; a value that is not TOML stays a string."""
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib

    params = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise EvalkitError(f"--param expects KEY=VALUE, got {item!r}")
        try:
            value = tomllib.loads(f"value = {raw}")["value"]
        except tomllib.TOMLDecodeError:
            value = raw
        params[key.strip()] = value
    return params


@app.command()
def denoisers() -> None:
    """List the registered denoisers, whether each is available here, and how to make it so."""
    from .denoisers import DENOISERS

    typer.echo(f"{'name':18} {'available':9} summary")
    for spec in DENOISERS:
        missing = getattr(spec, "missing", tuple)()  # a plugin's spec may predate the field
        hint = ""
        if missing:
            install = getattr(spec, "install", "") or f"pip install {' '.join(missing)}"
            hint = f"  (needs {', '.join(missing)}: {install})"
        slow = "  (slow, opt-in)" if spec.slow else ""
        available = "no" if missing else "yes"
        typer.echo(f"{spec.name:18} {available:9} {spec.summary}{slow}{hint}")


@app.command()
def metrics() -> None:
    """List the registered metrics."""
    from .metrics import METRICS

    for spec in METRICS:
        direction = "higher" if spec.higher_is_better else "lower"
        typer.echo(f"{spec.name:16} {direction:6} is better  {spec.summary}")


@app.command()
def sample(
    out: Annotated[Path, typer.Argument(help="Folder to write the sample dataset into.")],
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """Generate the synthetic sample dataset (deterministic for a seed)."""
    from .datasets import make_sample_dataset

    with _user_errors():
        manifest = make_sample_dataset(out, seed=seed)
    typer.echo(f"wrote {manifest}")


def main() -> None:
    """Console-script entry point."""
    # The command's processes are evalkit's own to tune; a library user's are not.
    avoid_hugepage_stalls()
    app(prog_name="evalkit")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
