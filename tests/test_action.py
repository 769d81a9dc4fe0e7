"""The composite action (`action.yml`), run step by step as the GitHub runner would.

`ActionRunner` reads action.yml, evaluates the `${{ }}` expressions it uses (`inputs.*`,
`steps.<id>.outputs.*`, `github.token`, `always()`, `==`, `!=`, `&&`) in `env:`, `with:` and
`if:`, runs each `run:` step with `bash -eo pipefail` and the step's `env:`, a fresh
`GITHUB_OUTPUT` file per step (parsed into `steps.<id>.outputs`), a shared
`GITHUB_STEP_SUMMARY`, `GITHUB_ACTION_PATH` = this checkout and a fake `GITHUB_EVENT_PATH`
pull_request event. The install step really creates a venv and pip-installs the checkout.
`uses:` steps are not executed: setup-python is stood in for by this interpreter (its
`python-path` output), and upload-sarif is recorded with its evaluated `if:` and `with:`.
Pull-request reviews come from the loopback fake GitHub (tests/fake_github.py).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import COPILOT, DOCUMENTED, HUMAN, SA_KEY, GitRepo, agent_branch
from fake_github import FakeGitHub, FakePull, serve

ROOT = Path(__file__).resolve().parents[1]
ACTION = ROOT / "action.yml"
SCHEMA = Path(__file__).resolve().parents[2] / "shared" / "schemas" / "sarif-schema-2.1.0.json"
_EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
_SHA_PIN = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


# -- a tiny expression evaluator (only what action.yml uses; anything else fails the test) ---


def _value(term: str, ctx: Mapping[str, Any]) -> Any:
    term = term.strip()
    if term == "always()":
        return True
    if term.startswith("'") and term.endswith("'"):
        return term[1:-1].replace("''", "'")
    for op in ("!=", "=="):
        if op in term:
            left, right = term.split(op, 1)
            equal = str(_value(left, ctx)).lower() == str(_value(right, ctx)).lower()
            return equal if op == "==" else not equal
    node: Any = ctx
    for part in term.split("."):
        if not isinstance(node, Mapping):
            raise AssertionError(f"unsupported expression {term!r}")
        node = node.get(part, "")
    return node


def evaluate(expr: str, ctx: Mapping[str, Any]) -> Any:
    """`a && b && c` of terms (`always()`, literals, contexts, `x == 'y'`, `x != 'y'`)."""
    result: Any = True
    for term in expr.split("&&"):
        result = _value(term, ctx)
        if not result:
            return result
    return result


def interpolate(text: str, ctx: Mapping[str, Any]) -> str:
    return _EXPR.sub(lambda m: str(evaluate(m.group(1), ctx)), text)


def parse_output_file(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delim = line.split("<<", 1)
            body: list[str] = []
            i += 1
            while lines[i] != delim:
                body.append(lines[i])
                i += 1
            out[name] = "\n".join(body)
        elif "=" in line:
            name, value = line.split("=", 1)
            out[name] = value
        i += 1
    return out


@dataclass
class ActionRun:
    code: int
    outputs: dict[str, str]
    stdout: str
    stderr: str
    summary: str
    uploads: list[dict[str, str]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


class ActionRunner:
    def __init__(self, temp: Path, env: Mapping[str, str]) -> None:
        self.temp = temp
        self.env = dict(env)
        self.action = yaml.safe_load(ACTION.read_text(encoding="utf-8"))

    def run(self, inputs: Mapping[str, str]) -> ActionRun:
        declared = self.action["inputs"]
        unknown = set(inputs) - set(declared)
        assert not unknown, f"not inputs of action.yml: {unknown}"
        values = {k: str(v.get("default", "")) for k, v in declared.items()}
        ctx: dict[str, Any] = {
            "github": {"token": "test-token", "workspace": self.env["GITHUB_WORKSPACE"]},
            "runner": {"temp": str(self.temp)},
            "inputs": values,
            "steps": {},
        }
        values.update({k: interpolate(v, ctx) for k, v in values.items()})
        values.update(inputs)
        summary = self.temp / "summary.md"
        summary.touch()
        result = ActionRun(0, {}, "", "", "")
        failed = False
        for index, step in enumerate(self.action["runs"]["steps"]):
            sid = step.get("id", f"__{index}")
            condition = step.get("if")
            if condition is not None:
                run_it = bool(evaluate(_EXPR.sub(r"\1", str(condition)), ctx))
            else:
                run_it = not failed
            if not run_it:
                result.skipped.append(step.get("name", sid))
                continue
            if "uses" in step:
                with_ = {k: interpolate(str(v), ctx) for k, v in step.get("with", {}).items()}
                if step["uses"].startswith("actions/setup-python@"):
                    ctx["steps"][sid] = {"outputs": {"python-path": sys.executable}}
                else:
                    result.uploads.append({"uses": step["uses"], **with_})
                continue
            out_file = self.temp / f"output-{index}"
            out_file.write_text("", encoding="utf-8")
            script = self.temp / f"step-{index}.sh"
            script.write_text(step["run"], encoding="utf-8")
            env = {**self.env, "GITHUB_OUTPUT": str(out_file),
                   "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_ACTION_PATH": str(ROOT),
                   "RUNNER_TEMP": str(self.temp)}
            env.update({k: interpolate(str(v), ctx) for k, v in step.get("env", {}).items()})
            proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail",
                                   str(script)], env=env, capture_output=True, text=True,
                                  check=False, cwd=self.env["GITHUB_WORKSPACE"])
            ctx["steps"][sid] = {"outputs": parse_output_file(out_file)}
            if sid != "install":
                result.stdout += proc.stdout
                result.stderr += proc.stderr
            elif proc.returncode:
                raise AssertionError(f"install step failed:\n{proc.stdout}\n{proc.stderr}")
            if proc.returncode:
                failed = True
                result.code = proc.returncode
        result.outputs = {
            name: interpolate(str(spec["value"]), ctx)
            for name, spec in self.action["outputs"].items()
        }
        result.summary = summary.read_text(encoding="utf-8")
        return result


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def runner_temp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One RUNNER_TEMP per module, so the venv is created once and reused (pip is slow)."""
    return tmp_path_factory.mktemp("runner_temp")


