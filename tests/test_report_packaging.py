"""Packaging of the bundled templates (模板随包安装): top-level ``templates/`` ships as ``xlperf/templates``."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_templates_ship_with_the_package():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    if config.get("package-dir", {}).get("xlperf.templates") != "templates":
        pytest.xfail("pyproject.toml does not map xlperf.templates → templates/ yet (see the report issue)")
    packages = set(config["packages"])
    top = ROOT / "src" / "xlperf"
    on_disk = {"xlperf"} | {f"xlperf.{d.name}" for d in top.iterdir() if (d / "__init__.py").is_file()}
    assert on_disk | {"xlperf.templates"} <= packages, (
        "a package under src/xlperf is missing from [tool.setuptools]"
    )
    globs = config["package-data"]["xlperf.templates"]
    for path in (ROOT / "templates").iterdir():
        assert any(fnmatch.fnmatch(path.name, g) for g in globs), f"{path.name} would not be installed"
