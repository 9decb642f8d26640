"""The results database: one SQLite file per results folder.

SQLite needs no server, survives ``kill -9`` (each finished item is committed in
one transaction, in write-ahead-log mode), and pandas reads it directly::

    import sqlite3, pandas as pd
    pd.read_sql("SELECT * FROM metric_values", sqlite3.connect("reports/demo/evalkit.sqlite"))

Tables
------
runs
    One row per invocation: ``run_id``, ``created``, ``provenance`` (JSON).
denoisers
    ``label`` → registry ``name``, ``params`` (JSON) and evalkit ``version``.
items
    One row per run x pair x denoiser: status (``ok``/``failed``), error,
    timings, the input (noisy file) hash, the output hash and path, whether the
    output was reused from the cache, and the pair's camera and ISO.
denoiser_cache
    (denoiser name, parameters, input hash) → output file (empty when the run
    did not keep it), its hash and the seconds it took: a denoiser never runs
    twice on the same input.
metric_values
    (output hash, reference hash, metric, metric version) → value, status and
    reason: a metric never runs twice on the same images.
analyses
    (output hash, reference hash, noisy hash, alignment, version) → findings,
    text readings and the alignment of the reference, as JSON.
denoiser_builds
    (denoiser name, target, parameters, version) → the name and parameters a
    built denoiser reported: a denoiser whose parameters were checked once is
    not built (its module imported) again just to check them.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ResultsFolderError

if TYPE_CHECKING:
    import pandas as pd  # imported by the readers below; workers only write

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id INTEGER PRIMARY KEY AUTOINCREMENT,
    created TEXT NOT NULL,
    provenance TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS denoisers (
    label TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    params TEXT NOT NULL,
    version TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS items (
    run_id INTEGER NOT NULL REFERENCES runs(run_id),
    pair TEXT NOT NULL,
    denoiser TEXT NOT NULL,
    status TEXT NOT NULL,
    error TEXT,
    camera TEXT,
    iso REAL,
    seconds REAL,
    megapixels REAL,
    input_hash TEXT,
    reference_hash TEXT,
    output_hash TEXT,
    output TEXT,
    reused INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, pair, denoiser)
);
CREATE TABLE IF NOT EXISTS denoiser_cache (
    cache_key TEXT PRIMARY KEY,
    output TEXT NOT NULL,
    output_hash TEXT NOT NULL,
    seconds REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS metric_values (
    output_hash TEXT NOT NULL,
    reference_hash TEXT NOT NULL,
    metric TEXT NOT NULL,
    metric_version TEXT NOT NULL,
    value REAL,
    status TEXT NOT NULL,
    error TEXT,
    PRIMARY KEY (output_hash, reference_hash, metric, metric_version)
);
CREATE TABLE IF NOT EXISTS analyses (
    analysis_key TEXT PRIMARY KEY,
    findings TEXT NOT NULL,
    text TEXT NOT NULL,
    alignment TEXT
);
CREATE TABLE IF NOT EXISTS denoiser_builds (
    build_key TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    params TEXT NOT NULL
);
"""


