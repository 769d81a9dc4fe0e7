"""Shared fixtures: real temporary git repositories with fixed identities and dates.

Usage (any test module):

    def test_x(make_repo):
        repo = make_repo()                       # repo on `main`, no commits yet
        base = repo.commit({"README.md": "hi\\n"})                  # default author HUMAN
        repo.checkout("copilot/add-sa", create=True)
        head = repo.commit(
            {"infra/iam.tf": 'resource "aws_iam_user" "x" {}\\n', "README.md": None},  # None: rm
            author=COPILOT,
            message="Add SA",
            trailers=[("Co-authored-by", "Alice <alice@example.com>")],
        )
        with open_repo(repo.path) as r: ...

Commits are made with the `git` CLI (not the code under test), with `commit.gpgsign=false` and
a date that advances one minute per commit from 2025-01-01T00:00:00Z, so the same recipe always
gives the same shas. An autouse fixture points git at an empty global config and clears the
`GIT_*` variables a surrounding hook or CI job may have set, so the user's git config never
leaks into a test.

Golden files (`fixtures/goldens/`, `fixtures/scenarios/*/expected.json`) are compared through
the `golden` fixture; `python -m pytest --update-goldens` rewrites them from the current output
instead, to be reviewed as a diff.
"""

from __future__ import annotations

import difflib
import json
import os
import subprocess
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

Identity = tuple[str, str]

HUMAN: Identity = ("Alice Example", "alice@example.com")
REVIEWER: Identity = ("Bob Reviewer", "bob@example.com")
COPILOT: Identity = ("Copilot", "198982749+Copilot@users.noreply.github.com")
WEB_FLOW: Identity = ("GitHub", "noreply@github.com")
DEVIN: Identity = ("Devin AI", "158243242+devin-ai-integration[bot]@users.noreply.github.com")
CLAUDE_APP: Identity = ("claude[bot]", "209825114+claude[bot]@users.noreply.github.com")
DEPENDABOT: Identity = ("dependabot[bot]", "49699333+dependabot[bot]@users.noreply.github.com")
CLAUDE_TRAILER = ("Co-authored-by", "Claude <noreply@anthropic.com>")

#: An agent's service account with a static key (NHI101 and key findings, no metadata).
SA_KEY = """\
resource "google_service_account" "deployer" {
  account_id = "ci-deployer"
}

resource "google_service_account_key" "deployer" {
  service_account_id = google_service_account.deployer.name
}
"""
#: A documented service account (owner and ticket): passes when a human adds it.
DOCUMENTED = """\
# nhi-gate: owner=team-data ticket=DATA-1
resource "google_service_account" "etl" {
  account_id = "etl"
}
"""

_EPOCH = 1735689600  # 2025-01-01T00:00:00Z
_ISOLATED_VARS = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_AUTHOR_NAME",
    "GIT_AUTHOR_EMAIL",
    "GIT_AUTHOR_DATE",
    "GIT_COMMITTER_NAME",
    "GIT_COMMITTER_EMAIL",
    "GIT_COMMITTER_DATE",
    "GIT_CONFIG",
    "GIT_CONFIG_PARAMETERS",
    "GIT_CONFIG_COUNT",
    "EMAIL",
)


