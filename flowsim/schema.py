"""The JSON Schema of scenario files, for editor completion and checking as you type.

Shipped scenario files carry a modeline (``# yaml-language-server: $schema=flowsim.schema.json``)
that points editors with a YAML language server at ``scenarios/flowsim.schema.json``, which is
this schema written out by ``flowsim schema --out``. A test keeps the two in step.
"""

from __future__ import annotations

import json
from typing import Any

from .durations import DURATION_HINT
from .scenario import Scenario

SCHEMA_ID = "https://flowsim.invalid/scenario.schema.json"

_DURATION = {
    "anyOf": [
        {"type": "number", "minimum": 0},
        {
            "type": "string",
            "pattern": r"^\s*(\d+(\.\d*)?|\.\d+)\s*([a-z]+)?(\s*(\d+(\.\d*)?|\.\d+)\s*[a-z]+)*\s*$",
        },
    ],
    "description": DURATION_HINT,
}
_CLOCK = {
    "anyOf": [
        {"type": "number", "minimum": 0, "maximum": 24},
        {"type": "string", "pattern": r"^\s*\d{1,2}:\d{2}\s*$"},
    ],
    "description": "a clock time such as 08:00",
}


def scenario_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) that scenario files follow."""
    schema: dict[str, Any] = _patch(Scenario.model_json_schema(by_alias=True, mode="validation"))
    props = schema.setdefault("properties", {})
    # Loader-level keys that are not part of the model.
    props["extends"] = {"type": "string", "description": "a base scenario file this one changes"}
    schema["patternProperties"] = {"^x-": {"description": "extension field for YAML anchors"}}
    schema["required"] = [r for r in schema.get("required", []) if r != "name"]
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = SCHEMA_ID
    schema["title"] = "flowsim scenario"
    return schema


def _patch(node: Any) -> Any:
    """Let durations and clock times be written as text, and a bare duration be a distribution."""
    if isinstance(node, dict):
        desc = node.get("description")
        if desc == DURATION_HINT and node.get("type") == "number":
            return dict(_DURATION)
        if (
            isinstance(desc, str)
            and desc.startswith("a clock time")
            and node.get("type") == "number"
        ):
            return {**_CLOCK, "description": desc}
        out = {k: _patch(v) for k, v in node.items()}
        disc = out.get("discriminator")
        if isinstance(disc, dict) and disc.get("propertyName") == "dist":
            return {"anyOf": [_DURATION, out]}
        return out
    if isinstance(node, list):
        return [_patch(v) for v in node]
    return node


def schema_text() -> str:
    return json.dumps(scenario_schema(), indent=2, sort_keys=False) + "\n"
