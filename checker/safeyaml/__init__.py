"""Safe YAML for the Kubernetes, GitHub Actions and GitLab CI parsers (and the config loader).

A YAML stream is composed into PyYAML's node graph and kept: nodes carry 0-based marks, so line
numbers stay beside the data instead of inside it.
- `load`: compose a file or text within node, depth and alias budgets; bad input comes back as
  an NHI901/NHI902/NHI903 `ParseProblem`, never as an exception;
- `nodes`: read the graph (`get`, `get_path`, `items`, `line_of`, `end_line_of`, `to_python`);
- `limits`: the budgets and `measure`, the memoised walk that enforces them.

Callers import from the package: `from checker.safeyaml import get, line_of, load_source`.
"""

from checker.safeyaml.limits import (
    MAX_DEPTH,
    MAX_NODES,
    MAX_TOTAL_NODES,
    YamlLimitError,
    measure,
)
from checker.safeyaml.load import LOADER, YamlStream, load_source, load_text
from checker.safeyaml.nodes import (
    YValue,
    end_line_of,
    get,
    get_entry,
    get_path,
    items,
    key_line,
    line_of,
    scalar,
    scalar_text,
    sequence,
    to_python,
)

__all__ = [
    "LOADER",
    "MAX_DEPTH",
    "MAX_NODES",
    "MAX_TOTAL_NODES",
    "YValue",
    "YamlLimitError",
    "YamlStream",
    "end_line_of",
    "get",
    "get_entry",
    "get_path",
    "items",
    "key_line",
    "line_of",
    "load_source",
    "load_text",
    "measure",
    "scalar",
    "scalar_text",
    "sequence",
    "to_python",
]
