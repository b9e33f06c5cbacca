"""Every exception sophie raises, in one tree.

Catch :class:`SophieError` to handle anything sophie raises on purpose. Each class
also inherits the builtin a caller would already expect (``ValueError`` for bad
input, ``LookupError`` for an unknown name), so existing ``except`` clauses keep
working::

    SophieError
    ├── ConfigurationError(ValueError)      a bad flag, parameter or setting
    ├── UnknownNameError(LookupError)       no adapter, pack or function by that name
    ├── SnapshotError(ValueError)           snapshot data that fails the model
    │   └── IntegrityError                  a record names a missing id, or an id repeats
    ├── CalendarError(ValueError)           practice hours or holidays that make no calendar
    ├── RuleError(ValueError)               an analyst's rule pack is wrong; carries diagnostics
    ├── ExpressionError(ValueError)         one expression is wrong; carries located problems
    ├── ForbiddenAttributeError(AttributeError)  an expression read a name that is not a declared field
    ├── TemplateError(ValueError)           one task template is wrong
    ├── TransitionError(ValueError)         an action the task's status does not allow
    ├── LedgerError(RuntimeError)           the task ledger cannot be used
    │   └── LedgerConflictError             another writer changed the same tasks first
    ├── EvaluationError(RuntimeError)       a rule failed on one subject (captured, never fatal)
    ├── FindingsLimitError(RuntimeError)    a run found more than its cap of findings
    ├── PluginError(RuntimeError)           a plugin could not be used
    │   ├── PluginLoadError                 its entry point failed to import or register
    │   └── PluginConflictError             two plugins claim one name
    ├── AdapterError(RuntimeError)          raised by adapters; vendors subclass these
    │   ├── SourceUnavailableError          the PMS or file cannot be reached or read
    │   │   └── StaleSnapshotError          the data is too old to close tasks on
    │   ├── AdapterAuthError                the source refused the credentials
    │   └── AdapterDataError(ValueError)    the source answered with data sophie cannot use
    └── NotifierError(RuntimeError)         a notifier could not be built or used
        ├── DeliveryError                   one message could not be delivered (retryable or not)
        └── WebhookVerificationError(ValueError)  a webhook signature does not check out

Errors that describe many problems at once (a snapshot with five bad records, a
rule pack with three mistakes) hold them in ``problems``; ``str(error)`` prints
one line per problem.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

MAX_SHOWN_PROBLEMS = 50
"""At most this many problems are shown for one error; the rest are counted ("and N more")."""

__all__ = [
    "MAX_SHOWN_PROBLEMS",
    "AdapterAuthError",
    "AdapterDataError",
    "AdapterError",
    "CalendarError",
    "ConfigurationError",
    "DeliveryError",
    "Diagnostic",
    "EvaluationError",
    "ExpressionError",
    "ExpressionProblem",
    "FindingsLimitError",
    "ForbiddenAttributeError",
    "IntegrityError",
    "LedgerConflictError",
    "LedgerError",
    "NotifierError",
    "PluginConflictError",
    "PluginError",
    "PluginLoadError",
    "RecordProblem",
    "RuleError",
    "SnapshotError",
    "SophieError",
    "SourceUnavailableError",
    "StaleSnapshotError",
    "TemplateError",
    "TemplateProblem",
    "TransitionError",
    "UnknownNameError",
    "WebhookVerificationError",
]


class SophieError(Exception):
    """Base class of every error sophie raises on purpose."""

    __module__ = "sophie"


class ConfigurationError(SophieError, ValueError):
    """A flag, parameter or setting has a value sophie cannot use."""

    __module__ = "sophie"


class UnknownNameError(SophieError, LookupError):
    """A name (adapter, pack, function, task) that nothing answers to.

    Attributes:
        kind: What was looked up, e.g. ``"adapter"``.
        name: The name asked for.
        suggestion: The closest known name, when one is close enough.
    """

    __module__ = "sophie"

    def __init__(self, kind: str, name: str, *, known: Sequence[str] = (), suggestion: str | None = None) -> None:
        self.kind = kind
        self.name = name
        self.known = tuple(known)
        self.suggestion = suggestion
        message = f"unknown {kind} {name!r}"
        if suggestion:
            message += f"; did you mean {suggestion!r}?"
        elif known:
            message += f" (known: {', '.join(sorted(known))})"
        super().__init__(message)


@dataclass(frozen=True)
class RecordProblem:
    """One problem with one record of a snapshot.

    Attributes:
        message: What is wrong, in plain words.
        collection: The snapshot section, e.g. ``"appointments"``; empty for top-level fields.
        index: Position of the record in its section, when known.
        record_id: The record's ``id`` (or ``patient_id`` for balances), when it has one.
        field: Dotted path of the field inside the record, when the problem is in one field.
    """

    message: str
    collection: str = ""
    index: int | None = None
    record_id: str | None = None
    field: str = ""

    def where(self) -> str:
        """Return the record and field this problem is about, e.g. ``appointments[3] (id=a-9).start``."""
        place = self.collection
        if self.index is not None:
            place += f"[{self.index}]"
        if self.record_id is not None:
            place += f" (id={self.record_id})"
        if self.field:
            place += ("." if place else "") + self.field
        return place

    def __str__(self) -> str:
        place = self.where()
        return f"{place}: {self.message}" if place else self.message


class SnapshotError(SophieError, ValueError):
    """Snapshot data that does not fit the model.

    Attributes:
        problems: Every problem found, one per record and field.
        source: The file (or other source) the data came from, if any.
    """

    __module__ = "sophie"

    def __init__(self, problems: Sequence[RecordProblem], *, source: str | None = None) -> None:
        self.problems = tuple(problems)
        self.source = source
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        """Return one line per problem (at most :data:`MAX_SHOWN_PROBLEMS`, then how many more).

        Each line is prefixed by the source when known.
        """
        prefix = f"{self.source}: " if self.source else ""
        lines = [f"{prefix}{problem}" for problem in self.problems[:MAX_SHOWN_PROBLEMS]]
        hidden = len(self.problems) - MAX_SHOWN_PROBLEMS
        if hidden > 0:
            lines.append(f"{prefix}and {hidden} more problems")
        return lines or [f"{prefix}invalid snapshot"]


class IntegrityError(SnapshotError):
    """A record names an id that the snapshot does not contain."""

    __module__ = "sophie"


class CalendarError(SophieError, ValueError):
    """Practice hours, holidays or a timezone that do not make a usable calendar."""

    __module__ = "sophie"


@dataclass(frozen=True)
class Diagnostic:
    """One located problem in a rule pack, printed as ``FILE:LINE:COL: error: MESSAGE``.

    Lines and columns count from 1, as editors show them.

    Attributes:
        file: The pack file (or ``<string>``).
        line: 1-based line.
        column: 1-based column.
        message: What is wrong.
        rule_id: The rule the problem is in, when it is inside one.
        suggestion: A close known name, printed as "did you mean".
        severity: ``"error"`` or ``"warning"``.
    """

    file: str
    line: int
    column: int
    message: str
    rule_id: str | None = None
    suggestion: str | None = None
    severity: str = "error"

    def __str__(self) -> str:
        text = f"{self.file}:{self.line}:{self.column}: {self.severity}: {self.message}"
        if self.suggestion:
            text += f" (did you mean {self.suggestion!r}?)"
        return text


class RuleError(SophieError, ValueError):
    """A rule pack that cannot be loaded: every problem found, each with its location.

    Attributes:
        diagnostics: All problems of the pack, in file order.
    """

    __module__ = "sophie"

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = tuple(diagnostics)
        super().__init__("\n".join(str(d) for d in self.diagnostics) or "invalid rule pack")


class EvaluationError(SophieError, RuntimeError):
    """A rule failed while evaluating one subject.

    Evaluation captures these per subject so that one bad record never stops a run.

    Attributes:
        rule_id: The rule being evaluated.
        subject_id: The subject it was evaluated on.
    """

    __module__ = "sophie"

    def __init__(self, message: str, *, rule_id: str, subject_id: str) -> None:
        self.rule_id = rule_id
        self.subject_id = subject_id
        super().__init__(f"rule {rule_id} on {subject_id}: {message}")


class FindingsLimitError(SophieError, RuntimeError):
    """A run found more findings than its cap: a rule almost surely fires for everything.

    Attributes:
        limit: The cap (``max_findings``).
        count: How many findings the run had when it stopped.
        rule_id: The rule that contributed most.
        rule_count: How many findings that rule contributed.
    """

    __module__ = "sophie"

    def __init__(self, *, limit: int, count: int, rule_id: str, rule_count: int) -> None:
        self.limit = limit
        self.count = count
        self.rule_id = rule_id
        self.rule_count = rule_count
        super().__init__(
            f"the rules found {count} findings, more than the limit of {limit} (max_findings); "
            f"most came from rule {rule_id!r} ({rule_count}): check its condition"
        )


class PluginError(SophieError, RuntimeError):
    """A plugin could not be loaded or used."""

    __module__ = "sophie"


class PluginLoadError(PluginError):
    """A plugin's entry point failed to import or register.

    Attributes:
        entry_point: The entry point's name.
        distribution: The distribution that declares it, with its version.
    """

    __module__ = "sophie"

    def __init__(self, message: str, *, entry_point: str, distribution: str) -> None:
        self.entry_point = entry_point
        self.distribution = distribution
        super().__init__(f"plugin {entry_point!r} from {distribution} failed to load: {message}")


class PluginConflictError(PluginError):
    """Two plugins register the same name for the same kind of thing.

    Attributes:
        kind: What is registered twice (``"adapter"``, ``"rule pack"``...).
        name: The contested name.
        providers: The plugins that claim it.
    """

    __module__ = "sophie"

    def __init__(self, kind: str, name: str, providers: list[str]) -> None:
        self.kind = kind
        self.name = name
        self.providers = tuple(providers)
        super().__init__(f"{kind} {name!r} is provided by more than one plugin: {', '.join(providers)}")


class AdapterError(SophieError, RuntimeError):
    """Raised by an adapter that could not produce a snapshot."""

    __module__ = "sophie"


class SourceUnavailableError(AdapterError):
    """The PMS, database or file behind an adapter cannot be reached or read."""

    __module__ = "sophie"


class AdapterDataError(AdapterError, ValueError):
    """The source answered, but with data that cannot be turned into a snapshot."""

    __module__ = "sophie"


class AdapterAuthError(AdapterError):
    """The source refused the adapter's credentials; retrying will not help until they are fixed."""

    __module__ = "sophie"


