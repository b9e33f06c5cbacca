"""``sophie.toml``: the models, located errors, groups, flags over the file, ``sophie init``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from sophie.cli import cli
from sophie.config import ConfigFileError, key_lines, load_config, parse_config, starter_config
from sophie.errors import ConfigurationError
from sophie.execution.practice_setup import adapter_source, execution_settings, practice_setup

NOW = "2026-03-05T10:00:00-05:00"


def sophie(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_a_single_practice_reads_into_frozen_models():
    config = parse_config(
        """
[ledger]
url = "sqlite:///x.db"
[practice]
adapter = "demo"
packs = ["dental-core"]
params = { first_touch_days = 3 }
[practice.ownership]
strategy = "fixed"
fixed = { billing = "s-4" }
reopen_grace = "2 business_hours"
[practice.capacity]
default = 12
[[practice.notifiers]]
kind = "webhook"
settings = { url_env = "HOOK" }
[server]
port = 9000
"""
    )
    practice = config.practice()
    assert config.ledger.resolved_url() == "sqlite:///x.db"
    assert practice.adapter == "demo" and practice.packs == ("dental-core",)
    assert practice.params == {"first_touch_days": 3} and practice.capacity.default == 12
    assert practice.ownership.fixed == {"billing": "s-4"} and practice.notifiers[0].kind == "webhook"
    assert config.server.port == 9000 and config.server.host == "127.0.0.1"
    with pytest.raises(ValueError, match="frozen"):
        practice.adapter = "files"  # type: ignore[misc]


def test_a_group_merges_its_defaults_into_each_practice():
    config = parse_config(
        """
