"""Cloud identities declared as Kubernetes custom resources (Crossplane, ACK, Config Connector,
Azure Service Operator), secret-reference objects (External Secrets, Secrets Store CSI) and the
key names they hold: parser shapes, inventory, and end-to-end checks on real git repositories."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import COPILOT, HUMAN, WEB_FLOW, GitRepo

from checker import secrets
from checker.cli import main
from checker.model import IdentityObject, SourceFile, Trust
from checker.pipeline import parse_sources
from checker.policy.catalogue import load_catalogue
from checker.policy.config import Config
from checker.sources.prefilter import build_tokens, may_define_identity

ROOT = Path(__file__).resolve().parents[1]
ADMIN_DOC = ('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:*", '
             '"iam:PassRole"], "Resource": "*", "Condition": {"StringEquals": '
             '{"aws:SourceVpce": "vpce-1"}}}]}')


def k8s(text: str, path: str = "k8s/iam.yaml") -> list[IdentityObject]:
    parsed = parse_sources([SourceFile(path, text.encode())], load_catalogue(), Config())
    assert not parsed.problems, parsed.problems
    return [o for o in parsed.objects if o.derived_from is None]


def one(text: str) -> IdentityObject:
    (obj,) = k8s(text)
    return obj


def crossplane(kind: str, for_provider: str, api: str = "iam.aws.upbound.io/v1beta1") -> str:
    return (f"apiVersion: {api}\nkind: {kind}\nmetadata:\n  name: ci\nspec:\n"
            f"  forProvider:\n{for_provider}")


def test_crossplane_policy_is_normalised_like_terraform() -> None:
    obj = one(crossplane("Policy", f"    policy: '{ADMIN_DOC}'\n"))
    assert (obj.type, obj.kind, obj.platform) == ("iam.aws.upbound.io/Policy", "policy", "aws")
    tf = f'resource "aws_iam_policy" "ci" {{\n  policy = <<EOF\n{ADMIN_DOC}\nEOF\n}}\n'
    parsed = parse_sources([SourceFile("main.tf", tf.encode())], load_catalogue(), Config())
    (tf_obj,) = [o for o in parsed.objects if o.derived_from is None]
    def shape(o: IdentityObject) -> list[tuple[str, str, str, tuple[str, ...]]]:
        return [(g.action, g.resource, g.effect, g.conditions) for g in o.privileges]
    assert shape(obj) == shape(tf_obj) == [
        ("s3:*", "*", "allow", ("StringEquals:aws:SourceVpce",)),
        ("iam:PassRole", "*", "allow", ("StringEquals:aws:SourceVpce",))]
    assert {g.line for g in obj.privileges} == {7}


def test_crossplane_role_reads_trust_managed_arns_and_boundary() -> None:
    trust = ('{"Statement": [{"Effect": "Allow", "Principal": {"Federated": "arn:aws:iam::1:'
             'oidc-provider/token.actions.githubusercontent.com"}, "Action": '
             '"sts:AssumeRoleWithWebIdentity", "Condition": {"StringLike": '
             '{"token.actions.githubusercontent.com:sub": "repo:acme/app:*"}}}]}')
    obj = one(crossplane("Role", f"    assumeRolePolicy: '{trust}'\n"
                                 "    permissionsBoundary: arn:aws:iam::1:policy/boundary\n"
                                 "    managedPolicyArns:\n"
                                 "      - arn:aws:iam::aws:policy/ReadOnlyAccess\n"))
    assert obj.trust == (Trust("Federated:arn:aws:iam::1:oidc-provider/"
                               "token.actions.githubusercontent.com", ("repo:acme/app:*",), 7,
                               ("StringLike:token.actions.githubusercontent.com:sub",)),)
    assert obj.boundary == "arn:aws:iam::1:policy/boundary"
    assert [(g.action, g.line) for g in obj.privileges] == [
        ("arn:aws:iam::aws:policy/ReadOnlyAccess", 9)]


def test_a_crossplane_role_is_no_rbac_role_and_unlisted_crd_kinds_are_no_identity() -> None:
    role = one(crossplane("Role", "    description: x\n"))
    assert role.type == "iam.aws.upbound.io/Role" and role.privileges == ()
    assert k8s(crossplane("AccountAlias", "    accountAlias: acme\n")) == []
    rbac = one("apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: r\n"
               "rules:\n  - apiGroups: ['']\n    resources: [secrets]\n    verbs: [get]\n")
    assert rbac.type == "Role" and [str(g) for g in rbac.privileges] == ["get on /secrets"]


def test_community_crossplane_and_ack_kinds() -> None:
    attach = one(crossplane("UserPolicyAttachment",
                            "    userName: deploy\n"
                            "    policyArn: arn:aws:iam::aws:policy/AdministratorAccess\n",
                            api="iam.aws.crossplane.io/v1beta1"))
    assert attach.references == ("User/deploy",)
    assert [str(g) for g in attach.privileges] == [
        "arn:aws:iam::aws:policy/AdministratorAccess on *"]
    key = one(crossplane("AccessKey", "    userRef:\n      name: deploy\n")
              + "  writeConnectionSecretToRef:\n    name: deploy-key\n    namespace: ci\n")
    assert (key.kind, key.references) == ("access_key", ("User/deploy", "Secret/ci/deploy-key"))
    ack = one("apiVersion: iam.services.k8s.aws/v1alpha1\nkind: User\nmetadata:\n  name: ci\n"
              "  namespace: build\nspec:\n  name: ci\n  policies:\n"
              "    - arn:aws:iam::aws:policy/IAMFullAccess\n  inlinePolicies:\n"
              f"    admin: '{ADMIN_DOC}'\n")
    assert (ack.type, ack.kind) == ("iam.services.k8s.aws/User", "user")
    assert [(g.action, g.line) for g in ack.privileges] == [
        ("arn:aws:iam::aws:policy/IAMFullAccess", 8), ("s3:*", 11), ("iam:PassRole", 11)]


def test_config_connector_and_aso_kinds() -> None:
    member = one("apiVersion: iam.cnrm.cloud.google.com/v1beta1\nkind: IAMPartialPolicy\n"
                 "metadata:\n  name: p\n  namespace: infra\nspec:\n  resourceRef:\n"
                 "    kind: Project\n    name: acme\n  bindings:\n    - role: roles/owner\n"
                 "      members:\n        - member: allUsers\n        - memberFrom:\n"
                 "            serviceAccountRef:\n"
                 "              external: ci@acme.iam.gserviceaccount.com\n")
    assert [(str(g), g.line) for g in member.privileges] == [
        ("roles/owner on Project/acme", 11)]
    assert member.principals == ("gcp-public:allUsers", "gcp-sa:ci@acme.iam.gserviceaccount.com")
    key = one("apiVersion: iam.cnrm.cloud.google.com/v1beta1\nkind: IAMServiceAccountKey\n"
              "metadata:\n  name: k\n  namespace: infra\nspec:\n  serviceAccountRef:\n"
              "    name: ci\n")
    assert key.references == ("IAMServiceAccount/infra/ci", "Secret/infra/k")
    fic = one("apiVersion: managedidentity.azure.com/v1api20230131\n"
              "kind: FederatedIdentityCredential\nmetadata:\n  name: f\n  namespace: infra\n"
              "spec:\n  owner:\n    name: ci\n  issuer: https://token.actions.githubusercontent.com\n"
              "  subject: repo:acme/app:environment:prod\n")
    assert fic.trust == (Trust("Issuer:https://token.actions.githubusercontent.com",
                               ("repo:acme/app:environment:prod",), 10),)
    assert (fic.kind, fic.references) == ("oidc_trust", ("UserAssignedIdentity/infra/ci",))


@pytest.mark.parametrize(("conditions", "scope"), [
    ("", "namespaces:*"),
    ("  conditions:\n    - namespaces: [team-b, team-a]\n", "namespaces:team-a,team-b"),
    ("  conditions:\n    - namespaceSelector:\n        matchLabels: {eso: 'on'}\n",
     "namespaces:selector"),
])
def test_cluster_secret_store_records_which_namespaces_it_serves(conditions: str,
                                                                  scope: str) -> None:
    store = one("apiVersion: external-secrets.io/v1\nkind: ClusterSecretStore\nmetadata:\n"
                "  name: vault\nspec:\n  provider:\n    vault:\n      server: https://v\n"
                + conditions)
    assert (store.kind, store.usages) == ("secret", ("provider:vault",))
    assert [(str(g), g.line) for g in store.privileges] == [(f"read-secrets:vault on {scope}", 6)]


EXTERNAL_SECRET = """\
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: db
spec:
  secretStoreRef:
    name: vault
  data:
    - secretKey: db-password
      remoteRef:
        key: prod/db
        property: password
    - {secretKey: api_token, remoteRef: {key: prod/api}}
