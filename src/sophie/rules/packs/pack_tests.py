"""Pack tests: a snapshot fragment, a time, and every finding a rule must make.

Tests live inline under a rule's ``tests:`` or in a sibling ``<pack>.tests.yaml`` (a
list of tests that each name their ``rule``). ``given`` is a snapshot fragment: any
sections, an optional ``practice`` (default: :data:`DEFAULT_PRACTICE`, open Mon-Fri
08:00-17:00 UTC, no holidays) and an optional ``as_of`` (default: the test's ``now``).
Fixtures are validated when the pack loads, so a record missing a required field is a
located load error, not a failing test. Expectations are exhaustive: the findings of
the rule must be exactly the ``expect`` list (``[]``: the rule must not fire). An
expectation names a ``subject`` (for a group: its first member), or a ``group`` by its
rendered key with its ``members`` (any order).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sophie.errors import ConfigurationError, SnapshotError
from sophie.model import Snapshot, parse_snapshot
from sophie.rules.diagnostics import suggest, textify
from sophie.rules.evaluation import Evaluation, evaluate_rules
from sophie.rules.packs.compiled_pack import CompiledPack, CompiledRule, CompiledTest
from sophie.rules.packs.params import coerce_param

if TYPE_CHECKING:
    from sophie.rules.diagnostics import Collector
    from sophie.rules.evaluation import Evaluation, Finding
    from sophie.rules.packs.compiled_pack import CompiledPack, CompiledRule
    from sophie.rules.packs.pack_schema import RuleTest
    from sophie.rules.packs.yaml_source import PathKey

__all__ = [
    "DEFAULT_PRACTICE",
    "CompiledTest",
    "TestReport",
    "TestResult",
    "compile_test",
    "group_label",
    "run_pack_tests",
]

DEFAULT_PRACTICE: Mapping[str, Any] = {
    "id": "test-practice",
    "name": "Test practice",
    "timezone": "UTC",
    "hours": {day: [["08:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
    "holidays": [],
}
"""The practice a test runs against when its ``given`` has none."""


def _problem_path(base: PathKey, collection: str, index: int | None, field: str) -> PathKey:
    parts: list[str | int] = [*base]
    if collection:
        parts.append(collection)
    if index is not None:
        parts.append(index)
    for piece in field.split(".") if field else ():
        parts.append(int(piece) if piece.isdigit() else piece)
    return tuple(parts)


def compile_test(
    test: RuleTest, rule_id: str, path: PathKey, out: Collector, pack_params: Mapping[str, object]
) -> CompiledTest | None:
    """Validate a test's fixture and parameters; report problems located in the file.

    Args:
        test: The validated test entry.
        rule_id: The rule it tests.
        path: Where the test sits in its file.
        out: Where problems go.
        pack_params: The pack's parameter defaults, to check overrides against.

    Returns:
        The compiled test, or ``None`` when it has problems (they are in ``out``).
    """
    given_path: PathKey = (*path, "given")
    textify(Snapshot, test.given, given_path, out.source)
    data: dict[str, Any] = dict(test.given)
    data.setdefault("practice", copy.deepcopy(dict(DEFAULT_PRACTICE)))
    data.setdefault("as_of", test.now.isoformat())
    ok = True
    snapshot: Snapshot | None = None
    try:
        snapshot = parse_snapshot(data, source=out.source.file)
    except SnapshotError as err:
        ok = False
        for problem in err.problems:
            where = _problem_path(given_path, problem.collection, problem.index, problem.field)
            out.at(
                where,
                f"test fixture: {problem.where()}: {problem.message}",
                key=problem.message.startswith("unknown field"),
                rule_id=rule_id,
            )
    params: dict[str, object] = {}
    for name, value in test.params.items():
        if name not in pack_params:
            ok = False
            out.at(
                (*path, "params", name),
                f"the pack has no parameter {name!r}",
                key=True,
                rule_id=rule_id,
                suggestion=suggest(name, pack_params),
            )
            continue
        try:
            params[name] = coerce_param(None, name, pack_params[name], value)
        except ConfigurationError as err:
            ok = False
            out.at((*path, "params", name), str(err), rule_id=rule_id)
    if not ok or snapshot is None:
        return None
    return CompiledTest(
        rule_id=rule_id,
        name=test.name,
        now=test.now,
        snapshot=snapshot,
        params=params,
        expect=tuple((_expected(e.subject, e.group, e.members), e.owner) for e in test.expect),
        file=out.source.file,
        line=out.source.locate(path).line,
    )


def group_label(key: str, members: Sequence[str] | None) -> str:
    """Return how a test names a group: ``group KEY [m1, m2]`` (members sorted), or ``group KEY``."""
    return f"group {key}" if members is None else f"group {key} [{', '.join(sorted(members))}]"


def _expected(subject: str | None, group: str | None, members: Sequence[str] | None) -> str:
    if group is not None:
        return group_label(group, members)
    assert subject is not None
    return subject


@dataclass(frozen=True)
class TestResult:
    """The outcome of one test.

    Attributes:
        pack / rule_id / name: Which test.
        passed: Whether the findings matched exactly and nothing failed.
        expected / actual: ``(subject, owner)`` pairs (owner ``None`` where not checked).
        errors: Per-subject errors the rule raised on the fixture.
        file / line: Where the test is written.
    """

    __test__ = False  # not a pytest test class

    pack: str
    rule_id: str
    name: str
    passed: bool
    expected: tuple[tuple[str, str | None], ...]
    actual: tuple[tuple[str, str], ...]
    errors: tuple[str, ...]
    file: str
    line: int

    def line_text(self) -> str:
        """Return the one-line summary ``PASS rule/name`` or ``FAIL rule/name: ...``."""
        label = f"{self.rule_id}/{self.name}"
        if self.passed:
            return f"PASS {label}"
        detail = f"expected {_show(self.expected)}, got {_show(self.actual)}"
        if self.errors:
            detail += "; errors: " + "; ".join(self.errors)
        return f"FAIL {label} ({self.file}:{self.line}): {detail}"


@dataclass(frozen=True)
class TestReport:
    """Every test result of a run."""

    __test__ = False

    results: tuple[TestResult, ...]

    @property
    def passed(self) -> int:
        """How many tests passed."""
        return sum(1 for result in self.results if result.passed)

    @property
    def failed(self) -> int:
        """How many tests failed."""
        return len(self.results) - self.passed

    def summary(self) -> str:
        """Return the last line of ``sophie test``: ``N passed, M failed``."""
        return f"{self.passed} passed, {self.failed} failed"


def _show(pairs: Sequence[tuple[str, str | None]]) -> str:
    if not pairs:
        return "nothing"
    return "[" + ", ".join(subject if owner is None else f"{subject} ({owner})" for subject, owner in pairs) + "]"


def _names(finding: Finding) -> tuple[str, ...]:
    """What an expectation may call a finding: its subject, and for a group its key with or without members."""
    if not finding.members:
        return (finding.subject_id,)
    return (finding.subject_id, group_label(finding.key, None), group_label(finding.key, finding.member_ids))


def _matches(expected: Sequence[tuple[str, str | None]], actual: Sequence[Finding]) -> bool:
    remaining = list(actual)
    for subject, owner in expected:
        for candidate in remaining:
            if subject in _names(candidate) and (owner is None or candidate.owner == owner):
                remaining.remove(candidate)
                break
        else:
            return False
    return not remaining


def run_test(pack: CompiledPack, rule: CompiledRule, test: CompiledTest) -> TestResult:
    """Run one test of one rule."""
    try:
        evaluation: Evaluation | None = evaluate_rules(pack, [rule], test.snapshot, test.now, test.params)
    except Exception as err:  # a broken fixture or calendar fails the test, not the run
        evaluation = None
        errors: tuple[str, ...] = (f"{type(err).__name__}: {err}",)
    findings: tuple[Finding, ...] = ()
    if evaluation is not None:
        errors = tuple(f"{e.subject_id or '*'}: {e.message}" for e in evaluation.errors)
        findings = evaluation.findings
    actual = tuple((_names(f)[-1], f.owner) for f in findings)
    passed = not errors and _matches(test.expect, findings)
    return TestResult(pack.name, rule.id, test.name, passed, test.expect, actual, errors, test.file, test.line)


def run_pack_tests(packs: Sequence[CompiledPack], *, rule_ids: Sequence[str] = ()) -> TestReport:
    """Run every test of ``packs`` (only those of ``rule_ids`` when given), in pack and rule order."""
    results: list[TestResult] = []
    for pack in packs:
        for rule in pack.rules:
            if rule_ids and rule.id not in rule_ids:
                continue
            results.extend(run_test(pack, rule, test) for test in rule.tests)
    return TestReport(tuple(results))
