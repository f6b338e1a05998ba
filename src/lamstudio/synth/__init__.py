"""Data synthesis. For now: the offline quickstart generator (bundled tools and templates)."""

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
from lamstudio.synth._apigen_mt_traj import (
    TRAJ_REASONS,
    TrajectoryConfig,
    TrajectoryRun,
    read_blueprints,
    trajectories,
    write_trajectories,
)
from lamstudio.synth._check import argument_issues, record_issues
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

__all__ = [
    "PHASES", "POLICY_RULES", "BlueprintConfig", "BlueprintRun", "blueprints", "check_format",
    "execute", "parse_json_object", "sample_grounding", "write_blueprints", "TRAJ_REASONS",
    "TrajectoryConfig", "TrajectoryRun", "read_blueprints", "trajectories",
    "write_trajectories",
    "CATEGORIES", "TRAIN_WEIGHTS", "Pools", "QuickstartData", "Template", "ToolKit",
    "argument_issues", "combo_key", "combo_split", "generate", "load_toolkits", "load_values",
    "record_issues", "write_quickstart_data",
]
