"""The ``evalkit`` command: a thin shell over the Python API.

Each command parses its arguments, makes one API call and renders the result.
User mistakes (:class:`~evalkit.errors.EvalkitError`) print one line on stderr
and exit with the error's code (2); ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import json
import sys
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

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


def _show_warning(message, category, filename, lineno, file=None, line=None):
    typer.echo(f"warning: {message}", err=True)


@app.command()
def score(
    reference: Annotated[Path, typer.Argument(help="Reference image (long exposure, low ISO).")],
    candidate: Annotated[Path, typer.Argument(help="Denoiser output to score.")],
    noisy: Annotated[Path | None, typer.Option(help="The noisy shot the output came from.")] = None,
    metric: Annotated[
        list[str] | None, typer.Option("--metric", "-m", help="Metric to compute (repeatable).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Score one output image against its reference."""
    from .scoring import DEFAULT_METRICS
    from .scoring import score as score_images

    with _user_errors():
        try:
            result = score_images(
                reference, candidate, noisy=noisy, metrics=metric or DEFAULT_METRICS
            )
        except KeyError as exc:
            raise EvalkitError(exc.args[0]) from None
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
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
        spec = METRICS.get(name)
        shown = f"{value:.4f} {spec.unit}".strip() if value is not None else "unavailable"
        table.add_row(name, shown, "higher" if spec.higher_is_better else "lower")
    console.print(table)
    for name, reason in result.unavailable.items():
        console.print(f"[yellow]{name} unavailable:[/] {reason}")
    for finding in result.findings:
        console.print(f"[bold]{finding.severity.value}[/] {finding.detector}: {finding.message}")


@app.command()
def run(
    config: Annotated[Path, typer.Argument(help="Run configuration (TOML).")],
    out: Annotated[Path, typer.Option(help="Folder for results.csv and index.html.")] = Path(
        "reports/latest"
    ),
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress lines.")] = False,
) -> None:
    """Run denoisers x pairs; write results.csv and index.html."""
    from .report import write_report
    from .runner import run as run_config

    with _user_errors():
        result = run_config(config, out=out, progress=None if quiet else typer.echo)
        report = write_report(result, out)
    failures = result.failures
    typer.echo(f"wrote {out / 'results.csv'} and {report}")
    if len(failures):
        typer.echo(f"{len(failures)} item(s) failed:", err=True)
        for row in failures.itertuples():
            typer.echo(f"  {row.pair} {row.denoiser}: {row.error}", err=True)
        raise typer.Exit(1)


@app.command()
def denoisers() -> None:
    """List the registered denoisers."""
    from .denoisers import DENOISERS

    for spec in DENOISERS:
        typer.echo(f"{spec.name:12} {spec.summary}{'  (slow, opt-in)' if spec.slow else ''}")


@app.command()
def metrics() -> None:
    """List the registered metrics."""
    from .metrics import METRICS

    for spec in METRICS:
        direction = "higher" if spec.higher_is_better else "lower"
        typer.echo(f"{spec.name:12} {direction:6} is better  {spec.summary}")


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
    app(prog_name="evalkit")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
