"""Scenario files: a TOML file names a network and the stages to run on it; running it writes
one NetCDF file holding a DataTree with one group per stage.

::

    description = "..."
    [network]          # builder = "cuba" | "brunel" | "custom", then the builder's parameters
    [simulate]         # t_stop, dt, method, dtype, trials, seed, record, record_every, allow_long
    [rates]            # keyword arguments of spikerate.estimators.estimate_rate -> /rates
    [transfer]         # keyword arguments of spikerate.models.measure_transfer -> /transfer
    [reduction]        # keyword arguments of spikerate.reduce.compare_reductions -> /reduction
                       # (drive = {step = ..., ...}: parameters of step_and_sine_drive)

``builder = "custom"`` describes the network itself with ``[[network.populations]]``,
``[[network.channels]]``, ``[[network.projections]]`` and ``[[network.inputs]]`` tables
(the form of :meth:`spikerate.sim.Network.to_dict`).

Overrides (``--set network.n_neurons=1000``) go through the same checks as the file: an unknown
key is an error naming the key and the nearest valid one.
"""

from __future__ import annotations

import copy
import functools
import inspect
import json
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import xarray as xr

from ._validation import suggest
from .errors import ScenarioError
from .io.schema import SCENARIO, base_attrs
from .sim import Network, brunel_network, cuba_network, simulate

BUILDERS = {"cuba": cuba_network, "brunel": brunel_network}
SIMULATE_KEYS = ("t_stop", "dt", "method", "dtype", "trials", "seed", "record", "record_every", "allow_long")
SECTIONS = ("description", "network", "simulate", "rates", "transfer", "reduction", "training", "ablation", "sweep")
#: keys of the [sweep] table: the default grid of `spikerate sweep NAME` and its retries
SWEEP_KEYS = ("grid", "retries", "stage", "chunk")
DEFAULT = "reduction"


@dataclass
class Scenario:
    name: str
    config: dict = field(default_factory=dict)
    source: str = ""

    @property
    def description(self) -> str:
        return str(self.config.get("description", ""))


# ------------------------------------------------------------------------------ finding


def scenario_dir() -> Path:
    """The bundled scenarios: installed as ``spikerate/_scenarios``, or ``scenarios/`` in a checkout."""
    here = Path(__file__).resolve().parent
    installed = here / "_scenarios"
    if installed.is_dir():
        return installed
    return here.parent / "scenarios"


def list_scenarios() -> dict[str, str]:
    """Bundled scenario names and their one-line descriptions."""
    out = {}
    for p in sorted(scenario_dir().glob("*.toml")):
        try:
            out[p.stem] = str(tomllib.loads(p.read_text()).get("description", ""))
        except tomllib.TOMLDecodeError as exc:  # pragma: no cover - bundled files are tested
            out[p.stem] = f"(unreadable: {exc})"
    return out


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A bundled scenario by name, or a TOML file by path."""
    s = str(name_or_path)
    path = Path(s)
    if s.endswith(".toml") or path.is_file():
        if not path.is_file():
            raise ScenarioError(f"scenario file {s!r} does not exist.")
        name = path.stem
    else:
        path = scenario_dir() / f"{s}.toml"
        if not path.is_file():
            raise ScenarioError(f"unknown scenario {s!r}." + suggest(s, list_scenarios())
                                + " (`spikerate list` shows them; a file path must end in .toml)")
        name = s
    try:
        config = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML: {exc}") from None
    sc = Scenario(name=name, config=config, source=str(path))
    check_scenario(sc)
    return sc


# ------------------------------------------------------------------------------ checking


def _builder_keys(builder: str) -> list[str]:
    if builder == "custom":
        return ["builder", "populations", "channels", "projections", "inputs"]
    return ["builder"] + list(inspect.signature(BUILDERS[builder]).parameters)


def _keyword_params(func, exclude=()) -> list[str]:
    """Parameters a scenario may set by name (the stage's input, e.g. ``spikes``, is excluded)."""
    return [p.name for p in inspect.signature(func).parameters.values()
            if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) and p.name not in exclude]


def _stage_functions() -> dict:
    """Section name -> the function that runs it (imported lazily: stages of later issues)."""
    from .estimators import estimate_rate
    from .models import measure_transfer
    from .learn.ablation import surrogate_ablation
    from .learn.run import train_task
    from .reduce import compare_reductions
    return {"rates": estimate_rate, "transfer": measure_transfer, "reduction": compare_reductions,
            "training": train_task, "ablation": surrogate_ablation}


