"""Process-wide runtime settings: glibc's malloc arenas are capped unless the user chose a number."""
from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

from edgeocr.runtime import limit_malloc_arenas

GLIBC = platform.libc_ver()[0] == "glibc"


def test_a_user_set_malloc_arena_max_is_left_alone(monkeypatch):
    monkeypatch.setenv("MALLOC_ARENA_MAX", "8")
    assert limit_malloc_arenas() is False


@pytest.mark.skipif(not GLIBC, reason="mallopt(M_ARENA_MAX) is glibc's; elsewhere the cap is a no-op")
def test_the_cap_is_set_on_glibc_when_the_user_chose_none():
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    code = "from edgeocr.runtime import limit_malloc_arenas; print(limit_malloc_arenas())"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"