class StaleSnapshotError(SourceUnavailableError):
    """The snapshot is older than the freshness limit, so it must not close tasks.

    Attributes:
        age: How old the snapshot was.
        max_age: The limit it exceeded.
    """

    __module__ = "sophie"

    def __init__(self, message: str, *, age: timedelta, max_age: timedelta) -> None:
        self.age = age
        self.max_age = max_age
        super().__init__(message)


class NotifierError(SophieError, RuntimeError):
    """A notifier could not be built or used."""

    __module__ = "sophie"


class DeliveryError(NotifierError):
    """A message could not be delivered.

    Messages name the endpoint and the failure (an HTTP status, an SMTP code, an
    exception type), never the message's content.

    Attributes:
        retryable: Whether trying again later may succeed (timeouts, 5xx, 4xx SMTP
            codes); ``False`` sends the message straight to the dead letters.
        retry_after: The wait the receiver asked for, if it named one.
    """

    __module__ = "sophie"

    def __init__(self, message: str, *, retryable: bool = True, retry_after: timedelta | None = None) -> None:
        self.retryable = retryable
        self.retry_after = retry_after
        super().__init__(message)


class WebhookVerificationError(NotifierError, ValueError):
    """A webhook's signature or timestamp does not check out."""

    __module__ = "sophie"


