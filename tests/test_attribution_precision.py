"""Who wrote it, precision (issue 12 slice; findings against issue 14's area): wrong labels
and wrong attributions a new user found on real histories, each rebuilt as real commits.

- Copilot Autofix's co-author trailer (`Copilot Autofix powered by AI <175728472+Copilot@...>`)
  names Copilot Autofix, not the Copilot coding agent;
- a Renovate or Dependabot commit whose message quotes an agent's trailer or footer (upstream
  release notes, a squashed PR body) is the bot's, and still gated;
- an agent among many co-authors (a squash) stays the agent, with strong evidence, named as one
  of them; nor can an agent hide behind 34 people;
- a module call's identities in the ledger: left out (the block is recorded once, at its own
  address), so a commit that changes the called module alone no longer "removes" them and the
  next one "creates" them again (terraform-aws-eks `module.karpenter_disabled`, named
  Claude-created while its block is a person's).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from checker.cli import main
from tests.conftest import CLAUDE_TRAILER, HUMAN, WEB_FLOW, GitRepo

NOREPLY = "users.noreply.github.com"
AUTOFIX = ("Co-authored-by", f"Copilot Autofix powered by AI <175728472+Copilot@{NOREPLY}>")
RENOVATE = ("renovate[bot]", f"29139614+renovate[bot]@{NOREPLY}")
DEPENDABOT = ("dependabot[bot]", f"49699333+dependabot[bot]@{NOREPLY}")
USER = 'resource "aws_iam_user" "ci" {\n  name = "ci"\n}\n'
#: 34 people, as in the squash of a long-running pull request.
PEOPLE = [("Co-authored-by", f"Person {n} <{1000 + n}+person{n}@{NOREPLY}>") for n in range(34)]



def _check(repo: GitRepo, base: str, capsys: pytest.CaptureFixture[str]
           ) -> tuple[int, dict[str, Any]]:  # fmt: skip
    code = main(["check", "--repo", str(repo.path), "--base", base, "--head", repo.sha(),
                 "--format", "json"])
    return code, json.loads(capsys.readouterr().out)


def _commit(report: dict[str, Any], sha: str) -> tuple[str, str, str]:
    row = next(c for c in report["commits"] if c["sha"] == sha)
    return row["actor_kind"], row["agent"], row["strength"]


def _signatures(report: dict[str, Any], sha: str) -> list[str]:
    row = next(c for c in report["commits"] if c["sha"] == sha)
    return [e["signature"] for e in row["evidence"] if e["strength"] == "strong"]


CONFIG = "budgets: {parse_seconds: 600}\n"  # a busy machine never turns a file into NHI903
MODULE = """\
variable "create" {
  default = true
}

data "aws_iam_policy_document" "controller" {
  count = var.create ? 1 : 0

  statement {
    actions   = ["ec2:DescribeInstances"]
    resources = ["*"]
  }
}
"""
CALLER = """\
locals {
  name = "ex-karpenter"
}

