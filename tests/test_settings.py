"""Settings: declared once, read from the environment, documented in the README."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from syndicate.settings import RUNTIME_FIELDS, SETTINGS, SettingError, Settings

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_a_field_and_every_field_a_setting():
    declared = [s.name for s in SETTINGS] + list(RUNTIME_FIELDS)
    assert declared == [f.name for f in dataclasses.fields(Settings)]


def test_declared_defaults_are_the_dataclass_defaults():
    defaults = Settings()
    for setting in SETTINGS:
        assert getattr(defaults, setting.name) == setting.default, setting.name


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.env)
def test_every_setting_is_documented_in_the_readme(setting):
    row = re.search(rf"^\| `{setting.env}` \| ([^|]+) \|", README, re.M)
    assert row, f"{setting.env} is not in the README's settings table"
    if setting.default is not None:
        assert str(setting.default) in row.group(1) or str(setting.default).lower() in row.group(1)


def test_documented_variables_all_exist():
    documented = set(re.findall(r"^\| `(SYNDICATE_\w+)` \|", README, re.M))
    assert documented == {s.env for s in SETTINGS}


def test_environment_then_overrides():
    settings = Settings.from_env(
        {"SYNDICATE_PORT": "9000", "SYNDICATE_WATCH": "no"}, host="0.0.0.0", port=None
    )
    assert (settings.port, settings.watch, settings.host) == (9000, False, "0.0.0.0")


@pytest.mark.parametrize(
    ("env", "value"),
    [("SYNDICATE_PORT", "eighty"), ("SYNDICATE_PORT", "70000"), ("SYNDICATE_WATCH", "maybe"),
     ("SYNDICATE_MAX_AGE", "-1"), ("SYNDICATE_PUBLIC_URL", "feeds.example.org")],
)  # fmt: skip
def test_bad_values_name_the_variable(env, value):
    with pytest.raises(SettingError, match=env):
        Settings.from_env({env: value})


def test_a_password_in_a_url_setting_is_never_shown():
    environ = {"SYNDICATE_SMTP_URL": "smtp://user:hunter2@relay.example.org:587",
               "SYNDICATE_MAIL_FROM": "updates@example.org",
               "SYNDICATE_DATABASE_URL": "postgresql://app:hunter2@db/feeds"}  # fmt: skip
    assert "hunter2" not in repr(Settings.from_env(environ))
    with pytest.raises(SettingError) as raised:
        Settings.from_env({**environ, "SYNDICATE_SMTP_URL": "smtp://user:hunter2@:99999"})
    assert "hunter2" not in str(raised.value)
