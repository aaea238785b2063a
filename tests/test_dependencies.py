"""The README's test command is what CI runs, and the versions it installs are bounded and agree.

A fresh machine installs the newest versions setup.cfg allows (or exactly constraints.txt with the
README's commands). These checks keep the three places from drifting apart: every requirement has
an upper bound, every constrained version satisfies setup.cfg, and .ci/run runs the README's line.
"""
from __future__ import annotations

import configparser
import re
import subprocess
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parent.parent


def _requirements() -> list[Requirement]:
    setup = configparser.ConfigParser()
    setup.read(REPO / "setup.cfg")
    lines = setup["options"]["install_requires"].splitlines()
    for extra in ("train", "test"):
        lines += setup["options.extras_require"][extra].splitlines()
    return [Requirement(line.strip()) for line in lines if line.strip() and not line.strip().startswith("#")]


def _constraints() -> dict[str, Version]:
    pins = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            pins[canonicalize_name(name)] = Version(version)
    return pins


def _shell_block_after(marker: str) -> str:
    text = (REPO / "README.md").read_text()
    start = text.index(marker)
    block = re.search(r"```sh\n(.*?)\n```", text[start:], re.S)
    assert block, f"no sh block after {marker!r} in README.md"
    return block.group(1).strip()


def test_every_requirement_has_an_upper_bound():
    unbounded = [str(r) for r in _requirements()
                 if not any(spec.operator in ("<", "<=", "==", "~=") for spec in r.specifier)]
    assert not unbounded, f"setup.cfg requirements without an upper bound: {unbounded}"


def test_pytest_is_held_below_the_release_that_breaks_schemathesis():
    pytest_req = next(r for r in _requirements() if r.name == "pytest")
    assert not pytest_req.specifier.contains("9.2.0"), "pytest 9.2.0 breaks schemathesis (AttributeError: _nodeid)"
    assert _constraints()["pytest"] < Version("9.2.0")


def test_constraints_pin_every_requirement_within_its_bounds():
    pins = _constraints()
    for requirement in _requirements():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement.name} is in setup.cfg but not pinned in constraints.txt"
        assert requirement.specifier.contains(pins[name], prereleases=True), \
            f"constraints.txt pins {name}=={pins[name]}, outside setup.cfg's {requirement}"


def test_ci_runs_the_readme_test_command_verbatim():
    command = _shell_block_after("Tests,")
    assert "install-system-packages.sh" in command and "-c constraints.txt" in command and "pytest" in command
    ci_lines = [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines()]
    assert command in ci_lines, f".ci/run does not run the README's test command:\n{command}"


def test_readme_setup_command_uses_the_constraints():
    assert "-c constraints.txt" in _shell_block_after("On a fresh")


def test_system_package_script_is_valid_shell_and_names_the_browser():
    script = REPO / "tests" / "install-system-packages.sh"
    subprocess.run(["bash", "-n", str(script)], check=True)
    text = script.read_text()
    for package in ("chromium", "systemd", "fonts-dejavu-core"):
        assert re.search(rf"\b{re.escape(package)}\b", text), f"{package} missing from {script.name}"


def test_dockerfile_pins_are_the_constrained_versions():
    pins = _constraints()
    for dockerfile in ("Dockerfile.amd64", "Dockerfile.arm64"):
        for name, version in re.findall(r"^\s+([A-Za-z0-9._-]+)==([A-Za-z0-9.+!-]+)", (REPO / dockerfile).read_text(), re.M):
            key = canonicalize_name(name)
            assert key in pins and pins[key] == Version(version), \
                f"{dockerfile} pins {name}=={version}; constraints.txt has {pins.get(key)}"
