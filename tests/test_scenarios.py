"""Scenario tests as data: each `fixtures/scenarios/<name>/` is one run of the CLI on a repository
built from `scenario.yaml`, compared with the golden `expected.json` beside it.

`scenario.yaml` (all keys optional; `extends: NAME` deep-merges the scenario over
`fixtures/scenarios/_templates/NAME.yaml`: mappings merge, anything else replaces):

    about:    what the scenario shows (and the test it came from)
    git:      false: write `base.files` into a plain folder (no repository, no commits)
    base:     {files: {path: text}, author: human, message: change}     first commit, on main
    commits:  - id: agent                   label for `{agent}` and the golden's `commit`
                branch: copilot/widen       created from the current HEAD and checked out
                author: copilot             a conftest identity (lower case) or [name, email]
                committer: ...              defaults to the author
                message: Tune CI role
                trailers: [[Requested-by, "Alice Example <alice@example.com>"]]
                files: {path: text, gone.tf: null}   null deletes; `!!binary` gives bytes
    staged:   {path: text}                  written and `git add`ed after the commits (hooks)
    github:   users: [{login, type: User|Bot, email}]    registered in order on the fake
              permissions: {login: write}   teams: {org/slug: [login]}   max_per_page: 100
              pr: {number, author: LOGIN or {login, type} (unregistered), head: ID, base: ID,
                   files: [path], commits: [{sha: ID, author, committer, email, verified}]}
              reviews: [{login, state: APPROVED, commit: ID (default head), type: User}]
              unreachable: true             point `{github}` at a port nothing listens on
    event:    a mapping written to `{tmp}/event.json` and named by GITHUB_EVENT_PATH
    env:      {NAME: value}                 set for the run
    cwd:      repo                          run inside the repository
    command:  [check, --repo, "{repo}", ...]
    expect:   hand-written checks beside the golden: stderr_contains, requests_contain,
              requests_exclude, requests_starting_with: {prefix: [exact list]}

Commits are made by tests/conftest.GitRepo (fixed dates, isolated git config), so the shas are
the same on every run. In `command`, `env`, `event` and `expect` strings, `{repo}`, `{tmp}`,
`{github}`, `{base}`, `{head}` and every commit id expand (`{head:.12}` is the short sha).
A reference that is no commit id (`pr.head: ffff...`) is used as written.

`expected.json` holds the exit code, the verdict and one row per JSON finding (rule, path, line,
actor, blocking, approved, commit id, address, message), and, when the command writes
`{tmp}/out.sarif` (validated against the SARIF schema), each SARIF result's rule, place and
suppressions. `python -m pytest --update-goldens` rewrites it; review the diff.

The CLI runs in-process (`checker.cli.main`); GitHub is the loopback fake of
tests/fake_github.py, authenticated with a test token that must never be printed.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import (
    CLAUDE_APP,
    COPILOT,
    DEPENDABOT,
    DEVIN,
    HUMAN,
    REVIEWER,
    WEB_FLOW,
    GitRepo,
    Identity,
)
from fake_github import FakeGitHub, FakePull, FakeUser, serve
from test_check_e2e import validate_sarif

from checker.cli import main

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "fixtures" / "scenarios"
TEMPLATES = SCENARIOS / "_templates"
NAMES = sorted(p.parent.name for p in SCENARIOS.glob("*/scenario.yaml")
               if not p.parent.name.startswith("_"))  # fmt: skip
IDENTITIES: dict[str, Identity] = {
    "human": HUMAN, "reviewer": REVIEWER, "copilot": COPILOT, "web_flow": WEB_FLOW,
    "devin": DEVIN, "claude_app": CLAUDE_APP, "dependabot": DEPENDABOT,
}  # fmt: skip
TOKEN = "test-token-value"
#: Variables of a surrounding GitHub Actions job that would change what `check` reads.
_GITHUB_ENV = ("GITHUB_EVENT_PATH", "GITHUB_REPOSITORY", "GITHUB_API_URL", "GITHUB_HEAD_REF",
               "GITHUB_STEP_SUMMARY", "GITHUB_TOKEN")  # fmt: skip


def merge(base: Any, over: Any) -> Any:
    """`over` deep-merged onto `base`: mappings merge key by key, anything else replaces."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for key, value in over.items():
            out[key] = merge(base[key], value) if key in base else value
        return out
    return over


