"""Connection settings: URLs and environment variables, typed errors, and a password that never shows."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import pymysql
import pymysql.cursors
import pytest

from sophie.adapters.opendental import OpenDentalAdapter, OpenDentalSettings
from sophie.adapters.opendental.plugin import create_opendental_adapter
from sophie.adapters.opendental.queries import select
from sophie.errors import AdapterAuthError, ConfigurationError, SourceUnavailableError

if TYPE_CHECKING:
    from conftest import SeededDatabase

SECRET = "s3cr3t-Pa55"


def test_a_url_gives_every_setting() -> None:
    settings = OpenDentalSettings.from_url(
        f"mysql://reader:{SECRET}@db.example:3310/opendental?timezone=America/Chicago&clinic=2", env={}
    )
    assert (settings.host, settings.port, settings.user, settings.password) == ("db.example", 3310, "reader", SECRET)
    assert (settings.database, settings.timezone, settings.clinic) == ("opendental", "America/Chicago", 2)
    assert settings.effective_practice_id == "od-opendental-clinic-2"


def test_environment_variables_give_every_setting() -> None:
    env = {"SOPHIE_OD_HOST": "db", "SOPHIE_OD_PORT": "3311", "SOPHIE_OD_USER": "r", "SOPHIE_OD_PASSWORD": SECRET,
           "SOPHIE_OD_DATABASE": "od", "SOPHIE_OD_TIMEZONE": "America/Denver",
           "SOPHIE_OD_CONFIRMED": "Confirmed,Texted", "SOPHIE_OD_ROLES": '{"Front": ["front_desk"]}'}  # fmt: skip
    settings = OpenDentalSettings.from_env(env)
    assert (settings.host, settings.port, settings.database, settings.timezone) == ("db", 3311, "od", "America/Denver")
    assert settings.interpretation.is_confirmed("texted")
    assert settings.interpretation.roles_for("front") == ("front_desk",)
    assert OpenDentalSettings.from_env({"SOPHIE_OD_URL": f"mysql://u:{SECRET}@h/od"}).password == SECRET


def test_the_password_never_shows_in_repr_or_masked_url() -> None:
    settings = OpenDentalSettings.from_url(f"mysql://reader:{SECRET}@db:3306/opendental", env={})
    assert SECRET not in repr(settings)
    assert SECRET not in settings.masked_url()
    assert "***" in settings.masked_url()
    assert SECRET not in repr(OpenDentalAdapter(settings))


@pytest.mark.parametrize(
    "url",
    [f"postgres://u:{SECRET}@h/db", f"mysql://u:{SECRET}@h:notaport/db", f"mysql://u:{SECRET}@h/db?colour=red",
     f"mysql://u:{SECRET}@h/db?clinic=main", f"mysql://u:{SECRET}@h/"],
)  # fmt: skip
def test_bad_urls_are_configuration_errors_without_the_password(url: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        OpenDentalSettings.from_url(url, env={})
    assert SECRET not in str(caught.value)


def test_no_source_and_no_environment_says_what_to_give(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SOPHIE_OD_URL", "SOPHIE_OD_HOST"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigurationError, match="--source mysql://"):
        create_opendental_adapter(None)


def test_a_wrong_password_is_an_auth_error_that_names_no_password(
    seeded_shared: SeededDatabase, caplog: pytest.LogCaptureFixture
) -> None:
    server = seeded_shared.server
    url = f"mysql://{server.reader}:{SECRET}@{server.host}:{server.port}/{seeded_shared.name}"
    adapter = create_opendental_adapter(url)
    with caplog.at_level(logging.DEBUG), pytest.raises(AdapterAuthError) as caught:
        adapter.fetch()
    assert SECRET not in str(caught.value)
    assert SECRET not in caplog.text
    assert "***" in str(caught.value)


def test_an_unreachable_server_is_source_unavailable() -> None:
    adapter = OpenDentalAdapter(OpenDentalSettings(host="127.0.0.1", port=9, user="u", password=SECRET,
                                                   database="od", connect_timeout=2))  # fmt: skip
    with pytest.raises(SourceUnavailableError) as caught:
        adapter.fetch()
    assert SECRET not in str(caught.value)


def test_a_missing_database_is_source_unavailable(seeded_shared: SeededDatabase) -> None:
    server = seeded_shared.server
    adapter = create_opendental_adapter(server.reader_url("opendental_missing"))
    with pytest.raises((SourceUnavailableError, AdapterAuthError)):
        adapter.fetch()


def test_the_adapter_only_reads(seeded_shared: SeededDatabase, monkeypatch: pytest.MonkeyPatch) -> None:
    statements: list[str] = []
    original = pymysql.cursors.Cursor.execute

    def record(self: Any, query: str, args: Any = None) -> int:
        statements.append(" ".join(query.split()).upper())
        return original(self, query, args)

    monkeypatch.setattr(pymysql.cursors.Cursor, "execute", record)
    adapter = seeded_shared.adapter()
    first = adapter.fetch_since(None)
    adapter.fetch_since(first.watermark)
    assert statements
    allowed = ("SELECT ", "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY", "SET TIME_ZONE = '+00:00'")
    assert [s for s in statements if not s.startswith(allowed)] == []


def test_the_read_only_user_cannot_write_and_the_query_guard_refuses_writes(seeded_shared: SeededDatabase) -> None:
    server = seeded_shared.server
    with pymysql.connect(host=server.host, port=server.port, user=server.reader, password=server.reader_password,
                         database=seeded_shared.name) as connection, connection.cursor() as cursor:  # fmt: skip
        with pytest.raises(pymysql.err.OperationalError):
            cursor.execute("UPDATE appointment SET Confirmed = 24 WHERE AptNum = 13")
        with pytest.raises(ValueError, match="only runs SELECT"):
            select(cursor, "DELETE FROM appointment")
