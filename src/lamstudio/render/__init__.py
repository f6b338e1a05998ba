"""Render trajectories with a chat template, label assistant tokens, pack, parse output.

The template that renders training data is the one whose output ``parse_output`` reads at
inference (see ``DESIGN.md``).
"""

from lamstudio.render._check import CheckFailure, check_record
from lamstudio.render._collate import collate_packed, collate_padded
from lamstudio.render._encode import IGNORE_INDEX, Encoded, Renderer, RenderError, chat_of
from lamstudio.render._literal import Rendered
from lamstudio.render._pack import Packed, PackResult, PackStats, pack
from lamstudio.render._parse import ParsedOutput, parse_output, render_calls
from lamstudio.render._templates import (
    CALL_STYLES,
    CHATML_TOOLS_TEMPLATE,
    DEFAULT_SPECIAL_TOKENS,
    DEFAULT_TEMPLATE,
    EOS_TOKEN,
    PAD_TOKEN,
    TEMPLATES,
    TOOL_CALLS_MARKER,
    template_renders_tools,
)

__all__ = [
    "CALL_STYLES", "CHATML_TOOLS_TEMPLATE", "DEFAULT_SPECIAL_TOKENS", "DEFAULT_TEMPLATE",
    "EOS_TOKEN", "IGNORE_INDEX", "PAD_TOKEN", "TEMPLATES", "TOOL_CALLS_MARKER", "CheckFailure",
    "Encoded", "PackResult", "PackStats", "Packed", "ParsedOutput", "RenderError", "Rendered",
    "Renderer",
    "chat_of", "check_record", "collate_packed", "collate_padded", "pack", "parse_output",
    "render_calls", "template_renders_tools",
]
