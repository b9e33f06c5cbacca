"""A password in a URL never reaches a message, whatever shape the URL has."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from sophie.adapters.opendental.settings import OpenDentalSettings
from sophie.cli import cli
from sophie.errors import ConfigurationError
from sophie.execution import sqlite_path
from sophie.model.redaction import mask_url

URLS = [
    "u:SECRET@host/opendental",
    "u:SECRET@host:3306/opendental?timezone=America/New_York",
    "mysql//u:SECRET@host/opendental",
    "mysql://u@host/opendental?password=SECRET",
    "mysql://u@host/opendental?timezone=UTC&passwd=SECRET",
    "mysql://u@host/opendental?pwd=SECRET&x=1",
    "postgresql://u:SECRET@host/sophie",
    "postgresql://host/sophie?sslmode=require&password=SECRET",
    "mysql://u:SECRET@host:notaport/opendental",
    "mysql://u:SEC@RET@host/opendental",
]


@pytest.mark.parametrize("url", URLS)
def test_mask_url_hides_the_password(url: str) -> None:
    masked = mask_url(url)
    assert "SECRET" not in masked and "RET" not in masked.replace("***", "")
    assert "host" in masked and "***" in masked


def test_mask_url_leaves_urls_without_secrets_alone() -> None:
    assert mask_url("sqlite:///var/lib/sophie.db") == "sqlite:///var/lib/sophie.db"
    assert mask_url("mysql://u@host/db?timezone=UTC") == "mysql://u@host/db?timezone=UTC"


@pytest.mark.parametrize("url", URLS)
def test_open_dental_settings_errors_never_show_the_password(url: str) -> None:
    try:
        shown = OpenDentalSettings.from_url(url, env={}).masked_url()
    except ConfigurationError as err:
        shown = str(err)
    assert "SECRET" not in shown and "RET" not in shown.replace("***", ""), shown


@pytest.mark.parametrize("url", [u for u in URLS if "://" in u])
def test_ledger_url_errors_never_show_the_password(url: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        sqlite_path(url)
    assert "SECRET" not in str(caught.value)


@pytest.mark.parametrize(
    "args",
    [
        ["run", "--adapter", "opendental", "--source", "u:SECRET@host/opendental"],
        ["run", "--adapter", "opendental", "--source", "mysql://u@host/od?password=SECRET"],
        ["run", "--adapter", "demo", "--db", "postgresql://u:SECRET@host/sophie"],
        ["queue", "--db", "postgresql://host/sophie?passwd=SECRET"],
    ],
)
def test_the_command_line_never_prints_the_password(args: list[str]) -> None:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert "SECRET" not in result.stdout + result.stderr
