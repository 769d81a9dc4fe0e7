"""Line lineage: an identity line an agent wrote stays agent-touched after a human edits it.

`nhi-gate check` attributes each added line to the in-range commit that last wrote it; a later
human commit that modifies the line (a hunk that removes lines and adds lines, even a
`terraform fmt` whitespace change) records the earlier in-range writers as the line's lineage
(`ChangedFile.line_lineage`), and the actor is the most agent-like of the line's commit and
its lineage. Pure additions and pure deletions inherit nothing; base lines are not commits of
the range and never count.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from conftest import COPILOT, HUMAN, GitRepo

from checker import git as cg
from checker.cli import main
from checker.git.diff import DIFF_OPTS
from checker.git.lineage import _replay, _Runs
from checker.git.run import run_git


def user(name: str, pad: str = " ", value: str | None = None) -> str:
    """Two lines: the owner/ticket comment and a one-line `aws_iam_user`."""
    return (
        "# nhi-gate: owner=team-data ticket=DATA-1\n"
        f'resource "aws_iam_user" "{name}" {{ name{pad}= "{value or name}" }}\n'
    )


def check(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[dict[str, Any]]]:
    code = main(["check", "--repo", str(repo.path), "--base", "main", "--head", "HEAD",
                 "--format", "json"])
    return code, json.loads(capsys.readouterr().out)["findings"]


def by_rule(findings: list[dict[str, Any]], rule_id: str) -> dict[str, dict[str, Any]]:
    return {f["address"]: f for f in findings if f["rule_id"] == rule_id}


@pytest.fixture
def repo(make_repo: Callable[..., GitRepo]) -> GitRepo:
    """A repository with one human commit on `main`, on a new branch `feature`."""
    r = make_repo()
    r.commit({"README.md": "hi\n"})
    r.checkout("feature", create=True)
    return r


def test_whitespace_edit_by_human_keeps_agent_line(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    """The reported case: an agent's identity, then a human's `terraform fmt`."""
    agent = repo.commit({"iam.tf": 'resource "aws_iam_user" "u" { name = "u" }\n'},
                        author=COPILOT, message="agent change")
    code, findings = check(repo, capsys)
    assert code == 1
    assert by_rule(findings, "NHI101")["aws_iam_user.u"]["commit"] == agent
    fmt = repo.commit({"iam.tf": 'resource "aws_iam_user" "u" { name  = "u" }\n'},
                      author=HUMAN, message="terraform fmt")
    with cg.repo_session(repo.path) as r:
        [cf] = cg.build_changeset(r, repo.sha("main"), fmt).files
    assert (dict(cf.line_commits), dict(cf.line_lineage)) == ({1: fmt}, {1: (agent,)})
    code, findings = check(repo, capsys)
    assert code == 1
    found = by_rule(findings, "NHI101")["aws_iam_user.u"]
    assert (found["start_line"], found["actor_kind"], found["commit"], found["agent"]) == (
        1, "agent", agent, "GitHub Copilot coding agent")
    assert agent[:12] in found["message"]


def test_chain_agent_human_human_keeps_agent(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    agent = repo.commit({"iam.tf": user("u")}, author=COPILOT)
    fmt = repo.commit({"iam.tf": user("u", pad="  ")}, author=HUMAN)
    rename = repo.commit({"iam.tf": user("u", pad="  ", value="renamed")}, author=HUMAN)
    with cg.repo_session(repo.path) as r:
        [cf] = cg.build_changeset(r, repo.sha("main"), rename).files
    assert dict(cf.line_commits) == {1: agent, 2: rename}
    assert dict(cf.line_lineage) == {2: (agent, fmt)}
    code, findings = check(repo, capsys)
    assert code == 1
    found = by_rule(findings, "NHI101")
    assert list(found) == ["aws_iam_user.u"]
    assert (found["aws_iam_user.u"]["actor_kind"], found["aws_iam_user.u"]["commit"]) == (
        "agent", agent)


def test_human_edit_of_other_human_line_stays_human(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    """Lineage follows the edited lines only: the agent's identity elsewhere in the file does
    not leak onto a human identity that a human then edits."""
    agent = repo.commit({"iam.tf": user("a")}, author=COPILOT)
    human = repo.commit({"iam.tf": user("a") + "\n" + user("h")}, author=HUMAN)
    edit = repo.commit({"iam.tf": user("a") + "\n" + user("h", value="h2")}, author=HUMAN)
    with cg.repo_session(repo.path) as r:
        [cf] = cg.build_changeset(r, repo.sha("main"), edit).files
    assert dict(cf.line_commits) == {1: agent, 2: agent, 3: human, 4: human, 5: edit}
    assert dict(cf.line_lineage) == {5: (human,)}
    code, findings = check(repo, capsys)
    assert code == 1
    assert list(by_rule(findings, "NHI101")) == ["aws_iam_user.a"]
    assert by_rule(findings, "NHI101")["aws_iam_user.a"]["commit"] == agent
    assert {f["actor_kind"] for f in findings if f["address"] == "aws_iam_user.h"} <= {"human"}


def test_agent_line_deleted_and_new_human_line_elsewhere_is_human(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    """A pure deletion of the agent's line and a pure addition elsewhere inherit nothing."""
    repo = make_repo()
    repo.commit({"iam.tf": user("keep")})
    repo.checkout("feature", create=True)
    repo.commit({"iam.tf": user("a") + user("keep")}, author=COPILOT)
    human = repo.commit({"iam.tf": user("keep") + user("h")}, author=HUMAN)
    with cg.repo_session(repo.path) as r:
        [cf] = cg.build_changeset(r, repo.sha("main"), human).files
    assert (cf.added_lines, dict(cf.line_commits), dict(cf.line_lineage)) == (
        ((3, 4),), {3: human, 4: human}, {})
    code, findings = check(repo, capsys)
    assert code == 0
    assert by_rule(findings, "NHI101") == {}


