"""An identity's writers over a long range are the commits that changed its meaning (issue 12,
false blocks B1/B2; DESIGN.md "What counts as a change (meaning, not lines)").

A person creates or changes an identity, an agent's commit only moves a line, re-aligns it or
moves the block to another file of its module, a person commits after: `check` over the whole
range does not make the identity the agent's change (no NHI101, no NHI201/NHI202 as the
agent's). The same range where the agent's commit also widens it blocks, naming the agent's
commit, and "created by" names the person's commit, not the mover. A commit whose tree does not
parse stays a writer (fail closed). The Azure managed-identity module (Dependabot's 9a9cd59)
and terraform-aws-eks (the Karpenter policy moved to `policy.tf`) are the real cases.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from conftest import HUMAN, GitRepo, Identity

from checker.cli import main

CLAUDE: Identity = ("Claude", "noreply@anthropic.com")
POLICY = """\
resource "aws_iam_role_policy" "ci" {
  name = "ci"
  role = "ci-role"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["s3:GetObject"]
      Resource = "arn:aws:s3:::bucket/*"
    }]
  })
}
"""
OTHER = 'resource "aws_s3_bucket" "b" {\n  bucket = "b"\n}\n'
ADDRESS = "aws_iam_role_policy.ci"


def _moved_line(text: str) -> str:
    """`name` moved below `role`: the same block."""
    return text.replace('  name = "ci"\n  role = "ci-role"\n',
                        '  role = "ci-role"\n  name = "ci"\n')


def _realigned(text: str) -> str:
    """`terraform fmt`-style re-alignment of two lines: the same block."""
    return text.replace('  name = "ci"\n  role = "ci-role"\n',
                        '  name   = "ci"\n  role   = "ci-role"\n')


def _widened(text: str) -> str:
    return text.replace('["s3:GetObject"]', '["s3:GetObject", "s3:PutObject"]')


#: An agent's cosmetic commit: the files it writes, from the person's `main.tf` text.
COSMETIC: dict[str, Callable[[str], dict[str, str | None]]] = {
    "moved-line": lambda t: {"main.tf": _moved_line(t)},
    "realigned": lambda t: {"main.tf": _realigned(t)},
    "moved-file": lambda t: {"main.tf": OTHER, "iam.tf": t},
}


def _check(repo: GitRepo, base: str, capsys: Any) -> tuple[int, list[dict[str, Any]]]:
    code = main(["check", "--repo", str(repo.path), "--base", base, "--head", "HEAD",
                 "--format", "json"])
    findings = json.loads(capsys.readouterr().out)["findings"]
    return code, [f for f in findings if f["address"] == ADDRESS]


@pytest.mark.parametrize("how", sorted(COSMETIC))
def test_an_agents_cosmetic_commit_on_a_persons_new_identity_is_no_change_of_the_agents(
        make_repo: Callable[..., GitRepo], capsys: Any, how: str) -> None:
    repo = make_repo()
    base = repo.commit({"README.md": "x\n"})
    created = repo.commit({"main.tf": POLICY + "\n" + OTHER}, author=HUMAN)
    files = COSMETIC[how](POLICY)
    if how != "moved-file":
        files = {"main.tf": f"{files['main.tf']}\n{OTHER}"}
    repo.commit(files, author=CLAUDE)
    repo.commit({"README.md": "y\n"}, author=HUMAN)
    code, found = _check(repo, base, capsys)
    assert code == 0
    # Whatever is said of the person's new identity is said of the person's commit.
    assert {(f["actor_kind"], f["commit"], f["blocking"]) for f in found} <= {
        ("human", created, False)}
    assert "NHI101" not in {f["rule_id"] for f in found}


@pytest.mark.parametrize("how", sorted(COSMETIC))
def test_an_agents_cosmetic_commit_on_a_changed_identity_leaves_it_the_persons(
        make_repo: Callable[..., GitRepo], capsys: Any, how: str) -> None:
    repo = make_repo()
    base = repo.commit({"main.tf": POLICY + "\n" + OTHER}, author=HUMAN)
    repo.commit(COSMETIC[how](POLICY) if how == "moved-file"
                else {"main.tf": COSMETIC[how](POLICY)["main.tf"] + "\n" + OTHER},
                author=CLAUDE)
    path = "iam.tf" if how == "moved-file" else "main.tf"
    text = (repo.path / path).read_text()
    narrowed = text.replace('"arn:aws:s3:::bucket/*"', '"arn:aws:s3:::bucket/ci/*"')
    person = repo.commit({path: narrowed}, author=HUMAN)
    code, found = _check(repo, base, capsys)
    assert code == 0
    assert {(f["rule_id"], f["actor_kind"], f["commit"]) for f in found} == {
        ("NHI302", "human", person)}  # the person's narrowing note alone


@pytest.mark.parametrize("how", sorted(COSMETIC))
def test_the_same_agent_commit_that_also_widens_blocks_naming_it(
        make_repo: Callable[..., GitRepo], capsys: Any, how: str) -> None:
    repo = make_repo()
    base = repo.commit({"README.md": "x\n"})
    created = repo.commit({"main.tf": POLICY + "\n" + OTHER}, author=HUMAN)
    files = COSMETIC[how](_widened(POLICY))
    if how != "moved-file":
        files = {"main.tf": f"{files['main.tf']}\n{OTHER}"}
    agent = repo.commit(files, author=CLAUDE)
    repo.commit({"README.md": "y\n"}, author=HUMAN)
    code, found = _check(repo, base, capsys)
    assert code == 1
    [nhi101] = [f for f in found if f["rule_id"] == "NHI101"]
    assert (nhi101["actor_kind"], nhi101["commit"], nhi101["blocking"]) == (
        "agent", agent, True)
    # "created by" names the person's commit, not the agent's that moved and widened it.
    assert nhi101["message"] == (
        f"{ADDRESS} (aws policy) was created by human in commit {created[:12]} and changed "
        f"by agent (Claude Code) in commit {agent[:12]} without a human's approval")


def test_a_widening_on_a_changed_identity_after_a_move_blocks_as_nhi302(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    repo = make_repo()
    base = repo.commit({"main.tf": POLICY + "\n" + OTHER}, author=HUMAN)
    repo.commit({"main.tf": OTHER, "iam.tf": POLICY}, author=HUMAN)  # a person's move
    agent = repo.commit({"iam.tf": _moved_line(_widened(POLICY))}, author=CLAUDE)
    code, found = _check(repo, base, capsys)
    assert code == 1
    assert ("NHI302", "agent", agent, True) in {
        (f["rule_id"], f["actor_kind"], f["commit"], f["blocking"]) for f in found}


def test_a_move_to_another_file_is_not_the_creation(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    """terraform-aws-eks: the commit that moved the Karpenter policy to `policy.tf` was named
    its creator. An agent widens the identity after a person created it and another agent
    moved it: the person created it, and the agent that widened it decides."""
    repo = make_repo()
    base = repo.commit({"README.md": "x\n"})
    created = repo.commit({"main.tf": POLICY + "\n" + OTHER}, author=HUMAN)
    repo.commit({"main.tf": OTHER, "policy.tf": POLICY}, author=CLAUDE)
    agent = repo.commit({"policy.tf": _widened(POLICY)}, author=CLAUDE)
    code, found = _check(repo, base, capsys)
    assert code == 1
    [nhi101] = [f for f in found if f["rule_id"] == "NHI101"]
    assert nhi101["commit"] == agent
    assert nhi101["message"].startswith(
        f"{ADDRESS} (aws policy) was created by human in commit {created[:12]} and changed "
        f"by agent (Claude Code) in commit {agent[:12]}")


def test_a_commit_whose_tree_does_not_parse_stays_a_writer(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    """Fail closed: the agent's line move came with a block python-hcl2 rejects, so its
    change cannot be judged by meaning, and the agent stays the identity's writer."""
    repo = make_repo()
    base = repo.commit({"README.md": "x\n"})
    repo.commit({"main.tf": POLICY + "\n" + OTHER}, author=HUMAN)
    broken = 'resource "aws_s3_bucket" "c" {\n  bucket = = "c"\n}\n'
    agent = repo.commit({"main.tf": _moved_line(POLICY) + "\n" + OTHER + "\n" + broken},
                        author=CLAUDE)
    repo.commit({"main.tf": _moved_line(POLICY) + "\n" + OTHER}, author=HUMAN)
    code, found = _check(repo, base, capsys)
    assert code == 1
    assert ("NHI101", "agent", agent, True) in {
        (f["rule_id"], f["actor_kind"], f["commit"], f["blocking"]) for f in found}


