"""Write tau2-bench's own tool schemas (as the agent sees them) to
src/lamstudio/data/tau2/<domain>_tools.json, each tool marked read / write / generic.

Run with a Python that imports tau2's environments (``.venv-tau2``, see
tests/envs/conftest.py): ``.venv-tau2/bin/python scripts/tau2_tool_schemas.py``.
The agreement test checks the committed files still equal what tau2 produces.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src" / "lamstudio" / "data" / "tau2"


def schemas(domain: str) -> list[dict]:
    import importlib

    env = importlib.import_module(f"tau2.domains.{domain}.environment").get_environment()
    kinds = {name: env.tools.tool_type(name).value for name in env.tools.get_tools()}
    return [{**t.openai_schema, "x-tau2-kind": kinds[t.name]} for t in env.get_tools()]


if __name__ == "__main__":
    for domain in sys.argv[1:] or ["retail", "airline"]:
        path = OUT / f"{domain}_tools.json"
        path.write_text(json.dumps(schemas(domain), indent=1) + "\n")
        print(f"wrote {path}")
