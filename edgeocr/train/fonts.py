"""Fonts for rendering training and evaluation lines, all from Debian font packages.

Evaluation fonts are kept apart from training fonts so that accuracy numbers say something about
type the model has never seen. The two Chinese families named in the recognizer issue are reserved
for evaluation, and so is one Latin family, for the English-only first pack.
"""
from __future__ import annotations

from pathlib import Path

FONT_ROOT = Path("/usr/share/fonts")

# Glob patterns relative to FONT_ROOT. Only regular/bold/italic faces of text families.
LATIN_TRAIN_GLOBS = (
    "truetype/dejavu/DejaVuSans.ttf",
    "truetype/dejavu/DejaVuSans-Bold.ttf",
    "truetype/dejavu/DejaVuSansCondensed.ttf",
    "truetype/dejavu/DejaVuSansMono.ttf",
    "truetype/dejavu/DejaVuSansMono-Bold.ttf",
    "truetype/dejavu/DejaVuSerif.ttf",
    "truetype/dejavu/DejaVuSerif-Bold.ttf",
    "truetype/liberation/LiberationSans-Regular.ttf",
    "truetype/liberation/LiberationSans-Bold.ttf",
    "truetype/liberation/LiberationSans-Italic.ttf",
    "truetype/liberation/LiberationSerif-Regular.ttf",
    "truetype/liberation/LiberationSerif-Bold.ttf",
    "truetype/liberation/LiberationMono-Regular.ttf",
    "truetype/liberation/LiberationMono-Bold.ttf",
    "truetype/freefont/FreeSans.ttf",
    "truetype/freefont/FreeSansBold.ttf",
    "truetype/freefont/FreeSerif.ttf",
    "truetype/freefont/FreeMono.ttf",
    "truetype/freefont/FreeMonoBold.ttf",
    "truetype/noto/NotoSans-Regular.ttf",
    "truetype/noto/NotoSans-Bold.ttf",
    "truetype/noto/NotoSansMono-Regular.ttf",
    "truetype/noto/NotoSansMono-Bold.ttf",
)

# Never used for training or tuning.
LATIN_EVAL_GLOBS = (
    "truetype/noto/NotoSerif-Regular.ttf",
    "truetype/noto/NotoSerif-Bold.ttf",
    "truetype/liberation/LiberationSansNarrow-Regular.ttf",
)
RESERVED_CJK_PACKAGES = ("fonts-arphic-ukai", "fonts-lxgw-wenkai")

DEBIAN_LATIN_FONT_PACKAGES = ("fonts-dejavu-core", "fonts-liberation", "fonts-freefont-ttf", "fonts-noto-core")


def find_fonts(globs: tuple[str, ...], root: Path = FONT_ROOT) -> list[Path]:
    found: list[Path] = []
    for pattern in globs:
        found.extend(sorted(root.glob(pattern)))
    return found


def latin_training_fonts(root: Path = FONT_ROOT) -> list[Path]:
    fonts = find_fonts(LATIN_TRAIN_GLOBS, root)
    if not fonts:
        raise FileNotFoundError(
            f"no training fonts under {root}; install {' '.join(DEBIAN_LATIN_FONT_PACKAGES)}"
        )
    return fonts


def latin_eval_fonts(root: Path = FONT_ROOT) -> list[Path]:
    fonts = find_fonts(LATIN_EVAL_GLOBS, root)
    if not fonts:
        raise FileNotFoundError(f"no evaluation fonts under {root}; install fonts-noto-core fonts-liberation")
    return fonts
