"""Crossplane AWS IAM kinds beyond users, roles and policies (inline policies, group attachments
and memberships, instance profiles, OIDC providers, service-linked roles) and the managed
resources a Crossplane `Composition` composes: parser shapes, and end-to-end checks on real git
repositories with an agent (blocks) and a person (reported, not gated)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from conftest import COPILOT, HUMAN, GitRepo

from checker.cli import main
from checker.model import Grant, IdentityObject, SourceFile, Trust
from checker.pipeline import parse_sources
from checker.policy.catalogue import load_catalogue
from checker.policy.config import Config

CLAUDE = ("Claude", "noreply@anthropic.com")
REQUESTED = (("Requested-by", "Alice Example <alice@example.com>"),)
ADMIN = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'
READ = ('{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject",'
        '"Resource":"arn:aws:s3:::b/*"}]}')


def k8s(text: str) -> list[IdentityObject]:
    parsed = parse_sources([SourceFile("k/iam.yaml", text.encode())], load_catalogue(), Config())
    assert not parsed.problems, parsed.problems
    return [o for o in parsed.objects if o.derived_from is None]


def xp(kind: str, for_provider: str, api: str = "iam.aws.upbound.io/v1beta1") -> str:
    return (f"apiVersion: {api}\nkind: {kind}\nmetadata: {{name: x}}\nspec:\n"
            f"  forProvider:\n{for_provider}")


def test_inline_policies_attachments_and_memberships_are_read() -> None:
    (up,) = k8s(xp("UserPolicy", f"    user: ci-bot\n    policy: '{ADMIN}'\n"))
    assert (up.type, up.kind, up.references) == ("iam.aws.upbound.io/UserPolicy", "policy",
                                                 ("User/ci-bot",))
    assert [(g.action, g.resource, g.line) for g in up.privileges] == [("*", "*", 7)]
    (rp,) = k8s(xp("RolePolicy", f"    roleName: app\n    document: '{READ}'\n",
                   api="iam.aws.crossplane.io/v1beta1"))
    assert [(g.action, g.resource) for g in rp.privileges] == [("s3:GetObject", "arn:aws:s3:::b/*")]
    assert rp.references == ("Role/app",)
    (gpa,) = k8s(xp("GroupPolicyAttachment", "    groupRef: {name: devs}\n"
                    "    policyArn: arn:aws:iam::aws:policy/AdministratorAccess\n"))
    assert gpa.privileges == (Grant("arn:aws:iam::aws:policy/AdministratorAccess", line=7),)
    assert gpa.references == ("Group/devs",)
    (ugm,) = k8s(xp("UserGroupMembership", "    user: ci-bot\n    groups: [admins, devs]\n"))
    assert [(g.action, g.resource, g.line) for g in ugm.privileges] == [
        ("Group/admins", "User/ci-bot", 7), ("Group/devs", "User/ci-bot", 7)]
    (gm,) = k8s(xp("GroupMembership", "    group: admins\n    users: [a, b]\n"))
    assert [(g.action, g.resource) for g in gm.privileges] == [
        ("Group/admins", "User/a"), ("Group/admins", "User/b")]
    (gum,) = k8s(xp("GroupUserMembership", "    groupName: admins\n    userName: a\n",
                    api="iam.aws.crossplane.io/v1beta1"))
    assert [(g.action, g.resource) for g in gum.privileges] == [("Group/admins", "User/a")]


def test_instance_profile_oidc_provider_and_service_linked_role() -> None:
    (ip,) = k8s(xp("InstanceProfile", "    role: admin\n"))
    assert (ip.kind, [g.action for g in ip.privileges], ip.references) == (
        "role", ["Role/admin"], ("Role/admin",))
    (oidc,) = k8s(xp("OpenIDConnectProvider", "    url: https://token.actions.githubusercontent."
                     "com\n    clientIdList: [sts.amazonaws.com]\n"))
    assert (oidc.kind, oidc.trust) == (
        "oidc_trust", (Trust("Issuer:https://token.actions.githubusercontent.com", (), 6),))
    (slr,) = k8s(xp("ServiceLinkedRole", "    awsServiceName: autoscaling.amazonaws.com\n"))
    assert slr.trust == (Trust("Service:autoscaling.amazonaws.com", (), 6),)
    (group,) = k8s(xp("Group", "    path: /ci/\n"))
    assert (group.type, group.kind) == ("iam.aws.upbound.io/Group", "role")


def composition(policy: str, legacy: bool = False) -> str:
    base = ("        base:\n          apiVersion: iam.aws.upbound.io/v1beta1\n"
            "          kind: Policy\n          spec:\n            forProvider:\n"
            f"              policy: '{policy}'\n")
    if legacy:
        return ("apiVersion: apiextensions.crossplane.io/v1\nkind: Composition\n"
                "metadata: {name: app-iam}\nspec:\n  resources:\n      - name: policy\n" + base)
    return ("apiVersion: apiextensions.crossplane.io/v1\nkind: Composition\n"
            "metadata: {name: app-iam}\nspec:\n  mode: Pipeline\n  pipeline:\n  - step: pt\n"
            "    functionRef: {name: function-patch-and-transform}\n    input:\n"
            "      apiVersion: pt.fn.crossplane.io/v1beta1\n      kind: Resources\n"
            "      resources:\n      - name: policy\n" + base)


@pytest.mark.parametrize(("legacy", "line"), [(False, 19), (True, 12)])
def test_a_composition_base_is_read_as_the_object_it_composes(legacy: bool, line: int) -> None:
    (obj,) = k8s(composition(ADMIN, legacy))
    assert (obj.address, obj.type) == ("Composition/app-iam:policy", "iam.aws.upbound.io/Policy")
    assert [(g.action, g.resource, g.line) for g in obj.privileges] == [("*", "*", line)]


def run_check(repo: GitRepo, base: str, head: str,
              capsys: pytest.CaptureFixture[str]) -> tuple[int, set[tuple[str, str, int, bool]]]:
    code = main(["check", "--repo", str(repo.path), "--base", base, "--head", head,
                 "--format", "json"])
    findings: list[dict[str, Any]] = json.loads(capsys.readouterr().out)["findings"]
    return code, {(f["rule_id"], f["address"], f["start_line"], f["blocking"])
                  for f in findings if f["rule_id"] in ("NHI101", "NHI301", "NHI302")}


MORE = f"""\
apiVersion: iam.aws.upbound.io/v1beta1
kind: GroupPolicyAttachment
metadata: {{name: gpa}}
spec:
  forProvider:
    group: devs
    policyArn: arn:aws:iam::aws:policy/AdministratorAccess
