"""More cloud workloads and the identity they run as (slice fixT of session 11): an agent that
switches an AWS Batch job definition, a Bedrock agent, an EventBridge pipe, a SageMaker model,
a Cloud Build trigger, a Cloud Scheduler job or an Azure app, container app or VM from a
read-only identity to an admin one is blocked (NHI302 naming the admin grant, and NHI101); a
person's same change exits 0. A resource type nhi-gate does not catalogue whose `*role_arn`,
`*service_account*` or `identity_ids` attribute switches to another catalogued identity is
judged the same way (fail closed), not skipped. Real git repositories in temp dirs."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from conftest import HUMAN, GitRepo, check_findings

AGENT = ("Claude", "noreply@anthropic.com")
PERSON = ("Bob Builder", "bob@example.com")
TAGS = 'tags = { owner = "team-a", ticket = "OPS-1", expires = "2027-01-01" }'

IDENTITIES = f"""\
resource "aws_iam_role" "reader" {{
  name               = "reader"
  {TAGS}
  assume_role_policy = "{{}}"
}}

resource "aws_iam_role_policy_attachment" "reader" {{
  role       = aws_iam_role.reader.name
  policy_arn = "arn:aws:iam::aws:policy/ReadOnlyAccess"
}}

resource "aws_iam_role" "admin" {{
  name               = "admin"
  {TAGS}
  assume_role_policy = "{{}}"
}}

resource "aws_iam_role_policy_attachment" "admin" {{
  role       = aws_iam_role.admin.name
  policy_arn = "arn:aws:iam::aws:policy/AdministratorAccess"
}}

resource "google_service_account" "reader" {{
  account_id  = "reader"
  description = "owner=team-a ticket=OPS-1 expires=2027-01-01"
}}

resource "google_service_account" "admin" {{
  account_id  = "admin"
  description = "owner=team-a ticket=OPS-1 expires=2027-01-01"
}}

resource "google_project_iam_member" "admin" {{
  project = "p"
  role    = "roles/owner"
  member  = "serviceAccount:${{google_service_account.admin.email}}"
}}

resource "azurerm_user_assigned_identity" "reader" {{
  name                = "reader"
  location            = "westeurope"
  resource_group_name = "rg"
  {TAGS}
}}

resource "azurerm_user_assigned_identity" "admin" {{
  name                = "admin"
  location            = "westeurope"
  resource_group_name = "rg"
  {TAGS}
}}

resource "azurerm_role_assignment" "admin" {{
  scope                = "/subscriptions/0000"
  role_definition_name = "Owner"
  principal_id         = azurerm_user_assigned_identity.admin.principal_id
}}
"""

#: name -> (workload file at base, naming the reader identity; the line that names it).
WORKLOADS: dict[str, tuple[str, int]] = {
    "batch": ("""\
resource "aws_batch_job_definition" "x" {
  name = "x"
  type = "container"
  container_properties = jsonencode({
    image      = "busybox"
    jobRoleArn = aws_iam_role.reader.arn
  })
}
""", 6),
    "bedrock": ("""\
resource "aws_bedrockagent_agent" "x" {
  agent_name              = "x"
  agent_resource_role_arn = aws_iam_role.reader.arn
  foundation_model        = "anthropic.claude-v2"
}
""", 3),
    "pipes": ("""\
resource "aws_pipes_pipe" "x" {
  name     = "x"
  role_arn = aws_iam_role.reader.arn
  source   = "arn:aws:sqs:us-east-1:111122223333:q"
  target   = "arn:aws:lambda:us-east-1:111122223333:function:f"
}
""", 3),
    "sagemaker": ("""\
resource "aws_sagemaker_model" "x" {
  name               = "x"
  execution_role_arn = aws_iam_role.reader.arn
  primary_container {
    image = "img"
  }
}
""", 3),
    "cloudbuild": ("""\
resource "google_cloudbuild_trigger" "x" {
  name            = "x"
  service_account = google_service_account.reader.id
  filename        = "cloudbuild.yaml"
}
""", 3),
    "scheduler": ("""\
resource "google_cloud_scheduler_job" "x" {
  name = "x"
  http_target {
    uri = "https://example.com"
    oidc_token {
      service_account_email = google_service_account.reader.email
    }
  }
}
""", 6),
    "function_app": ("""\
