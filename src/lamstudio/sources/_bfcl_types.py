"""BFCL function docs <-> JSON Schema tools.

BFCL writes parameter schemas in its own dialect: ``"type": "dict"`` for objects, Python
names (``float``, ``tuple``, ``any``) and, in ``simple_java`` / ``simple_javascript``, the
target language's types (``String``, ``HashMap``, ``long``, ``char``, ``Boolean``...).
We map each to the closest JSON Schema type so the tools validate with ``jsonschema``, and
keep the original name in ``"x-bfcl-type"`` whenever the default reverse mapping could not
recover it (``tuple``, ``any``, every Java/JS type). ``dict``, ``float``, ``integer``,
``string``, ``boolean`` and ``array`` map back unmarked.
"""

from __future__ import annotations

from typing import Any

# BFCL type -> JSON Schema type; None means "no type restriction".
_JSON_TYPE: dict[str, str | None] = {
    # BFCL's Python dialect
    "dict": "object", "float": "number", "integer": "integer", "string": "string",
    "boolean": "boolean", "array": "array", "tuple": "array", "any": None,
    # already JSON Schema (some live docs use them)
    "object": "object", "number": "number", "null": "null",
    # Java (BFCL's JAVA_TYPE_CONVERSION names)
    "String": "string", "char": "string", "byte": "integer", "short": "integer",
    "long": "integer", "double": "number", "Array": "array", "ArrayList": "array",
    "Queue": "array", "Stack": "array", "Set": "array", "HashMap": "object",
    "Hashtable": "object",
    # JavaScript (JS_TYPE_CONVERSION names)
    "Boolean": "boolean", "Bigint": "integer",
    # one nested property of simple_javascript_23 has "type": "" (a typo in BFCL's data)
    "": None,
}
# Types the reverse mapping recovers without a marker.
_PLAIN = {"dict", "float", "integer", "string", "boolean", "array"}
_BACK = {"object": "dict", "number": "float", "integer": "integer", "string": "string",
         "boolean": "boolean", "array": "array"}
# Types whose values are objects / lists of acceptable values in BFCL's answer files.
DICT_TYPES = frozenset({"dict", "object", "HashMap", "Hashtable"})
LIST_TYPES = frozenset({"array", "tuple", "Array", "ArrayList", "Queue", "Stack", "Set"})
JAVA_TYPES = frozenset({"String", "char", "byte", "short", "long", "double", "Array",
                        "ArrayList", "Queue", "Stack", "Set", "HashMap", "Hashtable"})
JS_TYPES = frozenset({"String", "Boolean", "Bigint"})


def bfcl_type_to_json_schema(schema: Any) -> Any:
    """Map one BFCL (parameter) schema to JSON Schema, recursively; the input is not changed.

    Unknown type names are kept as they are (``check_schema`` then reports them).
    """
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "type" and isinstance(value, str) and value in _JSON_TYPE:
            json_type = _JSON_TYPE[value]
            if json_type is not None:
                out["type"] = json_type
            if value not in _PLAIN:
                out["x-bfcl-type"] = value
        elif key == "properties" and isinstance(value, dict):
            out[key] = {name: bfcl_type_to_json_schema(s) for name, s in value.items()}
        elif key in ("items", "additionalProperties"):
            out[key] = bfcl_type_to_json_schema(value)
        else:
            out[key] = value
    return out


def json_schema_to_bfcl_type(schema: Any) -> Any:
    """The reverse of ``bfcl_type_to_json_schema`` (exact for schemas it produced)."""
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    original = schema.get("x-bfcl-type")
    for key, value in schema.items():
        if key == "x-bfcl-type":
            continue
        if key == "type":
            out["type"] = original if isinstance(original, str) else _back(value)
        elif key == "properties" and isinstance(value, dict):
            out[key] = {name: json_schema_to_bfcl_type(s) for name, s in value.items()}
        elif key in ("items", "additionalProperties"):
            out[key] = json_schema_to_bfcl_type(value)
        else:
            out[key] = value
    if "type" not in out and isinstance(original, str):
        out["type"] = original  # "any" and "" carry no JSON type
    if "type" in out:  # BFCL puts "type" first; keep its key order
        out = {"type": out.pop("type"), **out}
    return out


def _back(json_type: Any) -> Any:
    if isinstance(json_type, list):  # a union: BFCL has no such thing, say "any"
        return "any"
    return _BACK.get(json_type, json_type)


def function_to_tool(doc: dict[str, Any]) -> dict[str, Any]:
    """One BFCL function doc -> one OpenAI-style tool (``response`` schemas are dropped)."""
    params = doc.get("parameters")
    parameters = (bfcl_type_to_json_schema(params) if isinstance(params, dict)
                  else {"type": "object", "properties": {}})
    return {"type": "function",
            "function": {"name": doc.get("name"), "description": doc.get("description") or "",
                         "parameters": parameters}}


def tool_to_function(tool: dict[str, Any]) -> dict[str, Any]:
    """One tool (``ToolSpec`` dump) -> a BFCL function doc."""
    fn = tool["function"]
    return {"name": fn["name"], "description": fn.get("description", ""),
            "parameters": json_schema_to_bfcl_type(fn.get("parameters") or {})}


def language_of(category: str) -> str:
    """BFCL's checker language, decided by category as BFCL does (``is_java`` / ``is_js``)."""
    if "javascript" in category:
        return "javascript"
    if "java" in category:
        return "java"
    return "python"


def native_types(docs: list[dict[str, Any]]) -> list[str]:
    """The language-specific type names a set of docs uses (for ``meta.bfcl``)."""
    found: set[str] = set()

    def walk(s: Any) -> None:
        if not isinstance(s, dict):
            return
        t = s.get("type")
        if isinstance(t, str) and (t in JAVA_TYPES or t in JS_TYPES):
            found.add(t)
        props = s.get("properties")
        for sub in props.values() if isinstance(props, dict) else ():
            walk(sub)
        walk(s.get("items"))

    for doc in docs:
        walk(doc.get("parameters"))
    return sorted(found)
