"""Process-wide runtime settings: glibc's malloc arenas are capped unless the user chose a number.

Each check runs in a fresh interpreter: the cap is set once per process.
"""
from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

GLIBC = platform.libc_ver()[0] == "glibc"
ASK = "from edgeocr.runtime import limit_malloc_arenas; print(limit_malloc_arenas(), limit_malloc_arenas())"


def ask(**env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    return subprocess.run([sys.executable, "-c", ASK], env={**clean, **env}, capture_output=True, text=True,
                          check=True).stdout.strip()


def test_a_user_set_malloc_arena_max_is_left_alone():
    assert ask(MALLOC_ARENA_MAX="8") == "False False"


@pytest.mark.skipif(not GLIBC, reason="mallopt(M_ARENA_MAX) is glibc's; elsewhere the cap is a no-op")
def test_the_cap_is_set_on_glibc_when_the_user_chose_none():
    assert ask() == "True True"
