"""Punctuation in the width of the script around it, and ``1`` inside lower-case words.

The PP-OCR recognizer learned Chinese typesetting, where ``：`` ``（`` ``，`` are full-width, and
now and then writes them inside a Latin line (``BILL NO ：C1-0170778``). A full-width colon
between Latin letters and digits is not what the page shows, so there it becomes the ASCII form;
beside hanzi, kana or hangul it stays as read. The reverse holds too: an ASCII comma or bracket
punctuating Chinese is set full-width. Every step maps one character to one, so probabilities
and frames stay aligned.
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



# ASCII punctuation that Chinese typesetting sets full-width. ``.`` is not here: its full-width
# form in Chinese text is the distinct ``。``, which the recognizer reads as such.
WIDE_FORMS = {",": "，", ":": "：", ";": "；", "!": "！", "?": "？", "(": "（", ")": "）"}
OPENING = "("


def _owner(text: str, start: int, step: int) -> str | None:
    """The nearest letter, digit or wide-script character from ``start`` in direction ``step``."""
    index = start + step
    while 0 <= index < len(text):
        char = text[index]
        if char.isalnum():
            return char
        index += step
    return None


def cjk_fullwidth(text: str) -> str:
    """``text`` with ASCII ``, : ; ! ? ( )`` made full-width where the text they belong to is
    wide-script: the character before them (after them, for an opening bracket) is hanzi, kana or
    hangul, as Chinese typesetting (GB/T 15834) sets them. The two forms differ on the page mostly
    in the white space around them, which a line crop does not show reliably, so the recognizer
    mixes them up; the script they punctuate decides. One character in, one out."""
    if not any(c in WIDE_FORMS for c in text) or not any(is_wide_script(c) for c in text):
        return text
    out = []
    for index, char in enumerate(text):
        if char in WIDE_FORMS:
            owner = _owner(text, index, 1 if char in OPENING else -1)
            if owner is not None and is_wide_script(owner):
                char = WIDE_FORMS[char]
        out.append(char)
    return "".join(out)


def ell_in_words(text: str) -> str:
    """A run of ``1`` between two lower-case letters (``Kett1e``, ``tro11s``) made ``l``.

    In many faces ``l`` and ``1`` differ by a serif, and the recognizer picks the digit now and
    then; a digit inside a lower-case word is almost never what was printed. Codes (``A1B2``),
    amounts and words that start or end with the digit (``user1``) are left as read."""
    if "1" not in text:
        return text
    chars = list(text)
    index = 0
    while index < len(chars):
        if chars[index] != "1":
            index += 1
            continue
        end = index
        while end < len(chars) and chars[end] == "1":
            end += 1
        before = chars[index - 1] if index > 0 else ""
        after = chars[end] if end < len(chars) else ""
        if before.isascii() and before.islower() and after.isascii() and after.islower():
            chars[index:end] = ["l"] * (end - index)
        index = end
    return "".join(chars)


def normalise_line(text: str) -> str:
    """The engine's clean-up of one recognized line, in order; same length in and out."""
    return ell_in_words(cjk_fullwidth(latin_halfwidth(text)))