SOURCED = """\
data "aws_iam_policy_document" "v1" {
  statement {
    actions   = ["ec2:DescribeImages"]
    resources = ["*"]
  }
}

data "aws_iam_policy_document" "controller" {
  source_policy_documents = [data.aws_iam_policy_document.v1.json]
}
"""
INLINE = """\
data "aws_iam_policy_document" "controller" {
  statement {
    actions   = ["ec2:DescribeImages", "ec2:DescribeZones"]
    resources = ["*"]
  }
}
"""


def test_a_base_that_read_its_grants_through_source_documents_did_not_allow_nothing(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    """terraform-aws-eks `check --base HEAD~100`: the Karpenter controller policy read its
    statements through `source_policy_documents` at base, which nhi-gate does not merge in;
    NHI302 said "base allowed nothing"."""
    repo = make_repo()
    base = repo.commit({"policy.tf": SOURCED}, author=HUMAN)
    repo.commit({"policy.tf": INLINE}, author=CLAUDE)
    main(["check", "--repo", str(repo.path), "--base", base, "--head", "HEAD",
          "--format", "json"])
    findings = json.loads(capsys.readouterr().out)["findings"]
    [nhi302] = [f["message"] for f in findings if f["rule_id"] == "NHI302"
                and f["address"] == "data.aws_iam_policy_document.controller"]
    assert "(what base allowed through its source_policy_documents is not read)" in nhi302
    assert "base allowed nothing" not in nhi302


VALUED = POLICY.replace('["s3:GetObject"]', "var.actions")
VARIABLES = 'variable "actions" {\n  type    = list(string)\n  default = ["s3:GetObject"]\n}\n'
#: Where the agent's widening lives when its commit also only moves a line of the block.
WIDENINGS = {
    "variable default": {"variables.tf": VARIABLES.replace(
        '["s3:GetObject"]', '["s3:GetObject", "s3:PutObject"]')},
    "var file": {"envs/prod.tfvars": 'actions = ["s3:*"]\n'},
}


@pytest.mark.parametrize("where", sorted(WIDENINGS))
def test_a_move_beside_a_widened_value_the_identity_reads_still_blocks(
        make_repo: Callable[..., GitRepo], capsys: Any, where: str) -> None:
    """The commit is judged with the module's values at the commit and at its parent: a
    line move in the block and a wider value elsewhere in the module is a change."""
    repo = make_repo()
    base = repo.commit({"README.md": "x\n"})
    repo.commit({"main.tf": VALUED, "variables.tf": VARIABLES}, author=HUMAN)
    agent = repo.commit({"main.tf": _moved_line(VALUED), **WIDENINGS[where]}, author=CLAUDE)
    repo.commit({"README.md": "y\n"}, author=HUMAN)
    code, found = _check(repo, base, capsys)
    assert code == 1
    assert ("NHI101", "agent", agent, True) in {
        (f["rule_id"], f["actor_kind"], f["commit"], f["blocking"]) for f in found}


def test_tree_files_reads_a_folder_at_a_revision_without_a_process(
        make_repo: Callable[..., GitRepo]) -> None:
    from checker import git

    repo = make_repo()
    repo.write({"m/a.tf": "a\n", "m/b.txt": "b\n", "m/sub/c.tf": "c\n"})
    repo.symlink("m/link.tf", "a.tf")
    first = repo.commit(message="one")
    repo.commit({"m/a.tf": "a2\n"})
    with git.open_repo(repo.path) as r:
        found = git.tree_files(r, first, "m", lambda n: n.endswith(".tf"))
        assert sorted(found) == ["m/a.tf", "m/link.tf"]  # no subfolder, no other suffix
        assert found["m/a.tf"].data == b"a\n"
        assert found["m/link.tf"].data is None and found["m/link.tf"].is_symlink
        assert git.tree_files(r, first, "nowhere", lambda n: True) == {}
        assert sorted(git.tree_files(r, first, "", lambda n: True)) == []  # only folders


TWO = """\
resource "aws_iam_role_policy" "ci" {
  name = "ci"
  role = "ci-role"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect   = "Allow"
        Action   = ["s3:GetObject"]
        Resource = "arn:aws:s3:::bucket/*"
      },
    ]
  })
}

resource "aws_iam_role_policy" "ops" {
  name = "ops"
  role = "ops-role"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect   = "Allow"
        Action   = ["logs:GetLogEvents"]
        Resource = "arn:aws:logs:eu-west-1:111122223333:log-group:ops"
      },
    ]
  })
}
"""
WIDE = """\
      {
        Effect   = "Allow"
        Action   = ["iam:PassRole", "iam:CreateAccessKey"]
        Resource = "arn:aws:iam::111122223333:role/deployer-admin"
      },
"""


def test_an_agents_statement_a_person_moves_into_another_identity_stays_the_agents(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    """The agent's commit did nothing to `aws_iam_role_policy.ci` itself, but the person's
    commit moved the agent's statement into it: lineage keeps it the agent's, so the agent's
    commit is not asked whether its change to `ci` was cosmetic (it would be: it had none)."""
    repo = make_repo()
    base = repo.commit({"main.tf": TWO}, author=HUMAN)
    ops_end = TWO.rindex("    ]\n  })")
    agent = repo.commit({"main.tf": TWO[:ops_end] + WIDE + TWO[ops_end:]}, author=CLAUDE)
    ci_end = TWO.index("    ]\n  })")
    repo.commit({"main.tf": TWO[:ci_end] + WIDE + TWO[ci_end:]}, author=HUMAN)
    code, found = _check(repo, base, capsys)
    assert code == 1
    assert ("NHI302", "agent", agent, True) in {
        (f["rule_id"], f["actor_kind"], f["commit"], f["blocking"]) for f in found}
