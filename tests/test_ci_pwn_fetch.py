"""More ways a `pull_request_target` job gets and runs the pull request's code (NHI315, issue
12's principles on GitHub Actions; the attacker's repros /work/nu7/attack-prt-ghcurl, -clone,
-patch, -docker, -thirdparty): a download of the head's archive, a clone of the head
repository that builds on the same line, the pull request's diff applied, docker/build-push-
action building the head checkout, and a third-party action handed the checkout's directory.
An agent's change blocks; a person's is reported, not blocked. Real git repos."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conftest import HUMAN, GitRepo, Identity, check_findings

from checker.model import SourceFile
from checker.secrets import scan

WF = ".github/workflows/w.yml"
CLAUDE: Identity = ("Claude", "noreply@anthropic.com")
HEAD_SHA = "${{ github.event.pull_request.head.sha }}"


def _workflow(steps: str, trigger: str = "pull_request_target") -> str:
    return (f"on: {trigger}\npermissions: {{contents: read}}\njobs:\n  b:\n"
            f"    runs-on: ubuntu-latest\n    steps:\n{steps}")


#: Each repro's steps: (steps, the running line, what fetches, what runs).
REPROS = {
    "ghcurl": (f"""\
      - run: |
          curl -sL "https://github.com/o/r/archive/{HEAD_SHA}.tar.gz" | tar xz
          cd */ && make
""", 9, "steps[0] (a download of the pull request's code (`curl`), line 8)",
        "steps[0] (`make`, line 9)"),
    "clone": ("""\
      - run: git clone ${{ github.event.pull_request.head.repo.clone_url }} src && cd src && make
""", 7, "steps[0] (a git clone of the head, line 7)", "steps[0] (`make`, line 7)"),
    "patch": ("""\
      - uses: actions/checkout@v4
      - run: |
          curl -sL "${{ github.event.pull_request.diff_url }}" | git apply
          npm test
""", 10, "steps[1] (a download of the pull request's diff (`curl`), line 9)",
        "steps[1] (`npm`, line 10)"),
    "docker": (f"""\
      - uses: actions/checkout@v4
        with:
          ref: {HEAD_SHA}
      - uses: docker/build-push-action@v6
        with:
          context: .
""", 12, "steps[0] (actions/checkout `ref: github.event.pull_request.head.sha`, line 7)",
        "steps[1] (`uses: docker/build-push-action` given it in `with.context`, not followed, "
        "line 12)"),
    "thirdparty": (f"""\
      - uses: actions/checkout@v4
        with:
          ref: {HEAD_SHA}
          path: pr
      - uses: some-org/run-tests@v1
        with:
          dir: pr