"""


def literals(text: str) -> list[tuple[int, str]]:
    result = secrets.scan(SourceFile("k8s/es.yaml", text.encode()), "kubernetes")
    return sorted((o.location.start_line, o.secret_sinks[0]) for o in result.objects)


def test_external_secret_key_names_are_not_literal_secrets() -> None:
    assert literals(EXTERNAL_SECRET) == []
    # a docs snippet wrapped in Jinja `{% raw %}` lines is still read by kind
    assert literals("{% raw %}\n" + EXTERNAL_SECRET + "{% endraw %}\n") == []
    # the same field in any other kind is still judged, but a name-shaped value
    # (`api_token`, kebab or snake case) is a name in any kind (issue 15)
    widget = EXTERNAL_SECRET.replace("kind: ExternalSecret", "kind: Widget")
    assert literals(widget) == []
    assert literals(widget.replace("db-password", "Zq8vT2xLp9Rz4KwB")) == [
        (9, "literal:credential-named key")]
    plain = ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n"
             "stringData:\n  db_password: Pr0d-Passw0rd-2024!\n")
    assert literals(EXTERNAL_SECRET + "---\n" + plain) == [(20, "literal:credential-named key")]


def test_inventory_lists_crd_identities_with_platform_and_privileges(
        capsys: pytest.CaptureFixture[str]) -> None:
    fixture = ROOT / "fixtures" / "rules" / "NHI301" / "fail_crds.yaml"
    assert main(["inventory", str(fixture), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)["identities"]
    assert [(r["type"], r["kind"], r["platform"], r["grants"]) for r in rows] == [
        ("iam.aws.upbound.io/UserPolicyAttachment", "role_binding", "aws",
         ["arn:aws:iam::aws:policy/AdministratorAccess on *"]),
        ("iam.services.k8s.aws/Role", "role", "aws",
         ["arn:aws:iam::aws:policy/PowerUserAccess on *"]),
        ("iam.cnrm.cloud.google.com/IAMPolicyMember", "role_binding", "gcp",
         ["roles/owner on projects/acme"]),
        ("iam.cnrm.cloud.google.com/IAMPolicyMember", "role_binding", "gcp",
         ["roles/iam.serviceAccountTokenCreator on Project/acme"]),
        ("authorization.azure.com/RoleAssignment", "role_binding", "azure",
         ["/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.Authorization"
          "/roleDefinitions/18d7d88d-d35e-4fb5-a5c3-7773c20a72d9 on "
          "/subscriptions/00000000-0000-0000-0000-000000000000"]),
    ]


def test_inventory_shows_the_store_or_provider_a_reference_reads(
        capsys: pytest.CaptureFixture[str]) -> None:
    fixture = ROOT / "fixtures" / "rules" / "NHI401" / "pass_external_secrets.yaml"
    assert main(["inventory", str(fixture), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)["identities"]
    assert [(r["address"], r["kind"], r["usages"]) for r in rows] == [
        ("ExternalSecret/app/db", "secret", ["store:ClusterSecretStore/vault"]),
        ("SecretProviderClass/app/db", "secret", ["provider:azure"]),
    ]


#: One identity of each cloud-identity CRD family, with owner and ticket, so an agent's
#: creation is judged by NHI101 (and NHI301 where admin) alone; an ExternalSecret needs no
#: metadata, but an agent pulling a vault secret into a namespace still needs approval.
AGENT_IDENTITIES = """\
apiVersion: iam.aws.upbound.io/v1beta1
kind: User
metadata:
  name: deploy
  annotations: {owner: team-ci, ticket: OPS-1}
