"""MACs per receipt for each shipped pack: the on-paper input to the README's Raspberry Pi sizing note.

    python bench/pi_sizing.py            # five SROIE-dev receipts, default variants

Each receipt is read here once (x86-64, the pack's default variants) to learn its detector input
shape and its line crops; ``bench/compare_macs.count_macs`` then counts the detector's MACs at that
shape, the recognizer's at each line's width (one count per distinct width), and the classifier's
at its fixed width for the lines it votes on. An estimate of work, not a measurement of time.
"""
from __future__ import annotations

import sys
from functools import lru_cache
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.compare_macs import count_macs  # noqa: E402
from edgeocr.config import Config, EngineConfig  # noqa: E402
from edgeocr.detect.db import DbParams  # noqa: E402
from edgeocr.engine import Engine  # noqa: E402
from edgeocr.inputspec import line_width  # noqa: E402

SROIE = ROOT.parent / "shared" / "eval" / "sroie-dev" / "img"


def db_shape(height: int, width: int, params: DbParams) -> list[int]:
    """The detector input shape, resized as edgeocr.detect.db does (longer side <= limit, x32)."""
    ratio = min(1.0, params.limit_side / max(height, width))
    return [1, 3, max(params.min_side, round(height * ratio / 32) * 32), max(params.min_side, round(width * ratio / 32) * 32)]


def pack_macs(pack: str, receipts: list[Path]) -> dict:
    engine = Engine(Config(engine=EngineConfig(pack=pack, threads=1)))
    spec = engine.pack.recognizer.input
    rec_model = engine.pack.recognizer_model()

    @lru_cache(maxsize=None)
    def rec(width: int) -> int:
        return count_macs(rec_model, [1, spec.channels, spec.height, width]).total

    totals = []
    for path in receipts:
        image = cv2.imread(str(path))
        result = engine.ocr_bytes(path.read_bytes())
        det = 0
        if "db" in engine.detectors:
            shape = db_shape(*image.shape[:2], engine.detectors["db"].params)
            det = count_macs(engine.pack.detector_model(), shape).total
        lines = 0
        for line in result.text_lines:
            xs, ys = [p[0] for p in line.polygon], [p[1] for p in line.polygon]
            # Width rounded to 32 so that a handful of MAC counts cover every line.
            width = max(32, round(line_width(max(ys) - min(ys), max(xs) - min(xs), spec) / 32) * 32)
            lines += rec(width)
        totals.append({"receipt": path.name, "lines": len(result.text_lines), "det_gmac": det / 1e9,
                       "rec_gmac": lines / 1e9})
    return {"pack": pack, "receipts": totals}


def main() -> None:
    receipts = [SROIE / f"{index:03d}.jpg" for index in range(5)]
    for pack in ("ppocrv6-small", "en-latin-v1"):
        report = pack_macs(pack, receipts)
        rows = report["receipts"]
        det = sum(r["det_gmac"] for r in rows) / len(rows)
        rec = sum(r["rec_gmac"] for r in rows) / len(rows)
        lines = sum(r["lines"] for r in rows) / len(rows)
        for r in rows:
            print(f"{pack} {r['receipt']}: {r['lines']} lines, detector {r['det_gmac']:.2f} GMAC, "
                  f"recognizer {r['rec_gmac']:.2f} GMAC")
        print(f"{pack}: mean per receipt {lines:.0f} lines, detector {det:.2f} GMAC + recognizer {rec:.2f} GMAC "
              f"= {det + rec:.2f} GMAC (classifier not counted: it votes on at most a dozen lines)")


if __name__ == "__main__":
    main()
