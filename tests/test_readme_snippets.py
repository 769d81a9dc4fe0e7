"""The README's copy-paste snippets for each surface actually work.

Each snippet is the fenced block after a `<!-- snippet: NAME -->` marker:
- `cli`: run with bash in a real repo with an agent branch and `origin/main`;
- `pre-commit`: a `.pre-commit-config.yaml` that `pre-commit validate-config` accepts, whose
  hook ids and stages match `.pre-commit-hooks.yaml`;
- `workflow`: a workflow that validates against check-jsonschema's `vendor.github-workflows`
  schema, uses this action with inputs it declares, and has the documented permissions,
  `fetch-depth: 0` and no `pull_request_target`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import COPILOT, HUMAN

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
_SNIPPET = re.compile(r"<!-- snippet: ([\w-]+) -->\n```(\w+)\n(.*?)\n```", re.S)

SA = 'resource "google_service_account" "deployer" {\n  account_id = "ci-deployer"\n}\n'


def snippets() -> dict[str, tuple[str, str]]:
    return {m.group(1): (m.group(2), m.group(3))
            for m in _SNIPPET.finditer(README.read_text(encoding="utf-8"))}


def test_readme_has_a_snippet_per_surface() -> None:
    found = snippets()
    assert set(found) == {"cli", "pre-commit", "workflow"}
    assert found["cli"][0] == "bash"
    assert found["pre-commit"][0] == found["workflow"][0] == "yaml"


def test_cli_snippet(make_repo: Any, tmp_path: Path) -> None:
    _, script = snippets()["cli"]
    repo = make_repo()
    repo.commit({"README.md": "x\n"}, author=HUMAN)
    repo.set_remote_default("main")
    repo.checkout("copilot/add-sa", create=True)
    repo.commit({"infra/iam.tf": SA}, author=COPILOT, message="Add SA")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    run = subprocess.run(["bash", "-c", script], cwd=repo.path, env={**env, "NO_COLOR": "1"},
                         capture_output=True, text=True, check=False)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "NHI101" in run.stdout and "nhi-gate: FAIL" in run.stdout
    sarif = json.loads((repo.path / "nhi-gate.sarif").read_text(encoding="utf-8"))
    assert "NHI101" in {r["ruleId"] for r in sarif["runs"][0]["results"]}


def test_pre_commit_snippet(tmp_path: Path) -> None:
    if shutil.which("pre-commit") is None:
        pytest.skip("pre-commit is not installed (pip install -e '.[test]')")
    _, text = snippets()["pre-commit"]
    config = tmp_path / ".pre-commit-config.yaml"
    config.write_text(text + "\n", encoding="utf-8")
    ok = subprocess.run(["pre-commit", "validate-config", str(config)],
                        capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    data = yaml.safe_load(text)
    manifest = {h["id"]: h for h in yaml.safe_load(
        (ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))}
    ids = [h["id"] for r in data["repos"] for h in r["hooks"]]
    assert ids == list(manifest)
    stages = {s for h in manifest.values() for s in h.get("stages", [])}
    assert stages == set(data["default_install_hook_types"])


def test_workflow_snippet(tmp_path: Path) -> None:
    _, text = snippets()["workflow"]
    workflow = tmp_path / "nhi-gate.yml"
    workflow.write_text(text + "\n", encoding="utf-8")
    exe = shutil.which("check-jsonschema")
    if exe is None:
        pytest.skip("check-jsonschema is not installed (pip install -e '.[test]')")
    ok = subprocess.run([exe, "--builtin-schema", "vendor.github-workflows", str(workflow)],
                        capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    data = yaml.safe_load(text)
    triggers = data[True]  # YAML 1.1 reads the key `on` as True
    assert "pull_request" in triggers and "pull_request_target" not in triggers
    assert data["permissions"] == {"contents": "read", "pull-requests": "read",
                                   "security-events": "write"}
    steps = data["jobs"]["nhi-gate"]["steps"]
    checkout = next(s for s in steps if s["uses"].startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 0
    ours = next(s for s in steps if s["uses"].startswith("nhi-gate/nhi-gate@"))
    declared = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))["inputs"]
    assert set(ours.get("with", {})) <= set(declared)