@pytest.fixture(autouse=True)
def _isolated_git(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Empty global git config, no system config, no inherited GIT_* state."""
    home = tmp_path_factory.mktemp("home")
    (home / ".gitconfig").write_text("", encoding="utf-8")
    for var in _ISOLATED_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("HOME", str(home))


class GitRepo:
    """A throwaway repository under `path` with helpers to write, stage and commit files."""

    def __init__(self, path: Path, branch: str = "main") -> None:
        self.path = path
        self._tick = 0
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "--quiet", f"--initial-branch={branch}")
        self.git("config", "user.name", HUMAN[0])
        self.git("config", "user.email", HUMAN[1])

    # -- plumbing ---------------------------------------------------------------------------

    def git(
        self, *args: str, env: Mapping[str, str] | None = None, input: bytes | None = None
    ) -> str:
        """Run `git -C path ARGS` and return stdout (text, trailing newline stripped)."""
        full_env = {**os.environ, **(env or {})}
        result = subprocess.run(
            ["git", "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false",
             "-c", "core.autocrlf=false", "-C", str(self.path), *args],
            env=full_env,
            input=input,
            capture_output=True,
            check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise AssertionError(
                f"git {' '.join(args)} failed ({result.returncode}): "
                f"{result.stderr.decode('utf-8', 'replace')}"
            )
        return result.stdout.decode("utf-8", "surrogateescape").rstrip("\n")

    def sha(self, rev: str = "HEAD") -> str:
        """Full sha of `rev`."""
        return self.git("rev-parse", "--verify", f"{rev}^{{commit}}")

    def _env(self, author: Identity, committer: Identity | None) -> dict[str, str]:
        self._tick += 1
        date = f"@{_EPOCH + 60 * self._tick} +0000"
        committer = committer or author
        return {
            "GIT_AUTHOR_NAME": author[0],
            "GIT_AUTHOR_EMAIL": author[1],
            "GIT_AUTHOR_DATE": date,
            "GIT_COMMITTER_NAME": committer[0],
            "GIT_COMMITTER_EMAIL": committer[1],
            "GIT_COMMITTER_DATE": date,
        }

    # -- working tree -----------------------------------------------------------------------

    def write(self, files: Mapping[str, str | bytes | None]) -> None:
        """Write files (str as UTF-8, bytes as is) and `git rm` those mapped to None."""
        for rel, content in files.items():
            target = self.path / rel
            if content is None:
                self.git("rm", "--quiet", "-r", "--", rel)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.is_symlink():
                target.unlink()
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                with target.open("w", encoding="utf-8", newline="") as fh:
                    fh.write(content)

    def symlink(self, rel: str, target: str) -> None:
        """Create (or replace) a symlink `rel` → `target` in the working tree."""
        link = self.path / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.exists() or link.is_symlink():
            link.unlink()
        os.symlink(target, link)

    def stage(
        self,
        files: Mapping[str, str | bytes | None] | None = None,
        renames: Mapping[str, str] | None = None,
    ) -> None:
        """`git mv` each of `renames` (old → new), write `files`, then `git add -A`."""
        for old, new in (renames or {}).items():
            (self.path / new).parent.mkdir(parents=True, exist_ok=True)
            self.git("mv", "--", old, new)
        self.write(files or {})
        self.git("add", "-A")

    def commit(
        self,
        files: Mapping[str, str | bytes | None] | None = None,
        *,
        author: Identity = HUMAN,
        committer: Identity | None = None,
        message: str = "change",
        trailers: Sequence[tuple[str, str]] = (),
        renames: Mapping[str, str] | None = None,
        allow_empty: bool = False,
    ) -> str:
        """Stage `renames` and `files` and commit them; returns the new commit's full sha.

        `files` maps a path to its new content (str or bytes) or None to delete it. `trailers`
        are appended as a final paragraph (`Key: value` lines, duplicates kept in order).
        `committer` defaults to `author`; the message is used verbatim (`--cleanup=verbatim`).
        """
        self.stage(files, renames)
        text = message.rstrip("\n")
        if trailers:
            text += "\n\n" + "\n".join(f"{k}: {v}" for k, v in trailers)
        args = ["commit", "--quiet", "--no-verify", "--cleanup=verbatim", "-F", "-"]
        if allow_empty:
            args.append("--allow-empty")
        self.git(*args, env=self._env(author, committer), input=(text + "\n").encode("utf-8"))
        return self.sha()

    def checkout(self, branch: str, *, create: bool = False, start: str | None = None) -> None:
        """Switch to `branch`; `create=True` makes it (from `start`, default HEAD)."""
        if create:
            self.git("checkout", "--quiet", "-b", branch, *([start] if start else []))
        else:
            self.git("checkout", "--quiet", branch)

    def merge(self, branch: str, *, author: Identity = HUMAN, message: str = "merge") -> str:
        """A `--no-ff` merge of `branch` into the current branch; returns the merge sha."""
        self.git("merge", "--quiet", "--no-ff", "-m", message, branch,
                 env=self._env(author, None))  # fmt: skip
        return self.sha()

    def set_remote_default(self, branch: str = "main", sha: str | None = None) -> None:
        """Fake a fetched `origin`: `refs/remotes/origin/<branch>` at `sha` (default the local
        branch) and `refs/remotes/origin/HEAD` pointing at it. No network, no remote repo."""
        self.git("update-ref", f"refs/remotes/origin/{branch}", sha or self.sha(branch))
        self.git("symbolic-ref", "refs/remotes/origin/HEAD", f"refs/remotes/origin/{branch}")


@pytest.fixture
def make_repo(tmp_path: Path) -> Iterator[Callable[..., GitRepo]]:
    """Factory: `make_repo(name="repo", branch="main") -> GitRepo` under `tmp_path`."""

    def factory(name: str = "repo", branch: str = "main") -> GitRepo:
        return GitRepo(tmp_path / name, branch=branch)

    yield factory


def agent_branch(
    repo: GitRepo,
    files: Mapping[str, str],
    *,
    author: Identity = COPILOT,
    message: str = "Add SA",
    readme: str = "x\n",
) -> tuple[str, str]:
    """The usual agent change in `repo`: a base commit of `README.md` (`readme`) by HUMAN on the
    current branch, then branch `copilot/add-sa` with one commit of `files` by `author`.
    Returns (base sha, head sha)."""
    base = repo.commit({"README.md": readme}, author=HUMAN)
    repo.checkout("copilot/add-sa", create=True)
    head = repo.commit(dict(files), author=author, message=message)
    return base, head


@pytest.fixture
def git_repo(make_repo: Callable[..., GitRepo]) -> GitRepo:
    """One empty repository on `main`."""
    return make_repo()


#: ../shared/corpus beside the clone (absent on a bare clone: tests that need it skip).
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


def corpus_yaml_files() -> list[Path]:
    """Every `.yaml`/`.yml` file of the corpus's kubernetes, real-repos and github-actions
    folders, sorted; empty when the corpus is absent."""
    out: list[Path] = []
    for sub in ("kubernetes", "real-repos", "github-actions"):
        base = CORPUS / sub
        if base.is_dir():
            out.extend(p for p in sorted(base.rglob("*")) if p.suffix in (".yaml", ".yml"))
    return out


# ----------------------------------------------------------------------------- tiers

#: The `slow` tier (`python -m pytest -q -m "not slow"` is the quick loop; the default run, as
#: in CI, runs everything): whole modules, and `module::test` names (every parametrisation).
#: Subprocess end-to-end runs, walks of ../shared/corpus, mypy, the perf-equivalence sweeps,
#: and whatever else takes over ~3 s in `python -m pytest -q --durations=30`.
SLOW_MODULES = frozenset({
    "test_action.py",  # action.yml step by step, with a pip-installed venv
    "test_precommit.py",  # real `pre-commit try-repo` environments
    "test_corpus_walk.py",  # every corpus file scanned alone, then the corpus in a subprocess
    "test_html_browser.py",  # headless Chromium, one browser for the module
})  # fmt: skip
SLOW_TESTS = frozenset({
    "test_secrets_gate.py::test_gate_matches_every_generated_plugin_match",
    "test_secrets_gate.py::test_gate_loses_no_plugin_match_on_any_corpus_line",
    "test_secrets_gate.py::test_gate_changes_no_finding_on_the_secret_fixtures_and_corpus",
    "test_secrets_gate.py::test_shared_hcl_parse_gives_the_facets_of_a_second_parse",
    "test_parser_terraform.py::test_every_corpus_file_parses_without_exceptions_or_problems",
    "test_parser_kubernetes.py::test_corpus_parses_without_exceptions",
    "test_parser_github_actions.py::test_corpus_parses_without_exceptions",
    "test_robustness.py::test_prefilter_never_drops_a_file_with_an_identity_in_the_corpus",
    "test_peer_recall.py::test_in_scope_recall_meets_target",
    "test_lint.py::test_mypy_strict_clean",
    "test_budgets.py::test_the_same_check_gives_the_same_verdict_on_a_busy_machine",
    "test_budgets.py::test_watch_waits_for_a_busy_process_past_its_window",
    "test_documents.py::test_check_of_a_change_inside_a_large_manifest_finds_what_the_whole_parse_finds",
    "test_documents.py::test_argo_cd_install_manifests_read_by_documents_give_the_whole_parse",
})  # fmt: skip


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark `SLOW_MODULES` and `SLOW_TESTS` with `slow` (registered in pyproject.toml)."""
    for item in items:
        module = item.path.name
        name = f"{module}::{getattr(item, 'originalname', item.name)}"
        if module in SLOW_MODULES or name in SLOW_TESTS:
            item.add_marker(pytest.mark.slow)


# ----------------------------------------------------------------------------- goldens


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-goldens", action="store_true", default=False,
        help="rewrite golden files from the current output instead of comparing with them",
    )  # fmt: skip