---
apiVersion: iam.aws.upbound.io/v1beta1
kind: UserGroupMembership
metadata: {{name: ugm}}
spec:
  forProvider:
    user: ci-bot
    groups: [admins]
---
apiVersion: iam.aws.upbound.io/v1beta1
kind: UserPolicy
metadata: {{name: up}}
spec:
  forProvider:
    user: ci-bot
    policy: '{ADMIN}'
"""
RP = ("apiVersion: iam.aws.upbound.io/v1beta1\nkind: RolePolicy\nmetadata: {name: rp}\nspec:\n"
      "  forProvider:\n    role: app\n    policy: '%s'\n")


@pytest.mark.parametrize("author", [CLAUDE, HUMAN], ids=["agent", "human"])
def test_crossplane_iam_widening_blocks_for_an_agent_and_is_reported_for_a_human(
        author: tuple[str, str], make_repo: Callable[..., GitRepo],
        capsys: pytest.CaptureFixture[str]) -> None:
    """attack-crd3: a UserPolicy of */*, an AdministratorAccess group attachment, a membership
    into admins, a RolePolicy widened to */*, a Composition's Policy base widened to */*."""
    repo = make_repo()
    base = repo.commit({"k/rp.yaml": RP % READ, "k/comp.yaml": composition(READ)}, author=HUMAN)
    head = repo.commit({"k/rp.yaml": RP % ADMIN, "k/comp.yaml": composition(ADMIN),
                        "k/more.yaml": MORE}, author=author,
                       trailers=REQUESTED if author == CLAUDE else ())
    code, found = run_check(repo, base, head, capsys)
    agent = author == CLAUDE
    judged = {("NHI301", "GroupPolicyAttachment/gpa", 7), ("NHI301", "UserPolicy/up", 23),
              ("NHI301", "RolePolicy/rp", 7), ("NHI302", "RolePolicy/rp", 7),
              ("NHI301", "Composition/app-iam:policy", 19),
              ("NHI302", "Composition/app-iam:policy", 19)}
    if agent:
        judged |= {("NHI101", "GroupPolicyAttachment/gpa", 1),
                   ("NHI101", "UserGroupMembership/ugm", 9), ("NHI101", "UserPolicy/up", 17),
                   ("NHI101", "RolePolicy/rp", 7), ("NHI101", "Composition/app-iam:policy", 19)}
    assert code == (1 if agent else 0)
    assert found == {(*f, agent) for f in judged}


