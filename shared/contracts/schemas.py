"""JSON Schema documents of the portal contract, generated from the models.

The committed copies under ``docs/schemas/`` are what portal developers validate against;
a test fails when they drift from the code, so regenerate with ``make schemas``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import create_model

from shared.contracts.base import EventData
from shared.contracts.portal import PortalEnvelope
from shared.contracts.previous import PREVIOUS
from shared.contracts.registry import CURRENT, EventRegistry

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def event_schema(model: type[EventData]) -> dict[str, Any]:
    """The schema of one portal event of ``model``'s type and current version."""
    constant_type: Any = Literal.__getitem__(model.type)
    constant_version: Any = Literal.__getitem__(model.schema_version)
    envelope = create_model(
        model.__name__ + "Event",
        __base__=PortalEnvelope,
        type=(constant_type, ...),
        schema_version=(constant_version, model.schema_version),
        data=(model, ...),
    )
    schema = envelope.model_json_schema()
    schema["title"] = f"{model.type} v{model.schema_version}"
    schema["description"] = (model.__doc__ or model.type).strip().splitlines()[0]
    return {"$schema": SCHEMA_DIALECT, "$id": schema_file_name(model), **schema}


def schema_file_name(model: type[EventData]) -> str:
    return f"{model.type}.v{model.schema_version}.schema.json"


def render_schemas(registry: EventRegistry = CURRENT) -> dict[str, str]:
    """File name → JSON text, for every type of the registry and the older versions still
    accepted (``shared.contracts.previous``)."""
    return {
        schema_file_name(model): json.dumps(event_schema(model), indent=2, ensure_ascii=False)
        + "\n"
        for model in [*registry.models.values(), *PREVIOUS]
    }


def write_schemas(directory: Path, registry: EventRegistry = CURRENT) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render_schemas(registry).items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
