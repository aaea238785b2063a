"""Where every benchmark leaves its numbers: a time-stamped JSON file and ``<prefix>-latest.json``."""
from __future__ import annotations

import json
import time
from pathlib import Path


def write_results(out: Path, prefix: str, results: dict, table: str | None = None) -> Path:
    """Write ``results`` (plus the printed ``table``) twice; returns the time-stamped file."""
    out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    document = results if table is None else {**results, "table": table}
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    for name in (f"{prefix}-{stamp}.json", f"{prefix}-latest.json"):
        (out / name).write_text(text, encoding="utf-8")
    return out / f"{prefix}-{stamp}.json"
