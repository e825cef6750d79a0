"""The installed package must contain every subpackage and the bundled scenarios."""

import tomllib
from pathlib import Path

import pytest

pytestmark = pytest.mark.nojit  # small enough for NUMBA_DISABLE_JIT=1 (.ci/extended)

ROOT = Path(__file__).resolve().parents[2]


def test_pyproject_lists_every_subpackage():
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(conf["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "spikerate").rglob("__init__.py")}
    assert found <= listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"
    assert conf["package-dir"]["spikerate._scenarios"] == "scenarios"
    assert "spikerate._scenarios" in listed


def test_scenarios_are_found():
    from spikerate.scenario import list_scenarios, scenario_dir
    assert (scenario_dir() / "cuba.toml").is_file()
    assert {"cuba", "brunel"} <= set(list_scenarios())


def test_python_dash_m_spikerate_is_the_command():
    import os
    import subprocess
    import sys
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run([sys.executable, "-m", "spikerate", "list"], capture_output=True, text=True, env=env,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert "cuba" in out.stdout and "reduction" in out.stdout
