"""The acme adapter's own behaviour, its rule functions and its pack, through sophie's public API."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sophie_example_adapter import AcmeAdapter
from sophie_example_adapter.functions import is_vip, lifetime_value

from sophie.errors import AdapterDataError, SourceUnavailableError
from sophie.plugins import Plugins


def test_local_export_times_become_timezone_aware(export: Path) -> None:
    """Naive local times in the export are read in the practice's timezone."""
    snapshot = AcmeAdapter(export).fetch()
    assert snapshot.as_of == datetime.fromisoformat("2026-03-05T11:30:00-06:00")
    assert str(snapshot.schedule_blocks[0].start) == "2026-03-05 08:00:00-06:00"


def test_incremental_fetch_returns_only_what_changed(export: Path) -> None:
    """A deletion after the watermark comes back as a deletion, and merging applies it."""
    adapter = AcmeAdapter(export)
    first = adapter.fetch_since(None)
    with (export / "deleted.csv").open("a") as deleted:
        deleted.write("contacts.csv,C-1,2026-03-05 11:45\n")
    second = adapter.fetch_since(first.watermark)
    assert second.changes is not None
    assert second.changes.deleted == {"contacts": ["C-1"]}
    assert second.apply(first.apply(None)).contacts == []


def test_a_malformed_row_names_file_line_and_column_but_not_the_value(export: Path) -> None:
    """Errors locate the problem without quoting the cell (it may be PHI)."""
    patients = export / "patients.csv"
    patients.write_text(patients.read_text().replace("2026-01-15 11:30", "Zebediah"))
    with pytest.raises(AdapterDataError, match=r"patients\.csv line 2: ModifiedAt is not") as caught:
        AcmeAdapter(export).fetch()
    assert "Zebediah" not in str(caught.value)


def test_a_missing_table_is_an_unavailable_source(export: Path) -> None:
    """A file missing from the export is a SourceUnavailableError."""
    (export / "plans.csv").unlink()
    with pytest.raises(SourceUnavailableError, match=r"cannot read plans\.csv"):
        AcmeAdapter(export).fetch()


def test_vips_are_patients_with_at_least_5000_of_completed_treatment(export: Path) -> None:
    """The rule functions read the views rules see."""
    index = AcmeAdapter(export).fetch().index
    values = {p.id: (lifetime_value(p), is_vip(p)) for p in index.subjects("patient")}
    assert {pid: vip for pid, (_, vip) in values.items()} == {"A-100": True, "A-101": False, "A-102": True}
    assert str(values["A-100"][0]) == "5500.00"


def test_the_plugin_registers_its_adapter_functions_and_pack() -> None:
    """The entry point brings the adapter, the functions and the pack."""
    plugins = Plugins(strict=True)
    assert plugins.adapter("acme").factory().name == "acme"
    assert {"acme_is_vip", "acme_lifetime_value"} <= set(plugins.rule_functions())
    assert plugins.rule_pack("acme-vip").path.is_file()


def test_the_pack_checks_passes_its_tests_and_fires_on_the_sample() -> None:
    """The pack compiles with the plugin's functions, passes its tests and fires on the sample."""
    from sophie.rules import FunctionRegistry, evaluate, load_pack, run_pack_tests

    plugins = Plugins(strict=True)
    functions = FunctionRegistry(plugins.rule_functions().values())
    pack = load_pack("acme-vip", functions=functions, extra={n: s.path for n, s in plugins.rule_packs().items()})
    report = run_pack_tests([pack])
    assert [result.passed for result in report.results] == [True, True]
    snapshot = plugins.adapter("acme").factory().fetch()
    findings = evaluate([pack], snapshot, datetime.fromisoformat("2026-03-05T12:00:00-06:00")).findings
    assert [(f.subject_id, f.owner) for f in findings] == [("PL-1", "office_manager")]
