"""Differential test: compiled code and the reference interpreter agree on every input.

Hypothesis builds small snapshots from sophie.model records (with referential integrity);
a random, type-directed generator writes well-typed expressions over their fields,
relations, aggregates, durations and business time. Each expression is evaluated on every
subject of its entity type by the interpreter, the compiled closure and the fused
evaluator; the results (or the fact that evaluation failed) must be identical.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from sophie.model import (
    ENTITY_TYPES,
    Appointment,
    AppointmentStatus,
    Balance,
    Claim,
    ClaimKind,
    ClaimStatus,
    Contact,
    ContactChannel,
    ContactDirection,
    ContactOutcome,
    ContactTopic,
    Operatory,
    Patient,
    PatientStatus,
    PlanStatus,
    Practice,
    Procedure,
    ProcedureStatus,
    Provider,
    ProviderKind,
    Recall,
    RecallKind,
    Snapshot,
    StaffMember,
    TreatmentPlan,
)
from sophie.model.calendar import business_days
from sophie.rules.language.compilation.compiler import CUTOFF_MIN_SUBJECTS, compile_conditions, compile_expression
from sophie.rules.language.context import EvalContext
from sophie.rules.language.expressions import CheckedExpression, ExpressionError, Scope, check_expression
from sophie.rules.language.interpreter import interpret
from sophie.rules.language.types import ExprType, from_field_type, type_of_value

NY = ZoneInfo("America/New_York")
EST = timezone(timedelta(hours=-5))
NOWS = [
    datetime(2026, 3, 5, 11, 45, tzinfo=NY),  # Thursday, open
    datetime(2026, 3, 7, 9, 0, tzinfo=NY),  # Saturday, closed
    datetime(2026, 3, 9, 12, 30, tzinfo=NY),  # Monday after the DST change, lunch
    datetime(2026, 1, 2, 16, 59, 59, tzinfo=UTC),
]
PARAMS: dict[str, object] = {"n": 3, "ratio": 0.25, "word": "presented", "wait": business_days(2), "limit": 500}
PARAM_TYPES = {name: type_of_value(value) for name, value in PARAMS.items()}
SUBJECTS = ("treatment_plan", "patient", "claim", "appointment", "procedure", "contact", "recall", "balance")
ALIASES = {"treatment_plan": "plan", "appointment": "appt"}
EXPRESSIONS_PER_EXAMPLE = 100

# -- snapshots ---------------------------------------------------------------------------------

random_moments = st.datetimes(
    min_value=datetime(2025, 12, 20), max_value=datetime(2026, 4, 30), timezones=st.sampled_from([UTC, EST, NY])
)


def near(now: datetime) -> st.SearchStrategy[datetime]:
    """Instants at the boundaries the compiler's cut-offs must get exactly right."""
    local_midnight = st.dates(min_value=date(2025, 12, 20), max_value=date(2026, 4, 30)).map(
        lambda d: datetime(d.year, d.month, d.day, tzinfo=NY))
    return st.one_of(
        st.builds(lambda k, unit: now - timedelta(**{unit: k}), st.integers(-3, 40), st.sampled_from(["days", "hours"])),
        st.builds(lambda k: now.astimezone(UTC) - timedelta(days=k), st.integers(-3, 200)),
        local_midnight,
        local_midnight.map(lambda t: t - timedelta(microseconds=1)),
    )
days_ = st.dates(min_value=date(2025, 12, 1), max_value=date(2026, 5, 31))
money = st.decimals(min_value=Decimal(0), max_value=Decimal(3000), places=2)
names = st.sampled_from(["Ana", "Bo", "Cy", "Dee", "Él"])


