"""Every consumer names every fact it must handle: a new event type without a rule in one of
them fails here, instead of being ignored where it arrives; and every notification rule has
its tone on the dashboard."""

from __future__ import annotations

from services.ingest.checks import CHECKERS
from services.notifier.rules import REGISTRY, Rule
from services.projector.api.dashboard.notifications import TONES
from services.projector.rows import ROW_RULES
from services.projector.structure import BATCHED, CHANGES
from shared.contracts import units
from shared.contracts.base import EventData, ReferenceFact
from shared.contracts.registry import CURRENT
from shared.domain.hierarchy import UNIT_FACT_APPLIERS, UNIT_FACT_CHECKS
from shared.domain.initiative import FACT_TYPES
from shared.reference import REFERENCE_FACT_APPLIERS

MODELS = set(CURRENT.models.values())
REFERENCE = {model for model in MODELS if issubclass(model, ReferenceFact)}
UNIT = {model for model in REFERENCE if model.__module__ == units.__name__}
INITIATIVE = MODELS - REFERENCE


def names(models: set[type[EventData]]) -> set[str]:
    return {model.type for model in models}


def test_ingest_checks_every_fact_a_portal_may_send() -> None:
    assert set(CHECKERS) == names(MODELS)


def test_the_hierarchy_applies_every_unit_fact() -> None:
    assert set(UNIT_FACT_APPLIERS) == UNIT


def test_the_hierarchy_checks_every_unit_fact_before_it_is_accepted() -> None:
    assert set(UNIT_FACT_CHECKS) == UNIT


def test_the_reference_view_applies_every_reference_fact() -> None:
    assert set(REFERENCE_FACT_APPLIERS) == REFERENCE


def test_the_read_models_change_for_every_reference_fact_once() -> None:
    assert set(BATCHED) | set(CHANGES) == REFERENCE
    assert not set(BATCHED) & set(CHANGES)


def test_the_initiative_lifecycle_knows_every_initiative_fact() -> None:
    assert names(INITIATIVE) == FACT_TYPES


def test_the_sets_compared_are_the_registry_s_not_empty_ones() -> None:
    assert len(UNIT) == 7
    assert len(REFERENCE) == 9
    assert len(INITIATIVE) >= 8


def test_the_projector_s_rows_follow_every_initiative_fact() -> None:
    assert set(ROW_RULES) == INITIATIVE


def test_the_dashboard_gives_every_decided_rule_a_tone() -> None:
    decided = {rule for spec in REGISTRY for rule in spec.decides} | {Rule.DIGEST}
    assert set(TONES) == {rule.value for rule in decided}
