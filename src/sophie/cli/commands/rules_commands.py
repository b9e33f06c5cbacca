"""Commands for pack authors: ``check``, ``test``, ``explain``, ``schema pack``, ``functions``.

Exit codes: 0 clean; 1 the check or the tests found problems; 2 a usage or input
error (unknown pack, unreadable file, bad flag), printed one line per problem on
stderr, never as a traceback.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, NoReturn

import click

from sophie.cli.app import EXIT_FINDINGS, EXIT_USAGE, error_lines
from sophie.cli.config_options import CONFIG_OPTION, PRACTICE_OPTION, configured_practice
from sophie.cli.options import AwareDateTime, read_practice
from sophie.cli.render import cell, console, echo, print_json
from sophie.errors import ConfigurationError, Diagnostic, RuleError, SophieError
from sophie.model import ENTITY_TYPES, Snapshot
from sophie.plugins.manager import Plugins
from sophie.rules.evaluation import evaluate, parse_param_overrides
from sophie.rules.explain import explain_rule
from sophie.rules.language.functions import FunctionRegistry
from sophie.rules.packs.catalog import pack_json_schema, pack_tests_json_schema, write_pack_schema
from sophie.rules.packs.loader import CompiledPack
from sophie.rules.packs.pack_tests import run_pack_tests

ADAPTER_OPTION = click.option(
    "--adapter", help="Read the practice from this adapter (demo, files, opendental, or a plugin's)."
)
SOURCE_OPTION = click.option(
    "--source", help="The adapter's source: a snapshot file (JSON or YAML) for files, a URL for opendental."
)

__all__ = [
    "check_command",
    "explain_command",
    "functions_command",
    "schema_pack_command",
    "schema_pack_tests_command",
    "test_command",
]


def _fail(error: SophieError) -> NoReturn:
    for line in error_lines(error):
        echo(line, err=True)
    sys.exit(EXIT_USAGE)


def _guarded(action: Callable[[], None]) -> None:
    try:
        action()
    except SophieError as err:
        _fail(err)


def _github(diagnostic: Diagnostic) -> str:
    message = diagnostic.message + (f" (did you mean {diagnostic.suggestion!r}?)" if diagnostic.suggestion else "")
    return f"::{diagnostic.severity} file={diagnostic.file},line={diagnostic.line},col={diagnostic.column}::{message}"


def _diagnostic_dict(diagnostic: Diagnostic) -> dict[str, Any]:
    return {
        "file": diagnostic.file,
        "line": diagnostic.line,
        "column": diagnostic.column,
        "severity": diagnostic.severity,
        "message": diagnostic.message,
        "rule": diagnostic.rule_id,
        "suggestion": diagnostic.suggestion,
    }


@click.command("check")
@click.argument("packs", nargs=-1, required=True, metavar="PACK...")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "github"]),
    default="text",
    show_default=True,
    help="text for people, json for programs, github for CI annotations.",
)
def check_command(packs: Sequence[str], output_format: str) -> None:
    """Check rule packs (paths or built-in names) and report every problem.

    Each problem is printed as FILE:LINE:COL: error: MESSAGE (warnings as FILE:LINE:COL:
    warning: MESSAGE). Exits 1 if any pack has an error, 0 otherwise (warnings included).
    """
    diagnostics: list[Diagnostic] = []
    warnings: list[Diagnostic] = []
    clean: list[dict[str, Any]] = []
    loaded: list[CompiledPack] = []
    try:
        plugins = Plugins()
    except SophieError as err:
        _fail(err)
    for ref in packs:
        try:
            pack = plugins.load_pack(ref)
        except RuleError as err:
            diagnostics.extend(err.diagnostics)
            continue
        except SophieError as err:
            _fail(err)
        loaded.append(pack)
        clean.append({"pack": pack.name, "version": pack.version, "rules": len(pack.rules), "file": pack.file})
        warnings.extend(pack.warnings)
    if not diagnostics:
        warnings.extend(_overlaps(loaded))
    errors = [d for d in diagnostics if d.severity == "error"]
    warnings.extend(d for d in diagnostics if d.severity != "error")
    diagnostics = errors
    if output_format == "json":
        shown = [_diagnostic_dict(d) for d in (*diagnostics, *warnings)]
        print_json({"diagnostics": shown, "ok": clean})
    else:
        for diagnostic in (*diagnostics, *warnings):
            echo(_github(diagnostic) if output_format == "github" else str(diagnostic))
        for pack_info in clean:
            count = pack_info["rules"]
            echo(f"ok: {pack_info['pack']} ({count} rule{'s' if count != 1 else ''})")
        if diagnostics:
            echo(f"{len(diagnostics)} error{'s' if len(diagnostics) != 1 else ''}")
    if diagnostics:
        sys.exit(EXIT_FINDINGS)


def _overlaps(packs: Sequence[CompiledPack]) -> list[Diagnostic]:
    """Return the overlap warnings of ``packs`` on the demo practice (none, with a note, without it)."""
    from sophie.adapters import DemoAdapter
    from sophie.rules.overlaps import find_overlaps

    try:
        snapshot = DemoAdapter().fetch()
    except SophieError as err:  # the check must not fail because the demo cannot be built
        click.echo(f"sophie: note: overlapping rules not checked (the demo practice could not be built: {err})",
                   err=True)  # fmt: skip
        return []
    return find_overlaps(packs, snapshot, snapshot.as_of, practice="the demo practice")


def _load_all(refs: Sequence[str]) -> list[CompiledPack]:
    plugins = Plugins()
    loaded: list[CompiledPack] = []
    problems: list[Diagnostic] = []
    for ref in refs:
        try:
            loaded.append(plugins.load_pack(ref))
        except RuleError as err:
            problems.extend(err.diagnostics)
    if problems:
        _fail(RuleError(problems))
    return loaded


@click.command("test")
@click.argument("packs", nargs=-1, required=True, metavar="PACK...")
@click.option("--rule", "rule_ids", multiple=True, metavar="RULE_ID", help="Only the tests of this rule (repeatable).")
@ADAPTER_OPTION
@SOURCE_OPTION
@click.option("--config", "config_path", metavar="FILE", help="Also evaluate the packs on this file's practice.")
@PRACTICE_OPTION
@click.option("--now", type=AwareDateTime(), help="Evaluate the practice at this time (default: the clock).")
def test_command(
    packs: Sequence[str],
    rule_ids: Sequence[str],
    adapter: str | None,
    source: str | None,
    config_path: str | None,
    practice_id: str | None,
    now: datetime | None,
) -> None:
    """Run the tests of rule packs: inline `tests:` and <pack>.tests.yaml.

    Prints PASS or FAIL per test and, last, "N passed, M failed". Exits 1 if any
    test failed, 2 if a pack does not load. With --adapter (or --source FILE, or
    --config FILE for a sophie.toml's practice) the packs are also evaluated on that
    practice: how often each rule fires, with example subjects, and every subject on
    which a rule fails counts as a failed test.
    """

    def run() -> None:
        loaded = _load_all(packs)
        report = run_pack_tests(loaded, rule_ids=tuple(rule_ids))
        for result in report.results:
            echo(result.line_text())
        failed = report.failed
        if adapter is not None or source is not None or config_path is not None:
            failed += _try_on_practice(loaded, rule_ids, *_practice(adapter, source, now, config_path, practice_id))
        echo(f"{report.passed} passed, {failed} failed")
        if failed:
            sys.exit(EXIT_FINDINGS)

    _guarded(run)


def _practice(
    adapter: str | None, source: str | None, now: datetime | None, config_path: str | None, practice_id: str | None
) -> tuple[Snapshot, datetime]:
    if adapter is None and source is None:
        configured = configured_practice(config_path, practice_id, now)
        if configured is None:
            raise ConfigurationError(
                "say which practice: --adapter NAME (demo, opendental, ...), --source FILE, or a sophie.toml "
                "(--config FILE)"
            )
        return configured
    if practice_id is not None:
        raise ConfigurationError("--practice picks a practice of the configuration; drop --adapter and --source")
    return read_practice(adapter or "files", source, now)


def _try_on_practice(packs: Sequence[CompiledPack], rule_ids: Sequence[str], snapshot: Snapshot, now: datetime) -> int:
    """Evaluate ``packs`` on a real practice; print what each rule finds; return how many subjects failed."""
    evaluation = evaluate(list(packs), snapshot, now)
    chosen = set(rule_ids)
    echo(f"on {snapshot.practice.name} ({snapshot.practice.id}) at {now.isoformat()}:")
    by_rule: dict[str, list[str]] = {}
    for finding in evaluation.findings:
        by_rule.setdefault(finding.rule_id, []).append(finding.subject_id)
    for pack in packs:
        for rule in pack.rules:
            if chosen and rule.id not in chosen:
                continue
            subjects = by_rule.get(rule.id, [])
            examples = ", ".join(subjects[:3]) + (", ..." if len(subjects) > 3 else "")
            echo(f"  {rule.id}: {len(subjects)} finding{'' if len(subjects) == 1 else 's'}" + (
                f" (e.g. {examples})" if subjects else ""))  # fmt: skip
    errors = [error for error in evaluation.errors if not chosen or error.rule_id in chosen]
    for error in errors:
        echo(f"  FAIL {error.rule_id} on {error.subject_id or 'every subject'}: {error.message}")
    return len(errors)


@click.command("explain")
@click.option(
    "--pack", "pack_refs", multiple=True, required=True, metavar="PACK", help="A pack path or name (repeatable)."
)
@ADAPTER_OPTION
@SOURCE_OPTION
@CONFIG_OPTION
@PRACTICE_OPTION
@click.option("--rule", "rule_id", required=True, help="The rule id.")
@click.option("--subject", "subject", required=True, help="The subject's id (an opening's id for openings).")
@click.option("--now", type=AwareDateTime(), help="Evaluate at this time (default: the clock).")
@click.option("--param", "param_pairs", multiple=True, metavar="NAME=VALUE", help="Override a pack parameter.")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
def explain_command(
    pack_refs: Sequence[str],
    adapter: str | None,
    source: str | None,
    config_path: str | None,
    practice_id: str | None,
    rule_id: str,
    subject: str,
    now: datetime | None,
    param_pairs: Sequence[str],
    output_format: str,
) -> None:
    """Show why a rule fires for one subject, or why not: each sub-condition's value.

    The practice comes from a snapshot file (--source FILE), from any adapter
    (--adapter demo, --adapter opendental --source URL, a plugin's), or, when neither is
    given, from sophie.toml (or --config FILE) as `sophie run` reads it.
    """

    def run() -> None:
        packs = _load_all(pack_refs)
        snapshot, when = _practice(adapter, source, now, config_path, practice_id)
        overrides = parse_param_overrides(packs, param_pairs)
        explanation = explain_rule(packs, snapshot, rule_id, subject, when, overrides)
        if output_format == "json":
            print_json(explanation.as_dict())
        else:
            for line in explanation.lines():
                echo(line)

    _guarded(run)


@click.command("pack")
@click.option(
    "--path",
    "write_path",
    is_flag=True,
    help="Write the schema to a stable file and print its path (for the yaml-language-server line).",
)
def schema_pack_command(write_path: bool) -> None:
    """Print the JSON Schema of rule pack files.

    For completion and checks in editors, put this line at the top of a pack file:
    `# yaml-language-server: $schema=<the path printed by sophie schema pack --path>`
    (and `sophie schema pack-tests --path` for <pack>.tests.yaml files).
    """
    _print_schema(write_path, tests=False)


@click.command("pack-tests")
@click.option(
    "--path",
    "write_path",
    is_flag=True,
    help="Write the schema to a stable file and print its path (for the yaml-language-server line).",
)
def schema_pack_tests_command(write_path: bool) -> None:
    """Print the JSON Schema of <pack>.tests.yaml files (a list of tests, each naming its rule)."""
    _print_schema(write_path, tests=True)


def _print_schema(write_path: bool, *, tests: bool) -> None:
    if write_path:
        try:
            echo(str(write_pack_schema(tests=tests)))
        except OSError as err:
            echo(f"sophie: error: cannot write the schema: {err}", err=True)
            sys.exit(EXIT_USAGE)
        return
    echo(json.dumps(pack_tests_json_schema() if tests else pack_json_schema(), indent=2))


def _functions_data(registry: FunctionRegistry) -> dict[str, Any]:
    functions = [{"name": f.name, "signature": f.signature(), "doc": f.doc, "example": f.example} for f in registry]
    entities = {
        entity: [
            {"name": spec.name, "type": str(spec.type), "derived": spec.derived, "doc": spec.doc}
            for spec in fields.values()
        ]
        for entity, fields in ENTITY_TYPES.items()
    }
    return {"functions": functions, "entities": entities}


@click.command("functions")
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
def functions_command(output_format: str) -> None:
    """List the expression functions and every entity type's fields, with types."""
    from rich.table import Table

    data = _functions_data(Plugins().function_registry())
    if output_format == "json":
        print_json(data)
        return
    out = console()
    table = Table(title="Functions", title_justify="left")
    table.add_column("signature", no_wrap=True)
    table.add_column("description")
    for function in data["functions"]:
        table.add_row(cell(function["signature"]), cell(function["doc"]))
    out.print(table)
    for entity, fields in data["entities"].items():
        entity_table = Table(title=entity, title_justify="left")
        for column in ("field", "type", "description"):
            entity_table.add_column(column)
        for spec in fields:
            name = spec["name"] + (" (derived)" if spec["derived"] else "")
            entity_table.add_row(cell(name), cell(spec["type"]), cell(spec["doc"]))
        out.print(entity_table)