def maybe(strategy: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return st.one_of(st.none(), strategy)


@st.composite
def snapshots(draw: st.DrawFn) -> Snapshot:
    now = draw(st.sampled_from(NOWS))
    moments = st.one_of(random_moments, near(now))
    practice = Practice(
        id="x", name="Diff Dental", timezone="America/New_York",
        hours={day: [("08:00", "12:00"), ("13:00", "17:00")] for day in ("mon", "tue", "wed", "thu", "fri")},
        holidays=draw(st.lists(days_, max_size=2, unique=True)),
    )
    staff = [StaffMember(id="s1", name="Sam", roles=["front_desk"])]
    providers = [Provider(id="dr1", name="Dr A", kind=ProviderKind.DENTIST, staff_id="s1")]
    operatories = [Operatory(id="op1", name="Op 1")]
    patient_ids = [f"p{i}" for i in range(draw(st.integers(1, 4)))]
    patients = [
        Patient(
            id=pid, first_name=draw(names), last_name=draw(names), birth_date=draw(maybe(days_)),
            status=draw(st.sampled_from(PatientStatus)), do_not_contact=draw(st.booleans()),
            guarantor_id=draw(maybe(st.sampled_from(patient_ids))), insured=draw(st.booleans()),
            primary_provider_id=draw(maybe(st.just("dr1"))),
        )
        for pid in patient_ids
    ]
    appointments = []
    for i in range(draw(st.integers(0, 5))):
        status = draw(st.sampled_from(AppointmentStatus))
        start = draw(moments) if status in ("scheduled", "arrived") or draw(st.booleans()) else None
        appointments.append(
            Appointment(
                id=f"a{i}", patient_id=draw(st.sampled_from(patient_ids)), status=status, start=start,
                end=None if start is None else start + timedelta(minutes=draw(st.integers(10, 120))),
                provider_id=draw(maybe(st.just("dr1"))), confirmed=draw(st.booleans()),
                broken_at=draw(maybe(moments)), created_at=draw(maybe(moments)),
            )
        )
    plan_ids = [f"tp{i}" for i in range(draw(st.integers(0, 4)))]
    plans = [
        TreatmentPlan(id=tid, patient_id=draw(st.sampled_from(patient_ids)), status=draw(st.sampled_from(PlanStatus)),
                      presented_at=draw(maybe(moments)), decided_at=draw(maybe(moments)))
        for tid in plan_ids
    ]
    appointment_ids = [a.id for a in appointments]
    procedures = [
        Procedure(
            id=f"pr{i}", patient_id=draw(st.sampled_from(patient_ids)), code=draw(st.sampled_from(["D2740", "D0120"])),
            fee=draw(money), status=draw(st.sampled_from(ProcedureStatus)), planned_at=draw(maybe(moments)),
            appointment_id=draw(maybe(st.sampled_from(appointment_ids))) if appointment_ids else None,
            treatment_plan_id=draw(maybe(st.sampled_from(plan_ids))) if plan_ids else None,
        )
        for i in range(draw(st.integers(0, 6)))
    ]
    procedure_ids = [p.id for p in procedures]
    claims = [
        Claim(
            id=f"c{i}", patient_id=draw(st.sampled_from(patient_ids)), kind=draw(st.sampled_from(ClaimKind)),
            status=draw(st.sampled_from(ClaimStatus)), carrier=draw(maybe(st.sampled_from(["Delta", "Aetna"]))),
            service_date=draw(maybe(days_)), sent_at=draw(maybe(moments)), received_at=draw(maybe(moments)),
            billed=draw(money), expected=draw(maybe(money)), paid=draw(maybe(money)),
            procedure_ids=draw(st.lists(st.sampled_from(procedure_ids), unique=True, max_size=3)) if procedure_ids else [],
        )
        for i in range(draw(st.integers(0, 4)))
    ]
    contacts = [
        Contact(
            id=f"ct{i}", patient_id=draw(st.sampled_from(patient_ids)), at=draw(moments),
            channel=draw(st.sampled_from(ContactChannel)), direction=draw(st.sampled_from(ContactDirection)),
            topic=draw(st.sampled_from(ContactTopic)), outcome=draw(st.sampled_from(ContactOutcome)),
            call_back_on=draw(maybe(days_)), staff_id=draw(maybe(st.just("s1"))),
        )
        for i in range(draw(st.integers(0, 5)))
    ]
    recalls = [
        Recall(id=f"r{i}", patient_id=draw(st.sampled_from(patient_ids)), kind=draw(st.sampled_from(RecallKind)),
               due_date=draw(days_), appointment_id=draw(maybe(st.sampled_from(appointment_ids))) if appointment_ids
               else None, disabled=draw(st.booleans()))
        for i in range(draw(st.integers(0, 3)))
    ]
    balances = [
        Balance(patient_id=pid, current=draw(money), over_30=draw(money), over_60=draw(money), over_90=draw(money))
        for pid in draw(st.lists(st.sampled_from(patient_ids), unique=True, max_size=2))
    ]
    return Snapshot(
        practice=practice, as_of=now, staff=staff, providers=providers, operatories=operatories, patients=patients,
        appointments=appointments, procedures=procedures, treatment_plans=plans, claims=claims, contacts=contacts,
        recalls=recalls, balances=balances,
    )


# -- expressions -----------------------------------------------------------------------------------

Want = Callable[[ExprType], bool]
_ORDER_OPS = ["<", "<=", ">", ">=", "==", "!="]


def _is(kind: str) -> Want:
    return lambda t: t.kind == kind


class ExpressionWriter:
    """Writes random well-typed expressions over one entity type."""

    def __init__(self, rnd: random.Random, entity: str, alias: str) -> None:
        self.rnd = rnd
        self.env: dict[str, str] = {alias: entity}
        self.loops = 0

    def pick(self, options: list[Callable[[int], str | None]], depth: int) -> str:
        for _ in range(12):
            text = self.rnd.choice(options)(depth)
            if text is not None:
                return text
        return options[0](0) or "null"

    def path(self, want: Want, hops: int = 2) -> str | None:
        roots = [*self.env.items(), ("practice", "practice")]
        self.rnd.shuffle(roots)
        for root, entity in roots:
            found = self.walk(entity, root, want, hops)
            if found is not None:
                return found
        return None

    def walk(self, entity: str, prefix: str, want: Want, hops: int) -> str | None:
        fields = {name: from_field_type(spec.type) for name, spec in ENTITY_TYPES[entity].items()}
        matching = [name for name, t in fields.items() if want(t)]
        related = [(name, t.entity) for name, t in fields.items() if t.kind == "entity" and t.entity]
        if related and hops > 0 and (not matching or self.rnd.random() < 0.35):
            name, target = self.rnd.choice(related)
            deeper = self.walk(str(target), f"{prefix}.{name}", want, hops - 1)
            if deeper is not None:
                return deeper
        return f"{prefix}.{self.rnd.choice(matching)}" if matching else None

    def loop(self, body: Callable[[str], str | None], want_item: Want | None = None) -> tuple[str, str, str] | None:
        """Return (variable, list path, body) for a generator over a relation list."""
        lists = self.path(lambda t: t.kind == "list" and t.entity is not None and (want_item is None or True))
        if lists is None:
            return None
        entity = self.list_entity(lists)
        self.loops += 1
        var = f"v{self.loops}"
        self.env[var] = entity
        try:
            text = body(var)
        finally:
            del self.env[var]
        return None if text is None else (var, lists, text)

    def list_entity(self, path: str) -> str:
        parts = path.split(".")
        entity = self.env.get(parts[0], "practice")
        for name in parts[1:]:
            entity = str(from_field_type(ENTITY_TYPES[entity][name].type).entity)
        return entity

    # -- by type -------------------------------------------------------------------------------

    def boolean(self, depth: int) -> str:
        r = self.rnd
        leaves: list[Callable[[int], str | None]] = [
            lambda d: self.path(_is("bool")),
            lambda d: r.choice(["true", "false", "null"]),
            lambda d: self.choice_test(),
            lambda d: f"{self.path(lambda t: t.optional) or 'null'} is {r.choice(['', 'not '])}None",
        ]
        if depth <= 0:
            return self.pick(leaves, 0)
        nested = [
            lambda d: f"{self.number(d - 1)} {r.choice(_ORDER_OPS)} {self.number(d - 1)}",
            lambda d: f"{self.moment(d - 1)} {r.choice(_ORDER_OPS)} {self.moment(d - 1)}",
            lambda d: f"{self.day(d - 1)} {r.choice(_ORDER_OPS)} {self.day(d - 1)}",
            lambda d: f"{self.duration(d - 1)} {r.choice(_ORDER_OPS)} {self.duration(d - 1)}",
            lambda d: f"{self.text(d - 1, free=True)} {r.choice(_ORDER_OPS)} {self.text(d - 1, free=True)}",
            lambda d: f"{self.number(d - 1)} < {self.number(d - 1)} <= {self.number(d - 1)}",
            lambda d: f"not {self.boolean(d - 1)}",
            lambda d: f"({self.boolean(d - 1)} {r.choice(['and', 'or'])} {self.boolean(d - 1)})",
            lambda d: f"({self.boolean(d - 1)} if {self.boolean(d - 1)} else {self.boolean(d - 1)})",
            lambda d: self.quantifier(d),
            lambda d: self.business(d),
            lambda d: f"{self.text(d - 1)} in {self.text(d - 1)}",
            lambda d: f"{self.number(d - 1)} {r.choice(['in', 'not in'])} [{self.number(0)}, {self.number(0)}]",
            lambda d: self.mixed_membership(),
            lambda d: self.same_entity(),
            lambda d: self.time_test(d),
        ]
        return self.pick(nested + leaves, depth)

    def mixed_membership(self) -> str | None:
        """Money (decimal) looked for among float and int literals: compared as numbers, as by ==."""
        money = self.path(lambda t: t.kind == "decimal")
        if money is None:
            return None
        r = self.rnd
        items = [r.choice(["0.1", "850.5", "600.0", "0", "250.5", str(r.randint(0, 900)), "params.ratio", money])
                 for _ in range(r.randint(1, 3))]  # fmt: skip
        return f"{money} {r.choice(['in', 'not in'])} [{', '.join(items)}]"

    def time_test(self, depth: int) -> str:
        r = self.rnd
        op = r.choice(["<", "<=", ">", ">="])
        if r.random() < 0.5:
            test = f"age({self.moment(depth - 1)}) {op} {r.choice(['days', 'hours', 'weeks'])}({r.randint(0, 40)})"
        else:
            subject = self.moment(depth - 1) if r.random() < 0.6 else self.day(depth - 1)
            amount = r.choice([str(r.randint(-2, 40)), "params.n"])
            test = f"days_since({subject}) {op} {amount}" if r.random() < 0.7 else f"{amount} {op} days_since({subject})"
        return test

    def choice_test(self) -> str | None:
        path = self.path(lambda t: bool(t.choices))
        if path is None:
            return None
        entity_field = self.field_type(path)
        values = list(entity_field.choices)
        if self.rnd.random() < 0.5:
            return f'{path} {self.rnd.choice(["==", "!="])} "{self.rnd.choice(values)}"'
        picked = self.rnd.sample(values, k=min(2, len(values)))
        return f"{path} {self.rnd.choice(['in', 'not in'])} [{', '.join(repr(v) for v in picked)}]"

    def field_type(self, path: str) -> ExprType:
        parts = path.split(".")
        entity = self.env.get(parts[0], "practice")
        for name in parts[1:-1]:
            entity = str(from_field_type(ENTITY_TYPES[entity][name].type).entity)
        return from_field_type(ENTITY_TYPES[entity][parts[-1]].type)

    def same_entity(self) -> str | None:
        path = self.path(lambda t: t.kind == "entity" and t.entity == "patient")
        other = self.path(lambda t: t.kind == "entity" and t.entity == "patient")
        return None if path is None or other is None else f"{path} {self.rnd.choice(['==', '!='])} {other}"

    def quantifier(self, depth: int) -> str | None:
        name = self.rnd.choice(["any", "all"])
        found = self.loop(lambda var: self.boolean(depth - 1))
        if found is None:
            return None
        var, lists, body = found
        where = f" if {self.boolean(0)}" if self.rnd.random() < 0.3 else ""
        return f"{name}({body} for {var} in {lists}{where})"

    def business(self, depth: int) -> str:
        r = self.rnd
        amount = r.choice(["business_days(" + str(r.randint(0, 6)) + ")", f"business_hours({r.choice([0, 1, 3.5, 9])})",
                           "params.wait", "business_days(params.n)"])
        left, right = f"business_age({self.moment(depth - 1)})", amount
        op = r.choice(["<", "<=", ">", ">="])
        return f"{left} {op} {right}" if r.random() < 0.7 else f"{right} {op} {left}"

    def number(self, depth: int) -> str:
        r = self.rnd
        leaves: list[Callable[[int], str | None]] = [
            lambda d: str(r.randint(-3, 60)),
            lambda d: r.choice(["0.5", "2.25", "0.1", "1000.0", "params.ratio", "params.n", "params.limit"]),
            lambda d: self.path(lambda t: t.is_numeric),
            lambda d: f"{r.randint(1, 9)}{r.randint(0, 99):02d}.{r.randint(0, 99):02d}",
        ]
        if depth <= 0:
            return self.pick(leaves, 0)
        nested = [
            lambda d: f"({self.number(d - 1)} {r.choice(['+', '-', '*', '/', '%'])} {self.number(d - 1)})",
            lambda d: f"-{self.number(d - 1)}",
            lambda d: self.aggregate(d),
            lambda d: f"days_since({self.moment(d - 1) if r.random() < 0.5 else self.day(d - 1)})",
            lambda d: f"len({self.path(lambda t: t.kind == 'list') or self.text(d - 1)})",
            lambda d: f"({self.number(d - 1)} if {self.boolean(d - 1)} else {self.number(d - 1)})",
            lambda d: f"coalesce({self.number(d - 1)}, {self.number(0)})",
            lambda d: f"{r.choice(['min', 'max'])}({self.number(d - 1)}, {self.number(d - 1)})",
            lambda d: f"({self.duration(d - 1)} / {self.duration(d - 1)})",
        ]
        return self.pick(nested + leaves, depth)

    def aggregate(self, depth: int) -> str | None:
        r = self.rnd
        name = r.choice(["count", "sum", "min", "max", "len", "count"])
        if name in ("count", "len"):
            found = self.loop(lambda var: var if r.random() < 0.5 or name == "len" else self.boolean(depth - 1))
        else:
            found = self.loop(lambda var: self.number(depth - 1))
        if found is None:
            return None
        var, lists, body = found
        where = f" if {self.boolean(0)}" if r.random() < 0.5 else ""
        return f"{name}({body} for {var} in {lists}{where})"

    def text(self, depth: int, *, free: bool = False) -> str:
        """Write text; ``free`` avoids enum fields (a literal compared with one must be a value of it)."""
        r = self.rnd
        leaves: list[Callable[[int], str | None]] = [
            lambda d: self.path(lambda t: t.kind == "str" and not (free and t.choices)),
            lambda d: repr(r.choice(["", "a", "Ana", "presented", "D2740", "É"])),
            lambda d: "params.word",
        ]
        if depth <= 0:
            return self.pick(leaves, 0)
        nested = [
            lambda d: f"{r.choice(['lower', 'upper'])}({self.text(d - 1)})",
            lambda d: f"({self.text(d - 1)} + {self.text(d - 1)})",
            lambda d: f"({self.text(d - 1, free=free)} if {self.boolean(d - 1)} else {self.text(d - 1, free=free)})",
            lambda d: f"coalesce({self.text(d - 1, free=free)}, {self.text(0, free=free)})",
        ]
        return self.pick(nested + leaves, depth)

    def moment(self, depth: int) -> str:
        r = self.rnd
        leaves: list[Callable[[int], str | None]] = [lambda d: self.path(_is("datetime")), lambda d: "now"]
        if depth <= 0:
            return self.pick(leaves, 0)
        nested = [
            lambda d: f"({self.moment(d - 1)} {r.choice(['+', '-'])} {self.duration(d - 1)})",
            lambda d: f"({self.moment(d - 1)} + business_days({r.randint(0, 4)}))",
            lambda d: f"({self.moment(d - 1)} + business_hours({r.choice([1, 2.5, 10])}))",
            lambda d: self.extreme(d, _is("datetime")),
            lambda d: f"coalesce({self.moment(d - 1)}, now)",
        ]
        return self.pick(nested + leaves, depth)

    def extreme(self, depth: int, want: Want) -> str | None:
        found = self.loop(lambda var: self.walk(self.env[var], var, want, 1))
        if found is None:
            return None
        var, lists, body = found
        return f"{self.rnd.choice(['min', 'max'])}({body} for {var} in {lists})"

    def day(self, depth: int) -> str:
        r = self.rnd
        leaves: list[Callable[[int], str | None]] = [lambda d: self.path(_is("date")), lambda d: "today"]
        if depth <= 0:
            return self.pick(leaves, 0)
        nested = [
            lambda d: f"date({self.moment(d - 1)})",
            lambda d: f"({self.day(d - 1)} {r.choice(['+', '-'])} days({r.randint(0, 40)}))",
        ]
        return self.pick(nested + leaves, depth)

    def duration(self, depth: int) -> str:
        r = self.rnd
        leaves: list[Callable[[int], str | None]] = [
            lambda d: f"{r.choice(['minutes', 'hours', 'days', 'weeks'])}({r.choice([0, 1, 2, 7, 1.5, 30])})",
            lambda d: self.path(_is("duration")),
        ]
        if depth <= 0:
            return self.pick(leaves, 0)
        nested = [
            lambda d: f"age({self.moment(d - 1)})",
            lambda d: f"({self.moment(d - 1)} - {self.moment(d - 1)})",
            lambda d: f"({self.day(d - 1)} - {self.day(d - 1)})",
            lambda d: f"({self.duration(d - 1)} {r.choice(['+', '-'])} {self.duration(d - 1)})",
            lambda d: f"({self.duration(d - 1)} * {r.randint(-2, 3)})",
            lambda d: f"-{self.duration(d - 1)}",
        ]
        return self.pick(nested + leaves, depth)

    def any_value(self, depth: int) -> str:
        writer = self.rnd.choice([self.boolean, self.boolean, self.number, self.text, self.moment, self.day,
                                  self.duration])
        return writer(depth)


# -- the comparison --------------------------------------------------------------------------------


def outcome(evaluate: Callable[[], object]) -> tuple[str, object]:
    try:
        return "value", evaluate()
    except Exception as error:  # both sides must fail on the same inputs
        return "error", type(error).__name__


def same(a: tuple[str, object], b: tuple[str, object]) -> bool:
    if a[0] != b[0]:
        return False
    return a[0] == "error" or (type(a[1]) is type(b[1]) and a[1] == b[1])


def test_compiled_and_interpreted_evaluation_agree() -> None:
    stats: Counter[str] = Counter()

    @settings(max_examples=100, deadline=None, derandomize=True, phases=[Phase.explicit, Phase.generate],
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])
    @given(snapshot=snapshots(), rnd=st.randoms(use_true_random=False))
    def check(snapshot: Snapshot, rnd: random.Random) -> None:
        index = snapshot.index
        context = EvalContext.build(index, snapshot.as_of, PARAMS)
        conditions: dict[str, list[tuple[CheckedExpression, list[tuple[str, object]]]]] = defaultdict(list)
        shared_conjuncts: dict[str, list[str]] = {}
        for position in range(EXPRESSIONS_PER_EXAMPLE):
            entity = SUBJECTS[position % len(SUBJECTS)]
            alias = ALIASES.get(entity, entity)
            writer = ExpressionWriter(rnd, entity, alias)
            text = writer.boolean(rnd.randint(1, 3)) if position % 3 else writer.any_value(rnd.randint(0, 3))
            if position % 3 and rnd.random() < 0.3:  # conditions sharing a first conjunct are fused together
                shared = shared_conjuncts.setdefault(entity, [writer.boolean(1) for _ in range(2)])
                text = f"{rnd.choice(shared)} and ({text})"
            try:
                checked = check_expression(text, Scope(alias, entity, PARAM_TYPES))
            except ExpressionError as error:
                raise AssertionError(f"the writer made an ill-typed expression: {text}\n{error}") from error
            compiled = compile_expression(checked)
            subjects = index.subjects(entity)
            interpreted = [outcome(lambda s=s, e=checked: interpret(e, context, s)) for s in subjects]
            for subject, expected in zip(subjects, interpreted, strict=True):
                got = outcome(lambda s=subject, f=compiled: f(context, s))
                assert same(expected, got), f"{text!r} on {subject!r}: interpreter {expected}, compiled {got}"
                stats[f"{expected[0]}s"] += 1
            if checked.type.kind == "bool":
                conditions[entity].append((checked, interpreted))
            stats["expressions"] += 1
        for entity, entries in conditions.items():
            subjects = index.subjects(entity)
            runner = compile_conditions(entity, [checked for checked, _ in entries])
            # Few subjects test business ages directly; many search each cut-off once: both must agree.
            repeat = -(-CUTOFF_MIN_SUBJECTS // max(len(subjects), 1))
            for times in (1, repeat):
                fused = runner(context, subjects * times)
                errors = {(i, id(s)) for i, s, _ in fused.errors}
                for i, (checked, interpreted) in enumerate(entries):
                    pairs = list(zip(subjects, interpreted, strict=True))
                    expected = [s for s, o in pairs if o == ("value", True)] * times
                    assert fused.matches[i] == expected, checked.text
                    failing = {id(s) for s, o in pairs if o[0] == "error"}
                    assert failing == {sid for j, sid in errors if j == i}, checked.text
            stats["fused conditions"] += len(entries)

    check()
    assert stats["expressions"] >= 10_000, stats
    assert stats["values"] + stats["errors"] >= 10_000, stats