def test_inventory_lists_the_new_kinds(make_repo: Callable[..., GitRepo],
                                       capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    repo.commit({"k/more.yaml": MORE, "k/comp.yaml": composition(READ)}, author=HUMAN)
    assert main(["inventory", str(repo.path), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    rows = rows["identities"] if isinstance(rows, dict) else rows
    assert sorted((r["address"], r["type"]) for r in rows) == [
        ("Composition/app-iam:policy", "iam.aws.upbound.io/Policy"),
        ("GroupPolicyAttachment/gpa", "iam.aws.upbound.io/GroupPolicyAttachment"),
        ("UserGroupMembership/ugm", "iam.aws.upbound.io/UserGroupMembership"),
        ("UserPolicy/up", "iam.aws.upbound.io/UserPolicy")]


STORE = """\
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata:
  name: akeyless
  namespace: payments
  labels:
    app: payments
spec:
  provider:
    akeyless:
      akeylessGWApiURL: https://gw.example.com/api/v2
      authSecretRef:
        secretRef:
          accessID:
            name: akeyless-creds
            key: access-id
"""


@pytest.mark.parametrize(("edit", "identity_change"), [
    # the Cursor co-authored snapshot edit (external-secrets 2b4413b70), a refresh, a label
    (("      akeylessGWApiURL:", "      ignoreCache: true\n      akeylessGWApiURL:"), False),
    (("spec:\n", "spec:\n  refreshInterval: 1h\n  retrySettings: {maxRetries: 3}\n"), False),
    (("    app: payments", "    app: payments-v2\n    helm.sh/chart: x-1.2.3"), False),
    # what it reads, with which credential, where
    (("https://gw.example.com", "https://gw.attacker.example"), True),
    (("name: akeyless-creds", "name: admin-creds"), True),
    (("namespace: payments", "namespace: platform"), True),
], ids=["ignoreCache", "refresh", "labels", "provider", "auth", "namespace"])
def test_an_external_secrets_timing_or_label_edit_is_no_identity_change(
        edit: tuple[str, str], identity_change: bool, make_repo: Callable[..., GitRepo],
        capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({"k/store.yaml": STORE}, author=HUMAN)
    head = repo.commit({"k/store.yaml": STORE.replace(*edit, 1)}, author=CLAUDE,
                       trailers=REQUESTED)
    code, found = run_check(repo, base, head, capsys)
    assert {f[0] for f in found} == ({"NHI101"} if identity_change else set())
    assert code == (1 if identity_change else 0)


SELECTED = """\
apiVersion: iam.aws.upbound.io/v1beta1
kind: RolePolicyAttachment
metadata: {name: ci-read}
spec:
  forProvider:
    POLICY
    roleRef: {name: ci}
"""


def test_a_policy_chosen_by_selector_or_reference_is_unresolved() -> None:
    (obj,) = k8s(SELECTED.replace("POLICY", "policyArnSelector: {matchLabels: {owner: platform}}"))
    assert [(u.attribute, u.expression, u.line) for u in obj.unresolved] == [
        ("policyArn", "policyArnSelector owner=platform", 6)]
    (obj,) = k8s(SELECTED.replace("POLICY", "policyArnRef: {name: breakglass}"))
    assert [u.expression for u in obj.unresolved] == ["policyArnRef breakglass"]
    (obj,) = k8s(SELECTED.replace("POLICY", "policyArn: arn:aws:iam::aws:policy/ReadOnlyAccess"))
    assert obj.unresolved == ()


def test_an_agent_attaching_a_selected_policy_fails_closed_and_the_message_says_why(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
) -> None:
    repo = make_repo()
    repo.commit({"iam/att.yaml": SELECTED.replace(
        "POLICY", "policyArnSelector: {matchLabels: {owner: platform}}")}, author=HUMAN)
    base = repo.sha()
    repo.commit({"iam/att.yaml": SELECTED.replace(
        "POLICY", "policyArn: arn:aws:iam::aws:policy/ReadOnlyAccess")}, author=COPILOT)
    code = main(["check", "--repo", str(repo.path), "--base", base, "--head", "HEAD",
                 "--format", "json"])
    findings = json.loads(capsys.readouterr().out)["findings"]
    (drift,) = [f for f in findings if f["rule_id"] == "NHI302"]
    assert "what base allowed was not computed: `policyArnSelector owner=platform`" in (
        drift["message"])
    assert code == 1
    repo2 = make_repo()
    repo2.commit({"README.md": "x\n"}, author=HUMAN)
    repo2.commit({"iam/att.yaml": SELECTED.replace("POLICY", "policyArnRef: {name: breakglass}")},
                 author=COPILOT)
    code = main(["check", "--repo", str(repo2.path), "--base", "HEAD~1", "--head", "HEAD",
                 "--format", "json"])
    found = {(f["rule_id"], f["blocking"]) for f in json.loads(capsys.readouterr().out)["findings"]}
    assert ("NHI106", True) in found and code == 1