def section_keys(section: str, cfg: dict) -> list[str]:
    """Valid keys of a scenario section."""
    if section == "network":
        return _builder_keys(cfg.get("network", {}).get("builder", "cuba"))
    if section == "simulate":
        return list(SIMULATE_KEYS)
    if section == "sweep":
        return list(SWEEP_KEYS)
    return _keyword_params(_stage_functions()[section], exclude=("spikes", "network", "progress"))


def check_scenario(sc: Scenario) -> None:
    """Unknown sections or keys raise ScenarioError naming the key and the nearest valid one."""
    cfg = sc.config
    for key in cfg:
        if key not in SECTIONS:
            raise ScenarioError(f"unknown scenario key `{key}`." + suggest(key, SECTIONS))
    for key in SECTIONS[1:]:
        if key in cfg and not isinstance(cfg[key], dict):
            raise ScenarioError(f"`{key}` must be a table ([{key}]) of settings.")
    if not any(k in cfg for k in ("network", "transfer", "training", "ablation")):
        raise ScenarioError("a scenario needs a [network] section (builder = \"cuba\" | \"brunel\" | "
                            "\"custom\"), a [transfer], [training] or [ablation] section.")
    if "network" not in cfg and any(k in cfg for k in ("simulate", "rates", "reduction")):
        raise ScenarioError("[simulate], [rates] and [reduction] need a [network] section.")
    if "network" in cfg:
        builder = cfg["network"].get("builder")
        valid = list(BUILDERS) + ["custom"]
        if builder not in valid:
            raise ScenarioError(f"`network.builder` must be one of {valid}; got {builder!r}."
                                + (suggest(builder, valid) if isinstance(builder, str) else ""))
    if "sweep" in cfg:
        grid = cfg["sweep"].get("grid", {})
        if not isinstance(grid, dict) or not all(isinstance(v, list) and v for v in grid.values()):
            raise ScenarioError("`sweep.grid` must be a table of scenario key -> non-empty list of values, e.g. "
                                "grid = { \"simulate.seed\" = [0, 1, 2] }.")
    for section in SECTIONS[1:]:
        if section not in cfg:
            continue
        keys = section_keys(section, cfg)
        for key in cfg[section]:
            if key not in keys:
                where = f" for builder {cfg['network']['builder']!r}" if section == "network" else ""
                raise ScenarioError(f"unknown key `{section}.{key}`{where}." + suggest(key, keys))