resource "azurerm_linux_function_app" "x" {
  name                = "x"
  location            = "westeurope"
  resource_group_name = "rg"
  service_plan_id     = "plan"
  site_config {}
  identity {
    type         = "UserAssigned"
    identity_ids = [azurerm_user_assigned_identity.reader.id]
  }
}
""", 9),
    "container_app": ("""\
resource "azurerm_container_app" "x" {
  name                         = "x"
  resource_group_name          = "rg"
  container_app_environment_id = "env"
  revision_mode                = "Single"
  identity {
    type         = "UserAssigned"
    identity_ids = [azurerm_user_assigned_identity.reader.id]
  }
}
""", 8),
    "uncatalogued": ("""\
resource "aws_some_future_service" "x" {
  name          = "x"
  task_role_arn = aws_iam_role.reader.arn
}
""", 3),
}


def _switch(text: str) -> str:
    return (text.replace("aws_iam_role.reader", "aws_iam_role.admin")
            .replace("google_service_account.reader", "google_service_account.admin")
            .replace("azurerm_user_assigned_identity.reader",
                     "azurerm_user_assigned_identity.admin"))


def _repo(make_repo: Callable[..., GitRepo], name: str, author: tuple[str, str]
          ) -> tuple[GitRepo, str, int]:  # fmt: skip
    text, line = WORKLOADS[name]
    repo = make_repo()
    base = repo.commit({"identities.tf": IDENTITIES, "workload.tf": text}, author=HUMAN)
    repo.checkout("ai/switch", create=True)
    repo.commit({"workload.tf": _switch(text)}, author=author,
                message="use the shared identity\n\nRequested-by: Alice <alice@example.com>")
    return repo, base, line


@pytest.mark.parametrize("name", sorted(WORKLOADS))
def test_agent_switch_to_admin_identity_blocks(
        name: str, make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo, base, line = _repo(make_repo, name, AGENT)
    code, findings = check_findings(repo, base, capsys)
    assert code == 1
    drift = [f for f in findings if f["rule_id"] == "NHI302" and f["path"] == "workload.tf"]
    assert [(f["start_line"], f["blocking"]) for f in drift] == [(line, True)]
    message = drift[0]["message"]
    assert "now runs as" in message and ".admin" in message and ".reader" in message
    assert "which may do more: admin: " in message
    assert any(a in message for a in ("AdministratorAccess", "roles/owner", "Owner"))
    approval = [f for f in findings if f["rule_id"] == "NHI101" and f["path"] == "workload.tf"]
    assert [(f["start_line"], f["blocking"]) for f in approval] == [(line, True)]


@pytest.mark.parametrize("name", ["batch", "function_app", "uncatalogued"])
def test_person_switch_is_a_warning(
        name: str, make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo, base, line = _repo(make_repo, name, PERSON)
    code, findings = check_findings(repo, base, capsys)
    assert code == 0
    drift = [f for f in findings if f["rule_id"] == "NHI302" and f["path"] == "workload.tf"]
    assert [(f["start_line"], f["level"], f["blocking"]) for f in drift] == [
        (line, "warning", False)]


def test_batch_image_bump_is_no_identity_change(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    text = WORKLOADS["batch"][0]
    repo = make_repo()
    base = repo.commit({"identities.tf": IDENTITIES, "workload.tf": text}, author=HUMAN)
    repo.checkout("ai/bump", create=True)
    repo.commit({"workload.tf": text.replace('"busybox"', '"busybox:1.37"')}, author=AGENT,
                message="bump\n\nRequested-by: Alice <alice@example.com>")
    code, findings = check_findings(repo, base, capsys)
    assert code == 0
    assert [f for f in findings if f["path"] == "workload.tf"] == []


def test_uncatalogued_unrelated_attribute_is_no_change(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    text = WORKLOADS["uncatalogued"][0]
    repo = make_repo()
    base = repo.commit({"identities.tf": IDENTITIES, "workload.tf": text}, author=HUMAN)
    repo.checkout("ai/rename", create=True)
    repo.commit({"workload.tf": text.replace('name          = "x"', 'name          = "y"')},
                author=AGENT, message="rename\n\nRequested-by: Alice <alice@example.com>")
    code, findings = check_findings(repo, base, capsys)
    assert code == 0
    assert [f for f in findings if f["path"] == "workload.tf"] == []
