"""Fonts for rendering training and evaluation lines, all from Debian font packages.

Evaluation fonts are kept apart from training fonts so that accuracy numbers say something about
type the model has never seen. The two Chinese families named in the recognizer issue are reserved
for evaluation, and so is one Latin family, for the English-only first pack.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

# EDGEOCR_FONT_ROOT points at a bundle made by fontbundle.py where Debian's fonts are absent
# (a lent accelerator starts bare).
FONT_ROOT = Path(os.environ.get("EDGEOCR_FONT_ROOT") or "/usr/share/fonts")

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


@dataclass(frozen=True)
class FontFace:
    """One face of a font file; ``.ttc`` collections hold several (Noto CJK: JP, KR, SC, TC, HK...)."""

    path: Path
    index: int = 0

    @property
    def name(self) -> str:
        return f"{self.path.stem}#{self.index}" if self.index else self.path.stem


# (glob relative to FONT_ROOT, face index). The Simplified Chinese face of each collection. The
# Mono faces are left out: their hanzi are their proportional siblings', and the bundle for a lent
# machine (bundle.py) must fit 64 MiB with a checkpoint.
CJK_TRAIN_FACES = (
    ("opentype/noto/NotoSansCJK-Regular.ttc", 2),  # Noto Sans CJK SC
    ("opentype/noto/NotoSansCJK-Bold.ttc", 2),
    ("opentype/noto/NotoSerifCJK-Regular.ttc", 2),  # Noto Serif CJK SC
    ("opentype/noto/NotoSerifCJK-Bold.ttc", 2),
    ("truetype/wqy/wqy-microhei.ttc", 0),
    ("truetype/wqy/wqy-zenhei.ttc", 0),
    ("truetype/wqy/wqy-zenhei.ttc", 2),  # Zen Hei Sharp (bitmap-like strokes)
    ("truetype/arphic/uming.ttc", 0),  # AR PL UMing CN
    ("truetype/droid/DroidSansFallbackFull.ttf", 0),  # hanzi only: Latin lines skip it
    ("truetype/hanazono/HanaMinA.ttf", 0),
)
# Reserved for evaluation (the two families the issue names); never trained or tuned on.
CJK_EVAL_FACES = (
    ("truetype/arphic/ukai.ttc", 0),  # AR PL UKai CN
    ("truetype/lxgw-wenkai/LXGWWenKai-Regular.ttf", 0),
    ("truetype/lxgw-wenkai/LXGWWenKai-Bold.ttf", 0),
    ("truetype/lxgw-wenkai/LXGWWenKai-Light.ttf", 0),
    ("truetype/lxgw-wenkai/LXGWWenKaiMono-Regular.ttf", 0),
)
DEBIAN_CJK_FONT_PACKAGES = ("fonts-noto-cjk", "fonts-wqy-microhei", "fonts-wqy-zenhei", "fonts-arphic-uming",
                            "fonts-droid-fallback", "fonts-hanazono")
# File-name marks of the reserved packages' fonts, checked on the resolved path so that a
# symlink or a copy under another folder is refused too.
RESERVED_FONT_MARKS = ("ukai", "lxgw", "wenkai")


def is_reserved_font(font: Path | FontFace) -> bool:
    path = font.path if isinstance(font, FontFace) else Path(font)
    names = {path.name.lower(), path.resolve().name.lower(), str(path.resolve()).lower()}
    return any(mark in name for mark in RESERVED_FONT_MARKS for name in names)


def refuse_reserved_fonts(fonts: list) -> None:
    """Raise if any font belongs to the evaluation-only packages."""
    reserved = [str(f) for f in fonts if is_reserved_font(f)]
    if reserved:
        raise ValueError(f"fonts reserved for evaluation ({', '.join(RESERVED_CJK_PACKAGES)}) "
                         f"must not be used for training: {reserved}")


def find_faces(faces: tuple[tuple[str, int], ...], root: Path = FONT_ROOT) -> list[FontFace]:
    found: list[FontFace] = []
    for pattern, index in faces:
        matches = [FontFace(path, index) for path in sorted(root.glob(pattern))]
        if not matches and pattern.lower().endswith(".ttc"):  # a bundle keeps one file per face
            bundled = str(Path(pattern).with_suffix("")) + f".face{index}.otf"
            matches = [FontFace(path, 0) for path in sorted(root.glob(bundled))]
        found.extend(matches)
    return found


def cjk_training_fonts(root: Path = FONT_ROOT) -> list[FontFace]:
    faces = find_faces(CJK_TRAIN_FACES, root)
    if not faces:
        raise FileNotFoundError(f"no CJK training fonts under {root}; install {' '.join(DEBIAN_CJK_FONT_PACKAGES)}")
    refuse_reserved_fonts(faces)
    return faces


def zh_en_training_fonts(root: Path = FONT_ROOT) -> list:
    """CJK faces plus the Latin training fonts; lines a font cannot draw go to another font."""
    fonts = cjk_training_fonts(root) + latin_training_fonts(root)
    refuse_reserved_fonts(fonts)
    return fonts


def cjk_eval_fonts(root: Path = FONT_ROOT) -> list[FontFace]:
    faces = find_faces(CJK_EVAL_FACES, root)
    if not faces:
        raise FileNotFoundError(f"no evaluation fonts under {root}; apt-get install {' '.join(RESERVED_CJK_PACKAGES)}")
    return faces