def test_base_line_modified_by_human_stays_human(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    """A line whose original predates the range has no in-range lineage, even when an agent
    commit of the range touched the same file elsewhere."""
    repo = make_repo()
    repo.commit({"iam.tf": user("old") + "\n" + user("other")})
    repo.checkout("feature", create=True)
    agent = repo.commit({"iam.tf": user("old") + "\n" + user("other", value="other2")},
                        author=COPILOT)
    edited = user("old", value="old2") + "\n" + user("other", value="other2")
    human = repo.commit({"iam.tf": edited}, author=HUMAN)
    with cg.repo_session(repo.path) as r:
        [cf] = cg.build_changeset(r, repo.sha("main"), human).files
    assert (dict(cf.line_commits), dict(cf.line_lineage)) == ({2: human, 5: agent}, {})
    code, findings = check(repo, capsys)
    assert code == 1
    assert list(by_rule(findings, "NHI101")) == ["aws_iam_user.other"]
    assert {f["actor_kind"] for f in findings if f["address"] == "aws_iam_user.old"} <= {"human"}


def test_replay_records_lineage_per_hunk(repo: GitRepo) -> None:
    """`_replay` on a real five-commit history: origins equal blame's, lineage per hunk."""
    lines = [f"l{i}\n" for i in range(1, 7)]
    c1 = repo.commit({"f.txt": "".join(lines)}, author=COPILOT)
    lines[1] = "l2 human\n"  # modifies c1's line 2
    c2 = repo.commit({"f.txt": "".join(lines)})
    lines[1:3] = ["l2 again\n", "l3 again\n", "new\n"]  # replaces c2's and c1's lines, adds 1
    c3 = repo.commit({"f.txt": "".join(lines)})
    del lines[5]  # pure deletion of c1's l5
    lines.append("tail\n")  # pure addition
    c4 = repo.commit({"f.txt": "".join(lines)})
    lines[0] = "l1 fmt\n"
    c5 = repo.commit({"f.txt": "".join(lines)})
    base = repo.sha("main")
    with cg.repo_session(repo.path) as r:
        raw = run_git(r, "log", "-p", "-U0", "-M", "--topo-order", "--reverse",
                      *DIFF_OPTS, "--format=%x01%H", f"{base}..{c5}", "--")
        state, opaque = _replay(raw)
        [cf] = cg.build_changeset(r, base, c5).files
    assert opaque == set()
    wanted = set(range(1, 8))
    assert "".join(lines).splitlines() == ["l1 fmt", "l2 again", "l3 again", "new", "l4",
                                           "l6", "tail"]
    assert state["f.txt"].origins(wanted) == {1: c5, 2: c3, 3: c3, 4: c3, 5: c1, 6: c1, 7: c4}
    assert state["f.txt"].lineages(wanted) == {
        1: (c1,), 2: (c1, c2), 3: (c1, c2), 4: (c1, c2)}
    assert dict(cf.line_lineage) == state["f.txt"].lineages(wanted)


def test_runs_replace_lineage() -> None:
    """`_Runs.replace` directly: base lines add nothing; lineage is sorted oldest first and
    never holds the line's own commit."""
    order = {"a": 0, "b": 1, "c": 2, "d": 3}
    runs = _Runs()
    runs.replace(2, 0, "a", 2, order)  # a adds lines 3-4 after base lines 1-2
    runs.replace(0, 1, "b", 1, order)  # b modifies base line 1: nothing in range to inherit
    assert runs.lineages({1, 2, 3, 4}) == {}
    runs.replace(0, 4, "c", 1, order)  # c replaces lines 1-4 (b, base, a, a) by one line
    assert runs.origins({1, 2}) == {1: "c"}
    assert runs.lineages({1, 2}) == {1: ("a", "b")}  # oldest first, not in file order
    runs.replace(0, 1, "d", 2, order)
    assert runs.origins({1, 2, 3}) == {1: "d", 2: "d"}
    assert runs.lineages({1, 2, 3}) == {1: ("a", "b", "c"), 2: ("a", "b", "c")}
