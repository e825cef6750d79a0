"""Every code block in README.md and docs/ runs (python) or validates (toml)."""

import re
import tomllib
from pathlib import Path

import pytest

from spikerate.scenario import Scenario, apply_overrides, check_scenario, run_scenario

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def blocks(lang):
    out = []
    for page in PAGES:
        for k, m in enumerate(re.finditer(rf"```{lang}\n(.*?)```", page.read_text(), re.S)):
            out.append(pytest.param(m.group(1), id=f"{page.name}-{k}"))
    return out


@pytest.mark.parametrize("code", blocks("python"))
def test_python_blocks_run(code, tmp_cwd):
    exec(compile(code, "<doc>", "exec"), {})


@pytest.mark.parametrize("text", blocks("toml"))
def test_toml_blocks_are_valid_scenarios(text, tmp_cwd):
    sc = Scenario(name="doc", config=tomllib.loads(text))
    check_scenario(sc)
    small = apply_overrides(sc, ["simulate.t_stop=0.02"])
    tree = run_scenario(small, progress=False)
    assert tree["spikes"].to_dataset().sizes["neuron"] > 0
