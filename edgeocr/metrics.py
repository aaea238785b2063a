"""Accuracy measures shared by training validation and the benchmarks (no torch needed)."""
from __future__ import annotations


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: insertions, deletions and substitutions each cost 1."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def character_error_rate(predictions: list[str], truths: list[str]) -> float:
    """Total edits over total truth characters."""
    edits = sum(edit_distance(p, t) for p, t in zip(predictions, truths))
    return edits / max(1, sum(len(t) for t in truths))