@pytest.fixture
def gh() -> Iterator[FakeGitHub]:
    yield from serve(FakeGitHub(owner="octo", name="infra"))


def pr_event(path: Path, number: int, base: str, head: str, *, author: str = "Copilot",
             author_type: str = "Bot", fork: bool = False) -> Path:
    event = {
        "action": "synchronize",
        "number": number,
        "pull_request": {
            "number": number,
            "user": {"login": author, "type": author_type},
            "base": {"sha": base, "ref": "main", "repo": {"full_name": "octo/infra"}},
            "head": {"sha": head, "ref": "copilot/add-sa",
                     "repo": {"full_name": "octo/infra", "fork": fork}},
        },
        "repository": {"full_name": "octo/infra"},
    }
    path.write_text(json.dumps(event), encoding="utf-8")
    return path


def runner_env(repo: Path, event: Path, gh: FakeGitHub, event_name: str = "pull_request"
               ) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "NHI_GATE_"))}
    env.update({
        "GITHUB_ACTIONS": "true", "CI": "true", "GITHUB_EVENT_NAME": event_name,
        "GITHUB_EVENT_PATH": str(event), "GITHUB_WORKSPACE": str(repo),
        "GITHUB_REPOSITORY": "octo/infra", "GITHUB_API_URL": gh.url,
        "GITHUB_HEAD_REF": "copilot/add-sa", "GITHUB_BASE_REF": "main",
    })
    return env


