"""Reserved-font evaluation lines for the recognizer: Chinese, English, mixed and numeric/code.

Rendered ONLY with the two font families the recognizer issue reserves for evaluation
(``fonts-arphic-ukai``: AR PL UKai, ``fonts-lxgw-wenkai``: LXGW WenKai), which training refuses
(``edgeocr/train/fonts.py``), so the numbers say how the model reads type it has never seen.

    from bench.evalsets import render_eval_set
    lines = render_eval_set("chinese", 300)          # [(uint8 gray image, truth), ...]

    python3 bench/evalsets.py --out /tmp/evalsets --count 200   # PNGs + labels.tsv per kind

A line is a pure function of ``(kind, seed, index)``: same seed, same images, on any machine
with the same font package versions. Images are single lines about 40 px high with the text
about 32 px of it, cut with a detector-like margin, and mildly degraded with the training
renderer's own augmentations (blur, noise, JPEG, uneven light, low resolution, small skew).
"""
from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from edgeocr.train.charset import zh_en_charset  # noqa: E402
from edgeocr.train.corpus import date, clock, receipt_item, words_line  # noqa: E402
from edgeocr.train.corpus_zh import mixed_line, numeric_line, phrase  # noqa: E402
from edgeocr.train.fonts import FontFace, cjk_eval_fonts  # noqa: E402
from edgeocr.train.render import Degradation, font_covers, render_line  # noqa: E402

KINDS = ("chinese", "english", "mixed", "numeric")
LINE_HEIGHT = 40  # render_line's margins take 0-35 % of the text height: text ends up ~24-40 px, ~32 typical
MILD = (0.2, 0.6)  # degradation strength range; 1.0 is the training renderer's hardest
MAX_CHARS = 30


def _english(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.6:
        return words_line(rng)
    if roll < 0.85:
        return receipt_item(rng)
    return date(rng) + " " + clock(rng)


TEXT = {
    "chinese": lambda rng: phrase(rng, 2, 6),
    "english": _english,
    "mixed": mixed_line,
    "numeric": lambda rng: numeric_line(rng, label_share=0.0),
}


def _families(fonts: list[FontFace]) -> list[list[FontFace]]:
    """Group the reserved faces by family so each family gets half of the lines."""
    ukai = [f for f in fonts if "ukai" in f.path.name.lower()]
    wenkai = [f for f in fonts if f not in ukai]
    return [family for family in (ukai, wenkai) if family]


def _text(kind: str, rng: random.Random, allowed: set[str]) -> str:
    line = "".join(ch for ch in TEXT[kind](rng) if ch in allowed)
    line = " ".join(line.split())[:MAX_CHARS].strip()
    return line


def render_eval_set(kind: str, count: int, seed: int = 2026, degrade: bool = True) -> list[tuple[np.ndarray, str]]:
    """``count`` (grayscale uint8 line image, truth text) pairs of one kind, in reserved fonts only."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    if count < 0:
        raise ValueError("count must be >= 0")
    families = _families(cjk_eval_fonts())
    allowed = set(zh_en_charset())
    out: list[tuple[np.ndarray, str]] = []
    for index in range(count):
        rng = random.Random(f"evalset:{kind}:{seed}:{index}")
        family = families[index % len(families)]
        for _ in range(20):  # a line the font cannot draw (or empty after filtering): draw another
            text = _text(kind, rng, allowed)
            face = rng.choice(family)
            candidates = [face] + [f for fam in families for f in fam if f != face]
            usable = [f for f in candidates if font_covers(f, text)] if text else []
            if usable:
                break
        else:
            raise RuntimeError(f"no reserved font draws {kind} line {index}; are the fonts installed?")
        strength = rng.uniform(*MILD) if degrade else 0.0
        image = render_line(text, usable[0], rng, LINE_HEIGHT, Degradation(strength))
        out.append((image, text))
    return out


def main(argv: list[str] | None = None) -> None:
    import cv2

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="folder; one subfolder per kind")
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS)
    parser.add_argument("--clean", action="store_true", help="no degradation")
    args = parser.parse_args(argv)
    for kind in args.kinds:
        folder = args.out / kind
        folder.mkdir(parents=True, exist_ok=True)
        rows = []
        for index, (image, text) in enumerate(render_eval_set(kind, args.count, args.seed, not args.clean)):
            name = f"{kind}-{index:05d}.png"
            cv2.imwrite(str(folder / name), image)
            rows.append(f"{name}\t{text}\n")
        (folder / "labels.tsv").write_text("".join(rows), encoding="utf-8")
        print(f"{kind}: {len(rows)} lines in {folder}")


if __name__ == "__main__":
    main()
