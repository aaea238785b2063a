"""Bundle what rendering training lines needs, for a machine that has none of it.

A lent accelerator starts bare (no Debian font packages, no wordfreq, no network) and takes at
most 64 MiB of working tree per call, checkpoints included. The CJK training fonts are ~200 MB
as installed, mostly glyphs of Japanese, Korean and Traditional Chinese that the zh-en charset
never uses, and wordfreq's wheel carries every language. So: the profile's training fonts cut
down to its charset, plus the exact word lists the corpus draws from.

    python -m edgeocr.train.bundle --charset zh-en --out runs/bundle
    EDGEOCR_FONT_ROOT=runs/bundle/fonts EDGEOCR_WORDLISTS=runs/bundle/words \
        python -m edgeocr.train.pack --charset zh-en ...          # on the device

The bundle mirrors the layout under /usr/share/fonts, so the globs in ``fonts.py`` still match;
a face taken out of a ``.ttc`` collection is saved as ``<stem>.face<N>.otf`` (``find_faces``
looks for that name when the collection itself is absent). Reserved fonts are never bundled.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from .corpus import english_words, write_wordlist
from .corpus_zh import chinese_words
from .fonts import FONT_ROOT, FontFace, refuse_reserved_fonts
from .profiles import get_profile


def bundled_name(face: FontFace) -> str:
    """File name of ``face`` in the bundle: collections become one file per face."""
    if face.path.suffix.lower() == ".ttc":
        return f"{face.path.stem}.face{face.index}.otf"
    return face.path.name


def subset_face(face: FontFace, chars: list[str], target: Path) -> Path:
    """Write ``face`` with only the glyphs of ``chars`` (and .notdef, which the glyph check needs)."""
    from fontTools import subset  # train-only dependency: only bundling needs it
    from fontTools.ttLib import TTFont

    options = subset.Options()
    options.hinting = False  # rendered then degraded: hinting only costs bytes
    options.notdef_outline = True
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    font = TTFont(str(face.path), fontNumber=face.index, lazy=False)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[ord(ch) for ch in chars if ch != " "] + [0x20])
    subsetter.subset(font)
    target.parent.mkdir(parents=True, exist_ok=True)
    font.save(str(target))
    return target


def build_bundle(fonts: list, chars: list[str], out: Path, root: Path = FONT_ROOT) -> list[Path]:
    refuse_reserved_fonts(fonts)
    written = []
    for font in fonts:
        face = font if isinstance(font, FontFace) else FontFace(Path(font))
        relative = face.path.parent.relative_to(root)
        written.append(subset_face(face, chars, out / relative / bundled_name(face)))
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--charset", default="zh-en", help="training profile (profiles.py)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    profile = get_profile(args.charset)
    written = build_bundle(profile.fonts(), profile.charset(), args.out / "fonts")
    written += [write_wordlist(english_words(), args.out / "words" / "en.txt"),
                write_wordlist(chinese_words(), args.out / "words" / "zh.txt")]
    total = sum(p.stat().st_size for p in written)
    print(f"{len(written) - 2} faces and 2 word lists, {total / 2**20:.1f} MiB in {args.out}")


if __name__ == "__main__":
    main()