def parse_value(text: str):
    """A TOML value (number, bool, string, array); bare words are strings."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_overrides(sc: Scenario, sets: list[str]) -> Scenario:
    """``["network.n_neurons=1000", ...]`` applied to a copy, then checked.  A key of three parts
    sets an entry of a table-valued setting (``training.optimizer.lr=0.05``)."""
    cfg = copy.deepcopy(sc.config)
    for item in sets:
        if "=" not in item:
            raise ScenarioError(f"`--set {item}` must have the form key=value, e.g. network.n_neurons=1000.")
        key, text = item.split("=", 1)
        parts = key.strip().split(".")
        nested = (len(parts) == 3 and parts[0] in cfg and isinstance(cfg[parts[0]], dict)
                  and isinstance(cfg[parts[0]].get(parts[1]), dict))
        if not (len(parts) == 2 or nested) or parts[0] not in SECTIONS[1:]:
            all_keys = [f"{sec}.{k}" for sec in SECTIONS[1:] if sec in cfg for k in section_keys(sec, cfg)]
            raise ScenarioError(f"unknown key `{key}` in --set." + suggest(key, all_keys))
        if nested:
            cfg[parts[0]][parts[1]][parts[2]] = parse_value(text.strip())
        else:
            cfg.setdefault(parts[0], {})[parts[1]] = parse_value(text.strip())
    out = Scenario(name=sc.name, config=cfg, source=sc.source)
    check_scenario(out)
    return out


def build_network(sc: Scenario) -> Network:
    net = dict(sc.config["network"])
    builder = net.pop("builder")
    try:
        if builder == "custom":
            return Network.from_dict(net)
        return BUILDERS[builder](**net)
    except (ValueError, TypeError) as exc:
        raise ScenarioError(f"[network] of scenario {sc.name!r}: {exc}") from exc


# ------------------------------------------------------------------------------ running


def _run_stage(sc: Scenario, section: str, func, *args, **extra):
    try:
        return func(*args, **dict(sc.config.get(section, {})), **extra)
    except (ValueError, TypeError) as exc:
        raise ScenarioError(f"[{section}] of scenario {sc.name!r}: {exc}") from exc


#: the groups a scenario can produce, in the order they run
STAGES = ("spikes", "rates", "transfer", "reduction", "training", "ablation")


def scenario_stages(sc: Scenario) -> list[str]:
    """The groups ``run_scenario(sc)`` writes, in order."""
    cfg = sc.config
    out = []
    if "network" in cfg and ("simulate" in cfg or "reduction" not in cfg):
        out.append("spikes")
    out += [g for g in STAGES[1:] if g in cfg]
    return out


def run_scenario(sc: Scenario, *, progress: bool | None = None, stage: str | None = None) -> xr.DataTree:
    """Run every stage of ``sc`` in order (network -> /spikes -> /rates; /transfer, /reduction,
    /training, /ablation) and return the DataTree, one group per stage.  ``stage`` runs only that
    group (and what it needs: /rates needs /spikes) and returns it alone."""
    t0 = time.perf_counter()
    if stage is not None:
        have = scenario_stages(sc)
        if stage not in have:
            raise ScenarioError(f"`stage` {stage!r} is not a stage of scenario {sc.name!r}; it has {have}."
                                + suggest(str(stage), have))
        sc = Scenario(name=sc.name, source=sc.source, config={
            k: v for k, v in sc.config.items()
            if k not in STAGES[1:] or k == stage})  # the other stages' tables dropped
    groups = {}
    network = build_network(sc) if "network" in sc.config else None
    if network is not None and ("simulate" in sc.config or "reduction" not in sc.config) and \
            stage in (None, "spikes", "rates"):
        simcfg = dict(sc.config.get("simulate", {}))
        extra = {} if "t_stop" in simcfg else {"t_stop": 1.0}
        groups["spikes"] = _run_stage(sc, "simulate", simulate, network, progress=progress, **extra)
    stages = _stage_functions() if any(k in sc.config for k in ("rates", "transfer", "reduction", "training",
                                                                 "ablation")) else {}
    if "rates" in sc.config:  # the bootstrap seed follows the simulation's unless [rates] sets one
        extra = {} if "seed" in sc.config["rates"] else {"seed": int(groups["spikes"].attrs["seed"])}
        groups["rates"] = _run_stage(sc, "rates", stages["rates"], groups["spikes"], **extra)
    if "transfer" in sc.config:
        groups["transfer"] = _run_stage(sc, "transfer", stages["transfer"], progress=progress)
    if "reduction" in sc.config:
        cfg = dict(sc.config["reduction"])
        drive = cfg.pop("drive", None)
        if drive is None or isinstance(drive, dict):  # parameters of the step-and-sine drive
            from .reduce import step_and_sine_drive
            params = dict(drive or {})
            try:
                step_and_sine_drive(np.zeros(1), **params)
            except TypeError as exc:
                raise ScenarioError(f"[reduction] of scenario {sc.name!r}: `drive` takes the parameters of "
                                    f"step_and_sine_drive (step, t_on, t_off, amplitude, frequency, t_sine): {exc}")
            drive = functools.partial(step_and_sine_drive, **params)
        try:
            groups["reduction"] = stages["reduction"](network, drive, progress=progress, **cfg)
        except (ValueError, TypeError) as exc:
            raise ScenarioError(f"[reduction] of scenario {sc.name!r}: {exc}") from exc
    if "training" in sc.config:
        groups["training"] = _run_stage(sc, "training", stages["training"], progress=progress)
    if "ablation" in sc.config:
        groups["ablation"] = _run_stage(sc, "ablation", stages["ablation"], progress=progress)
    if stage is not None:
        groups = {stage: groups[stage]}
    for ds in groups.values():
        ds.attrs["scenario"] = sc.name
    wall = time.perf_counter() - t0
    root = xr.Dataset(attrs=base_attrs(SCENARIO, scenario=sc.name, description=sc.description,
                                       config=json.dumps(sc.config), wall_time=wall))
    return xr.DataTree.from_dict({"/": root, **{f"/{k}": v for k, v in groups.items()}})
