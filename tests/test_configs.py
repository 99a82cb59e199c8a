"""The per-texture configs: overlays on the default recipe that name only their clip (and wind its own
settings), so each trains the current default generator and no copy of the recipe goes stale."""
import dataclasses
import inspect
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from texnet.data import TextureDataModule
from texnet.descriptors import DescriptorConfig
from texnet.frontends import FrontendConfig
from texnet.generators import GeneratorConfig
from texnet.loss import ObjectiveConfig
from texnet.optimize import OptimizeConfig

ROOT = Path(__file__).resolve().parent.parent
BASE = ROOT / "configs" / "quickstart_waveform.yaml"
TEXTURES = ("rain", "wind", "fire", "stream", "crowd", "insects", "machine")
SECTIONS = {"frontend": FrontendConfig, "descriptor": DescriptorConfig, "objective": ObjectiveConfig,
            "generator": GeneratorConfig}


@pytest.mark.parametrize("texture", TEXTURES)
def test_texture_config_overlays_the_default_recipe(texture):
    path = ROOT / "configs" / f"{texture}.yaml"
    cfg = yaml.safe_load(path.read_text())
    assert f"--config configs/quickstart_waveform.yaml --config configs/{texture}.yaml" in path.read_text()
    assert set(cfg) <= {"model", "data", "trainer"}
    assert cfg["data"]["audio"] == [f"data/{texture}.ogg"] and (ROOT / cfg["data"]["audio"][0]).is_file()
    data_args = set(inspect.signature(TextureDataModule.__init__).parameters)
    assert set(cfg["data"]) <= data_args, set(cfg["data"]) - data_args
    for section, values in cfg.get("model", {}).items():  # every key names a real setting
        fields = {f.name for f in dataclasses.fields(SECTIONS[section])}
        assert set(values) <= fields, (section, set(values) - fields)


def test_wind_overlay_merges_into_the_recipe():
    """Given after the base, wind's keys replace the base's and every other setting stays."""
    r = subprocess.run([sys.executable, "train.py", "--config", str(BASE), "--config", "configs/wind.yaml",
                        "--print_config"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    merged = yaml.safe_load(r.stdout)
    wind = yaml.safe_load((ROOT / "configs" / "wind.yaml").read_text())
    base = yaml.safe_load(BASE.read_text())
    assert merged["data"]["audio"] == ["data/wind.ogg"]
    for section, values in wind.get("model", {}).items():
        for key, value in values.items():
            assert merged["model"][section][key] == value
    assert merged["data"]["train_fraction"] == base["data"]["train_fraction"]  # from the base
    assert merged["model"]["generator"]["center"] is True  # the code's defaults are the recipe
    assert merged["model"]["objective"]["resolutions"] == ObjectiveConfig().resolutions


CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_configs_hold_only_what_differs_from_the_defaults(path):
    """The code's defaults are the recommended recipe: a config that repeats a default is a copy that
    would go stale when the recipe changes."""
    cfg = yaml.safe_load(path.read_text()) or {}
    sections = {**cfg.get("model", {}), "optimize": cfg.get("optimize", {})}
    classes = {**SECTIONS, "optimize": OptimizeConfig}
    for section, values in sections.items():
        if not isinstance(values, dict):
            continue
        defaults = classes[section]()
        for key, value in values.items():
            assert hasattr(defaults, key), (path.name, section, key)
            assert getattr(defaults, key) != value, f"{path.name}: {section}.{key}: {value!r} is the default"


def test_configs_merge_in_order_and_flat_sections_are_refused(tmp_path):
    from texnet.config import load_configs, model_section

    merged = load_configs([BASE, ROOT / "configs" / "wind.yaml"])
    assert merged["data"]["audio"] == ["data/wind.ogg"] and merged["data"]["train_fraction"] == 0.5
    assert model_section(merged, "objective") == {"auditory_weight": 3.0, "auditory_segment_s": 3.0}
    flat = tmp_path / "flat.yaml"
    flat.write_text("frontend: {n_fft: 512}\n")
    with pytest.raises(ValueError, match="belong under 'model:'"):
        load_configs([flat])


def test_train_and_optimize_read_the_same_optimize_section():
    r = subprocess.run([sys.executable, "train.py", "--config", "configs/tiny.yaml", "--print_config"], cwd=ROOT,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert yaml.safe_load(r.stdout)["optimize"]["max_iter"] == 3
