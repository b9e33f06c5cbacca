"""The rules layer: rule packs, the expression language, evaluation and pack tests.

Load packs once, evaluate them over as many snapshots as you like::

    from sophie.rules import evaluate, load_pack

    pack = load_pack("example")                 # a built-in name, or a path to a YAML file
    result = evaluate([pack], snapshot, now)   # findings, per-subject errors, timings
    for finding in result.findings:
        print(finding.rule_id, finding.subject_id, finding.owner, finding.due_at)

Nothing here does I/O except reading pack files, and nothing reads the clock.
"""

from __future__ import annotations

from sophie.errors import ExpressionError
from sophie.rules.evaluation import Evaluation, Finding, SubjectError, evaluate
from sophie.rules.explain import RuleExplanation, explain_rule
from sophie.rules.language.context import EvalContext
from sophie.rules.language.durations import Duration, parse_duration
from sophie.rules.language.expressions import CheckedExpression, Scope, check_expression
from sophie.rules.language.functions import FunctionRegistry, RuleFunction
from sophie.rules.packs.catalog import available_packs, find_pack, load_pack, pack_json_schema
from sophie.rules.packs.compiled_pack import CompiledPack, CompiledRule, EscalationStep
from sophie.rules.packs.loader import compile_pack
from sophie.rules.packs.pack_tests import TestReport, TestResult, run_pack_tests
from sophie.rules.packs.params import parse_param_overrides
from sophie.rules.packs.yaml_source import YamlLimits, parse_yaml, read_yaml_file

__all__ = [
    "CheckedExpression",
    "CompiledPack",
    "CompiledRule",
    "Duration",
    "EscalationStep",
    "EvalContext",
    "Evaluation",
    "ExpressionError",
    "Finding",
    "FunctionRegistry",
    "RuleExplanation",
    "RuleFunction",
    "Scope",
    "SubjectError",
    "TestReport",
    "TestResult",
    "YamlLimits",
    "available_packs",
    "check_expression",
    "compile_pack",
    "evaluate",
    "explain_rule",
    "find_pack",
    "load_pack",
    "pack_json_schema",
    "parse_duration",
    "parse_param_overrides",
    "parse_yaml",
    "read_yaml_file",
    "run_pack_tests",
]
