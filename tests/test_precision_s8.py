"""Issue 12, precision findings of the session-8 new-user pass on argo-cd: an Argo CD
repository Secret that holds only settings is no identity, and the documentation examples'
placeholder values (`my-username`, "shhhh! it's a github secret") are placeholders for
NHI404 and NHI401, while a real value beside them still is data."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from conftest import HUMAN, GitRepo, check_findings

from checker.cli import main
from checker.policy.placeholders import placeholder_word

CLAUDE = ("Claude", "noreply@anthropic.com")
RANDOM = "8fbpaxmaL2fS-C-wK5mDiFlz"

ARGO_REPO = """\
apiVersion: v1
kind: Secret
metadata:
  name: istio-helm-repo
  namespace: argocd
  labels:
    argocd.argoproj.io/secret-type: %s
stringData:
  url: https://storage.googleapis.com/istio-prerelease/charts
  name: istio.io
  project: my-project
  type: helm
"""


@pytest.mark.parametrize("secret_type", ["repository", "repo-creds"])
def test_an_argocd_repository_secret_of_settings_only_is_no_identity(
        secret_type: str, make_repo: Any, capsys: pytest.CaptureFixture[str]) -> None:
    repo: GitRepo = make_repo()
    base = repo.commit({"README.md": "# x\n"}, author=HUMAN)
    repo.commit({"k8s/repo.yaml": ARGO_REPO % secret_type}, author=CLAUDE)
    code, found = check_findings(repo, base, capsys)
    assert (code, found) == (0, [])
    assert main(["inventory", str(repo.path / "k8s"), "--format", "json", "--no-history"]) == 0
    assert json.loads(capsys.readouterr().out)["identities"] == []


@pytest.mark.parametrize("key", ["password", "sshPrivateKey", "githubAppPrivateKey",
                                 "tlsClientCertKey"])
def test_an_argocd_repository_secret_with_a_credential_key_stays_an_identity(
        key: str, make_repo: Any, capsys: pytest.CaptureFixture[str]) -> None:
    repo: GitRepo = make_repo()
    base = repo.commit({"README.md": "# x\n"}, author=HUMAN)
    repo.commit({"k8s/repo.yaml": ARGO_REPO % "repository" + f"  {key}: {RANDOM}\n"},
                author=CLAUDE)
    code, found = check_findings(repo, base, capsys)
    assert code == 1
    rules = {(f["rule_id"], f["address"]) for f in found}
    address = "Secret/argocd/istio-helm-repo"
    assert {("NHI101", address), ("NHI201", address), ("NHI404", address)} <= rules


def test_an_argocd_cluster_secret_of_settings_only_stays_an_identity(
        make_repo: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """A cluster Secret registers a cluster Argo CD deploys to: not a repository setting."""
    repo: GitRepo = make_repo()
    base = repo.commit({"README.md": "# x\n"}, author=HUMAN)
    repo.commit({"k8s/c.yaml": ARGO_REPO % "cluster"}, author=CLAUDE)
    code, found = check_findings(repo, base, capsys)
    assert code == 1
    assert ("NHI101", "Secret/argocd/istio-helm-repo") in {(f["rule_id"], f["address"])
                                                           for f in found}


@pytest.mark.parametrize("value", ["my-username", "test-username", "my-user",
                                   "shhhh! it's a github secret",
                                   "shhhh! it's an azure devops secret",
                                   "base64-encoded-512-bit-key", "a-long-random-string",
                                   "32-character-secret-key", "jwt_signing_key",
                                   "YourPingdomApiToken", "MySecretKey"])
def test_documentation_example_values_are_placeholders(value: str) -> None:
    assert placeholder_word(value)


@pytest.mark.parametrize("value", ["alice", "deploy-user", "username-" + RANDOM,
                                   "my-username-" + RANDOM, "it's a secret " + RANDOM,
                                   "correct horse battery staple", "it is a secret",
                                   "aes-256-key-" + RANDOM, "ThisIsMySecretKeyForJwtToken12345",
                                   "YourTokenX9fK2mQ8vL4pR7tW1nB6yC3"])
def test_real_values_beside_the_example_shapes_are_no_placeholders(value: str) -> None:
    assert not placeholder_word(value)


#: Argo CD's documentation examples (docs/operator-manual/argocd-repositories.yaml and
#: argocd-secret.yaml), shortened.
DOC_REPO = """\
apiVersion: v1
kind: Secret
metadata:
  name: private-helm-repo
  namespace: argocd
  labels:
    argocd.argoproj.io/secret-type: repository
stringData:
  url: https://my-private-chart-repo.internal
  type: helm
  password: my-password
  username: my-username
"""
DOC_SECRET = """\
apiVersion: v1
kind: Secret
metadata:
  name: argocd-secret
  namespace: argocd
type: Opaque
data:
  tls.crt:
  webhook.github.secret: shhhh! it's a github secret
  webhook.bitbucket.uuid: your-bitbucket-uuid
"""


@pytest.mark.parametrize("text, line", [(DOC_REPO, 11), (DOC_SECRET, 9)],
                         ids=["repository", "argocd-secret"])
def test_a_documentation_example_secret_is_a_placeholder_note(
        text: str, line: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "example.yaml").write_text(text)
    code = main(["scan", str(tmp_path), "--format", "json"])
    found = json.loads(capsys.readouterr().out)["findings"]
    assert [(f["rule_id"], f["level"], f["start_line"]) for f in found
            if f["rule_id"].startswith("NHI40")] == [("NHI404", "note", line)]
    assert code == 1  # NHI201-NHI203: the Secret is still an identity


@pytest.mark.parametrize("text, real, line", [
    (DOC_REPO, f"  username: {RANDOM}\n", 12),
    (DOC_SECRET, "  webhook.gitlab.secret: "
     + base64.b64encode(RANDOM.encode()).decode() + "\n", 11),
], ids=["repository", "argocd-secret"])
def test_a_real_value_beside_the_examples_is_still_literal_data(
        text: str, real: str, line: int, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "example.yaml").write_text(text.replace("  username: my-username\n", "") + real)
    code = main(["scan", str(tmp_path), "--format", "json"])
    found = json.loads(capsys.readouterr().out)["findings"]
    assert code == 1
    nhi404 = [(f["level"], f["start_line"]) for f in found if f["rule_id"] == "NHI404"]
    assert nhi404 == [("error", line)]
