"""The one record: ``Trajectory`` and its parts, validation and JSON Schema export."""

from lamstudio.schema._arrow import arrow_schema, from_arrow_row, to_arrow_row
from lamstudio.schema._models import (
    FunctionCall,
    FunctionSpec,
    Message,
    Role,
    ToolCall,
    ToolSpec,
    Trajectory,
)
from lamstudio.schema._validate import (
    Checked,
    IdRegistry,
    Issue,
    check,
    consistency_issues,
    consistent,
    validate_record,
)


def json_schema() -> dict:
    """The published JSON Schema of one record (``lamstudio schema``)."""
    schema = Trajectory.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "lamstudio Trajectory"
    return schema


__all__ = [
    "Checked", "FunctionCall", "FunctionSpec", "IdRegistry", "Issue", "Message", "Role",
    "ToolCall", "ToolSpec", "Trajectory", "arrow_schema", "check", "consistency_issues",
    "consistent", "from_arrow_row", "json_schema", "to_arrow_row", "validate_record",
]