class ResultStore:
    """A results folder's database (``evalkit.sqlite``), opened for one process.

    Parameters
    ----------
    path : path
        The SQLite file; created with its tables if missing.

    Raises
    ------
    ResultsFolderError
        The folder is a file, or the database is not an SQLite file, or one whose
        tables are not evalkit's (it is left untouched).
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        folder = self.path.parent
        if folder.exists() and not folder.is_dir():
            raise ResultsFolderError(f"{folder}: exists and is not a folder; choose another --out")
        if self.path.is_symlink() and not self.path.exists():
            raise ResultsFolderError(f"{self.path}: a broken link; remove it")
        if self.path.exists() and not self.path.is_file():
            raise ResultsFolderError(
                f"{self.path}: is not a file; move it out of the results folder"
            )
        folder.mkdir(parents=True, exist_ok=True)
        if not os.access(folder, os.W_OK) or (
            self.path.exists() and not os.access(self.path, os.R_OK | os.W_OK)
        ):
            raise ResultsFolderError(f"{self.path}: cannot be written (permission denied)")
        self._db = sqlite3.connect(self.path)
        try:
            self._check_ours()
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise ResultsFolderError(
                f"{self.path}: not an evalkit results database ({exc}); move it away or "
                "choose another --out"
            ) from None
        except ResultsFolderError:
            self._db.close()
            raise

    def _check_ours(self) -> None:
        """Refuse a database that is damaged, or holds tables that are not evalkit's:
        never write evalkit's tables into somebody else's file."""
        damage = self._db.execute("PRAGMA quick_check").fetchone()[0]
        if damage != "ok":
            raise sqlite3.DatabaseError(f"damaged: {damage}")
        tables = {row[0] for row in self._db.execute("SELECT name FROM sqlite_master")}
        if not tables:
            return  # new, or empty: evalkit's tables are created
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(runs)")}
        if not {"run_id", "created", "provenance"} <= columns:
            raise ResultsFolderError(
                f"{self.path}: an SQLite database, but not evalkit's (tables "
                f"{sorted(tables)[:5]}); move it away or choose another --out"
            )

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start_run(self, created: str, provenance: dict[str, Any]) -> int:
        """Record a new run and return its id."""
        with self._db:
            cursor = self._db.execute(
                "INSERT INTO runs (created, provenance) VALUES (?, ?)",
                (created, json.dumps(provenance)),
            )
            for label, info in provenance.get("denoisers", {}).items():
                self._db.execute(
                    "INSERT OR REPLACE INTO denoisers VALUES (?, ?, ?, ?)",
                    (
                        label,
                        info["name"],
                        json.dumps(info["params"]),
                        provenance["evalkit_version"],
                    ),
                )
        return int(cursor.lastrowid)

    # Cache look-ups -------------------------------------------------------------

    def cached_output(self, cache_key: str) -> tuple[str, str, float] | None:
        """``(output path, output hash, seconds)`` of a finished denoiser call, if any."""
        return self._db.execute(
            "SELECT output, output_hash, seconds FROM denoiser_cache WHERE cache_key = ?",
            (cache_key,),
        ).fetchone()

    def cached_metrics(
        self, output_hash: str, reference_hash: str, versions: dict[str, str]
    ) -> dict[str, tuple[float | None, str, str | None]]:
        """Metric name → ``(value, status, error)`` for those already computed."""
        found = {}
        for metric, version in versions.items():
            row = self._db.execute(
                "SELECT value, status, error FROM metric_values WHERE output_hash = ? "
                "AND reference_hash = ? AND metric = ? AND metric_version = ?",
                (output_hash, reference_hash, metric, version),
            ).fetchone()
            if row is not None:
                found[metric] = row
        return found

    def cached_analysis(self, analysis_key: str) -> tuple[list, list, dict | None] | None:
        """``(findings, text, alignment)`` of an earlier identical analysis, if any."""
        row = self._db.execute(
            "SELECT findings, text, alignment FROM analyses WHERE analysis_key = ?",
            (analysis_key,),
        ).fetchone()
        return None if row is None else tuple(json.loads(value) for value in row)

    def recorded_build(self, build_key: str) -> tuple[str, dict[str, Any]] | None:
        """``(name, params)`` that a denoiser built from ``build_key`` reported, if any."""
        row = self._db.execute(
            "SELECT name, params FROM denoiser_builds WHERE build_key = ?", (build_key,)
        ).fetchone()
        return None if row is None else (row[0], json.loads(row[1]))

    # Writing ----------------------------------------------------------------------

    def record_build(self, build_key: str, name: str, params: dict[str, Any]) -> None:
        """Remember what a denoiser built from ``build_key`` reported (JSON params)."""
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO denoiser_builds VALUES (?, ?, ?)",
                (build_key, name, json.dumps(params)),
            )

    def record_item(self, run_id: int, item: dict[str, Any]) -> None:
        """Store one finished item and everything it computed, in one transaction.

        ``item`` holds the ``items`` columns plus ``metrics`` (name →
        ``(value, status, error, version)``), ``findings`` and ``text`` lists, and
        the cache keys ``cache_key`` and ``analysis_key`` (``None`` for failures).
        """
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO items VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    item["pair"],
                    item["denoiser"],
                    item["status"],
                    item.get("error"),
                    item.get("camera"),
                    item.get("iso"),
                    item.get("seconds"),
                    item.get("megapixels"),
                    item.get("input_hash"),
                    item.get("reference_hash"),
                    item.get("output_hash"),
                    item.get("output"),
                    int(item.get("reused", False)),
                ),
            )
            if item["status"] != "ok":
                return
            self._db.execute(
                "INSERT OR REPLACE INTO denoiser_cache VALUES (?, ?, ?, ?)",
                (item["cache_key"], item["output"] or "", item["output_hash"], item["seconds"]),
            )
            self._db.executemany(
                "INSERT OR REPLACE INTO metric_values VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        item["output_hash"],
                        item["reference_hash"],
                        name,
                        version,
                        value,
                        status,
                        error,
                    )
                    for name, (value, status, error, version) in item["metrics"].items()
                ],
            )
            self._db.execute(
                "INSERT OR REPLACE INTO analyses VALUES (?, ?, ?, ?)",
                (
                    item["analysis_key"],
                    json.dumps(item["findings"]),
                    json.dumps(item["text"]),
                    json.dumps(item["alignment"]),
                ),
            )

    # Reading ----------------------------------------------------------------------

    def items(self, run_id: int) -> pd.DataFrame:
        """The ``items`` rows of one run."""
        import pandas as pd

        return pd.read_sql("SELECT * FROM items WHERE run_id = ?", self._db, params=(run_id,))

    def runs(self) -> pd.DataFrame:
        """Every recorded run, oldest first."""
        import pandas as pd

        return pd.read_sql("SELECT run_id, created FROM runs ORDER BY run_id", self._db)
