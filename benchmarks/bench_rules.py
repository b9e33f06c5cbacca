"""Rule evaluation benchmark: sophie's fused compiler against hand-written Python and other engines.

Run::

    .venv/bin/python benchmarks/bench_rules.py            # 100,000 treatment plans
    .venv/bin/python benchmarks/bench_rules.py --plans 20000 --repeat 3

It builds a synthetic snapshot from sophie.model records (self-contained, seeded), then
evaluates the same 10 representative treatment-plan rules with:

(a) sophie compiled: one fused function for all rules (``compile_conditions``);
(b) hand-written: one plain Python function per rule over the same View objects, with
    per-run constants computed once, as a careful developer would write them (the baseline);
(c) sophie's reference interpreter (on a subset; throughput extrapolates linearly);
(d) rule-engine, cel-python (pure Python) and common-expression-language (Rust CEL), given
    one dict per plan. Building those dicts is part of their time: they cannot read views.
    They get run constants (``now - 14 days``, the business-age cut-off, day boundaries) as
    literals in the rule text, since none of them has a business calendar.

Every engine must find the same matches per rule (asserted). Throughput is rule
evaluations per second (subjects x rules / seconds), best of ``--repeat`` runs; ratios are
to (b) measured in the same process. Missing optional engines are skipped with a note
(install them with ``pip install -e '.[bench]'``). It also times checking and compiling a
100-rule pack.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sophie.model import (
    Appointment,
    AppointmentStatus,
    Claim,
    ClaimKind,
    ClaimStatus,
    Contact,
    ContactChannel,
    ContactDirection,
    ContactOutcome,
    ContactTopic,
    Patient,
    PatientStatus,
    PlanStatus,
    Practice,
    Procedure,
    ProcedureStatus,
    Snapshot,
    TreatmentPlan,
    View,
)
from sophie.model.calendar import business_days
from sophie.rules.language.compilation.compiler import compile_conditions
from sophie.rules.language.context import EvalContext
from sophie.rules.language.expressions import CheckedExpression, Scope, check_expression
from sophie.rules.language.functions.builtin import business_cutoff
from sophie.rules.language.interpreter import interpret
from sophie.rules.language.types import BOOL, type_of_value

NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 3, 5, 11, 45, tzinfo=NY)
PARAMS: dict[str, object] = {"first_touch_days": 3, "big_case": Decimal(2000)}

RULES: list[tuple[str, str]] = [
    ("first-touch", 'plan.status == "presented" and business_age(plan.presented_at) >= '
                    "business_days(params.first_touch_days) and not plan.scheduled"),
    ("stale-presented", 'plan.status == "presented" and plan.presented_at <= now - days(14) '
                        "and plan.unscheduled_total > 1000"),
    ("accepted-unscheduled", 'plan.status == "accepted" and not plan.scheduled and age(plan.decided_at) > days(7)'),
    ("big-case-no-visit", 'plan.status == "presented" and plan.patient.next_appointment is None '
                          "and plan.total >= params.big_case"),
    ("reachable", 'plan.status in ["presented", "accepted"] and plan.patient.status == "active" '
                  "and not plan.patient.do_not_contact"),
    ("declined-revisit", 'plan.status == "declined" and days_since(plan.decided_at) > 90 '
                         "and days_since(plan.decided_at) < 365"),
    ("expensive-procedure", 'any(p.fee > 1000 for p in plan.procedures) and plan.status == "presented"'),
    ("never-called", 'plan.status == "presented" and count(c for c in plan.patient.contacts '
                     'if c.topic == "treatment") == 0'),
    ("denied-claim", 'plan.patient.insured and any(c.status == "denied" for c in plan.patient.claims)'),
    ("draft-lapsed", 'plan.status == "draft" and plan.total > 0 and plan.patient.last_visit is not None '
                     "and age(plan.patient.last_visit) > days(180)"),
]


# -- the synthetic practice ---------------------------------------------------------------------


def build_snapshot(plans: int, seed: int = 7) -> Snapshot:
    """Return a practice with ``plans`` treatment plans and proportionate patients and history."""
    rnd = random.Random(seed)
    practice = Practice(
        id="bench", name="Bench Dental", timezone="America/New_York",
        hours={day: [("08:00", "12:00"), ("13:00", "17:00")] for day in ("mon", "tue", "wed", "thu", "fri")},
    )
    n_patients = max(1, plans * 6 // 10)

    def moment(days_back: float, days_ahead: float = 0) -> datetime:
        return NOW - timedelta(days=rnd.uniform(-days_ahead, days_back))

    def pick(weights: dict[Any, int]) -> Any:
        return rnd.choices(list(weights), weights=list(weights.values()))[0]

    patients = [
        Patient.model_construct(
            id=f"p{i}", first_name="Pat", last_name=f"N{i}", birth_date=None,
            status=pick({PatientStatus.ACTIVE: 90, PatientStatus.INACTIVE: 8, PatientStatus.ARCHIVED: 2}),
            preferred_contact="phone", do_not_contact=rnd.random() < 0.05, guarantor_id=None,
            primary_provider_id=None, insured=rnd.random() < 0.7,
        )
        for i in range(n_patients)
    ]
    appointments = []
    for i in range(n_patients * 5 // 3):
        status = pick({AppointmentStatus.SCHEDULED: 30, AppointmentStatus.COMPLETED: 55, AppointmentStatus.BROKEN: 15})
        start = moment(400, 60) if status == AppointmentStatus.SCHEDULED else moment(400)
        appointments.append(Appointment.model_construct(
            id=f"a{i}", patient_id=f"p{rnd.randrange(n_patients)}", status=status, start=start,
            end=start + timedelta(minutes=60), provider_id=None, operatory_id=None, confirmed=False, asap=False,
            broken_kind=None, broken_at=None, hygiene=False, created_at=None,
        ))
    treatment_plans, procedures = [], []
    for i in range(plans):
        status = pick({PlanStatus.PRESENTED: 35, PlanStatus.ACCEPTED: 15, PlanStatus.DECLINED: 15,
                       PlanStatus.DRAFT: 20, PlanStatus.COMPLETED: 10, PlanStatus.INACTIVE: 5})
        presented = None if status == PlanStatus.DRAFT else moment(500)
        decided = moment((NOW - presented).days) if presented and status != PlanStatus.PRESENTED else None
        patient_id = f"p{rnd.randrange(n_patients)}"
        treatment_plans.append(TreatmentPlan.model_construct(
            id=f"tp{i}", patient_id=patient_id, status=status, presented_at=presented, decided_at=decided))
        for k in range(rnd.randint(1, 3)):
            booked = rnd.random() < 0.25
            procedures.append(Procedure.model_construct(
                id=f"pr{i}-{k}", patient_id=patient_id, code="D2740", description=None,
                fee=Decimal(rnd.randint(50, 2500)) + Decimal(rnd.randint(0, 99)) / 100,
                status=pick({ProcedureStatus.PLANNED: 80, ProcedureStatus.COMPLETED: 20}), planned_at=None,
                completed_at=None, appointment_id=f"a{rnd.randrange(len(appointments))}" if booked else None,
                treatment_plan_id=f"tp{i}", tooth=None,
            ))
    claims = [
        Claim.model_construct(
            id=f"c{i}", patient_id=f"p{rnd.randrange(n_patients)}", kind=ClaimKind.PRIMARY,
            status=pick({ClaimStatus.SENT: 40, ClaimStatus.RECEIVED: 40, ClaimStatus.DENIED: 10,
                         ClaimStatus.CLOSED: 10}),
            carrier=None, service_date=None, sent_at=moment(200), received_at=None, billed=Decimal(300),
            expected=None, paid=None, procedure_ids=[],
        )
        for i in range(plans // 2)
    ]
    contacts = [
        Contact.model_construct(
            id=f"ct{i}", patient_id=f"p{rnd.randrange(n_patients)}", at=moment(300),
            channel=ContactChannel.PHONE, direction=ContactDirection.OUT,
            topic=pick({ContactTopic.TREATMENT: 40, ContactTopic.RECALL: 40, ContactTopic.BILLING: 20}),
            outcome=ContactOutcome.LEFT_MESSAGE, call_back_on=None, staff_id=None,
        )
        for i in range(plans * 8 // 10)
    ]
    return Snapshot.model_construct(
        practice=practice, as_of=NOW, staff=[], providers=[], operatories=[], schedule_blocks=[], patients=patients,
        appointments=appointments, procedures=procedures, treatment_plans=treatment_plans, claims=claims,
        contacts=contacts, recalls=[], balances=[],
    )


# -- (b) hand-written functions ---------------------------------------------------------------------


def hand_written(context: EvalContext) -> list[Callable[[View], bool]]:
    """The 10 rules as a developer would write them by hand: constants once, cheap tests first."""
    now, calendar, tz, today = context.now, context.calendar, context.tz, context.today
    first_touch = business_days(int(PARAMS["first_touch_days"]))  # type: ignore[call-overload]
    big_case = PARAMS["big_case"]
    two_weeks_ago, week, half_year = now - timedelta(days=14), timedelta(days=7), timedelta(days=180)

    def days_since(t: datetime) -> int:
        return (today - t.astimezone(tz).date()).days

    return [
        lambda plan: plan.status == "presented" and plan.presented_at is not None and not plan.scheduled
        and calendar.business_age_reached(plan.presented_at, now, first_touch),
        lambda plan: plan.status == "presented" and plan.presented_at is not None
        and plan.presented_at <= two_weeks_ago and plan.unscheduled_total > 1000,
        lambda plan: plan.status == "accepted" and not plan.scheduled and plan.decided_at is not None
        and now - plan.decided_at > week,
        lambda plan: plan.status == "presented" and plan.patient.next_appointment is None and plan.total >= big_case,
        lambda plan: plan.status in ("presented", "accepted") and plan.patient.status == "active"
        and not plan.patient.do_not_contact,
        lambda plan: plan.status == "declined" and plan.decided_at is not None
        and 90 < days_since(plan.decided_at) < 365,
        lambda plan: any(p.fee > 1000 for p in plan.procedures) and plan.status == "presented",
        lambda plan: plan.status == "presented" and not any(c.topic == "treatment" for c in plan.patient.contacts),
        lambda plan: plan.patient.insured and any(c.status == "denied" for c in plan.patient.claims),
        lambda plan: plan.status == "draft" and plan.total > 0 and plan.patient.last_visit is not None
        and now - plan.patient.last_visit > half_year,
    ]


# -- (d) other engines ---------------------------------------------------------------------------


def marshal(plan: View) -> dict[str, Any]:
    """One plan as the plain dict other engines read (datetimes as epoch seconds, money as float)."""
    patient = plan.patient

    def epoch(t: datetime | None) -> float | None:
        return None if t is None else t.timestamp()

    return {
        "status": str(plan.status), "presented_at": epoch(plan.presented_at), "decided_at": epoch(plan.decided_at),
        "scheduled": plan.scheduled, "total": float(plan.total), "unscheduled_total": float(plan.unscheduled_total),
        "patient_status": str(patient.status), "do_not_contact": patient.do_not_contact, "insured": patient.insured,
        "has_next_appointment": patient.next_appointment is not None, "last_visit": epoch(patient.last_visit),
        "procedures": [{"fee": float(p.fee)} for p in plan.procedures],
        "contacts": [{"topic": str(c.topic)} for c in patient.contacts],
        "claims": [{"status": str(c.status)} for c in patient.claims],
    }


def anchor_rules(context: EvalContext) -> dict[str, list[str]]:
    """The 10 rules in rule-engine and CEL syntax, with run constants as literals."""
    now, tz, today = context.now, context.tz, context.today
    cutoff = business_cutoff(context.calendar, now, business_days(int(PARAMS["first_touch_days"])), ">=")  # type: ignore[call-overload]
    assert cutoff is not None

    def midnight(days_back: int) -> float:
        day = today - timedelta(days=days_back)
        return datetime(day.year, day.month, day.day, tzinfo=tz).timestamp()

    c = {
        "ft": cutoff.timestamp(), "d14": (now - timedelta(days=14)).timestamp(),
        "d7": (now - timedelta(days=7)).timestamp(), "d180": (now - timedelta(days=180)).timestamp(),
        "m90": midnight(90), "m364": midnight(364), "big": float(PARAMS["big_case"]),  # type: ignore[arg-type]
    }
    rule_engine = [
        f'status == "presented" and presented_at != null and presented_at <= {c["ft"]} and not scheduled',
        f'status == "presented" and presented_at != null and presented_at <= {c["d14"]} and unscheduled_total > 1000',
        f'status == "accepted" and not scheduled and decided_at != null and decided_at < {c["d7"]}',
        f'status == "presented" and not has_next_appointment and total >= {c["big"]}',
        'status in ["presented", "accepted"] and patient_status == "active" and not do_not_contact',
        f'status == "declined" and decided_at != null and decided_at < {c["m90"]} and decided_at >= {c["m364"]}',
        '[p for p in procedures if p["fee"] > 1000].length > 0 and status == "presented"',
        'status == "presented" and [x for x in contacts if x["topic"] == "treatment"].length == 0',
        'insured and [x for x in claims if x["status"] == "denied"].length > 0',
        f'status == "draft" and total > 0 and last_visit != null and last_visit < {c["d180"]}',
    ]
    cel = [  # rows are {"r": {...}} with null fields left out, so "has()" tests for null
        f'r.status == "presented" && has(r.presented_at) && r.presented_at <= {c["ft"]!r} && !r.scheduled',
        f'r.status == "presented" && has(r.presented_at) && r.presented_at <= {c["d14"]!r} '
        "&& r.unscheduled_total > 1000.0",
        f'r.status == "accepted" && !r.scheduled && has(r.decided_at) && r.decided_at < {c["d7"]!r}',
        f'r.status == "presented" && !r.has_next_appointment && r.total >= {c["big"]!r}',
        'r.status in ["presented", "accepted"] && r.patient_status == "active" && !r.do_not_contact',
        f'r.status == "declined" && has(r.decided_at) && r.decided_at < {c["m90"]!r} '
        f'&& r.decided_at >= {c["m364"]!r}',
        'r.procedures.exists(p, p.fee > 1000.0) && r.status == "presented"',
        'r.status == "presented" && !r.contacts.exists(x, x.topic == "treatment")',
        'r.insured && r.claims.exists(x, x.status == "denied")',
        f'r.status == "draft" && r.total > 0.0 && has(r.last_visit) && r.last_visit < {c["d180"]!r}',
    ]
    return {"rule_engine": rule_engine, "cel": cel}


# -- measuring ---------------------------------------------------------------------------------------

Counts = list[int]


def best_of(repeat: int, run: Callable[[], Counts]) -> tuple[float, Counts]:
    best, counts = float("inf"), []
    for _ in range(repeat):
        started = time.perf_counter()
        counts = run()
        best = min(best, time.perf_counter() - started)
    return best, counts


def run_fused(evaluate: Callable[..., Any], context: EvalContext, plans: Sequence[View]) -> Counts:
    result = evaluate(context, plans)
    assert not result.errors, result.errors[:3]
    return [len(matches) for matches in result.matches]


def run_hand_written(functions: list[Callable[[View], bool]], plans: Sequence[View]) -> Counts:
    """Rule by rule: one list comprehension per rule."""
    return [len([plan for plan in plans if rule(plan)]) for rule in functions]


def run_hand_written_by_plan(functions: list[Callable[[View], bool]], plans: Sequence[View]) -> Counts:
    """Plan by plan: every rule function called for each plan."""
    matches: list[list[View]] = [[] for _ in functions]
    pairs = list(zip(functions, [m.append for m in matches], strict=True))
    for plan in plans:
        for rule, append in pairs:
            if rule(plan):
                append(plan)
    return [len(m) for m in matches]


def run_interpreter(exprs: list[CheckedExpression], context: EvalContext, plans: Sequence[View]) -> Counts:
    return [sum(1 for plan in plans if interpret(expr, context, plan) is True) for expr in exprs]


def anchors(context: EvalContext, plans: Sequence[View]) -> dict[str, Callable[[], Counts]]:
    """Return the other engines that are installed, each as a zero-argument run."""
    texts = anchor_rules(context)
    engines: dict[str, Callable[[], Counts]] = {}
    try:
        import rule_engine

        compiled = [rule_engine.Rule(text) for text in texts["rule_engine"]]
        engines["rule-engine 5 (pure Python)"] = lambda: _count(plans, lambda row: [r.matches(row) for r in compiled])
    except ImportError:
        print("  (rule-engine not installed: skipped)")
    try:
        import cel

        programs = [cel.compile(text) for text in texts["cel"]]
        engines["common-expression-language (Rust CEL)"] = lambda: _count(
            plans, lambda row: [program.execute(row) for program in programs], cel_rows=True)
    except ImportError:
        print("  (common-expression-language not installed: skipped)")
    try:
        import celpy

        env = celpy.Environment()
        celpy_programs = [env.program(env.compile(text)) for text in texts["cel"]]
        engines["cel-python (pure Python CEL)"] = lambda: _count(
            plans, lambda row: [bool(p.evaluate(celpy.json_to_cel(row))) for p in celpy_programs], cel_rows=True)
    except ImportError:
        print("  (cel-python not installed: skipped)")
    return engines


def _count(plans: Sequence[View], evaluate_row: Callable[[dict[str, Any]], list[Any]], *, cel_rows: bool = False
           ) -> Counts:
    counts = [0] * len(RULES)
    for plan in plans:
        row = marshal(plan)
        if cel_rows:
            row = {"r": {key: value for key, value in row.items() if value is not None}}
        for i, matched in enumerate(evaluate_row(row)):
            counts[i] += matched is True
    return counts


def compile_pack_time(scope: Scope) -> float:
    """Seconds to check and compile a 100-rule pack (the 10 rules with 10 sets of constants)."""
    texts = [text.replace("1000", str(1000 + k)).replace("days(7)", f"days({7 + k})") for k in range(10)
             for _, text in RULES]
    started = time.perf_counter()
    exprs = [check_expression(text, scope, expect=BOOL) for text in texts]
    compile_conditions("treatment_plan", exprs)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--plans", type=int, default=100_000, help="treatment plans in the snapshot")
    parser.add_argument("--repeat", type=int, default=5, help="runs per fast engine; the best is kept")
    parser.add_argument("--slow-subset", type=int, default=10_000,
                        help="plans given to the interpreter, rule-engine and Rust CEL")
    parser.add_argument("--celpy-subset", type=int, default=1_000, help="plans given to cel-python")
    args = parser.parse_args(argv)

    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cpus, {platform.platform()}")
    started = time.perf_counter()
    snapshot = build_snapshot(args.plans)
    index = snapshot.index
    plans = index.subjects("treatment_plan")
    print(f"snapshot: {len(plans):,} plans, {index.count('patient'):,} patients, "
          f"{index.count('appointment'):,} appointments, {index.count('procedure'):,} procedures, "
          f"{index.count('claim'):,} claims, {index.count('contact'):,} contacts "
          f"(built and indexed in {time.perf_counter() - started:.1f} s)")
    context = EvalContext.build(index, NOW, PARAMS)
    scope = Scope("plan", "treatment_plan", {name: type_of_value(value) for name, value in PARAMS.items()})
    exprs = [check_expression(text, scope, expect=BOOL) for _, text in RULES]
    fused = compile_conditions("treatment_plan", exprs)
    handwritten = hand_written(context)

    rows: list[tuple[str, int, float, Counts]] = []

    def measure(name: str, subset: Sequence[View], run: Callable[[], Counts], repeat: int) -> None:
        seconds, counts = best_of(repeat, run)
        rows.append((name, len(subset), len(subset) * len(RULES) / seconds, counts))

    # The fast engines take turns, so that a change in machine load hits all of them alike.
    fast: dict[str, Callable[[], Counts]] = {
        "sophie compiled (fused)": lambda: run_fused(fused, context, plans),
        "hand-written, rule by rule": lambda: run_hand_written(handwritten, plans),
        "hand-written, plan by plan": lambda: run_hand_written_by_plan(handwritten, plans),
    }
    best: dict[str, tuple[float, Counts]] = {}
    for _ in range(args.repeat):
        for name, run in fast.items():
            seconds, counts = best_of(1, run)
            best[name] = min(best.get(name, (seconds, counts)), (seconds, counts), key=lambda pair: pair[0])
    rows += [(name, len(plans), len(plans) * len(RULES) / seconds, counts) for name, (seconds, counts) in best.items()]
    slow = plans[: args.slow_subset]
    expected_slow = run_fused(fused, context, slow)
    measure("sophie reference interpreter", slow, lambda: run_interpreter(exprs, context, slow), 1)
    for name, run in anchors(context, slow).items():
        subset = plans[: args.celpy_subset] if "cel-python" in name else slow
        if "cel-python" in name:
            engines_subset = anchors(context, subset)
            measure(name, subset, engines_subset[name], 1)
        else:
            measure(name, subset, run, 1)

    baseline = max(rate for name, _, rate, _ in rows if name.startswith("hand-written"))
    full = run_fused(fused, context, plans)
    print(f"\nmatches per rule (all {len(plans):,} plans): {dict(zip([n for n, _ in RULES], full, strict=True))}")
    print("\nbaseline: the faster hand-written variant")
    print(f"\n{'engine':42} {'plans':>8} {'rule evals/s':>14} {'x baseline':>11}  counts agree")
    for name, size, rate, counts in rows:
        expected = full if size == len(plans) else (expected_slow if size == len(slow) else run_fused(
            fused, context, plans[:size]))
        agree = counts == expected
        print(f"{name:42} {size:>8,} {rate:>14,.0f} {rate / baseline:>11.3f}  {'yes' if agree else 'NO'}")
        assert agree, (name, counts, expected)
    without_business = _ratio_without_first_rule(fused, exprs, handwritten, context, plans, args.repeat)
    print(f"sophie / baseline on the 9 rules without business time: {without_business:.2f}x")
    pack_seconds = min(compile_pack_time(scope) for _ in range(3))
    print(f"checking + compiling a 100-rule pack: {pack_seconds * 1000:.0f} ms")


def _ratio_without_first_rule(fused: Any, exprs: list[CheckedExpression], handwritten: list[Callable[[View], bool]],
                              context: EvalContext, plans: Sequence[View], repeat: int) -> float:
    nine = compile_conditions("treatment_plan", exprs[1:])
    runs: dict[str, Callable[[], Counts]] = {
        "sophie": lambda: run_fused(nine, context, plans),
        "rule by rule": lambda: run_hand_written(handwritten[1:], plans),
        "plan by plan": lambda: run_hand_written_by_plan(handwritten[1:], plans),
    }
    best: dict[str, float] = {}
    for _ in range(repeat):
        for name, run in runs.items():
            best[name] = min(best.get(name, float("inf")), best_of(1, run)[0])
    return min(best["rule by rule"], best["plan by plan"]) / best["sophie"]


if __name__ == "__main__":
    sys.setrecursionlimit(10_000)
    main()