""", 13, "steps[0] (actions/checkout `ref: github.event.pull_request.head.sha`, line 7)",
        "steps[1] (`uses: some-org/run-tests` given it in `with.dir`, not followed, line 13)"),
}


def _pwn(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f for f in findings if f["rule_id"] == "NHI315"
            and f["address"].endswith(".pr-head-code")]


def _change(make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
            text: str, author: Identity) -> tuple[int, list[dict[str, Any]]]:
    repo = make_repo()
    first = repo.commit({"README.md": "# app\n"}, author=HUMAN)
    repo.commit({WF: text}, author=author, message="ci: test pull requests")
    return check_findings(repo, first, capsys)


@pytest.mark.parametrize("case", sorted(REPROS))
def test_an_agents_pwn_request_through_each_fetch_blocks(
        case: str, make_repo: Callable[..., GitRepo],
        capsys: pytest.CaptureFixture[str]) -> None:
    steps, line, fetch, runs = REPROS[case]
    code, findings = _change(make_repo, capsys, _workflow(steps), CLAUDE)
    assert code == 1
    [f] = _pwn(findings)
    assert (f["level"], f["path"], f["start_line"], f["blocking"], f["actor_kind"]) == (
        "error", WF, line, True, "agent")
    assert f"{fetch} fetches the pull request's code and {runs} runs code from it" in (
        f["message"])


@pytest.mark.parametrize("case", sorted(REPROS))
def test_a_persons_pwn_request_through_each_fetch_is_reported_not_blocked(
        case: str, make_repo: Callable[..., GitRepo],
        capsys: pytest.CaptureFixture[str]) -> None:
    steps, line, _, _ = REPROS[case]
    code, findings = _change(make_repo, capsys, _workflow(steps), HUMAN)
    assert code == 0
    assert [(f["start_line"], f["level"], f["blocking"], f["actor_kind"])
            for f in _pwn(findings)] == [(line, "error", False, "human")]


def _facets(steps: str, trigger: str = "pull_request_target") -> list[tuple[int, str]]:
    objs = scan(SourceFile(WF, _workflow(steps, trigger).encode()), "github_actions").objects
    return [(o.attribute_lines["anchor"], o.secret_sinks[2]) for o in objs
            if o.type == "pr_head_code"]


@pytest.mark.parametrize(("steps", "line", "runs"), [
    # the downloaded archive piped straight into a shell
    (f"      - run: curl -sSL https://x.example/archive/{HEAD_SHA}.tar.gz | bash\n", 7,
     "runs:steps[0] `bash`"),
    # a head ref through `env:`, with wget, the archive built on a later step
    ("      - run: wget -q https://x.example/archive/$PR_SHA.zip && unzip -q *.zip\n"
     f"        env: {{PR_SHA: '{HEAD_SHA}'}}\n      - run: ./build.sh\n", 9,
     "runs:steps[1] `./build.sh`"),
    # `gh pr diff` applied with patch, then a test run
    ("      - uses: actions/checkout@v4\n      - run: |\n"
     "          gh pr diff ${{ github.event.number }} | patch -p1\n          pytest\n", 10,
     "runs:steps[1] `pytest`"),
    # issue_comment: the pull request's patch, by its URL
    ("      - uses: actions/checkout@v4\n      - run: |\n          curl -sL "
     "https://github.com/${{ github.repository }}/pull/${{ github.event.issue.number }}.patch"
     " | git am\n          make\n", 10, "runs:steps[1] `make`"),
    # docker/build-push-action on a subdirectory of a head checkout at the workspace root
    ("      - uses: actions/checkout@v4\n        with:\n"
     f"          ref: {HEAD_SHA}\n      - uses: docker/build-push-action@v6\n"
     "        with:\n          context: services/api\n          push: false\n", 12,
     "runs:steps[1] `uses: docker/build-push-action` given it in `with.context`, not followed"),
])
def test_more_fetches_and_runs_are_found(steps: str, line: int, runs: str) -> None:
    trigger = "issue_comment" if "issue.number" in steps else "pull_request_target"
    assert _facets(steps, trigger) == [(line, runs)]


@pytest.mark.parametrize("steps", [
    # a commit status posted for the head sha fetches nothing
    ("      - uses: actions/checkout@v4\n      - run: |\n"
     "          curl -X POST -H 'Authorization: token x' https://api.github.com/repos/"
     f"o/r/statuses/{HEAD_SHA} -d '{{\"state\":\"pending\"}}'\n          make lint\n"),
    (f"      - run: gh api repos/o/r/statuses/{HEAD_SHA} -f state=pending && make lint\n"),
    # only the changed files' names
    ("      - uses: actions/checkout@v4\n      - run: |\n"
     "          gh pr diff ${{ github.event.number }} --name-only > files.txt\n"
     "          python3 scripts/label.py files.txt\n"),
    # actions that only store or cache the head checkout, or read a lock file
    (f"      - uses: actions/checkout@v4\n        with: {{ref: '{HEAD_SHA}'}}\n"
     "      - uses: actions/upload-artifact@v4\n        with: {name: src, path: .}\n"
     "      - uses: actions/setup-python@v5\n"
     "        with: {python-version: '3.12', cache-dependency-path: requirements.txt}\n"),
    # docker/build-push-action without `context:` builds its Git context, the event's sha
    (f"      - uses: actions/checkout@v4\n        with: {{ref: '{HEAD_SHA}', path: pr}}\n"
     "      - uses: docker/build-push-action@v6\n        with: {push: false}\n"),
])
def test_what_fetches_or_runs_nothing_is_not_a_pwn_request(steps: str) -> None:
    assert _facets(steps) == []


def test_a_pull_request_workflow_downloading_its_head_is_not_a_pwn_request() -> None:
    steps, _, _, _ = REPROS["ghcurl"]
    assert _facets(steps, "pull_request") == []
