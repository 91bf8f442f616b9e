"""The tables of a project's database (``.flowyml/flowyml.db``), and the columns added
to them since the first release."""

from __future__ import annotations

__all__ = ["ADDED_COLUMNS", "SCHEMA"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    pipeline TEXT NOT NULL,
    backend TEXT NOT NULL,
    status TEXT NOT NULL,
    started_at REAL NOT NULL,
    finished_at REAL,
    params TEXT NOT NULL DEFAULT '{}',
    error TEXT,
    project TEXT NOT NULL DEFAULT 'default',
    resumed_from TEXT,
    pipeline_ref TEXT,
    owner_host TEXT,
    owner_pid INTEGER,
    owner_started INTEGER,
    owner_machine TEXT,
    heartbeat_at REAL
);
CREATE INDEX IF NOT EXISTS runs_started ON runs(started_at);
CREATE INDEX IF NOT EXISTS runs_status ON runs(status);
CREATE TABLE IF NOT EXISTS step_runs (
    run_id TEXT NOT NULL,
    step TEXT NOT NULL,
    status TEXT NOT NULL,
    started_at REAL,
    finished_at REAL,
    duration REAL,
    retries INTEGER NOT NULL DEFAULT 0,
    cached INTEGER NOT NULL DEFAULT 0,
    skipped INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    traceback TEXT,
    outputs TEXT NOT NULL DEFAULT '{}',
    exit_code INTEGER,
    cache_key TEXT,
    resume_key TEXT,
    usage TEXT,
    PRIMARY KEY (run_id, step)
);
CREATE TABLE IF NOT EXISTS logs (
    run_id TEXT NOT NULL,
    step TEXT NOT NULL,
    ts REAL NOT NULL,
    text TEXT NOT NULL,
    live INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS logs_run ON logs(run_id, step);
CREATE TABLE IF NOT EXISTS pipeline_graphs (
    key TEXT PRIMARY KEY,
    graph TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS run_shapes (
    run_id TEXT PRIMARY KEY,
    graph_key TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cache (
    key TEXT PRIMARY KEY,
    step TEXT NOT NULL,
    outputs TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS cache_step ON cache(step);
"""

# Columns added after the first release: (table, column, declaration). Databases created
# earlier get them on open; a table this file does not have is left alone.
ADDED_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("runs", "owner_host", "TEXT"),
    ("runs", "owner_pid", "INTEGER"),
    ("runs", "owner_started", "INTEGER"),
    ("runs", "owner_machine", "TEXT"),
    ("runs", "heartbeat_at", "REAL"),
    ("step_runs", "resume_key", "TEXT"),
    ("logs", "live", "INTEGER NOT NULL DEFAULT 0"),
    ("step_runs", "usage", "TEXT"),
)
