"""The suite runs every app's tests: an app whose tests/ folder is missing from pytest's
testpaths would silently never run in CI."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_app_with_tests_is_in_testpaths():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    testpaths = set(config["tool"]["pytest"]["ini_options"]["testpaths"])
    apps_with_tests = {p.parent.name for p in ROOT.glob("*/tests/__init__.py")}
    assert apps_with_tests - {"tests"} <= testpaths, apps_with_tests - testpaths