spec:
  forProvider: {path: /ci/}
---
apiVersion: iam.aws.upbound.io/v1beta1
kind: UserPolicyAttachment
metadata:
  name: deploy-admin
spec:
  forProvider:
    userRef: {name: deploy}
    policyArn: arn:aws:iam::aws:policy/AdministratorAccess
---
apiVersion: iam.services.k8s.aws/v1alpha1
kind: Role
metadata:
  name: ci
  namespace: build
  annotations: {owner: team-ci, ticket: OPS-1}
spec:
  name: ci
  policies: [arn:aws:iam::aws:policy/ReadOnlyAccess]
---
apiVersion: iam.cnrm.cloud.google.com/v1beta1
kind: IAMServiceAccount
metadata:
  name: ci
  namespace: build
  annotations: {owner: team-ci, ticket: OPS-1}
spec:
  displayName: ci
---
apiVersion: iam.cnrm.cloud.google.com/v1beta1
kind: IAMPolicyMember
metadata:
  name: ci-owner
  namespace: build
spec:
  member: serviceAccount:ci@acme.iam.gserviceaccount.com
  role: roles/owner
  resourceRef: {kind: Project, external: projects/acme}
---
apiVersion: authorization.azure.com/v1api20220401
kind: RoleAssignment
metadata:
  name: ci-owner
  namespace: build
