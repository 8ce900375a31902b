"""The local provenance store: one SQLite database in a ``.lgcraft/`` folder.

Like git, commands find the store in the working directory or its parents; ``--store``
or ``[provenance] store`` names another folder. SQLite runs in WAL mode with
``synchronous=FULL``, and every change is one transaction, so a crash (even kill -9)
leaves either the old or the new state, never half of a batch.

Tables: ``meta`` (network, contract), ``records`` (canonical body, salt, signature,
leaf, batch and Merkle path), ``batches`` (root, status built -> submitted -> anchored,
transaction hash, raw signed transaction, block, chain id, contract).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lgcraft.errors import InputError, OperationError

STORE_DIR = ".lgcraft"
DB_NAME = "provenance.sqlite"
SCHEMA_VERSION = 2  # 2: batches.contract_version, batches.final (store schema 1 is migrated on open)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS batches (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  root TEXT NOT NULL UNIQUE,
  leaf_count INTEGER NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('built', 'submitted', 'anchored')),
  chain_id INTEGER, contract TEXT, issuer TEXT,
  tx_hash TEXT, raw_tx TEXT, nonce INTEGER,
  block_number INTEGER, block_hash TEXT, block_time INTEGER, gas_used INTEGER,
  created_at TEXT NOT NULL, submitted_at TEXT, anchored_at TEXT,
  contract_version INTEGER, final INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS records (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  item_id TEXT NOT NULL,
  record_hash TEXT NOT NULL UNIQUE,
  event_key TEXT NOT NULL,
  body TEXT NOT NULL,
  salt TEXT NOT NULL,
  signature TEXT NOT NULL,
  leaf_hash TEXT NOT NULL,
  batch_id INTEGER REFERENCES batches (id),
  leaf_index INTEGER,
  proof TEXT,
  created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS records_item ON records (item_id, seq);
CREATE INDEX IF NOT EXISTS records_batch ON records (batch_id, leaf_index);
CREATE INDEX IF NOT EXISTS records_event ON records (item_id, event_key);
"""


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def find_store(start: Path | None = None) -> Path | None:
    """The ``.lgcraft`` folder holding a store in ``start`` or its parents, else None."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / STORE_DIR
        if (candidate / DB_NAME).is_file():
            return candidate
    return None


@dataclass
class StoredRecord:
    seq: int
    item_id: str
    record_hash: str
    body: dict[str, Any]
    salt: str
    signature: str
    leaf_hash: str
    batch_id: int | None
    leaf_index: int | None
    proof: list[str] | None
    created_at: str


@dataclass
class Batch:
    id: int
    root: str
    leaf_count: int
    status: str
    chain_id: int | None
    contract: str | None
    issuer: str | None
    tx_hash: str | None
    raw_tx: str | None
    nonce: int | None
    block_number: int | None
    block_hash: str | None
    block_time: int | None
    gas_used: int | None
    created_at: str
    submitted_at: str | None
    anchored_at: str | None
    contract_version: int | None = None  # 1 or 2 (anchor contract), None before submission
    final: int = 0  # 1: deeper than the finality depth, no longer re-checked for reorganisations


class Store:
    """An open store. Use as a context manager, or call `close`."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.path = self.folder / DB_NAME
        if not self.path.is_file():
            raise InputError(f"no provenance store in {self.folder}",
                             hint="run 'lgcraft provenance init' first")
        try:
            self.conn = sqlite3.connect(str(self.path), timeout=30, isolation_level=None)
            self.conn.row_factory = sqlite3.Row
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=FULL")
            self.conn.execute("PRAGMA foreign_keys=ON")
            version = self.conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise OperationError(f"{self.path}: not a provenance store ({exc})") from exc
        if version is not None and int(version[0]) == 1:
            self._migrate_from_1()
        elif version is None or int(version[0]) != SCHEMA_VERSION:
            raise OperationError(f"{self.path}: unsupported store schema version {version and version[0]}")

    def _migrate_from_1(self) -> None:
        """Store schema 1 -> 2, in one transaction: every batch so far went to an anchor
        contract version 1 (docs/provenance.md, "Migration")."""
        with self.transaction() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            if int(row[0]) != 1:
                return  # another process migrated it meanwhile
            conn.execute("ALTER TABLE batches ADD COLUMN contract_version INTEGER")
            conn.execute("ALTER TABLE batches ADD COLUMN final INTEGER NOT NULL DEFAULT 0")
            conn.execute("UPDATE batches SET contract_version = 1 WHERE status != 'built'")
            network = conn.execute("SELECT value FROM meta WHERE key='network'").fetchone()
            if network:
                data = json.loads(network[0])
                data.setdefault("contract_version", 1)
                conn.execute("UPDATE meta SET value = ? WHERE key='network'", (json.dumps(data),))
            conn.execute("UPDATE meta SET value = ? WHERE key='schema_version'", (str(SCHEMA_VERSION),))

    @classmethod
    def create(cls, folder: Path) -> Store:
        folder = Path(folder)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(folder / DB_NAME), isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            with conn:
                conn.execute("BEGIN IMMEDIATE")
                for statement in _SCHEMA.strip().split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
                             (str(SCHEMA_VERSION),))
                conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('created_at', ?)", (now_iso(),))
            conn.close()
        except OSError as exc:
            raise OperationError(f"cannot create the store in {folder}: {exc.strerror}") from exc
        except sqlite3.DatabaseError as exc:
            raise OperationError(f"cannot create the store in {folder}: {exc}") from exc
        ignore = folder / ".gitignore"
        if not ignore.exists():
            ignore.write_text("# lgcraft provenance store: records, batches, embedded dev chain\n*\n")
        return cls(folder)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on any exception)."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # -- meta -----------------------------------------------------------------------------
    def get_meta(self, key: str) -> Any:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row and key not in ("schema_version", "created_at") else (
            row[0] if row else None)

    def set_meta(self, key: str, value: Any, conn: sqlite3.Connection | None = None) -> None:
        (conn or self.conn).execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                                    (key, json.dumps(value)))

    # -- records --------------------------------------------------------------------------
    def last_record_hash(self, item_id: str) -> str | None:
        row = self.conn.execute("SELECT record_hash FROM records WHERE item_id = ? ORDER BY seq DESC LIMIT 1",
                                (item_id,)).fetchone()
        return row[0] if row else None

    def find_event(self, item_id: str, event_key: str) -> str | None:
        row = self.conn.execute("SELECT record_hash FROM records WHERE item_id = ? AND event_key = ?",
                                (item_id, event_key)).fetchone()
        return row[0] if row else None

    def insert_record(self, conn: sqlite3.Connection, *, item_id: str, record_hash: str, event_key: str,
                      body_json: str, salt: str, signature: str, leaf_hash: str) -> int:
        cur = conn.execute(
            "INSERT INTO records (item_id, record_hash, event_key, body, salt, signature, leaf_hash, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (item_id, record_hash, event_key, body_json, salt, signature, leaf_hash, now_iso()))
        return int(cur.lastrowid)

    def _record(self, row: sqlite3.Row) -> StoredRecord:
        return StoredRecord(seq=row["seq"], item_id=row["item_id"], record_hash=row["record_hash"],
                            body=json.loads(row["body"]), salt=row["salt"], signature=row["signature"],
                            leaf_hash=row["leaf_hash"], batch_id=row["batch_id"],
                            leaf_index=row["leaf_index"],
                            proof=json.loads(row["proof"]) if row["proof"] else None,
                            created_at=row["created_at"])

    def records_of(self, item_id: str) -> list[StoredRecord]:
        rows = self.conn.execute("SELECT * FROM records WHERE item_id = ? ORDER BY seq", (item_id,))
        return [self._record(r) for r in rows]

    def pending_leaves(self) -> list[tuple[int, str]]:
        return [(r[0], r[1]) for r in self.conn.execute(
            "SELECT seq, leaf_hash FROM records WHERE batch_id IS NULL ORDER BY seq")]

    def counts(self) -> dict[str, int]:
        row = self.conn.execute(
            "SELECT COUNT(*), SUM(batch_id IS NULL), COUNT(DISTINCT item_id) FROM records").fetchone()
        return {"records": row[0] or 0, "pending": row[1] or 0, "items": row[2] or 0}

    # -- batches ----------------------------------------------------------------------------
    def _batch(self, row: sqlite3.Row | None) -> Batch | None:
        return Batch(**{k: row[k] for k in row.keys()}) if row else None

    def batch(self, batch_id: int) -> Batch | None:
        return self._batch(self.conn.execute("SELECT * FROM batches WHERE id = ?", (batch_id,)).fetchone())

    def batches(self, status: str | None = None) -> list[Batch]:
        if status:
            rows = self.conn.execute("SELECT * FROM batches WHERE status = ? ORDER BY id", (status,))
        else:
            rows = self.conn.execute("SELECT * FROM batches ORDER BY id")
        return [self._batch(r) for r in rows]

    def unfinal_batches(self) -> list[Batch]:
        """Anchored batches still shallow enough to be reorganised away."""
        rows = self.conn.execute("SELECT * FROM batches WHERE status = 'anchored' AND final = 0 ORDER BY id")
        return [self._batch(r) for r in rows]

    def revert_batch(self, conn: sqlite3.Connection, batch_id: int) -> int:
        """A batch whose block left the chain: its records go back to pending, the batch
        row goes. Returns how many records."""
        count = conn.execute("UPDATE records SET batch_id = NULL, leaf_index = NULL, proof = NULL "
                             "WHERE batch_id = ?", (batch_id,)).rowcount
        conn.execute("DELETE FROM batches WHERE id = ?", (batch_id,))
        return count

    def unfinished_batches(self) -> list[Batch]:
        rows = self.conn.execute("SELECT * FROM batches WHERE status != 'anchored' ORDER BY id")
        return [self._batch(r) for r in rows]

    def batch_leaves(self, batch_id: int) -> list[str]:
        return [r[0] for r in self.conn.execute(
            "SELECT leaf_hash FROM records WHERE batch_id = ? ORDER BY leaf_index", (batch_id,))]
