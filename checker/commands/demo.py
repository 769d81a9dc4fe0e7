"""`nhi-gate demo`: a throwaway repository where an AI agent adds an undocumented identity.

The base commit is a human's; the head commit is by the GitHub Copilot coding agent (its real
author address) and adds a GCP service account, a long-lived key and an owner binding with no
owner, ticket or expiry. The check then fails with NHI101, NHI20x and NHI301.

`prepare` builds it, `checker.commands` runs `check` on it, `finish` explains the result.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import git

HUMAN = ("Alice Example", "alice@example.com")
AGENT = ("Copilot", "198982749+Copilot@users.noreply.github.com")

BASE_FILES = {
    "README.md": "# payments-infra\n\nTerraform for the payments project.\n",
    "infra/main.tf": (
        'variable "project" {\n'
        "  type = string\n"
        "}\n"
        "\n"
        "# nhi-gate: owner=team-payments ticket=PAY-101 expires=2099-01-01\n"
        'resource "google_service_account" "runtime" {\n'
        '  account_id   = "payments-runtime"\n'
        '  display_name = "Payments runtime"\n'
        "}\n"
    ),
}

AGENT_FILES = {
    "infra/ci.tf": (
        'resource "google_service_account" "deployer" {\n'
        '  account_id   = "ci-deployer"\n'
        '  display_name = "CI deployer"\n'
        "}\n"
        "\n"
        'resource "google_service_account_key" "deployer" {\n'
        "  service_account_id = google_service_account.deployer.name\n"
        "}\n"
        "\n"
        'resource "google_project_iam_member" "deployer" {\n'
        "  project = var.project\n"
        '  role    = "roles/owner"\n'
        '  member  = "serviceAccount:${google_service_account.deployer.email}"\n'
        "}\n"
    ),
}


def _commit(repo: git.Repo, files: dict[str, str], who: tuple[str, str], message: str,
            committer: tuple[str, str]) -> str:
    root = Path(repo.working_tree_dir or ".")
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    repo.git.add("--all")
    env = {
        "GIT_AUTHOR_NAME": who[0],
        "GIT_AUTHOR_EMAIL": who[1],
        "GIT_AUTHOR_DATE": "2026-11-01T10:00:00Z",
        "GIT_COMMITTER_NAME": committer[0],
        "GIT_COMMITTER_EMAIL": committer[1],
        "GIT_COMMITTER_DATE": "2026-11-01T10:00:00Z",
    }
    with repo.git.custom_environment(**env):
        repo.git.commit("-q", "--no-verify", "--no-gpg-sign", "-m", message)
    return repo.head.commit.hexsha


def build_demo_repo(root: Path) -> tuple[str, str]:
    """Create the demo repository in `root`; return (base sha, head sha)."""
    repo = git.Repo.init(root, initial_branch="main")
    repo.git.update_environment(GIT_NO_REPLACE_OBJECTS="1")  # as every git run of nhi-gate
    with repo:
        base = _commit(repo, BASE_FILES, HUMAN, "Initial payments infrastructure", HUMAN)
        repo.git.checkout("-q", "-b", "copilot/add-ci-deployer")
        head = _commit(
            repo,
            AGENT_FILES,
            AGENT,
            "Add CI deployer service account\n\nCo-authored-by: Alice Example <alice@example.com>",
            ("GitHub", "noreply@github.com"),
        )
    return base, head


def prepare() -> argparse.Namespace:
    """Build the demo repo in a new temp dir, say what it holds on stdout, and return the
    `check` arguments for it (text report, SARIF written beside the repository)."""
    root = Path(tempfile.mkdtemp(prefix="nhi-gate-demo-"))
    base, head = build_demo_repo(root)
    sarif_path = root / "nhi-gate.sarif"
    print(f"nhi-gate demo: repository {root}")
    print(f"  base {base[:12]}  human commit by {HUMAN[0]}")
    print(f"  head {head[:12]}  agent commit by {AGENT[0]} <{AGENT[1]}> adding infra/ci.tf")
    print()
    sys.stdout.flush()
    return argparse.Namespace(
        repo=str(root), base=base, head=head, config=None, format="text", output=None,
        sarif=str(sarif_path), fail_on=None, assume_agent=False, all_authors=False,
        github_repo=None, pr=None, github_api_url=None,
    )


def finish(args: argparse.Namespace, code: int) -> int:
    """After `check` ran on the demo repo (`args` from `prepare`): where the SARIF is and what
    the exit code means; returns `code`."""
    print()
    print(f"SARIF written to {args.sarif}")
    print(f"exit code {code} ({'blocking findings' if code == 1 else 'no blocking finding'})")
    return code