#: The keys `scenario.yaml` may use (see the module docstring), so that a misspelt key fails
#: instead of being ignored.
KEYS = {
    "": {"about", "git", "base", "commits", "staged", "github", "event", "env", "cwd",
         "command", "expect"},
    "base": {"files", "author", "message"},
    "commits": {"id", "branch", "author", "committer", "message", "trailers", "files"},
    "github": {"users", "permissions", "teams", "max_per_page", "pr", "reviews", "unreachable"},
    "pr": {"number", "author", "head", "base", "files", "commits"},
    "expect": {"stderr_contains", "requests_contain", "requests_exclude",
               "requests_starting_with"},
}  # fmt: skip


def unknown_keys(spec: dict[str, Any]) -> list[str]:
    """Keys of `spec` (and of its base, commits, github, pr and expect) not in `KEYS`."""
    github = spec.get("github") or {}
    parts: list[tuple[str, Any]] = [
        ("", spec), ("base", spec.get("base")), ("github", github), ("pr", github.get("pr")),
        ("expect", spec.get("expect")),
        *(("commits", step) for step in spec.get("commits") or []),
    ]  # fmt: skip
    return [f"{part}.{key}" if part else key for part, value in parts
            for key in (value or {}) if key not in KEYS[part]]  # fmt: skip


def load(name: str) -> dict[str, Any]:
    """The scenario `name` with its template (if it `extends` one) merged in.

    Raises AssertionError naming any key the format does not know."""
    spec: dict[str, Any] = yaml.safe_load((SCENARIOS / name / "scenario.yaml").read_text("utf-8"))
    template = spec.pop("extends", None)
    if template:
        spec = merge(yaml.safe_load((TEMPLATES / f"{template}.yaml").read_text("utf-8")), spec)
    assert not unknown_keys(spec), f"{name}/scenario.yaml: unknown keys {unknown_keys(spec)}"
    return spec


def identity(value: str | list[str]) -> Identity:
    """A conftest identity by lower-case name, or a literal `[name, email]`."""
    if isinstance(value, str):
        return IDENTITIES[value]
    return (value[0], value[1])


def expand(value: Any, names: dict[str, str]) -> Any:
    """`value` with `{name}` placeholders of every string in it expanded."""
    if isinstance(value, str):
        return value.format_map(names)
    if isinstance(value, list):
        return [expand(v, names) for v in value]
    if isinstance(value, dict):
        return {k: expand(v, names) for k, v in value.items()}
    return value


def build_repo(spec: dict[str, Any], path: Path) -> dict[str, str]:
    """Make the repository (or plain folder) of `spec` at `path`; returns commit id -> sha."""
    base = spec.get("base") or {}
    if spec.get("git", True) is False:
        for rel, content in (base.get("files") or {}).items():
            (path / rel).parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                (path / rel).write_bytes(content)
            else:
                (path / rel).write_text(content, encoding="utf-8")
        return {}
    repo = GitRepo(path)
    shas: dict[str, str] = {}
    if base:
        shas["base"] = repo.commit(base.get("files"), author=identity(base.get("author", "human")),
                                   message=base.get("message", "change"))  # fmt: skip
    ids: dict[str, str] = {}
    for number, step in enumerate(spec.get("commits") or [], start=1):
        if "branch" in step:
            repo.checkout(step["branch"], create=True)
        committer = step.get("committer")
        ids[step.get("id", f"c{number}")] = repo.commit(
            step.get("files"), author=identity(step.get("author", "human")),
            committer=identity(committer) if committer else None,
            message=step.get("message", "change"),
            trailers=[(k, v) for k, v in step.get("trailers") or []],
        )  # fmt: skip
    if "staged" in spec:
        repo.stage(spec["staged"])
    if shas or ids:
        shas["head"] = repo.sha()
    return {**shas, **ids}