@dataclass(frozen=True)
class ExpressionProblem:
    """One problem in an expression.

    Attributes:
        line: 1-based line within the expression text.
        column: 1-based column (in characters) within that line.
        message: What is wrong, in plain words.
        suggestion: A close known name, for "did you mean".
    """

    line: int
    column: int
    message: str
    suggestion: str | None = None

    def __str__(self) -> str:
        text = f"{self.line}:{self.column}: {self.message}"
        if self.suggestion:
            text += f" (did you mean {self.suggestion!r}?)"
        return text


class ExpressionError(SophieError, ValueError):
    """An expression that cannot be used: every problem found, each located.

    Attributes:
        problems: All problems, in text order.
        text: The expression text.
    """

    __module__ = "sophie"

    def __init__(self, problems: Sequence[ExpressionProblem], *, text: str = "") -> None:
        self.problems = tuple(sorted(problems, key=lambda p: (p.line, p.column)))
        self.text = text
        super().__init__("\n".join(str(problem) for problem in self.problems) or "invalid expression")


class ForbiddenAttributeError(SophieError, AttributeError):
    """An expression reached for an attribute that is not a declared field or derived value.

    The checker refuses such names before anything runs; this is the second barrier the
    interpreter and the code generator raise on their own, whatever the checker let through.

    Attributes:
        entity_type: The entity type read from (empty if the value is not an entity).
        attribute: The name that was refused.
    """

    __module__ = "sophie"

    def __init__(self, entity_type: str, attribute: str) -> None:
        self.entity_type = entity_type
        self.attribute = attribute
        where = f"{entity_type} has" if entity_type else "a value that is not an entity has"
        super().__init__(f"{where} no readable field {attribute!r}")


@dataclass(frozen=True)
class TemplateProblem:
    """One problem in a template.

    Attributes:
        offset: 0-based character offset in the template text.
        message: What is wrong.
        suggestion: A close known name, when one fits.
    """

    offset: int
    message: str
    suggestion: str | None = None


class TemplateError(SophieError, ValueError):
    """A template that cannot be used; holds every problem found."""

    __module__ = "sophie"

    def __init__(self, problems: Sequence[TemplateProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(p.message for p in self.problems))


class TransitionError(SophieError, ValueError):
    """An action the task's current status does not allow (e.g. acknowledging a done task).

    Attributes:
        task_id: The task.
        action: The action refused.
        status: The task's status.
    """

    __module__ = "sophie"

    def __init__(self, task_id: str, action: str, status: str, *, hint: str = "") -> None:
        self.task_id = task_id
        self.action = action
        self.status = status
        message = f"cannot {action} task {task_id}: it is {status}"
        super().__init__(f"{message}; {hint}" if hint else message)


class LedgerError(SophieError, RuntimeError):
    """The ledger cannot be used: a schema from a newer sophie, a corrupt file, a failed write."""

    __module__ = "sophie"


class LedgerConflictError(LedgerError):
    """Another writer changed the same tasks first; re-read and reconcile again.

    Attributes:
        task_id: The task whose write conflicted.
    """

    __module__ = "sophie"

    def __init__(self, message: str, *, task_id: str) -> None:
        self.task_id = task_id
        super().__init__(message)
