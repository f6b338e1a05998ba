"""vLLM tool-parser plugin: ``--tool-parser-plugin THIS_FILE --tool-call-parser lamstudio``.

Loaded by vLLM only (lamstudio never imports it). A thin adapter: the parsing is
``lamstudio.serve.vllm_extract`` and ``lamstudio.serve.StreamParser``, which lamstudio's own
server uses too and which are tested without vLLM.
"""
# ruff: noqa: I001
from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from lamstudio.serve import StreamParser, vllm_extract

try:  # vLLM moved the tool parsers out of entrypoints (0.11 -> 0.12)
    from vllm.tool_parsers.abstract_tool_parser import ToolParser, ToolParserManager
except ImportError:
    from vllm.entrypoints.openai.tool_parsers.abstract_tool_parser import (
        ToolParser, ToolParserManager)
try:
    from vllm.entrypoints.openai.protocol import (
        DeltaFunctionCall, DeltaMessage, DeltaToolCall, ExtractedToolCallInformation,
        FunctionCall, ToolCall)
except ImportError:
    from vllm.entrypoints.openai.engine.protocol import (  # type: ignore[no-redef]
        DeltaFunctionCall, DeltaMessage, DeltaToolCall, ExtractedToolCallInformation,
        FunctionCall, ToolCall)


@ToolParserManager.register_module("lamstudio")
class LamstudioToolParser(ToolParser):
    def __init__(self, tokenizer: Any) -> None:
        super().__init__(tokenizer)
        self._stream = StreamParser()
        self._end_ids = {tokenizer.eos_token_id}
        vocab = tokenizer.get_vocab()
        self._end_ids |= {vocab[t] for t in ("<|end|>", "<|im_end|>") if t in vocab}

    def adjust_request(self, request: Any) -> Any:
        # [TOOL_CALLS] is a special token: keep it in the text the parser reads.
        request.skip_special_tokens = False
        return request

    def extract_tool_calls(self, model_output: str, request: Any,
                           token_ids: Sequence[int] | None = None) -> Any:
        out = vllm_extract(model_output)
        calls = [ToolCall(type="function", function=FunctionCall(**c))
                 for c in out["tool_calls"]]
        return ExtractedToolCallInformation(tools_called=out["tools_called"], tool_calls=calls,
                                            content=out["content"])

    def extract_tool_calls_streaming(self, previous_text: str, current_text: str,
                                     delta_text: str, previous_token_ids: Sequence[int],
                                     current_token_ids: Sequence[int],
                                     delta_token_ids: Sequence[int], request: Any) -> Any:
        deltas = self._stream.feed(delta_text)
        if self._end_ids & set(delta_token_ids):  # the end token: flush what was held back
            deltas += self._stream.finish()[0]
        content = "".join(d.content for d in deltas if d.content)
        calls = []
        for d in deltas:
            if d.call is None:
                continue
            args = json.dumps(d.call.arguments, ensure_ascii=False)
            # vLLM's end-of-stream check compares these with what it streamed.
            self.prev_tool_call_arr.append({"name": d.call.name, "arguments": d.call.arguments})
            self.streamed_args_for_tool.append(args)
            self.current_tool_id = d.index
            calls.append(DeltaToolCall(index=d.index, type="function",
                                       id=f"call_{d.index}_{id(self):x}",
                                       function=DeltaFunctionCall(name=d.call.name,
                                                                  arguments=args)
                                       .model_dump(exclude_none=True)))
        if not content and not calls:
            return None
        return DeltaMessage(content=content or None, tool_calls=calls)
