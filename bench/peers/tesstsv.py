"""Tesseract's TSV output to text lines with boxes (standard library only).

TSV rows: ``level page_num block_num par_num line_num word_num left top width height conf text``.
Level 5 rows are words; words that share (page, block, paragraph, line) form one line. Tesseract
puts every Chinese character (or run) in a word of its own, so words are joined with a space only
where a space can have been: not between two CJK characters.
"""
from __future__ import annotations

import unicodedata


def is_cjk(char: str) -> bool:
    """Han, kana, hangul and full-width forms: scripts written without spaces between words."""
    if not char:
        return False
    name = unicodedata.name(char, "")
    return name.startswith(("CJK ", "HIRAGANA", "KATAKANA", "HANGUL", "FULLWIDTH", "IDEOGRAPHIC"))


def join_words(words: list[str]) -> str:
    text = ""
    for word in words:
        if text and not (is_cjk(text[-1]) and is_cjk(word[0])):
            text += " "
        text += word
    return text


def parse_tsv(tsv: str) -> list[dict]:
    """``[{"text", "box": [x1, y1, x2, y2], "conf"}]`` per line, in Tesseract's reading order."""
    lines: dict[tuple[str, ...], dict] = {}
    rows = tsv.splitlines()
    if rows and rows[0].startswith("level"):
        rows = rows[1:]
    for row in rows:
        fields = row.split("\t")
        if len(fields) < 12 or fields[0] != "5":
            continue
        text = "\t".join(fields[11:]).strip()
        if not text:
            continue  # Tesseract emits empty words for blobs it could not read
        try:
            left, top, width, height = (int(value) for value in fields[6:10])
            conf = float(fields[10])
        except ValueError:
            continue
        key = tuple(fields[1:5])
        line = lines.setdefault(key, {"words": [], "box": [left, top, left + width, top + height], "confs": []})
        line["words"].append(text)
        line["confs"].append(conf)
        box = line["box"]
        line["box"] = [min(box[0], left), min(box[1], top), max(box[2], left + width), max(box[3], top + height)]
    return [{"text": join_words(line["words"]), "box": line["box"],
             "conf": sum(line["confs"]) / len(line["confs"])} for line in lines.values()]
