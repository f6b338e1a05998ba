"""``synth apigen``'s input files with hostile JSON: a clear ``InputError`` naming the file
(and line) and the reason code, before anything is generated, never a traceback."""

from __future__ import annotations

import json

import pytest
from tests.support.hostile import HUGE_INT_TEXT, deep_json

from lamstudio.io import InputError
from lamstudio.synth import tools_from_file
from lamstudio.synth._prompts import load_templates


@pytest.mark.parametrize("tools, code", [(deep_json(100_000), "too_deep"),
                                         ("[" + HUGE_INT_TEXT + "]", "number_too_large"),
                                         ('[{"name": "f\\ud800"}]', "bad_encoding")])
def test_an_xlam_tool_string_that_cannot_be_read_names_the_line(tmp_path, tools, code):
    good = {"query": "q", "answers": "[]", "tools": json.dumps([{"name": "f", "parameters": {}}])}
    bad = {"query": "q", "answers": "[]", "tools": tools}
    path = tmp_path / "xlam.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    with pytest.raises(InputError, match=f"xlam.jsonl:2: .*{code}"):
        list(tools_from_file(path))


@pytest.mark.parametrize("text, code", [('{"templates": ' + deep_json(100_000) + "}",
                                         "too_deep"),
                                        ('{"templates": [' + HUGE_INT_TEXT + "]}",
                                         "number_too_large")])
def test_a_prompts_file_that_cannot_be_read_is_an_input_error(tmp_path, text, code):
    path = tmp_path / "prompts.json"
    path.write_text(text)
    with pytest.raises(InputError, match=f"prompts.json: .*{code}"):
        load_templates(path)
    path.write_text('{"templates": [1]}')
    with pytest.raises(InputError, match=r"templates\[0\] is not an object"):
        load_templates(path)
