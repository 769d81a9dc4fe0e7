"""Grant commands of a `run:` step whose grant is not in their words (session 12, slice fixCI,
attack `gha-run-step-unlisted-grant-verbs`): `kubectl set subject`, a ClusterRole `label`
with an aggregation key, `aws iam delete-role-permissions-boundary`, `gh api -X PUT
.../collaborators/...` and their kin fail closed for an agent (NHI101 and NHI106 naming the
command and what it gains); a person's is an NHI106 note; read-only commands are nothing.
Real git repos: base by a human, head by Claude or by a person."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conftest import HUMAN, GitRepo, check_findings

from checker.model import Grant
from checker.parsers.ci_grants import granted
from checker.parsers.grant_verbs import grant_verbs
from checker.safeyaml.load import load_text

CLAUDE = ("Claude", "noreply@anthropic.com")
WF = ".github/workflows/ops.yml"
BASE = """\
name: ops
on: {workflow_dispatch: {}}
permissions: {contents: read, id-token: write}
jobs:
  ops:
    runs-on: ubuntu-latest
    environment: prod
    steps:
      - run: echo start
"""
#: The attack's four commands: (command, platform, what the finding shows, what it gains).
ATTACK = [
    ("kubectl set subject clusterrolebinding cluster-admin --serviceaccount=ops:ops",
     "kubernetes", "kubectl set subject clusterrolebinding cluster-admin",
     "adds subjects to an existing binding: they gain the role it binds"),
    ("kubectl label clusterrole ops rbac.authorization.k8s.io/aggregate-to-admin=true",
     "kubernetes", "kubectl label clusterrole ops rbac.authorization.k8s.io/aggregate-to-admin",
     "labels a ClusterRole: an aggregationRule selecting the label"),
    ("aws iam delete-role-permissions-boundary --role-name app", "aws",
     "aws iam delete-role-permissions-boundary --role-name app",
     "removes a permissions boundary: the principal may do all its policies allow"),
    ("gh api -X PUT repos/acme/app/collaborators/ci-bot -f permission=admin", "github",
     "gh api repos/acme/app/collaborators/ci-bot -X PUT",
     "changes GitHub access through the REST API"),
]


def _run(command: str) -> Any:
    return load_text(f"run: |\n  {command}\n", "x.yml").documents[0].value[0][1]


def _check(make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], command: str,
           author: tuple[str, str] = CLAUDE) -> tuple[int, list[dict[str, Any]]]:
    repo = make_repo()
    repo.commit({"README.md": "# app\n", WF: BASE}, author=HUMAN)
    repo.checkout("claude/ops", create=True)
    repo.commit({WF: BASE + f"      - run: {command}\n"}, author=author, message="ops: fix",
                trailers=[("Requested-by", "Alice Admin <alice@corp.example>")])
    return check_findings(repo, "main", capsys)


@pytest.mark.parametrize(("command", "platform", "shown", "gain"), ATTACK,
                         ids=["set-subject", "label", "boundary", "collaborator"])
def test_an_agents_unlisted_grant_command_fails_closed(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], command: str,
        platform: str, shown: str, gain: str) -> None:
    code, findings = _check(make_repo, capsys, command)
    assert code == 1
    address = f"{WF}#jobs.ops.steps[1].grants.{platform}"
    on_step = {(f["rule_id"], f["start_line"], f["blocking"]) for f in findings
               if f["address"] == address}
    assert on_step == {("NHI101", 10, True), ("NHI106", 10, True)}
    message = next(f["message"] for f in findings
                   if f["rule_id"] == "NHI106" and f["address"] == address)
    assert f"`{shown}" in message and gain in message
    assert "permission=admin" not in message  # a field's value is never shown


@pytest.mark.parametrize(("command", "platform", "shown", "gain"), ATTACK,
                         ids=["set-subject", "label", "boundary", "collaborator"])
def test_a_persons_unlisted_grant_command_is_a_note(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], command: str,
        platform: str, shown: str, gain: str) -> None:
    code, findings = _check(make_repo, capsys, command, author=HUMAN)
    assert code == 0
    assert {(f["rule_id"], f["level"], f["blocking"]) for f in findings
            if ".grants." in f["address"]} == {("NHI106", "note", False)}


@pytest.mark.parametrize(("command", "platform", "verb", "gain"), [
    ("kubectl set serviceaccount deployment/api admin", "kubernetes",
     "kubectl set serviceaccount", "runs a workload as another service account"),
    ("kubectl annotate sa app eks.amazonaws.com/role-arn=arn:aws:iam::1:role/admin",
     "kubernetes", "kubectl annotate", "binds a service account to a cloud identity"),
    ("kubectl patch clusterrolebinding ops -p '{\"roleRef\":{}}'", "kubernetes",
     "kubectl patch clusterrolebinding", "patches RBAC"),
    ("kubectl auth reconcile -f rbac.yaml", "kubernetes", "kubectl auth reconcile",
     "creates or widens the RBAC objects"),
    ("aws iam put-user-permissions-boundary --user-name ci --permissions-boundary arn:x",
     "aws", "aws iam put-user-permissions-boundary", "sets a permissions boundary"),
    ("aws iam create-open-id-connect-provider --url https://token.actions.example", "aws",
     "aws iam create-open-id-connect-provider", "trusts a new identity provider"),
    ("aws sso-admin create-account-assignment --instance-arn x --target-id 1", "aws",
     "aws sso-admin create-account-assignment", "grants a permission set"),
    ("aws eks associate-access-policy --cluster-name c --principal-arn arn:x", "aws",
     "aws eks associate-access-policy", "grants an EKS access policy"),
    ("gcloud iam roles create r --project p --permissions iam.roles.update", "gcp",
     "gcloud iam roles create", "defines what a custom role permits"),
    ("az ad app permission admin-consent --id 0000", "azure",
     "az ad app permission admin-consent", "grants an application API permissions"),
    ("az identity federated-credential create --name f --identity-name id", "azure",
     "az identity federated-credential create", "trusts an external token issuer"),
    ("az ad group member add --group admins --member-id 1", "azure",
     "az ad group member add", "gains the group's roles"),
    ("az keyvault set-policy -n kv --spn 1 --secret-permissions get", "azure",
     "az keyvault set-policy", "key vault"),
    ("gh secret set DEPLOY_TOKEN --body \"$TOKEN\"", "github", "gh secret set",
     "writes a GitHub Actions"),
    ("gh repo deploy-key add key.pub --allow-write", "github", "gh repo deploy-key add",
     "adds a deploy key"),
    ("gh api repos/acme/app/keys -f key=@key.pub -F read_only=false", "github", "gh api",
     "a deploy or SSH key"),
    ("gh api --method POST /app/installations/1/access_tokens", "github", "gh api",
     "changes GitHub access"),
])
def test_each_kin_is_read_with_what_it_gains(command: str, platform: str, verb: str,
                                             gain: str) -> None:
    (found,) = granted(_run(command))
    assert (found.platform, found.verb, found.grants) == (platform, verb, ())
    (entry,) = found.unresolved
    assert (entry.attribute, entry.line) == ("command", 2)
    assert gain in entry.reason and entry.reason.endswith("with the job's credentials")


def test_gcloud_add_iam_policy_binding_of_any_resource_names_its_grant() -> None:
    (found,) = granted(_run("gcloud storage buckets add-iam-policy-binding gs://b"
                            " --member=allUsers --role=roles/storage.admin"))
    assert (found.verb, found.grants, found.unresolved) == (
        "gcloud storage buckets add-iam-policy-binding",
        (Grant("roles/storage.admin", "buckets/gs://b", line=2),), ())


@pytest.mark.parametrize("command", [
    "gh api repos/acme/app/collaborators",
    "gh api -X GET repos/acme/app/collaborators -f per_page=100",
    "gh api -X DELETE repos/acme/app/collaborators/old-bot",
    "gh api repos/acme/app/actions/secrets/public-key",
    "gh api -X POST repos/acme/app/issues -f title=x",
    "gh secret list",
    "kubectl get clusterrolebinding cluster-admin -o yaml",
    "kubectl auth can-i '*' '*' --as=system:serviceaccount:ops:ops",
    "kubectl label pods web env=prod",
    "kubectl label clusterrole ops rbac.authorization.k8s.io/aggregate-to-admin-",
    "kubectl annotate deployment web kubernetes.io/change-cause=rollout",
    "kubectl patch deployment web -p '{\"spec\":{}}'",
    "aws iam list-roles",
    "aws iam get-role --role-name app",
    "aws eks describe-cluster --name c",
    "gcloud projects get-iam-policy my-proj",
    "gcloud iam roles describe roles/editor",
    "az role assignment list --assignee 1",
    "az ad group member list --group admins",
])
def test_read_only_commands_are_nothing(command: str) -> None:
    assert granted(_run(command)) == []


def test_terraform_commands_name_the_new_verbs_too() -> None:
    """`local-exec` is read with the same table (`checker.parsers.terraform.unread`)."""
    assert grant_verbs("kubectl set subject clusterrolebinding x --user=u && "
                       "aws iam delete-user-permissions-boundary --user-name ci") == [
        ("kubernetes", "kubectl set subject"),
        ("aws", "aws iam delete-user-permissions-boundary")]
