"""The EKS `aws-auth` ConfigMap written in unusual YAML (issue 12, GitOps leftovers): anchors
and aliases, flow style, quoted keys, a block scalar with another indentation, `mapUsers` and
`mapAccounts`, and item keys in another letter case (the authenticator matches `Groups` and
`roleARN` as `groups` and `rolearn`). Each grant is still found: an agent's mapping to
`system:masters` blocks (NHI301, NHI302 on the mapping's line), a person's does not, and taking
it away again is a narrowing note. Real git repos in temp dirs."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from conftest import HUMAN, GitRepo
from test_aws_auth import BASE, CLAUDE, rows, run
from test_gitops import objects

HEADER = BASE[:BASE.index("\ndata:\n") + 1]
CI = "arn:aws:iam::123456789012:role/ci"
NODES = ("- rolearn: arn:aws:iam::123456789012:role/nodes\n"
         "  username: system:node:{{EC2PrivateDNSName}}\n"
         "  groups: [system:bootstrappers, system:nodes]\n")


def block(key: str, body: str, indent: int = 4, header: str = "|") -> str:
    """`  <key>: <header>` and `body`'s lines indented by `indent`."""
    pad = " " * indent
    return f"  {key}: {header}\n" + "".join(f"{pad}{line}\n" for line in body.splitlines())


#: case -> (head text, line of the new mapping, the grant it adds); every base is `BASE`
CASES: dict[str, tuple[str, int, str]] = {
    "alias-in-groups": (HEADER + "data:\n" + block("mapRoles", NODES + (
        f"- rolearn: {CI}\n  username: &g system:masters\n  groups: [system:authenticated, *g]\n"
    )), 11, f"Group/system:masters on {CI}"),
    "anchor-merge-key": (HEADER + "data:\n" + block("mapRoles", (
        "- &node\n  rolearn: arn:aws:iam::123456789012:role/nodes\n"
        "  username: system:node:{{EC2PrivateDNSName}}\n"
        "  groups: [system:bootstrappers, system:nodes]\n"
        f"- <<: *node\n  rolearn: {CI}\n  groups: [system:masters]\n"
    )), 12, f"Group/system:masters on {CI}"),
    "flow-style": (HEADER + "data:\n  mapRoles: '[{rolearn: \"arn:aws:iam::123456789012:role/"
                   "nodes\", groups: [system:bootstrappers, system:nodes]},\n"
                   f"    {{rolearn: \"{CI}\", groups: [system:masters]}}]'\n",
                   7, f"Group/system:masters on {CI}"),
    "quoted-keys": (HEADER + "data:\n" + block('"mapRoles"', NODES + (
        f'- "rolearn": "{CI}"\n  "groups":\n  - "system:masters"\n'
    )), 11, f"Group/system:masters on {CI}"),
    "other-indentation": (HEADER + "data:\n" + block("mapRoles", NODES.replace(
        "- ", "-   ", 1).replace("\n  ", "\n    ")
        + f"-   rolearn: {CI}\n    groups:\n        -   system:masters\n",
        indent=10, header="|2-"), 11, f"Group/system:masters on {CI}"),
    "map-users": (BASE + block("mapUsers", (
        "- userarn: arn:aws:iam::123456789012:user/deploy\n"
        "  groups: &admins\n  - system:masters\n")), 12,
        "Group/system:masters on arn:aws:iam::123456789012:user/deploy"),
    "key-case": (BASE + f"    - roleARN: {CI}\n      Groups: [system:masters]\n", 11,
                 f"Group/system:masters on {CI}"),
}


def test_each_unusual_form_names_the_grant_at_its_line() -> None:
    for case, (text, line, grant) in CASES.items():
        (obj,) = objects(text, "k8s/aws-auth.yaml")
        found = {f"{g.action} on {g.resource}": g.line for g in obj.privileges}
        assert found.get(grant) == line, (case, found)


def test_map_accounts_and_a_capitalised_arn_key() -> None:
    text = BASE + "  mapAccounts: |\n    - '111122223333'\n    - 444455556666\n"
    (obj,) = objects(text, "k8s/aws-auth.yaml")
    assert [(g.resource, g.line) for g in obj.privileges if g.action.startswith("User/")] == [
        ("arn:aws:iam::111122223333:*", 12), ("arn:aws:iam::444455556666:*", 13)]
    (users,) = objects(BASE + "  mapUsers: |\n    - UserArn: arn:aws:iam::1:user/u\n"
                              "      UserName: u\n", "k8s/aws-auth.yaml")
    assert ("User/u", "arn:aws:iam::1:user/u") in [(g.action, g.resource)
                                                    for g in users.privileges]


@pytest.mark.parametrize("case", sorted(CASES))
def test_an_agent_mapping_to_masters_in_unusual_yaml_blocks(
        case: str, make_repo: Callable[..., GitRepo],
        capsys: pytest.CaptureFixture[str]) -> None:
    head, line, grant = CASES[case]
    code, findings = run(make_repo, "k8s/aws-auth.yaml", BASE, head, CLAUDE, capsys)
    assert code == 1
    assert {("NHI301", line, True), ("NHI302", line, True)} <= rows(findings), rows(findings)
    (admin,) = [f for f in findings if f["rule_id"] == "NHI301"]
    assert grant in admin["message"]


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_person_mapping_to_masters_in_unusual_yaml_does_not_block(
        case: str, make_repo: Callable[..., GitRepo],
        capsys: pytest.CaptureFixture[str]) -> None:
    head, line, _ = CASES[case]
    code, findings = run(make_repo, "k8s/aws-auth.yaml", BASE, head, HUMAN, capsys)
    assert code == 0
    assert ("NHI302", line, False) in rows(findings)
    assert not [f for f in findings if f["blocking"]]


@pytest.mark.parametrize("case", sorted(CASES))
def test_an_agent_removing_the_masters_mapping_is_a_narrowing_note(
        case: str, make_repo: Callable[..., GitRepo],
        capsys: pytest.CaptureFixture[str]) -> None:
    head, _, _ = CASES[case]
    code, findings = run(make_repo, "k8s/aws-auth.yaml", head, BASE, CLAUDE, capsys)
    assert code == 0, findings
    assert [(f["rule_id"], f["level"], f["blocking"]) for f in findings] == [
        ("NHI302", "note", False)]