module "karpenter_disabled" {
  source = "../../modules/karpenter"
  create = false
}
"""


def test_a_module_calls_identities_are_not_recreated_in_the_ledger(
        make_repo: Callable[..., GitRepo], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    first = repo.commit({".nhi-gate.yaml": CONFIG, "modules/karpenter/policy.tf": MODULE,
                         "examples/karpenter/main.tf": CALLER}, author=HUMAN,
                        message="Add karpenter")
    # a person changes the module alone, then an agent-assisted commit changes both
    repo.commit({"modules/karpenter/policy.tf": MODULE.replace(
        '"ec2:DescribeInstances"', '"ec2:DescribeInstances", "ec2:DescribeSubnets"')},
        author=HUMAN, message="Describe subnets")
    agent = repo.commit({
        "modules/karpenter/policy.tf": MODULE.replace(
            '"ec2:DescribeInstances"',
            '"ec2:DescribeInstances", "ec2:DescribeSubnets", "ec2:DescribeInstanceStatus"'),
        "examples/karpenter/main.tf": CALLER.replace("  create = false\n",
                                                     "  create = false\n  zonal = true\n"),
    }, author=HUMAN, message="Support v1.12", trailers=[CLAUDE_TRAILER])
    db = tmp_path / "ledger.sqlite"
    assert main(["ledger", str(repo.path), "--db", str(db), "--format", "json",
                 "--include-removed"]) == 0
    data = json.loads(capsys.readouterr().out)
    rows = {r["address"]: r for r in data["identities"]}
    # was also module.karpenter_disabled.<address>: created (human), removed by the commit
    # that changed the module alone, created again by the agent-assisted one, so "agent-created"
    assert sorted(rows) == ["data.aws_iam_policy_document.controller"]
    [row] = rows.values()
    assert (row["created_by"]["actor_kind"], row["created_by"]["commit"], row["status"]) == (
        "human", first, "live")
    events = [(e["event"], e["actor_kind"], e["commit"]) for e in data["events"]]
    assert events == [("created", "human", first), ("widened", "human", events[1][2]),
                      ("widened", "agent", agent)]
    assert main(["ledger", str(repo.path), "--db", str(db), "--format", "json",
                 "--agent-created"]) == 0
    assert json.loads(capsys.readouterr().out)["identities"] == []

def test_copilot_autofix_is_named_autofix(make_repo: Callable[..., GitRepo],
                                          capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({"README.md": "x\n"})
    fix = repo.commit({"infra/user.tf": USER}, author=HUMAN, committer=WEB_FLOW,
                      message="Potential fix for pull request finding", trailers=[AUTOFIX])
    quality = repo.commit({"infra/user.tf": USER.replace('"ci"\n', '"ci2"\n')}, author=HUMAN,
                          message="Potential fix for code quality finding", trailers=[(
                              "Co-authored-by", "Copilot Autofix powered by AI "
                              f"<223894421+github-code-quality[bot]@{NOREPLY}>")])
    review = repo.commit({"README.md": "y\n"}, author=HUMAN,
                         message="Apply suggestions from code review",
                         trailers=[("Co-authored-by", f"Copilot <175728472+Copilot@{NOREPLY}>")])
    code, report = _check(repo, base, capsys)
    assert code == 1
    autofix = ("agent", "GitHub Copilot Autofix", "strong")
    assert _commit(report, fix) == autofix  # was the Copilot coding agent
    assert _commit(report, quality) == autofix  # was a plain App bot
    assert _signatures(report, fix)[0] == "copilot-autofix"
    # the same address with Copilot's own name: not Autofix (unchanged)
    assert _commit(report, review) == ("agent", "GitHub Copilot coding agent", "strong")


@pytest.mark.parametrize("bot", [RENOVATE, DEPENDABOT], ids=["renovate", "dependabot"])
def test_a_dependency_bot_quoting_an_agent_trailer_is_the_bot(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        bot: tuple[str, str]) -> None:
    repo = make_repo()
    base = repo.commit({"README.md": "x\n"})
    notes = ("Bump hashicorp/aws to 6.1.0\n\nRelease notes\n\n* Add a resource by @someone\n\n"
             "🤖 Generated with [Claude Code](https://claude.com/claude-code)\n")
    quoting = repo.commit({"infra/user.tf": USER}, author=bot, committer=WEB_FLOW,
                          message=notes, trailers=[CLAUDE_TRAILER])
    product = "Renovate" if bot == RENOVATE else "Dependabot"
    # an agent's address as the committer is not in the message: still the agent's
    committed = repo.commit({"infra/user.tf": USER.replace('"ci"\n', '"ci2"\n')}, author=bot,
                            committer=("Claude", "noreply@anthropic.com"), message="Bump")
    code, report = _check(repo, base, capsys)
    assert _commit(report, quoting) == ("bot", product, "strong")  # was agent (Claude Code)
    assert "claude-code" in _signatures(report, quoting)  # the evidence is kept
    assert _commit(report, committed)[:2] == ("agent", "Claude Code")
    assert code == 1  # gated all the same
    by_quoting = [f["rule_id"] for f in report["findings"] if f["commit"] == quoting]
    assert "NHI103" not in by_quoting  # a bot names no requester; only agents must


def test_an_agent_among_many_co_authors_stays_the_agent(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({"README.md": "x\n"})
    squash = repo.commit({"infra/user.tf": USER}, author=HUMAN, committer=WEB_FLOW,
                         message="Big feature (#42)", trailers=[*PEOPLE[:17], CLAUDE_TRAILER,
                                                                *PEOPLE[17:]])
    code, report = _check(repo, base, capsys)
    assert _commit(report, squash) == ("agent", "Claude Code, one of 35 co-authors", "strong")
    nhi101 = [f for f in report["findings"] if f["rule_id"] == "NHI101"]
    assert code == 1 and [f["blocking"] for f in nhi101] == [True]
    assert "agent (Claude Code, one of 35 co-authors)" in nhi101[0]["message"]


def test_lines_an_agent_wrote_stay_its_own_under_a_many_co_author_commit(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({"README.md": "x\n"})
    wrote = repo.commit({"infra/user.tf": USER}, author=("Copilot", f"198982749+Copilot@{NOREPLY}"),
                        committer=WEB_FLOW, message="Add the CI user")
    moved = repo.commit({"infra/user.tf": None, "infra/iam/users.tf": "# users\n\n" + USER},
                        author=HUMAN, message="Move users (#43)", trailers=PEOPLE)
    code, report = _check(repo, base, capsys)
    assert _commit(report, moved)[0] == "human"
    nhi101 = [f for f in report["findings"] if f["rule_id"] == "NHI101"]
    assert code == 1 and [(f["actor_kind"], f["commit"]) for f in nhi101] == [("agent", wrote)]


def _doc(name: str, *actions: str) -> str:
    body = "".join(f'  statement {{\n    actions   = ["{a}"]\n    resources = ["*"]\n  }}\n'
                   for a in actions)
    return f'data "aws_iam_policy_document" "{name}" {{\n{body}}}\n'


def test_common_line_pairs_carry_no_attribution(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    """An agent deletes a statement it wrote (its `}` and `statement {` lines, and `]`/`}`
    pairs, go to the deleted pool); a person then writes another document with two
    statements: its `  }` then `  statement {` pair repeats the agent's deleted pair, but
    says nothing of its own, so the person's document stays the person's (terraform-aws-eks:
    NHI106 on a person's `distinct([...])` line named a Claude commit)."""
    repo = make_repo()
    base = repo.commit({"README.md": "x\n"})
    copilot = ("Copilot", f"198982749+Copilot@{NOREPLY}")
    wrote = repo.commit({"iam/a.tf": _doc("a", "s3:GetObject", "s3:PutObject")},
                        author=copilot, committer=WEB_FLOW, message="Add a")
    repo.commit({"iam/a.tf": _doc("a", "s3:GetObject")}, author=copilot, committer=WEB_FLOW,
                message="Drop the put")
    person = repo.commit({"iam/b.tf": _doc("b", "sqs:SendMessage", "sns:Publish")},
                         author=HUMAN, message="Add b")
    code, report = _check(repo, base, capsys)
    on_b = {(f["rule_id"], f["actor_kind"], f["commit"]) for f in report["findings"]
            if f["address"] == "data.aws_iam_policy_document.b"}
    assert {actor for _, actor, _ in on_b} <= {"human"}, on_b  # was NHI101, agent, `wrote`
    assert {commit for _, _, commit in on_b} <= {person}
    assert next(c for c in report["commits"] if c["sha"] == person)["actor_kind"] == "human"
    assert [(f["address"], f["commit"]) for f in report["findings"] if f["rule_id"] == "NHI101"
            ] == [("data.aws_iam_policy_document.a", wrote)]
    assert code == 1


PASSROLE = """\
locals {
  ec2_sp_name = "ec2.amazonaws.com"
}

data "aws_iam_policy_document" "controller" {
  statement {
    sid       = "AllowPassingInstanceRole"
    resources = ["arn:aws:iam::111122223333:role/node"]
    actions   = ["iam:PassRole"]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ec2.amazonaws.com"]
    }
  }
}
"""
ZONAL = """\
  statement {
    sid       = "AllowZonalShiftReadActions"
    resources = ["*"]
    actions   = ["arc-zonal-shift:GetManagedResource"]
  }
}
"""


def test_an_unresolved_value_a_person_added_is_the_persons(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    """terraform-aws-eks HEAD~100..HEAD: a person's `distinct([...])` (0b0ca66) in the Karpenter
    controller policy, and a later Claude-assisted commit (3bc989b) adding a statement to the
    same policy: NHI106 named the Claude commit and blocked; it is the person's note, and the
    agent's statement is judged by NHI101/NHI302. (`distinct` is computed now: `reverse`,
    which is not, stands in for a value nhi-gate cannot compute.)"""
    repo = make_repo()
    base = repo.commit({"karpenter/policy.tf": PASSROLE})
    person = repo.commit({"karpenter/policy.tf": PASSROLE.replace(
        'values   = ["ec2.amazonaws.com"]',
        'values   = reverse([local.ec2_sp_name, "ec2.amazonaws.com"])')},
        author=HUMAN, message="Use the service principal local")
    agent = repo.commit({"karpenter/policy.tf": PASSROLE.replace(
        'values   = ["ec2.amazonaws.com"]',
        'values   = reverse([local.ec2_sp_name, "ec2.amazonaws.com"])').removesuffix("}\n")
        + ZONAL}, author=HUMAN, message="Support Karpenter v1.12", trailers=[CLAUDE_TRAILER])
    code, report = _check(repo, base, capsys)
    found = {f["rule_id"]: f for f in report["findings"]}
    nhi106 = found["NHI106"]
    assert (nhi106["actor_kind"], nhi106["commit"], nhi106["level"], nhi106["blocking"]) == (
        "human", person, "note", False)  # was: agent, the Claude commit, error, blocking
    assert nhi106["start_line"] == 14
    assert (found["NHI101"]["commit"], found["NHI101"]["blocking"]) == (agent, True)
    assert code == 1


@pytest.mark.parametrize(("writers", "words"), [
    ([RENOVATE], "by a bot need"),
    ([("Claude", "noreply@anthropic.com")], "by an agent need"),
    ([RENOVATE, ("Claude", "noreply@anthropic.com")], "by an agent or a bot need"),
], ids=["renovate", "agent", "both"])
def test_the_verdict_line_names_the_writers_kind(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        writers: list[tuple[str, str]], words: str) -> None:
    """A Renovate commit's verdict says a bot, not an agent, wrote what needs approval."""
    repo = make_repo()
    base = repo.commit({"README.md": "x\n"})
    for n, writer in enumerate(writers):
        repo.commit({f"infra/user{n}.tf": USER.replace('"ci"', f'"ci{n}"')}, author=writer,
                    committer=writer, message="Update infra",
                    trailers=[("Requested-by", "Alice <a@corp.example>")])
    code = main(["check", "--repo", str(repo.path), "--base", base, "--head", repo.sha()])
    verdict = capsys.readouterr().out.strip().splitlines()[-1]
    assert code == 1
    assert verdict.startswith("nhi-gate: FAIL") and "blocking: NHI101" in verdict
    assert f"identities created or changed {words} a human's approval" in verdict
