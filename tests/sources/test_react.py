"""ReAct text: Thought / Action / Action Input / Observation / Final Answer blocks become
assistant thoughts, tool calls, tool results and a final answer; bad order names the line."""

import pytest

from lamstudio.schema import Trajectory
from lamstudio.sources import SourceError, react

SEARCH = {"name": "search", "description": "Search.", "parameters": {
    "type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}}
TEXT = """Thought: I need both founding years.
Action: search
Action Input: {"query": "Arthur's Magazine"}
Observation: Arthur's Magazine (1844–1846) was a literary periodical.
It was published in Philadelphia.
Thought: Now the other one.
Action: search
Action Input: First for Women
Observation: First for Women was started in 1989.
Thought: 1844 < 1989.
Final Answer: Arthur's Magazine"""


def test_row_becomes_the_exact_record(load_rows):
    row = {"id": "r-1", "question": "Which magazine is older?", "tools": [SEARCH],
           "trajectory": TEXT}
    records, rejects = load_rows(react, [row])
    assert rejects == []

    def turn(thought, cid, query):
        return {"role": "assistant", "content": thought, "tool_calls": [
            {"id": cid, "function": {"name": "search", "arguments": {"query": query}}}]}

    assert records == [Trajectory.model_validate({
        "id": "r-1", "tools": [{"type": "function", "function": SEARCH}],
        "messages": [
            {"role": "user", "content": "Which magazine is older?"},
            turn("I need both founding years.", "call_1_0", "Arthur's Magazine"),
            {"role": "tool", "tool_call_id": "call_1_0", "name": "search", "content":
             "Arthur's Magazine (1844–1846) was a literary periodical.\n"
             "It was published in Philadelphia."},
            # Plain-text input goes to the tool's only parameter.
            turn("Now the other one.", "call_3_0", "First for Women"),
            {"role": "tool", "tool_call_id": "call_3_0", "name": "search",
             "content": "First for Women was started in 1989."},
            {"role": "assistant", "content": "1844 < 1989."},
            {"role": "assistant", "content": "Arthur's Magazine"}]})]


def test_fireact_numbered_bracket_style(load_rows):
    text = ("Thought 1: Search it.\nAction 1: Search[Colorado orogeny]\n"
            "Observation 1: A mountain-building episode.\nThought 2: Done.\n"
            "Action 2: Finish[mountains]")
    (record,), rejects = load_rows(react, [{"question": "q", "trajectory": text}])
    assert rejects == []
    assert record.calls()[0].model_dump() == {"name": "Search",
                                              "arguments": {"input": "Colorado orogeny"}}
    assert [m.content for m in record.messages[-2:]] == ["Done.", "mountains"]


def test_questions_in_the_text_and_parallel_actions(load_rows):
    text = ("Question: Weather in Cairo and Athens?\nAction: search\nAction Input: Cairo\n"
            "Action: search\nAction Input: Athens\nObservation: 29\nObservation: 21\n"
            "Final Answer: Cairo.\nQuestion: Thanks!\nFinal Answer: You're welcome.")
    (record,), rejects = load_rows(react, [{"trajectory": text, "tools": [SEARCH]}])
    assert rejects == []
    assert [m.role for m in record.messages] == ["user", "assistant", "tool", "tool",
                                                 "assistant", "user", "assistant"]
    assert [c.function.arguments for c in record.messages[1].tool_calls] == [{"query": "Cairo"},
                                                                   {"query": "Athens"}]
    assert [m.tool_call_id for m in record.messages[2:4]] == ["call_1_0", "call_1_1"]


def test_dump_writes_langchain_style_that_reads_back_the_same(load_rows):
    row = {"id": "r-1", "question": "Which magazine is older?", "tools": [SEARCH],
           "trajectory": TEXT}
    (record,), _ = load_rows(react, [row])
    out = react.to_row(record)
    assert out["question"] == "Which magazine is older?"
    assert out["trajectory"].splitlines()[:3] == [
        "Thought: I need both founding years.", "Action: search",
        "Action Input: {\"query\": \"Arthur's Magazine\"}"]
    assert out["trajectory"].endswith("Thought: 1844 < 1989.\nFinal Answer: Arthur's Magazine")
    assert Trajectory.model_validate(react.from_row(out)) == record


def test_text_before_the_first_keyword_is_a_thought(load_rows):
    (record,), _ = load_rows(react, [{"question": "q", "trajectory":
                                      " I know this.\nFinal Answer: 42"}])
    assert [m.content for m in record.messages] == ["q", "I know this.", "42"]


@pytest.mark.parametrize(("text", "line", "what"), [
    ("Thought: a\nAction: search\nAction Input: x\nObservation: r\nObservation: again\n"
     "Final Answer: b", 5, "Observation without an Action"),
    ("Action Input: {}\nFinal Answer: b", 1, "Action Input without an Action"),
    ("Action: search\nAction Input: a\nAction Input: b", 3, "Action Input without an Action"),
    ("Thought: a\nThought: b\nFinal Answer: c", 1, "Thought is followed by Thought"),
    ("Action: search\nAction Input: a\nObservation: r\nThought: dangling", 4,
     "not followed by an Action"),
    ("Thought: a\nQuestion: b", 1, "followed by Question"),
    ("Action: \nFinal Answer: b", 1, "Action must name one tool"),
])
def test_blocks_out_of_order_are_rejected_with_their_line(reject_of, text, line, what):
    reject = reject_of(react, {"id": "bad", "question": "q", "trajectory": text})
    assert (reject.code, reject.field) == ("react_parse_error", "trajectory")
    assert f"line {line}:" in reject.message and what in reject.message, reject.message


@pytest.mark.parametrize(("bad", "code", "field"), [
    ({"trajectory": None}, "missing_field", "trajectory"),
    ({"trajectory": ["Thought: a"]}, "wrong_type", "trajectory"),
    ({"question": 1}, "wrong_type", "question"),
    ({"tools": "[{"}, "bad_tools_json", "tools"),
])
def test_bad_fields_are_rejected_with_reason_and_field(reject_of, bad, code, field):
    reject = reject_of(react, {"id": "bad", "question": "q", "trajectory": "Final Answer: a",
                               **bad})
    assert (reject.code, reject.field) == (code, field), reject.message


def test_dump_refuses_what_react_text_cannot_hold():
    record = Trajectory.model_validate({"id": "s", "messages": [
        {"role": "user", "content": "a"}, {"role": "system", "content": "mid-way rule"}]})
    with pytest.raises(SourceError) as err:
        react.to_row(record)
    assert err.value.code == "unsupported_message" and err.value.field == "messages[1]"
