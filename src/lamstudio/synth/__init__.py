"""Data synthesis: APIGen-style single-turn generation (``apigen``) behind any
OpenAI-compatible endpoint or a local model, and the offline quickstart generator."""

from lamstudio.synth._apigen import ApigenResult, apigen, make_backend
from lamstudio.synth._apigen_mt import (
    PHASES,
    BlueprintConfig,
    BlueprintRun,
    blueprints,
    check_format,
    execute,
    parse_json_object,
    sample_grounding,
    write_blueprints,
)
from lamstudio.synth._apigen_mt_policy import POLICY_RULES
from lamstudio.synth._apigen_mt_rex import blueprint_reward
from lamstudio.synth._apigen_mt_traj import (
    TRAJ_REASONS,
    TrajectoryConfig,
    TrajectoryRun,
    read_blueprints,
    trajectories,
    write_trajectories,
)
from lamstudio.synth._check import argument_issues, record_issues
from lamstudio.synth._config import (
    DEFAULT_STYLE_WEIGHTS,
    STAGES,
    ApigenConfig,
    ApigenConfigError,
    BackendConfig,
)
from lamstudio.synth._parse import parse_reply, style_verdict
from lamstudio.synth._plan import Task, make_plan
from lamstudio.synth._pool import PoolTool, ToolPool, tools_from_file
from lamstudio.synth._prompts import (
    STYLES,
    PromptTemplate,
    SeedExample,
    build_messages,
    bundled_seed_file,
    load_refusals,
    load_seeds,
    load_templates,
)
from lamstudio.synth._quickstart_data import (
    CATEGORIES,
    TRAIN_WEIGHTS,
    QuickstartData,
    combo_key,
    combo_split,
    generate,
    write_quickstart_data,
)
from lamstudio.synth._templates import Pools, Template, ToolKit, load_toolkits, load_values
from lamstudio.synth._yields import FUNNEL, YieldTally, build_yield_report

__all__ = [
    "PHASES", "POLICY_RULES", "TRAJ_REASONS", "BlueprintConfig", "BlueprintRun",
    "TrajectoryConfig", "TrajectoryRun", "blueprint_reward", "blueprints", "check_format",
    "execute", "parse_json_object", "read_blueprints", "sample_grounding", "trajectories",
    "write_blueprints", "write_trajectories",
    "CATEGORIES", "DEFAULT_STYLE_WEIGHTS", "FUNNEL", "STAGES", "STYLES", "TRAIN_WEIGHTS",
    "ApigenConfig", "ApigenConfigError", "ApigenResult", "BackendConfig", "Pools", "PoolTool",
    "PromptTemplate", "QuickstartData", "SeedExample", "Task", "Template", "ToolKit", "ToolPool",
    "YieldTally", "apigen", "argument_issues", "build_messages", "build_yield_report",
    "bundled_seed_file", "combo_key", "combo_split", "generate", "load_refusals", "load_seeds",
    "load_templates", "load_toolkits", "load_values", "make_backend", "make_plan",
    "parse_reply", "record_issues", "style_verdict", "tools_from_file", "write_quickstart_data",
]
