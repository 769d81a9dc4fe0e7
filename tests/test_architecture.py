"""The shape of `checker/` (DESIGN.md "Data flow", "Layout"): imports go one way along the
pipeline, no cycles, no module over 400 lines, and every rule id is one check, one docs entry
and one fixture folder or git scenario."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from checker.checks import CHECKS
from checker.checks.engine import PROBLEM_RULES
from checker.policy.rule_docs import load_rule_docs

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "checker"
MAX_LINES = 400

#: Stage of each top-level module or package -> what it may import (besides itself). The
#: figure in DESIGN.md, as data: model/change are the shared vocabulary; policy judges; git and
#: sources read; parsers and secrets turn files into identities; provenance says who wrote
#: them; checks find problems; approval says who approved; gate decides; reporters print;
#: pipeline, commands and cli put it together.
BASE = {"model", "change", "errors", "fingerprint", "globs", "decode", "safeyaml",
        "lazy_patterns", "paths"}
ALLOWED: dict[str, set[str]] = {
    "model": {"change"},
    "change": set(),
    "errors": set(),
    "fingerprint": set(),
    "globs": set(),
    "lazy_patterns": set(),
    "paths": set(),
    "decode": {"model"},
    "safeyaml": {"model", "change", "errors", "decode", "lazy_patterns"},
    "policy": BASE,
    "git": BASE | {"policy"},
    "sources": BASE | {"policy", "parsers", "secrets"},
    "parsers": BASE | {"policy"},
    "secrets": BASE | {"policy", "parsers"},
    "provenance": BASE | {"policy"},
    "checks": BASE | {"policy", "provenance"},
    "approval": BASE | {"policy", "provenance"},
    "gate": BASE,
    "ledger": BASE | {"policy", "provenance", "checks"},
    "reporters": BASE | {"policy"},
    "pipeline": BASE | {"policy", "sources", "parsers", "secrets", "provenance", "checks",
                        "approval", "gate"},
}
#: Only these may import `checker.git` and the GitHub API adapter (they do I/O).
IO_IMPORTERS = {"commands", "cli", "action"}


def _modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        yield ".".join(parts), path


def _imports(name: str, path: Path) -> Iterator[tuple[str, bool, bool]]:
    """(imported checker module, at module top level, under TYPE_CHECKING)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]

    def visit(node: ast.AST, top: bool, typing_only: bool) -> Iterator[tuple[str, bool, bool]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                yield from visit(child, top, True)
                continue
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield alias.name, top, typing_only
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - child.level + 1]
                                    + ([base] if base else []))
                for alias in child.names:
                    yield f"{base}.{alias.name}", top, typing_only
            inner = top and not isinstance(
                child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            yield from visit(child, inner, typing_only)

    for target, top, typing_only in visit(tree, True, False):
        if target == "checker" or target.startswith("checker."):
            yield target, top, typing_only


MODULES = dict(_modules())


def _resolve(target: str) -> str | None:
    """The checker module `target` names (`checker.checks.api.Hit` -> `checker.checks.api`)."""
    while target and target not in MODULES:
        target = target.rpartition(".")[0]
    return target or None


def _stage(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "checker"


def _edges(runtime_only: bool = True) -> set[tuple[str, str, bool]]:
    out: set[tuple[str, str, bool]] = set()
    for name, path in MODULES.items():
        for target, top, typing_only in _imports(name, path):
            resolved = _resolve(target)
            if resolved is None or resolved == name or (runtime_only and typing_only):
                continue
            out.add((name, resolved, top))
    return out


#: The only function-level imports of nhi-gate's own modules, each for start-up time or to keep
#: a heavy library out of runs that do not need it: (importing module, imported module) -> why.
LAZY_IMPORTS: dict[tuple[str, str], str] = {
    **{("checker.commands", f"checker.commands.{name}"): "one subcommand loaded per run"
       for name in ("check", "hook", "approvals", "verdict", "demo", "scan", "baseline",
                    "commit_msg", "inventory", "ledger", "rules")},
    ("checker.commands", "checker.pipeline"): "the parse worker forks before GitPython loads",
    ("checker.cli", "checker.cli_args"): "a pre-commit hook's parse worker forks before argparse",
    ("checker.commands.inventory", "checker.commands.inventory_history"):
        "GitPython only when inventory reads history",
    ("checker.commands", "checker.policy.catalogue"): "loaded once, before the fork",
    ("checker.commands", "checker.sources.worker"): "the parse worker is started per run",
    ("checker.commands", "checker.policy.privileges"): "loaded while the worker parses",
    ("checker.commands", "checker.policy.rule_docs"): "loaded while the worker parses",
    ("checker.commands", "checker.sources.discovery"): "a hook's FILE arguments, before the fork",
    ("checker.commands.approvals", "checker.approval.github_api"): "PyGithub only for a PR",
    ("checker.commands.ledger", "checker.commands.ledger_reviews"): "PyGithub only for reviews",
    **{("checker.commands.report", f"checker.reporters.{name}"): "sarif-om only for SARIF"
       for name in ("json_report", "sarif", "github", "text")},
    **{("checker.parsers", f"checker.parsers.{name}"): "python-hcl2 only when a parser runs"
       for name in ("github_actions", "gitlab_ci", "kubernetes", "mcp", "terraform")},
    ("checker.pipeline", "checker.sources.prefilter"): "built only when files are parsed",
    ("checker.pipeline", "checker.parsers.terraform"): "python-hcl2 loads in the worker",
    ("checker.pipeline", "checker.secrets"): "detect-secrets loads in the worker",
    ("checker.pipeline", "checker.parsers.rendered"): "the Kubernetes parser only on a render",
    ("checker.pipeline", "checker.sources.render.chart_problems"): "only on a render",
    **{("checker.pipeline", name): "the checks load while the worker parses"
       for name in ("checker.approval.apply", "checker.checks.api", "checker.checks.engine",
                    "checker.checks.repeats", "checker.checks.suppressions", "checker.gate",
                    "checker.policy.rule_docs")},
    ("checker.commands.history", "checker.sources.history"):
        "the secret scan loads here only for a range whose commits wrote what head no longer has",
    ("checker.commands.git_sources", "checker.secrets.large_text"):
        "the secret scan loads in the worker; only a file over the size budget needs it here",
    ("checker.sources.render.kustomize_batch", "checker.sources.render"):
        "the render package imports the batch module (an import cycle otherwise)",
    ("checker.policy.config", "checker.safeyaml"): "only when a config file exists",
    ("checker.policy.config", "checker.policy.rule_docs"): "only when a config names rules",
    ("checker.policy.privileges", "checker.policy.aws_iam"): "policy_sentry only for AWS",
    ("checker.secrets.terraform_sinks", "checker.parsers.terraform.hcl"): "python-hcl2",
    ("checker.parsers.terraform.hcl", "checker.parsers.terraform.hcl_inline"):
        "lark and python-hcl2's grammar only for a text the fast path (hcl_fast) does not read",
    ("checker.parsers.merge_protection", "checker.parsers.terraform.hcl"):
        "python-hcl2 only when a change holds GitHub merge protection",
    ("checker.parsers.merge_protection", "checker.parsers.terraform.protection_values"):
        "python-hcl2 only when a change holds GitHub merge protection",
}


def test_function_level_imports_are_the_listed_lazy_ones() -> None:
    found = {(importer, imported) for importer, imported, top in _edges(runtime_only=False)
             if not top}
    assert found - set(LAZY_IMPORTS) == set()
    assert set(LAZY_IMPORTS) - found == set()


def test_no_module_over_400_lines() -> None:
    long = {name: n for name, path in MODULES.items()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def test_imports_follow_the_data_flow() -> None:
    wrong: list[str] = []
    for importer, imported, _ in _edges(runtime_only=False):
        src, dst = _stage(importer), _stage(imported)
        if src == dst or src not in ALLOWED:
            continue
        if dst not in ALLOWED[src]:
            wrong.append(f"{importer} -> {imported}")
    assert wrong == []


def test_only_commands_do_git_and_github_io() -> None:
    wrong = sorted(
        f"{importer} -> {imported}" for importer, imported, _ in _edges(runtime_only=False)
        if (imported.startswith("checker.git") or imported == "checker.approval.github_api")
        and _stage(importer) not in IO_IMPORTERS | {"git"}
    )
    assert wrong == []


def test_only_the_pipeline_imports_both_parsers_and_checks() -> None:
    reach: dict[str, set[str]] = {}
    for importer, imported, _ in _edges(runtime_only=False):
        reach.setdefault(importer, set()).add(_stage(imported))
    both = sorted(m for m, stages in reach.items()
                  if {"parsers", "checks"} <= stages and _stage(m) not in ("pipeline",))
    assert both == []


def test_no_import_cycle() -> None:
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for importer, imported, _ in _edges():
        graph[importer].add(imported)
    # Tarjan's strongly connected components; a component of more than one module is a cycle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    assert cycles == []


# ------------------------------------------------------------------------------ rule catalogue

FIXTURES = ROOT / "fixtures"
#: Rules that need git (commits, authors, approvals) and so have a scenario folder under
#: fixtures/scenarios/ instead of a fixtures/rules/<ID>/ folder: id -> scenario names.
GIT_ONLY: dict[str, tuple[str, ...]] = {
    "NHI101": ("tf-local-widened-in-unchanged-file", "approval-on-head-by-allowed-human"),
    "NHI102": ("approval-codeowners-changed-by-agent",),
    "NHI103": ("approval-agent-pr-author-no-requester",),
    "NHI104": ("approval-unsigned-agent-commit-required-signed",),
    "NHI105": ("scan-invalid-inline-suppression",),
    "NHI302": ("tf-local-widened-in-unchanged-file",),
    "NHI902": ("scan-unreadable-file",),
    "NHI903": ("scan-yaml-over-budget",),
}
_LEVEL = re.compile(r"^(error|warning|note)$")


def test_every_rule_is_one_check_and_one_docs_entry() -> None:
    assert set(CHECKS) | set(PROBLEM_RULES) == set(load_rule_docs())
    assert not set(CHECKS) & set(PROBLEM_RULES)


@pytest.mark.parametrize("rule_id", sorted(set(CHECKS) | set(PROBLEM_RULES)))
def test_every_rule_has_fixtures_or_a_scenario(rule_id: str) -> None:
    folder = FIXTURES / "rules" / rule_id
    if folder.is_dir():
        assert any(p.name.startswith("fail") for p in folder.iterdir()), folder
        return
    scenarios = GIT_ONLY.get(rule_id, ())
    assert scenarios, f"{rule_id} has neither fixtures/rules/{rule_id}/ nor a scenario"
    for name in scenarios:
        expected = (FIXTURES / "scenarios" / name / "expected.json").read_text(encoding="utf-8")
        assert f'"{rule_id}"' in expected, name


def test_no_check_names_a_level() -> None:
    named: list[str] = []
    for name, path in MODULES.items():
        if not name.startswith("checker.checks.") or name in ("checker.checks.engine",):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and _LEVEL.match(
                    node.value):
                named.append(f"{name}:{node.lineno} {node.value!r}")
    assert named == []
