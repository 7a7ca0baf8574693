"""The JSON Schemas and examples published in docs/ are exactly what the code accepts."""

from __future__ import annotations

import json
import re
from pathlib import Path

from services.asyncapi import render as render_asyncapi
from shared.contracts.portal import decode_portal_event
from shared.contracts.registry import CURRENT
from shared.contracts.schemas import render_schemas

DOCS = Path(__file__).parents[3] / "docs"


def test_committed_schemas_match_the_models_run_make_schemas_if_not() -> None:
    committed = {
        path.name: path.read_text(encoding="utf-8") for path in (DOCS / "schemas").glob("*.json")
    }

    assert committed == render_schemas()


def test_every_example_in_the_contract_docs_decodes_and_every_type_has_one() -> None:
    text = (DOCS / "contracts.md").read_text(encoding="utf-8")
    examples = [json.loads(block) for block in re.findall(r"```json\n(.*?)```", text, re.DOTALL)]

    decoded = [decode_portal_event(example) for example in examples]

    assert {event.type for event in decoded} == set(CURRENT.models)


def test_the_committed_asyncapi_document_matches_the_channels_run_make_asyncapi_if_not() -> None:
    committed = (DOCS / "asyncapi.json").read_text(encoding="utf-8")

    assert committed == render_asyncapi()
