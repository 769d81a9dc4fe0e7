"""The GitLab CI job that runs nhi-gate, read as facts for NHI102 (`checker.checks.policy_files`
decides; `checker.commands.gitlab_gate` reads the files from git).

A merge request pipeline runs the merge request's own `.gitlab-ci.yml` and the files it
includes, so an agent that edits the job running nhi-gate (`allow_failure: true`, a `script:`
that exits 0, an override of the job in an included file) or the scripts it runs edits the
gate itself, as for a GitHub workflow (`checker.parsers.gate_job`).

What is recorded, per GitLab CI file (`gitlab_gate_facts`):
- `job:<name>\\t<JSON>` for each gate job: a job whose name or `before_script`/`script`/
  `after_script` text names nhi-gate, and `template:<name>\\t<JSON>` for each job of the same
  file it `extends:` (transitively);
- `global:<key>\\t<JSON>` for each top-level key that shapes every job of the pipeline
  (`default`, `include`: an added file may redefine the job, `variables`, `image`,
  `services`, `cache`, `before_script`, `after_script`, `workflow`), recorded whether or not
  the file holds a gate job (a `default:` in `.gitlab-ci.yml` reaches a job in an included
  file); the caller compares them only in a pipeline that has a gate job.

The JSON is the value as YAML means it (keys sorted; comments, quoting, layout and key order
are not part of it), so reformatting the file changes no fact.

`gitlab_gate_runs` records the files a gate job runs (`before_script` and `script`, also the
top-level and `default:` `before_script`), read as `checker.parsers.gate_job.run_files` reads
a workflow's `run:` from the repository root.

Sources: https://docs.gitlab.com/ci/yaml/ (`default`, `extends`, `include`, job keywords),
https://docs.gitlab.com/ci/yaml/includes/#merge-method-for-include (an included file's job
merges with the job of the same name).
"""

from __future__ import annotations

import json
import re

from yaml.nodes import MappingNode, Node, SequenceNode

from checker.decode import utf8
from checker.lazy_patterns import lazy_compile
from checker.parsers.gate_job import Runs, run_files
from checker.safeyaml import get, items, scalar_text, sequence, to_python
from checker.safeyaml.load import load_text

_GATE = lazy_compile(r"nhi-gate", re.IGNORECASE)
#: Top-level keys that are not jobs; the first group shapes every job (see the module doc).
_GLOBAL = ("default", "include", "variables", "image", "services", "cache", "before_script",
           "after_script", "workflow")
_NOT_JOBS = frozenset({*_GLOBAL, "stages", "spec", "pages"})
_SCRIPTS = ("before_script", "script", "after_script")


def _root(path: str, blob: bytes | None) -> MappingNode | bool | None:
    """The file's top mapping; False when it cannot be read (not UTF-8, not YAML)."""
    if blob is None:
        return None
    text = utf8(blob)
    if text is None:
        return False
    stream = load_text(text, path)
    if stream.problem is not None:
        return False
    return next((d for d in stream.documents if isinstance(d, MappingNode)), None)


def _script_text(node: Node | None) -> str:
    """A `script:`-like value as shell text: a string, or a list's lines joined."""
    if isinstance(node, SequenceNode):
        return "\n".join(_script_text(n) for n in node.value)
    return scalar_text(node) or ""


def _gate_jobs(root: MappingNode) -> list[tuple[str, Node]]:
    """(name, job) of each job that names nhi-gate in its name or scripts."""
    return [(name, job) for name, _, job in items(root)
            if name not in _NOT_JOBS and isinstance(job, MappingNode) and (
                _GATE.search(name) or any(_GATE.search(_script_text(get(job, k)))
                                          for k in _SCRIPTS))]


def _json(node: Node) -> str:
    return json.dumps(to_python(node), sort_keys=True, default=str)


def gitlab_gate_facts(path: str, blob: bytes | None) -> frozenset[str] | None:
    """The gate facts of GitLab CI file `path` as `blob` holds it (module doc); an empty set
    for an absent file, None for one that cannot be read."""
    root = _root(path, blob)
    if root is False:
        return None
    if not isinstance(root, MappingNode):
        return frozenset()
    jobs = {name: job for name, _, job in items(root)}
    out = {f"global:{key}\t{_json(value)}" for key, _, value in items(root) if key in _GLOBAL}
    todo: list[str] = []
    for name, job in _gate_jobs(root):
        out.add(f"job:{name}\t{_json(job)}")
        todo.extend(_extends(job))
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen or name not in jobs:
            continue
        seen.add(name)
        out.add(f"template:{name}\t{_json(jobs[name])}")
        todo.extend(_extends(jobs[name]))
    return frozenset(out)


def _extends(job: Node) -> list[str]:
    node = get(job, "extends")
    names = [scalar_text(n) for n in sequence(node)] if isinstance(node, SequenceNode) else [
        scalar_text(node)]
    return [n for n in names if n]


def names_gate(blob: bytes | None) -> bool:
    """True when a GitLab CI file holds a gate job (module doc)."""
    root = _root("", blob) if blob is not None and b"nhi-gate" in blob.lower() else None
    return isinstance(root, MappingNode) and bool(_gate_jobs(root))


def gitlab_gate_runs(path: str, blob: bytes | None, gated: bool) -> Runs:
    """The repository files the gate jobs of GitLab CI file `path` run before their check
    (module doc), each mapped to how; with `gated` (the pipeline has a gate job) also the
    file's top-level and `default:` `before_script`. {} for an unreadable file."""
    root = _root(path, blob)
    if not isinstance(root, MappingNode):
        return {}
    out: Runs = {}
    for name, job in _gate_jobs(root):
        for key in ("before_script", "script"):
            text = _script_text(get(job, key))
            out.update(run_files(text, "", f"`{key}:` of GitLab job `{name}` in {path}"))
    if gated:
        for where, node in (("", root), ("default.", get(root, "default"))):
            text = _script_text(get(node, "before_script"))
            out.update(run_files(text, "", f"`{where}before_script:` of {path}"))
    return out
