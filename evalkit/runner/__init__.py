"""Runs: denoisers x pairs → tidy result tables, a results database, resumable."""

from ._config import DenoiserEntry, RunConfig
from ._run import DATABASE, FINDING_COLUMNS, TABLE_COLUMNS, RunResult, run, write_results
from ._store import ResultStore

__all__ = [
    "DATABASE",
    "FINDING_COLUMNS",
    "TABLE_COLUMNS",
    "DenoiserEntry",
    "ResultStore",
    "RunConfig",
    "RunResult",
    "run",
    "write_results",
]
