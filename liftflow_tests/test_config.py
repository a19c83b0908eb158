"""Settings: every environment variable read in liftflow/config.py, validated once per environment."""

import subprocess
import sys

import pytest

from liftflow.config import PROJECT_ROOT, build_settings, get_settings
from liftflow.errors import ConfigError


@pytest.mark.parametrize("name, value, says", [
    ("LIFTFLOW_API_PORT", "eighty", "is not a whole number"),
    ("LIFTFLOW_MAX_UPLOAD_MB", "0", "must be at least 1"),
    ("LIFTFLOW_MAX_DURATION_S", "-5", "must be a positive number"),
    ("LIFTFLOW_MAX_DURATION_S", "soon", "is not a number"),
    ("LIFTFLOW_DEVICE", "tpu", "must be one of auto, cpu, cuda"),
    ("LIFTFLOW_FAST_DECODE", "maybe", "must be 1 or 0"),
    ("LIFTFLOW_API_KEYS_FILE", "/nonexistent/keys.txt", "cannot be read"),
])
def test_a_bad_value_is_refused_with_the_variables_name(name, value, says):
    with pytest.raises(ConfigError) as ei:
        build_settings({name: value})
    assert name in str(ei.value) and says in str(ei.value)


def test_defaults_and_values():
    s = build_settings({})
    assert (s.api_port, s.max_upload_mb, s.max_duration_s, s.device, s.fast_decode) == (8000, 100, 600.0, "auto", True)
    assert s.real_data_dir == (PROJECT_ROOT.parent / "shared" / "data" / "real").resolve()
    s = build_settings({"LIFTFLOW_MAX_DURATION_S": "none", "LIFTFLOW_FAST_DECODE": "off",
                        "LIFTFLOW_SWEEP_SENSOR_INTERVAL_S": "1", "LIFTFLOW_SWEEP_CRON": "every night"})
    assert s.max_duration_s is None and s.fast_decode is False
    assert s.sweep_sensor_interval_s == 5 and s.sweep_cron == "0 3 * * *"


def test_settings_are_built_once_per_environment(monkeypatch):
    monkeypatch.setenv("LIFTFLOW_API_PORT", "8123")
    a = get_settings()
    assert a is get_settings() and a.api_port == 8123
    monkeypatch.setenv("LIFTFLOW_API_PORT", "8124")
    assert get_settings().api_port == 8124


def test_the_command_line_names_a_bad_variable_and_starts_nothing(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "LIFTFLOW_DATA_DIR": str(tmp_path), "LIFTFLOW_UI_PORT": "three thousand"}
    r = subprocess.run([sys.executable, "-m", "liftflow.cli", "up"], env=env, capture_output=True,
                       text=True, timeout=60, cwd=PROJECT_ROOT)
    assert r.returncode == 2, r.stderr
    assert "LIFTFLOW_UI_PORT='three thousand' is not a whole number" in r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "run").exists()  # no stack lock, no logs: nothing was started


def test_every_setting_is_documented_in_the_readme():
    from liftflow.config import ENV_VARS, PROJECT_ROOT

    readme = (PROJECT_ROOT / "README.md").read_text()
    missing = [v for v in ENV_VARS if f"`{v}`" not in readme]
    assert not missing, f"settings read by liftflow/config.py but not in the README: {missing}"