[defaults]
adapter = "demo"
params = { first_touch_days = 2 }
[defaults.ownership]
strategy = "round_robin"
[[practices]]
id = "north"
[[practices]]
id = "south"
params = { recall_grace_days = 5 }
[practices.ownership]
reopen_grace = "3 business_hours"
"""
    )
    north, south = config.practices
    assert (north.id, south.id) == ("north", "south")
    assert north.params == {"first_touch_days": 2}
    assert south.params == {"first_touch_days": 2, "recall_grace_days": 5}
    assert south.ownership.strategy == "round_robin" and south.ownership.reopen_grace == "3 business_hours"
    assert north.ownership.reopen_grace == "1 business_hour"
    assert config.practice("south") is south
    with pytest.raises(ConfigurationError, match="2 practices"):
        config.practice()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[practice]\nadapter = "demo"\n\n[practice.ownership]\nstrategy = "fastest"\n',
         "sophie.toml:5: key practice.ownership.strategy: unknown strategy 'fastest'"),
        ('[practice]\nadapter = "demo"\ncolour = "blue"\n', "sophie.toml:3: key practice.colour: unknown key"),
        ('[ledger]\nurl = "x"\n[practice]\nsource = "a"\n', "sophie.toml:3: key practice.adapter: is required"),
        ('[practice]\nadapter = "demo"\n[server]\nhost = "h"\nport = 70000\n', "sophie.toml:5: key server.port:"),
        ('[practice]\nadapter = "demo"\n[practice.capacity]\ndefault = -1\n', "sophie.toml:4: key practice.capacity.default"),
        ('[defaults]\nadapter = "demo"\n[[practices]]\nid = "a"\n[[practices]]\nid = "b"\npacks = 3\n',
         "sophie.toml:7: key practices[1].packs:"),
        ('[defaults]\nadapter = "demo"\nowner = 1\n[[practices]]\nid = "a"\n', "sophie.toml:3: key defaults.owner: unknown key"),
        ('[[practices]]\nid = "a"\nadapter = "demo"\n[[practices]]\nid = "a"\nadapter = "demo"\n',
         "sophie.toml:5: key practices[1].id: practice id 'a' appears twice"),
        ('[practice]\nadapter = "demo"\n[webserver]\n', "sophie.toml:3: key webserver: unknown table"),
        ('[practice]\nadapter = "demo"\n[practice.digests]\nat = ["8am"]\n', "sophie.toml:4: key practice.digests.at:"),
        ('[practice]\nadapter = "demo"\nport = \n', "sophie.toml:3:8: "),
    ],
)  # fmt: skip
def test_a_bad_file_is_located_at_its_key_and_line(text, expected):
    with pytest.raises(ConfigFileError) as caught:
        parse_config(text)
    assert str(caught.value).startswith(expected), str(caught.value)


def test_key_lines_follow_tables_arrays_and_dotted_keys():
    lines = key_lines('a = 1\n[x.y]\nb.c = 2\n[[p]]\nid = "1"\n[[p]]\nid = "2"\n[p.o]\nk = 1\n')
    assert lines[("a",)] == 1 and lines[("x", "y", "b", "c")] == 3
    assert lines[("p", 0, "id")] == 5 and lines[("p", 1, "id")] == 7 and lines[("p", 1, "o", "k")] == 9


def test_secrets_come_from_the_environment_and_settings_become_url_parameters():
    config = parse_config(
        '[ledger]\nurl_env = "DB"\n[practice]\nadapter = "opendental"\n'
        'adapter_settings = { url_env = "OD", clinic = 2 }\n'
    )
    env = {"DB": "postgresql://u:secret@h/db", "OD": "mysql://ro:pw@h:3306/od?timezone=UTC"}
    assert config.ledger.resolved_url(env) == env["DB"]
    assert adapter_source(config.practice(), env) == "mysql://ro:pw@h:3306/od?timezone=UTC&clinic=2"
    with pytest.raises(ConfigurationError, match="variable OD is not set"):
        adapter_source(config.practice(), {})


def test_ownership_settings_are_checked_like_the_flags():
    practice = parse_config('[practice]\nadapter = "demo"\n[practice.ownership]\ncover = { billing = "ofice_manager" }\n')
    with pytest.raises(ConfigurationError, match="did you mean 'office_manager'"):
        execution_settings(practice.practice().ownership)


@pytest.mark.parametrize("adapter", ["demo", "files", "opendental"])
def test_every_starter_is_a_valid_file(adapter):
    assert parse_config(starter_config(adapter)).practice().adapter == adapter


def test_init_then_run_uses_the_file_and_flags_override_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert sophie("init", "--adapter", "demo")[0] == 0
    code, _, err = sophie("init", "--adapter", "demo")
    assert code == 2 and "already exists" in err
    config = load_config(tmp_path / "sophie.toml")
    setup = practice_setup(config.practice())
    assert [pack.name for pack in setup.packs] == ["dental-core"]
    code, out, err = sophie("run", "--now", NOW, "--format", "json")
    assert code == 0, err
    assert json.loads(out)["changes"] and (tmp_path / "sophie.db").is_file()
    code, out, err = sophie("run", "--now", NOW, "--format", "json", "--db", f"sqlite:///{tmp_path / 'other.db'}")
    assert code == 0 and (tmp_path / "other.db").is_file()
    code, out, _ = sophie("queue", "--format", "json")
    assert code == 0 and json.loads(out)["count"] > 0


def test_a_bad_file_exits_2_with_its_location_and_no_traceback(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[practice]\nadapter = "demo"\n\n[practice.ownership]\nstrategy = "fastest"\n')
    code, out, err = sophie("run", "--config", str(bad))
    assert code == 2 and out == ""
    assert err.strip() == f"sophie: error: {bad}:5: key practice.ownership.strategy: unknown strategy 'fastest'; use one of least_open, round_robin, fixed"
    code, _, err = sophie("queue", "--config", str(Path(tmp_path / "missing.toml")))
    assert code == 2 and "missing.toml: no such file" in err


def test_digest_windows_are_on_when_their_table_is_present():
    plain = parse_config('[practice]\nadapter = "demo"\n')
    assert plain.practice().digests is None
    config = parse_config('[practice]\nadapter = "demo"\n[practice.digests]\nat = ["07:30", "12:45"]\n')
    digests = config.practice().digests
    assert digests is not None and digests.at == ("07:30", "12:45")
    default = parse_config('[practice]\nadapter = "demo"\n[practice.digests]\n').practice().digests
    assert default is not None and default.at == ("08:00", "13:00")


def test_a_groups_practices_naming_the_same_packs_share_them_with_their_own_parameters():
    from sophie.config.models import PracticeConfig

    compiled: dict = {}
    north, south, other = (
        practice_setup(PracticeConfig(id=name, adapter="demo", packs=packs, params=params), compiled=compiled)
        for name, packs, params in (
            ("north", ("dental-core",), {"confirm_call_hours": 48}),
            ("south", ("dental-core",), {}),
            ("west", ("example",), {}),
        )
    )
    assert north.packs[0] is south.packs[0]  # compiled once
    assert other.packs[0] is not north.packs[0] and other.packs[0].name == "example"
    assert north.params == {"confirm_call_hours": 48} and south.params == {}
    alone = practice_setup(PracticeConfig(id="east", adapter="demo", packs=("dental-core",)))
    assert alone.packs[0] is not north.packs[0]  # without the shared mapping, each compiles its own
    assert set(compiled) == {("dental-core",), ("example",)}