def free_port() -> int:
    """A port that was free a moment ago: nothing listens there."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def setup_github(spec: dict[str, Any], gh: FakeGitHub, shas: dict[str, str]) -> None:
    """Users, permissions, teams, the pull request and its reviews of `spec` on `gh`."""
    for user in spec.get("users") or []:
        gh.user(user["login"], user.get("type", "User"), user.get("email"))
    gh.permissions.update(spec.get("permissions") or {})
    for team, members in (spec.get("teams") or {}).items():
        org, slug = team.split("/")
        gh.teams[(org, slug)] = set(members)
    gh.max_per_page = spec.get("max_per_page", gh.max_per_page)
    pr = spec.get("pr")
    if pr:
        author = pr["author"]
        user = (gh.users[author] if isinstance(author, str)
                else FakeUser(author["login"], author.get("type", "User")))  # fmt: skip
        gh.pulls[pr["number"]] = FakePull(
            pr["number"], user, shas.get(pr.get("head", "head"), pr.get("head", "")),
            shas.get(pr.get("base", "base"), pr.get("base", "")),
            commits=[(shas.get(c["sha"], c["sha"]), c.get("author"), c.get("committer"),
                      c["email"], bool(c.get("verified", False)))
                     for c in pr.get("commits") or []],
            files=list(pr.get("files") or []),
        )  # fmt: skip
        for review in spec.get("reviews") or []:
            login = review["login"]
            reviewer = gh.users.get(login) or gh.user(login, review.get("type", "User"))
            commit = review.get("commit", "head")
            gh.pulls[pr["number"]].reviews.append(
                (reviewer, review.get("state", "APPROVED"), shas.get(commit, commit)))
    if spec.get("unreachable"):
        gh.url = f"http://127.0.0.1:{free_port()}"


def finding_row(finding: dict[str, Any], labels: dict[str, str]) -> dict[str, Any]:
    """One golden row of a JSON finding; a commit sha is shown as its scenario id."""
    return {
        "rule": finding["rule_id"],
        "path": finding["path"],
        "line": finding["start_line"],
        "actor": finding["actor_kind"],
        "blocking": finding["blocking"],
        "approved": finding["approved"],
        "commit": labels.get(finding["commit"], finding["commit"]),
        "address": finding["address"],
        "message": finding["message"],
    }


def sarif_row(result: dict[str, Any]) -> dict[str, Any]:
    """Rule, place and suppressions of one SARIF result."""
    place = result["locations"][0]["physicalLocation"]
    return {
        "rule": result["ruleId"],
        "path": place["artifactLocation"]["uri"],
        "line": place["region"]["startLine"],
        "suppressions": result.get("suppressions", []),
    }


@pytest.fixture
def fake_github() -> Iterator[FakeGitHub]:
    yield from serve(FakeGitHub())


@pytest.mark.parametrize("name", NAMES)
def test_scenario(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], golden: Callable[[Path, Any], None],
    request: pytest.FixtureRequest,
) -> None:
    spec = load(name)
    repo = tmp_path / "repo"
    repo.mkdir()
    shas = build_repo(spec, repo)
    for var in _GITHUB_ENV:
        monkeypatch.delenv(var, raising=False)
    gh: FakeGitHub | None = None
    if "github" in spec:
        gh = request.getfixturevalue("fake_github")
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        setup_github(spec["github"], gh, shas)
    names = {**shas, "repo": str(repo), "tmp": str(tmp_path), "github": gh.url if gh else ""}
    if "event" in spec:
        event = tmp_path / "event.json"
        event.write_text(json.dumps(expand(spec["event"], names)), encoding="utf-8")
        monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
    for key, value in (spec.get("env") or {}).items():
        monkeypatch.setenv(key, expand(value, names))
    if spec.get("cwd") == "repo":
        monkeypatch.chdir(repo)

    code = main(expand(spec["command"], names))
    out, err = capsys.readouterr()

    labels = {sha: label for label, sha in shas.items()}
    actual: dict[str, Any] = {"exit_code": code}
    if out.strip():
        report = json.loads(out)
        actual["verdict"] = report["verdict"]
        actual["findings"] = [finding_row(f, labels) for f in report["findings"]]
    else:
        actual["stdout"] = out
    sarif = tmp_path / "out.sarif"
    if sarif.exists():
        actual["sarif"] = [sarif_row(r) for r in validate_sarif(sarif)["runs"][0]["results"]]
    golden(SCENARIOS / name / "expected.json", actual)

    expect = expand(spec.get("expect") or {}, names)
    for text in expect.get("stderr_contains", []):
        assert text in err, f"{text!r} not in stderr:\n{err}"
    if gh is not None:
        for path in expect.get("requests_contain", []):
            assert path in gh.requests, (path, gh.requests)
        for path in expect.get("requests_exclude", []):
            assert path not in gh.requests, (path, gh.requests)
        for prefix, paths in expect.get("requests_starting_with", {}).items():
            assert [r for r in gh.requests if r.startswith(prefix)] == paths
        # Every call is authenticated, and the token is never printed.
        assert set(gh.auth_headers) <= {f"token {TOKEN}"}
        assert TOKEN not in out + err


def test_every_scenario_has_its_golden() -> None:
    missing = [n for n in NAMES if not (SCENARIOS / n / "expected.json").is_file()]
    assert NAMES and missing == []
