"""End-to-end and detection accuracy on labelled pages (SROIE-style receipts), shared by the benchmarks.

The measures are the ones the project reports everywhere, so that numbers from the detector, the
recognizer and the peer comparison can be set side by side:

- word precision / recall / F1: whitespace tokens of all truth lines against those of all
  predicted lines, case-insensitive, as multisets (the SROIE task-2 measure);
- line CER: each truth line (spaces removed, upper-cased) matched to its best unused predicted
  line by edit distance, longest truth lines first; an unmatched line costs its length;
- detection precision / recall / H-mean: one-to-one matches of quadrilaterals at IoU >= 0.5.
"""
from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import cv2
import numpy as np

from .metrics import edit_distance

Quad = np.ndarray  # (4, 2) float32, corners clockwise from top-left


@dataclass(frozen=True)
class LabelledLine:
    quad: Quad
    text: str


@dataclass(frozen=True)
class LabelledPage:
    name: str
    image_path: Path
    lines: tuple[LabelledLine, ...]


def default_sroie_dir() -> Path:
    """``$EDGEOCR_SROIE_DIR``, else ``shared/eval/sroie-dev`` beside the repository root."""
    configured = os.environ.get("EDGEOCR_SROIE_DIR")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parent.parent.parent / "shared" / "eval" / "sroie-dev"


def parse_box_line(row: str) -> LabelledLine | None:
    """``x1,y1,...,y4,text``: the text may hold commas, so only the first eight fields are split."""
    parts = row.rstrip("\r\n").split(",", 8)
    if len(parts) < 9:
        return None
    try:
        coords = [float(value) for value in parts[:8]]
    except ValueError:
        return None
    return LabelledLine(np.array(coords, dtype=np.float32).reshape(4, 2), parts[8])


def load_labelled_pages(folder: str | os.PathLike | None = None, limit: int | None = None) -> list[LabelledPage]:
    """Pages from ``folder/img/NAME.jpg`` and ``folder/box/NAME.csv``, sorted by name."""
    root = Path(folder) if folder is not None else default_sroie_dir()
    if not (root / "img").is_dir() or not (root / "box").is_dir():
        raise FileNotFoundError(f"{root}: expected img/ and box/ folders (SROIE layout)")
    pages = []
    for image_path in sorted((root / "img").glob("*.jpg"))[:limit]:
        box_path = root / "box" / f"{image_path.stem}.csv"
        if not box_path.is_file():
            continue
        rows = box_path.read_text(encoding="utf-8", errors="replace").splitlines()
        lines = tuple(line for line in map(parse_box_line, rows) if line is not None and line.text.strip())
        pages.append(LabelledPage(image_path.stem, image_path, lines))
    return pages


# -- recognition -----------------------------------------------------------------------------


def _tokens(lines: Iterable[str]) -> Counter:
    return Counter(token for line in lines for token in line.lower().split())


@dataclass
class MatchCounts:
    """Matches against predictions and truths, summed over pages so every item weighs the same."""

    matched: int = 0
    predicted: int = 0
    truth: int = 0

    @property
    def precision(self) -> float:
        return self.matched / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.matched / self.truth if self.truth else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


class WordCounts(MatchCounts):
    """Multiset word matches (the SROIE task-2 measure)."""

    def add(self, predicted_lines: Iterable[str], truth_lines: Iterable[str]) -> None:
        predicted, truth = _tokens(predicted_lines), _tokens(truth_lines)
        self.matched += sum((predicted & truth).values())
        self.predicted += sum(predicted.values())
        self.truth += sum(truth.values())


def _normalise(text: str) -> str:
    return "".join(text.split()).upper()


def line_edits(predicted_lines: Sequence[str], truth_lines: Sequence[str]) -> tuple[int, int]:
    """(edits, truth characters) for one page, by the greedy best-unused matching above."""
    predicted = [_normalise(line) for line in predicted_lines]
    truths = sorted((_normalise(line) for line in truth_lines), key=len, reverse=True)
    unused = set(range(len(predicted)))
    edits = chars = 0
    for truth in truths:
        if not truth:
            continue
        chars += len(truth)
        best_cost, best_index = len(truth), None  # matching nothing costs the whole line
        for index in unused:
            candidate = predicted[index]
            if abs(len(candidate) - len(truth)) >= best_cost:
                continue  # the length gap alone already costs at least as much
            cost = edit_distance(candidate, truth)
            if cost < best_cost or (cost == best_cost and best_index is None):
                best_cost, best_index = cost, index
        if best_index is not None:
            unused.discard(best_index)
        edits += best_cost
    return edits, chars


# -- detection -------------------------------------------------------------------------------


def quad_iou(a: Quad, b: Quad) -> float:
    """Intersection over union of two convex quadrilaterals."""
    a32 = cv2.convexHull(np.asarray(a, dtype=np.float32))
    b32 = cv2.convexHull(np.asarray(b, dtype=np.float32))
    inter, _ = cv2.intersectConvexConvex(a32, b32)
    union = cv2.contourArea(a32) + cv2.contourArea(b32) - inter
    return float(inter / union) if union > 0 else 0.0


class DetectionCounts(MatchCounts):
    """One-to-one quadrilateral matches at an IoU threshold, best pairs first."""

    def add(self, predicted: Sequence[Quad], truth: Sequence[Quad], iou_threshold: float = 0.5) -> None:
        pairs = []
        for i, p in enumerate(predicted):
            for j, t in enumerate(truth):
                iou = quad_iou(p, t)
                if iou >= iou_threshold:
                    pairs.append((iou, i, j))
        used_p, used_t = set(), set()
        for _, i, j in sorted(pairs, reverse=True):
            if i not in used_p and j not in used_t:
                used_p.add(i)
                used_t.add(j)
        self.matched += len(used_p)
        self.predicted += len(predicted)
        self.truth += len(truth)

    @property
    def hmean(self) -> float:
        """Detection papers call F1 the H-mean."""
        return self.f1
