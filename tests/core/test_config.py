"""Settings precedence: flag > environment > file > default; secrets only from env."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lgcraft.config import Settings, redact_url
from lgcraft.errors import ConfigError, InputError


@pytest.fixture
def config_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "lgcraft.toml"
    path.write_text('[eyewear]\njobs = 3\nprofile = "web"\n[provenance]\nconfirmations = 2\n')
    return path


def test_precedence(config_file):
    settings = Settings.load(env={"LGCRAFT_EYEWEAR_JOBS": "5"})
    assert settings.source == config_file  # found in the working directory
    assert settings.get("eyewear", "jobs", int, default=1) == 5  # env beats file
    assert settings.get("eyewear", "jobs", int, default=1, flag=7) == 7  # flag beats env
    assert settings.get("provenance", "confirmations", int, default=1) == 2  # file
    assert settings.get("toys", "seed", int, default=42) == 42  # default


def test_explicit_config_file_and_env_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    other = tmp_path / "other.toml"
    other.write_text("[toys]\nseed = 9\n")
    assert Settings.load(other, env={}).get("toys", "seed", int) == 9
    assert Settings.load(env={"LGCRAFT_CONFIG": str(other)}).get("toys", "seed", int) == 9
    with pytest.raises(InputError, match="config file not found"):
        Settings.load(tmp_path / "missing.toml", env={})


def test_bad_values_name_their_origin(config_file):
    settings = Settings.load(env={"LGCRAFT_EYEWEAR_JOBS": "many"})
    with pytest.raises(ConfigError, match="LGCRAFT_EYEWEAR_JOBS: expected int, got 'many'"):
        settings.get("eyewear", "jobs", int)


def test_refused_values_name_the_flag_env_or_file_they_came_from(config_file):
    def positive(n):
        return n > 0

    settings = Settings.load(env={"LGCRAFT_EYEWEAR_JOBS": "-3"})
    with pytest.raises(InputError, match="^--jobs 0: must be positive$"):
        settings.get("eyewear", "jobs", int, 1, flag=0, valid=positive, expect="positive")
    with pytest.raises(InputError, match="^LGCRAFT_EYEWEAR_JOBS=-3: must be positive$"):
        settings.get("eyewear", "jobs", int, 1, valid=positive, expect="positive")
    config_file.write_text("[provenance]\nconfirmations = -2\n")
    with pytest.raises(InputError, match=r"lgcraft.toml \[provenance\] confirmations = -2: must be"):
        Settings.load(env={}).get("provenance", "confirmations", int, 1, valid=positive, expect="positive")
    assert settings.get("toys", "seed", int, 42, valid=positive, expect="positive") == 42  # defaults pass


def test_unknown_section_and_secrets_in_files_are_refused(tmp_path):
    bad = tmp_path / "a.toml"
    bad.write_text("[jewellery]\nmodel = 'x'\n")
    with pytest.raises(ConfigError, match=r"unknown section \[jewellery\]"):
        Settings.load(bad, env={})
    secret = tmp_path / "b.toml"
    secret.write_text("[provenance]\nprivate_key = '0xabc'\n")
    with pytest.raises(ConfigError, match="is a secret"):
        Settings.load(secret, env={})


def test_secrets_come_from_env_and_are_never_described(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    key = "0x" + "11" * 32
    settings = Settings.load(env={"LGCRAFT_PRIVATE_KEY": key,
                                  "LGCRAFT_PROVENANCE_RPC_URL": "https://u:p@node.example/v3/abcdef0123456789abcd"})
    assert settings.secret("LGCRAFT_PRIVATE_KEY") == key
    assert key not in repr(settings)
    described = str(settings.describe())
    assert key not in described and "abcdef0123456789abcd" not in described and "u:p" not in described
    assert "LGCRAFT_PRIVATE_KEY" in described


def test_bool_coercion():
    settings = Settings.load(env={"LGCRAFT_EYEWEAR_USDZ": "yes"})
    assert settings.get("eyewear", "usdz", bool) is True
    with pytest.raises(ConfigError):
        Settings.load(env={"LGCRAFT_EYEWEAR_USDZ": "maybe"}).get("eyewear", "usdz", bool)


@given(user=st.text(alphabet="abcdefghij", min_size=1, max_size=8),
       password=st.text(alphabet="ABCDEFGHIJ0123456789", min_size=4, max_size=12),
       token=st.text(alphabet="abcdef0123456789", min_size=16, max_size=40))
def test_redact_url_hides_credentials(user, password, token):
    url = f"https://{user}:{password}@rpc.example.org:8545/v3/{token}?key={token}"
    shown = redact_url(url)
    assert password not in shown and token not in shown
    assert shown.startswith("https://***@rpc.example.org:8545/")
