"""Text to render: words by real frequency plus the numbers, dates and codes of receipts.

Every sampler takes a ``random.Random`` so a line is a pure function of its seed.
"""
from __future__ import annotations

import os
import random
import string
from functools import lru_cache
from pathlib import Path

FALLBACK_WORDS = (
    "total cash change tax invoice receipt date time qty price amount item subtotal discount "
    "thank you please come again store street road no tel fax customer payment card visa "
    "the and of to in for with on at from by this that is was are be have it not or"
).split()


def bundled_wordlist(language: str) -> tuple[str, ...] | None:
    """The list saved by ``bundle.py`` when ``$EDGEOCR_WORDLISTS`` names its folder (a bare machine)."""
    folder = os.environ.get("EDGEOCR_WORDLISTS")
    if not folder:
        return None
    return tuple(Path(folder, f"{language}.txt").read_text(encoding="utf-8").split("\n")[:-1])


def write_wordlist(words: tuple[str, ...], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(w + "\n" for w in words), encoding="utf-8")
    return path


@lru_cache(maxsize=4)
def english_words(limit: int = 30000) -> tuple[str, ...]:
    """The most frequent English words (wordfreq), ASCII only; a small fallback without it."""
    bundled = bundled_wordlist("en")
    if bundled is not None:
        return bundled[:limit]
    try:
        import wordfreq
    except ImportError:
        return tuple(FALLBACK_WORDS)
    words = [w for w in wordfreq.top_n_list("en", limit) if w.isascii() and w.isprintable()]
    return tuple(words)


def _case(word: str, rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.35:
        return word.upper()
    if roll < 0.7:
        return word.capitalize()
    return word


def words_line(rng: random.Random, max_words: int = 6) -> str:
    words = english_words()
    # Frequency-ranked list: a log-uniform rank keeps common words common but reaches the tail.
    picked = []
    for _ in range(rng.randint(1, max_words)):
        index = min(int(len(words) ** rng.random()) - 1, len(words) - 1)
        if rng.random() < 0.3:
            index = rng.randrange(len(words))
        picked.append(_case(words[index], rng))
    line = " ".join(picked)
    if rng.random() < 0.3:
        line += rng.choice([".", ",", ":", ";", "!", "?", " -", ")"])
    if rng.random() < 0.1:
        line = rng.choice(["(", '"', "'", "*", "#"]) + line
    return line


def price(rng: random.Random) -> str:
    value = rng.choice([rng.uniform(0, 20), rng.uniform(0, 200), rng.uniform(0, 20000)])
    text = f"{value:,.2f}" if rng.random() < 0.5 else f"{value:.2f}"
    prefix = rng.choice(["", "", "$", "RM", "RM ", "USD ", "-", "€", "£", "¥"])
    return prefix + text


def date(rng: random.Random) -> str:
    y, m, d = rng.randint(1990, 2035), rng.randint(1, 12), rng.randint(1, 28)
    months = "JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split()
    return rng.choice([
        f"{y}-{m:02d}-{d:02d}", f"{d:02d}/{m:02d}/{y}", f"{d:02d}-{m:02d}-{y}", f"{m}/{d}/{y % 100:02d}",
        f"{d:02d} {months[m - 1]} {y}", f"{d} {months[m - 1].capitalize()} {y}", f"{y}.{m:02d}.{d:02d}",
    ])


def clock(rng: random.Random) -> str:
    h, mi, s = rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59)
    return rng.choice([f"{h:02d}:{mi:02d}", f"{h:02d}:{mi:02d}:{s:02d}", f"{h % 12 or 12}:{mi:02d} {rng.choice(['AM', 'PM'])}"])


def phone(rng: random.Random) -> str:
    digits = lambda n: "".join(rng.choice(string.digits) for _ in range(n))  # noqa: E731
    return rng.choice([
        f"{digits(3)}-{digits(3)}-{digits(4)}", f"({digits(3)}) {digits(3)}-{digits(4)}",
        f"+{digits(2)} {digits(2)}-{digits(4)} {digits(4)}", f"0{digits(2)}-{digits(7)}",
    ])


def code(rng: random.Random) -> str:
    alnum = string.ascii_uppercase + string.digits
    part = lambda n: "".join(rng.choice(alnum) for _ in range(n))  # noqa: E731
    return rng.choice([
        f"{part(3)}-{part(6)}", f"INV{rng.randint(0, 10**7):07d}", f"No. {rng.randint(1, 99999)}",
        f"{rng.randint(0, 10**12):012d}", f"GST ID: {rng.randint(0, 10**12):012d}", part(rng.randint(4, 12)),
        f"#{rng.randint(1, 9999)}", f"{part(2)}{rng.randint(100, 99999)}",
    ])


def receipt_item(rng: random.Random) -> str:
    item = words_line(rng, max_words=3).upper()
    qty = rng.randint(1, 12)
    return rng.choice([f"{qty} x {price(rng)}", f"{item} {price(rng)}", f"{qty} {item}", f"{item} {qty} {price(rng)}"])


def random_chars(rng: random.Random, charset: list[str]) -> str:
    """Uniformly drawn characters, so that rare symbols are learned too."""
    body = "".join(rng.choice(charset) for _ in range(rng.randint(1, 20)))
    return body.strip() or "0"


def sample_english_line(rng: random.Random, charset: list[str], max_chars: int = 40) -> str:
    roll = rng.random()
    if roll < 0.40:
        line = words_line(rng)
    elif roll < 0.55:
        line = receipt_item(rng)
    elif roll < 0.63:
        line = price(rng)
    elif roll < 0.70:
        line = date(rng) + (" " + clock(rng) if rng.random() < 0.5 else "")
    elif roll < 0.75:
        line = phone(rng)
    elif roll < 0.85:
        line = code(rng)
    else:
        line = random_chars(rng, charset)
    allowed = set(charset)
    line = "".join(ch for ch in line if ch in allowed).strip()
    line = " ".join(line.split())
    return (line[:max_chars].strip() or "0")