spec:
  owner: {armId: /subscriptions/00000000-0000-0000-0000-000000000000}
  principalId: 11111111-1111-1111-1111-111111111111
  roleDefinitionReference:
    armId: /providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: db
  namespace: build
spec:
  secretStoreRef: {name: vault, kind: ClusterSecretStore}
  data:
    - secretKey: db-password
      remoteRef: {key: prod/db, property: password}
"""


def run_check(repo: GitRepo, base: str, head: str,
              capsys: pytest.CaptureFixture[str]) -> tuple[int, list[dict[str, Any]]]:
    code = main(["check", "--repo", str(repo.path), "--base", base, "--head", head,
                 "--format", "json"])
    return code, json.loads(capsys.readouterr().out)["findings"]


def judged(findings: list[dict[str, Any]]) -> set[tuple[str, int, str, bool]]:
    return {(f["rule_id"], f["start_line"], f["level"], f["blocking"]) for f in findings
            if f["rule_id"] != "NHI103"}


def test_agent_creating_crd_identities_blocks_and_a_human_gets_the_human_levels(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({"README.md": "# infra\n"}, author=HUMAN)
    repo.checkout("copilot/iam", create=True)
    head = repo.commit({"k8s/iam.yaml": AGENT_IDENTITIES}, author=COPILOT, committer=WEB_FLOW)
    code, findings = run_check(repo, base, head, capsys)
    assert code == 1
    assert judged(findings) == {
        *(("NHI101", line, "error", True) for line in (1, 9, 18, 28, 37, 47, 58)),
        ("NHI301", 16, "error", True), ("NHI301", 44, "error", True),
        ("NHI301", 55, "error", True),
    }
    repo.checkout("main")
    repo.checkout("alice/iam", create=True)
    head = repo.commit({"k8s/iam.yaml": AGENT_IDENTITIES}, author=HUMAN)
    code, findings = run_check(repo, base, head, capsys)
    assert code == 0  # a person's identities are reported, not gated (without --all-authors)
    assert judged(findings) == {
        ("NHI301", 16, "error", False), ("NHI301", 44, "error", False),
        ("NHI301", 55, "error", False),
    }


STORE = """\
apiVersion: external-secrets.io/v1
kind: ClusterSecretStore
metadata:
  name: vault
spec:
  provider:
    vault:
      server: https://vault.example.com
  conditions:
    - namespaces: [payments]
"""


def test_agent_opening_a_cluster_secret_store_to_every_namespace_is_a_widening(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({"k8s/store.yaml": STORE}, author=HUMAN)
    head = repo.commit({"k8s/store.yaml": STORE.split("  conditions:")[0]},
                       author=COPILOT, committer=WEB_FLOW)
    code, findings = run_check(repo, base, head, capsys)
    assert code == 1
    (drift,) = [f for f in findings if f["rule_id"] == "NHI302"]
    assert (drift["start_line"], drift["blocking"]) == (6, True)
    assert "read-secrets:vault on namespaces:*" in drift["message"]
    assert {f["rule_id"] for f in findings} - {"NHI103"} == {"NHI101", "NHI302"}


def test_the_prefilter_keys_crd_identities_on_their_api_group() -> None:
    tokens = build_tokens(load_catalogue())
    crd = b"apiVersion: iam.aws.crossplane.io/v1beta1\nkind: UserPolicyAttachment\n"
    assert may_define_identity("kubernetes", crd, tokens, 1 << 20)
    # a bare kind of a CRD group (`Policy`) is no token: a NetworkPolicy is still skipped
    other = b"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: x}\n"
    assert not may_define_identity("kubernetes", other, tokens, 1 << 20)
