"""Where an initiative counts: its unit's ancestors, and each one's phase for a day.

Every fact adds to the unit and each ancestor in that ancestor's own phase scheme, so
resolving ancestors and effective plans per fact dominated the fold. The answers only change
with the reference data, so they are memoised for one reference version of one view.
"""

from __future__ import annotations

import datetime as dt

from shared.contracts.campaigns import PlanSet
from shared.domain.phases import phase_containing
from shared.domain.plans import effective_plan
from shared.reference import ReferenceView


class Attribution:
    def __init__(self, view: ReferenceView) -> None:
        self.view = view
        self.version = view.version
        self._ancestors: dict[str, tuple[str, ...]] = {}
        self._plans: dict[tuple[str, str], PlanSet | None] = {}
        self._phase: dict[tuple[str, str, dt.date], str | None] = {}

    def current(self, view: ReferenceView) -> bool:
        """Whether the memoised answers still hold for ``view`` as it stands."""
        return view is self.view and view.version == self.version

    def ancestors(self, unit_id: str) -> tuple[str, ...]:
        """The unit its initiatives count for (merges followed), then that unit's ancestors."""
        found = self._ancestors.get(unit_id)
        if found is None:
            hierarchy = self.view.hierarchy
            found = hierarchy.ancestors(hierarchy.counting_unit(unit_id))
            self._ancestors[unit_id] = found
        return found

    def counting_unit(self, unit_id: str) -> str:
        """The unit initiatives filed under ``unit_id`` count for: merges are followed."""
        return self.ancestors(unit_id)[0]

    def phase_id(self, unit_id: str, campaign_id: str, day: dt.date) -> str | None:
        """The phase of the unit's effective plan containing ``day``, if any."""
        plan = self._plan(unit_id, campaign_id)
        if plan is None:
            return None
        key = (plan.unit_id, campaign_id, day)
        if key not in self._phase:
            phase = phase_containing(plan.phases, day)
            self._phase[key] = None if phase is None else phase.phase_id
        return self._phase[key]

    def _plan(self, unit_id: str, campaign_id: str) -> PlanSet | None:
        key = (unit_id, campaign_id)
        if key not in self._plans:
            view = self.view
            self._plans[key] = effective_plan(view.hierarchy, view.plans, campaign_id, unit_id)
        return self._plans[key]
