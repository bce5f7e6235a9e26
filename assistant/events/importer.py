"""``learnloop events import FILE``: product usage and account facts from JSONL or CSV.

JSONL: one event object per line, as ``POST /v1/events`` takes them. CSV: a header row
with ``id, type, account_id, user_id, ts`` and either a ``properties`` column holding JSON
or one column per property (``feature``, ``plan``, ``seats``, ``renewal_date`` …), typed
by the event type. Every bad row is reported with its line number; the good ones are
stored, in batches, and a re-import of the same file stores nothing twice.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assistant.errors import ErrorCode, LearnloopError
from assistant.events.log import EventLog
from assistant.events.model import Event, EventError, coerce_properties, validate_event

__all__ = ["ImportReport", "import_events"]

_BASE_COLUMNS = ("id", "type", "account_id", "user_id", "ts")
_BATCH = 1000


@dataclass
class ImportReport:
    accepted: int = 0
    duplicates: int = 0
    # (line, id) of events not stored because their id was used for a different event
    conflicts: list[tuple[int, str]] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "conflicts": [{"line": line, "id": event_id} for line, event_id in self.conflicts],
            "errors": [{"line": line, "message": message} for line, message in self.errors],
        }


def import_events(log: EventLog, tenant: str, path: Path) -> ImportReport:
    if not path.is_file():
        raise LearnloopError(ErrorCode.invalid_input, f"{path} is not a file")
    suffix = path.suffix.lower()
    if suffix not in (".jsonl", ".ndjson", ".csv"):
        raise LearnloopError(
            ErrorCode.invalid_input, f"{path.name}: expected a .jsonl or .csv file"
        )
    records = _csv_records(path) if suffix == ".csv" else _jsonl_records(path)
    report = ImportReport()
    now = datetime.now(UTC)
    batch: list[tuple[int, Event]] = []  # (line, event)
    for line, raw in records:
        try:
            if isinstance(raw, EventError):
                raise raw
            batch.append((line, validate_event(raw, now)))
        except EventError as exc:
            report.errors.append((line, str(exc)))
            continue
        if len(batch) >= _BATCH:
            _flush(log, tenant, batch, report)
    _flush(log, tenant, batch, report)
    return report


def _flush(
    log: EventLog, tenant: str, batch: list[tuple[int, Event]], report: ImportReport
) -> None:
    """Store the batch: an id seen before, in the file or the log, is a duplicate when the
    event is the same (a re-import) and a conflict when it is not."""
    if not batch:
        return
    appended = log.append(tenant, [event for _, event in batch])
    report.accepted += appended.accepted
    report.duplicates += appended.duplicates
    report.conflicts += [(batch[i][0], batch[i][1].id) for i in appended.conflicts]
    batch.clear()


def _jsonl_records(path: Path) -> Iterator[tuple[int, object]]:
    with path.open(encoding="utf-8") as lines:
        for number, text in enumerate(lines, start=1):
            if not text.strip():
                continue
            try:
                yield number, json.loads(text)
            except json.JSONDecodeError as exc:
                yield number, EventError(f"not valid JSON: {exc.msg} at column {exc.colno}")


def _csv_records(path: Path) -> Iterator[tuple[int, object]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        missing = [c for c in _BASE_COLUMNS if c not in header and c != "user_id"]
        if missing:
            raise LearnloopError(
                ErrorCode.invalid_input,
                f"{path.name}: the header lacks column(s) {', '.join(missing)} "
                f"(expected {', '.join(_BASE_COLUMNS)} and property columns)",
            )
        for row in reader:
            line = reader.line_num
            if None in row:
                yield line, EventError("the row has more cells than the header")
                continue
            record: dict[str, Any] = {c: row.get(c) or None for c in _BASE_COLUMNS}
            if record["user_id"] is None:
                del record["user_id"]
            extra = {k: v for k, v in row.items() if k not in _BASE_COLUMNS}
            if "properties" in extra:
                try:
                    record["properties"] = json.loads(extra.pop("properties") or "{}")
                except json.JSONDecodeError as exc:
                    yield line, EventError(f"the properties cell is not valid JSON: {exc.msg}")
                    continue
            else:
                record["properties"] = coerce_properties(str(record["type"]), extra)
            yield line, record