def golden_text(data: Any) -> str:
    """The canonical text of a golden: JSON, 2-space indent, keys in the order given, newline."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> Callable[[Path, Any], None]:
    """`golden(path, data)`: fail with a unified diff unless `path` holds `golden_text(data)`;
    with `--update-goldens`, (re)write `path` instead. A missing golden fails with a hint."""
    update = bool(request.config.getoption("--update-goldens"))

    def check(path: Path, data: Any) -> None:
        actual = golden_text(data)
        if update:
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.is_file() or path.read_text(encoding="utf-8") != actual:
                path.write_text(actual, encoding="utf-8")
            return
        if not path.is_file():
            pytest.fail(f"{path}: no golden file; run `python -m pytest --update-goldens` "
                        "and review the new file", pytrace=False)  # fmt: skip
        expected = path.read_text(encoding="utf-8")
        if expected != actual:
            diff = "".join(difflib.unified_diff(
                expected.splitlines(keepends=True), actual.splitlines(keepends=True),
                fromfile=f"{path} (golden)", tofile="actual output"))  # fmt: skip
            pytest.fail(f"output differs from the golden file (rewrite with "
                        f"`python -m pytest --update-goldens` if intended):\n{diff}",
                        pytrace=False)  # fmt: skip

    return check


def check_findings(repo: GitRepo, base: str, capsys: pytest.CaptureFixture[str]
                   ) -> tuple[int, list[dict[str, Any]]]:  # fmt: skip
    """`nhi-gate check --format json` of `base..HEAD` in `repo`: (exit code, its findings)."""
    return check_range(repo, base, repo.sha(), capsys)


def check_range(repo: GitRepo, base: str, head: str, capsys: pytest.CaptureFixture[str]
                ) -> tuple[int, list[dict[str, Any]]]:  # fmt: skip
    """`nhi-gate check --format json` of `base..head` in `repo`: (exit code, its findings)."""
    from checker.cli import main

    code = main(["check", "--repo", str(repo.path), "--base", base, "--head", head,
                 "--format", "json"])
    return code, json.loads(capsys.readouterr().out)["findings"]


def human_base_then(make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
                    files: dict[str, str], edited: dict[str, str], author: Identity,
                    message: str, name: str = "repo") -> tuple[int, list[dict[str, Any]]]:
    """A new repository `name` with `files` committed by a person, then `edited` committed by
    `author` with `message`; `check` of that one commit: (exit code, its findings)."""
    repo = make_repo(name=name)
    base = repo.commit(files, author=HUMAN)
    head = repo.commit(edited, author=author, message=message)
    return check_range(repo, base, head, capsys)


def check_sarif_related(repo: GitRepo, base: str, capsys: pytest.CaptureFixture[str]
                        ) -> tuple[int, list[dict[str, Any]]]:  # fmt: skip
    """`nhi-gate check --format sarif` of `base..HEAD` in `repo`: (exit code, each result as
    its `rule_id` and its `related` locations as a (path, start line) list)."""
    from checker.cli import main

    code = main(["check", "--repo", str(repo.path), "--base", base, "--head", repo.sha(),
                 "--format", "sarif"])
    results = json.loads(capsys.readouterr().out)["runs"][0]["results"]
    return code, [{"rule_id": r["ruleId"], "related": [
        (x["physicalLocation"]["artifactLocation"]["uri"],
         x["physicalLocation"]["region"]["startLine"]) for x in r.get("relatedLocations", [])]}
        for r in results]


def found_at(findings: list[dict[str, Any]]) -> set[tuple[str, str, int, bool]]:
    """(rule id, path, start line, blocking) of each finding."""
    return {(f["rule_id"], f["path"], f["start_line"], f["blocking"]) for f in findings}


@pytest.fixture(scope="module")
def signatures() -> Any:
    """The agent and bot signatures of rules/agents.yaml (`AgentSignatures`)."""
    from checker.provenance.agents import load_agent_signatures

    return load_agent_signatures()