def agent_pr(repo: GitRepo, gh: FakeGitHub, files: Mapping[str, str], author: tuple[str, str]
             ) -> tuple[str, str]:
    base, head = agent_branch(repo, files, author=author, message="Add deployer",
                              readme="infra\n")
    bot = gh.user("Copilot", "Bot")
    gh.pulls[7] = FakePull(7, bot, head, base, commits=[(head, "Copilot", None, author[1], False)],
                           files=sorted(files))
    return base, head


def validate_sarif(path: Path) -> dict[str, Any]:
    import jsonschema

    log: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if SCHEMA.is_file():
        schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
        jsonschema.validators.validator_for(schema)(schema).validate(log)
    return log


# -- action.yml itself -------------------------------------------------------------------------


def test_action_yml_validates_against_the_public_schema(tmp_path: Path) -> None:
    exe = shutil.which("check-jsonschema")
    if exe is None:
        pytest.skip("check-jsonschema is not installed (pip install -e '.[test]')")
    ok = subprocess.run([exe, "--builtin-schema", "vendor.github-actions", str(ACTION)],
                        capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    broken = tmp_path / "action.yml"
    data = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    del data["runs"]["steps"][1]["shell"]  # a composite run step must name its shell
    broken.write_text(yaml.safe_dump(data), encoding="utf-8")
    bad = subprocess.run([exe, "--builtin-schema", "vendor.github-actions", str(broken)],
                         capture_output=True, text=True, check=False)
    assert bad.returncode == 1, bad.stdout


def test_action_hygiene() -> None:
    data = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    assert data["runs"]["using"] == "composite"
    steps = data["runs"]["steps"]
    for step in steps:
        if "run" in step:
            assert "${{" not in step["run"], f"expression inside run: of {step.get('name')}"
        if "uses" in step:
            assert _SHA_PIN.match(step["uses"]), f"{step['uses']} is not pinned to a commit SHA"
    install = next(s for s in steps if s.get("id") == "install")
    assert '"${GITHUB_ACTION_PATH}"' in install["run"]
    upload = next(s for s in steps if "upload-sarif" in s.get("uses", ""))
    assert "always()" in upload["if"] and "inputs.upload-sarif" in upload["if"]
    assert set(data["outputs"]) == {"verdict", "blocking-count", "sarif-file"}


# -- running it --------------------------------------------------------------------------------


def test_agent_pr_fails_with_annotations_summary_outputs_and_sarif(
    make_repo: Any, gh: FakeGitHub, tmp_path: Path, runner_temp: Path
) -> None:
    repo = make_repo()
    base, head = agent_pr(repo, gh, {"infra/iam.tf": SA_KEY}, COPILOT)
    event = pr_event(tmp_path / "event.json", 7, base, head)
    run = ActionRunner(runner_temp, runner_env(repo.path, event, gh)).run({})
    assert run.code == 1, run.stderr
    assert run.outputs["verdict"] == "fail"
    sarif = Path(run.outputs["sarif-file"])
    assert sarif == runner_temp / "nhi-gate.sarif" and sarif.is_file()
    log = validate_sarif(sarif)
    results = log["runs"][0]["results"]
    blocking = [r for r in results if r["properties"]["blocking"]]
    assert int(run.outputs["blocking-count"]) == len(blocking) >= 2
    assert {"NHI101", "NHI201"} <= {r["ruleId"] for r in blocking}
    assert re.search(r"^::error file=infra/iam\.tf,line=1,endLine=1,"
                     r"title=NHI101%3A google_service_account\.deployer::", run.stdout, re.M)
    assert "## nhi-gate: ❌ FAIL" in run.summary
    assert "### Blocking findings" in run.summary and "Who must approve" in run.summary
    assert run.uploads == [{
        "uses": "github/codeql-action/upload-sarif@8aad20d150bbac5944a9f9d289da16a4b0d87c1e",
        "sarif_file": str(sarif), "category": "nhi-gate",
    }]
    assert any(p.startswith("/repos/octo/infra/pulls/7") for p in gh.requests)


def test_human_pr_passes_and_upload_can_be_turned_off(
    make_repo: Any, gh: FakeGitHub, tmp_path: Path, runner_temp: Path
) -> None:
    repo = make_repo()
    base, head = agent_pr(repo, gh, {"infra/etl.tf": DOCUMENTED}, HUMAN)
    event = pr_event(tmp_path / "event.json", 7, base, head, author="alice", author_type="User")
    sarif = tmp_path / "out" / "report.sarif"
    run = ActionRunner(runner_temp, runner_env(repo.path, event, gh)).run(
        {"upload-sarif": "false", "sarif-file": str(sarif)})
    assert run.code == 0, run.stderr
    assert run.outputs == {"verdict": "pass", "blocking-count": "0", "sarif-file": str(sarif)}
    assert "## nhi-gate: ✅ PASS" in run.summary
    assert "::error" not in run.stdout
    assert run.uploads == [] and run.skipped == ["Upload SARIF to code scanning"]
    validate_sarif(sarif)


def test_shallow_checkout_is_a_clear_error(
    make_repo: Any, gh: FakeGitHub, tmp_path: Path, runner_temp: Path
) -> None:
    repo = make_repo()
    base, head = agent_pr(repo, gh, {"infra/iam.tf": SA_KEY}, COPILOT)
    shallow = tmp_path / "shallow"
    subprocess.run(["git", "clone", "--quiet", "--depth", "1", "--branch", "copilot/add-sa",
                    f"file://{repo.path}", str(shallow)], check=True)
    event = pr_event(tmp_path / "event.json", 7, base, head)
    run = ActionRunner(runner_temp, runner_env(shallow, event, gh)).run({})
    assert run.code == 2
    assert run.outputs == {"verdict": "error", "blocking-count": "0", "sarif-file": ""}
    message = (f"the base commit {base[:12]} is not in the clone: the checkout is shallow "
               "(actions/checkout fetches a single commit by default); set `fetch-depth: 0`")
    assert message in run.stderr
    assert re.search(r"^::error title=nhi-gate::the base commit .*fetch-depth%3A|"
                     r"^::error title=nhi-gate::the base commit .*fetch-depth: 0",
                     run.stdout, re.M)
    assert "no verdict" in run.summary and "fetch-depth: 0" in run.summary
    assert run.uploads == []  # nothing to upload: sarif-file is empty


def test_pull_request_target_is_refused(
    make_repo: Any, gh: FakeGitHub, tmp_path: Path, runner_temp: Path
) -> None:
    repo = make_repo()
    base, head = agent_pr(repo, gh, {"infra/iam.tf": SA_KEY}, COPILOT)
    event = pr_event(tmp_path / "event.json", 7, base, head)
    env = runner_env(repo.path, event, gh, event_name="pull_request_target")
    run = ActionRunner(runner_temp, env).run({})
    assert run.code == 2 and run.outputs["verdict"] == "error"
    assert "does not run on `pull_request_target`" in run.stderr
    assert gh.requests == []


def test_pull_request_checkout_cannot_shadow_a_module(
    make_repo: Any, gh: FakeGitHub, tmp_path: Path, runner_temp: Path
) -> None:
    """`python -m` puts the working directory first on sys.path: a `yaml.py` or `checker/`
    committed in the PR must not run in place of ours (it would see GITHUB_TOKEN)."""
    marker = tmp_path / "pwned"
    hijack = f"open({str(marker)!r}, 'w').write('x')\nraise SystemExit(0)\n"
    repo = make_repo()
    base, head = agent_pr(repo, gh, {"infra/iam.tf": SA_KEY, "yaml.py": hijack,
                                     "checker/__init__.py": hijack,
                                     "checker/action.py": hijack, "pip/__init__.py": hijack},
                          COPILOT)
    event = pr_event(tmp_path / "event.json", 7, base, head)
    run = ActionRunner(runner_temp, runner_env(repo.path, event, gh)).run({})
    assert not marker.exists()
    assert run.code == 1, run.stderr
    assert run.outputs["verdict"] == "fail"
