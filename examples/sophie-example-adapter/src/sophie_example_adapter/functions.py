"""Rule functions for Acme practices: a patient's lifetime value, and whether they are a VIP.

Rule functions must be pure: the same arguments give the same result, with no I/O and
no clock. They receive the views rules see (``patient.procedures`` and so on).
"""

from __future__ import annotations

from decimal import Decimal

from sophie.rules.language.functions import RuleFunction
from sophie.rules.language.types import BOOL, DECIMAL, entity_type

__all__ = ["RULE_FUNCTIONS", "VIP_THRESHOLD", "is_vip", "lifetime_value"]

VIP_THRESHOLD = Decimal("5000")
"""Acme calls a patient a VIP once their completed treatment reaches this much."""


def lifetime_value(patient: object) -> Decimal:
    """Return the total fee of the patient's completed procedures."""
    procedures = getattr(patient, "procedures", None) or ()
    return sum((p.fee for p in procedures if str(p.status) == "completed"), Decimal(0))


def is_vip(patient: object) -> bool:
    """Return whether the patient's lifetime value reaches :data:`VIP_THRESHOLD`."""
    return lifetime_value(patient) >= VIP_THRESHOLD


RULE_FUNCTIONS = (
    RuleFunction(
        name="acme_lifetime_value",
        params=(entity_type("patient"),),
        returns=DECIMAL,
        impl=lifetime_value,
        doc="Total fee of the patient's completed procedures.",
        example="acme_lifetime_value(plan.patient) >= 2500",
        param_names=("patient",),
    ),
    RuleFunction(
        name="acme_is_vip",
        params=(entity_type("patient"),),
        returns=BOOL,
        impl=is_vip,
        doc=f"Whether the patient's completed treatment totals at least {VIP_THRESHOLD}.",
        example="acme_is_vip(plan.patient)",
        param_names=("patient",),
    ),
)
