"""Why a fact was refused, in a form a portal developer can act on.

Every refusal is a ``DomainError`` with a stable machine ``code`` (part of the API: the ingest
service returns it to portals) and a ``reason`` written for a human.
"""

from __future__ import annotations

from typing import ClassVar


class DomainError(ValueError):
    """A fact breaks a domain rule; ``code`` is stable, ``reason`` explains the case."""

    code: ClassVar[str] = "domain_error"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InvalidTransition(DomainError):
    code = "invalid_transition"


class NotEditable(DomainError):
    """Details changed after a decision (approved, rejected, recognised) or a withdrawal, or
    before the content was submitted: what was judged must stay what was judged."""

    code = "not_editable"


class UnknownInitiative(DomainError):
    code = "unknown_initiative"


class UnknownUnit(DomainError):
    code = "unknown_unit"


class UnitNotOpen(DomainError):
    code = "unit_not_open"


class DuplicateUnit(DomainError):
    code = "duplicate_unit"


class HierarchyCycle(DomainError):
    code = "hierarchy_cycle"


class LevelOrder(DomainError):
    """A unit would stand under one of its own level or below (see ``may_stand_under``)."""

    code = "level_order"


class UnknownCampaign(DomainError):
    code = "unknown_campaign"


class DuplicateCampaign(DomainError):
    code = "duplicate_campaign"
