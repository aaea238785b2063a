"""Full-width forms where the text around them is Latin.

The PP-OCR recognizer learned Chinese typesetting, where ``：`` ``（`` ``，`` are full-width, and
now and then writes them inside a Latin line (``BILL NO ：C1-0170778``). A full-width colon
between Latin letters and digits is not what the page shows, so there it becomes the ASCII form;
beside hanzi, kana or hangul it stays as read. One character in, one out: probabilities and
frames stay aligned.
"""
from __future__ import annotations

FULLWIDTH_FIRST, FULLWIDTH_LAST, FULLWIDTH_OFFSET = 0xFF01, 0xFF5E, 0xFEE0


def is_wide_script(char: str) -> bool:
    """Hanzi, kana, hangul and CJK punctuation: text whose own punctuation is full-width."""
    code = ord(char)
    return (0x2E80 <= code <= 0x9FFF or 0xAC00 <= code <= 0xD7AF or 0xF900 <= code <= 0xFAFF
            or 0x20000 <= code <= 0x3FFFF)


def _neighbour(text: str, start: int, step: int) -> str | None:
    index = start + step
    while 0 <= index < len(text):
        char = text[index]
        if not char.isspace() and not FULLWIDTH_FIRST <= ord(char) <= FULLWIDTH_LAST:
            return char
        index += step
    return None


def latin_halfwidth(text: str) -> str:
    """``text`` with each full-width ASCII form made ASCII unless a wide-script character is
    its nearest neighbour on either side (or the line has no Latin around it at all)."""
    if not any(FULLWIDTH_FIRST <= ord(c) <= FULLWIDTH_LAST for c in text):
        return text
    out = []
    for index, char in enumerate(text):
        if FULLWIDTH_FIRST <= ord(char) <= FULLWIDTH_LAST:
            sides = [_neighbour(text, index, -1), _neighbour(text, index, 1)]
            present = [c for c in sides if c is not None]
            if present and not any(is_wide_script(c) for c in present):
                char = chr(ord(char) - FULLWIDTH_OFFSET)
        out.append(char)
    return "".join(out)
