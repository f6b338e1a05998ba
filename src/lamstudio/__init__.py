"""lamstudio: build large action models (tool-calling LLMs), end to end."""

__version__ = "0.1.0"
