"""Who wrote and who approved a range, for `check`: commit provenance, signed `Approved-by:`
commits verified against the base revision's allowed signers, and pull request reviews."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping

from git import Repo

from checker.approval.reviews import Approval, Decision, review_approvals
from checker.approval.signed_commits import offline_approvals
from checker.change import ChangeSet, Provenance
from checker.checks.api import ChangeFacts
from checker.commands.event import pr_target
from checker.commands.trust import TrustInputs, approval_signatures, read_trust
from checker.policy.config import Config
from checker.provenance.agents import load_agent_signatures
from checker.provenance.classify import classify_commit, classify_login


def provenance(changeset: ChangeSet, config: Config, assume_agent: bool) -> dict[str, Provenance]:
    """Each commit of the range classified (agent, bot, human, unknown), by sha.

    `assume_agent` (`--assume-agent`) makes every commit an agent's, keeping its evidence.
    """
    signatures = load_agent_signatures(config.agent_emails, config.agent_branches)
    out: dict[str, Provenance] = {}
    for commit in changeset.commits:
        prov = classify_commit(commit, signatures, changeset.branch)
        if assume_agent and prov.actor_kind != "agent":
            prov = Provenance(prov.commit, "agent", prov.agent or "--assume-agent", prov.evidence)
        out[commit.sha] = prov
    return out


def offline_approval(
    repo: Repo, changeset: ChangeSet, provenance: Mapping[str, Provenance], config: Config
) -> tuple[TrustInputs, Decision]:
    """Policy files read from base, and the signed `Approved-by:` commits of the range."""
    trust = read_trust(repo, changeset, config)
    signatures = load_agent_signatures(config.agent_emails, config.agent_branches)
    checks = approval_signatures(repo, changeset, trust.signers)
    return trust, offline_approvals(changeset, provenance, signatures, checks,
                                    trust.signers is not None, trust.signers_source)


def approvals_and_facts(
    args: argparse.Namespace,
    changeset: ChangeSet,
    provenance: Mapping[str, Provenance],
    config: Config,
    trust: TrustInputs,
    offline: Decision,
) -> tuple[tuple[Approval, ...], ChangeFacts]:
    """The approvals that count (signed commits, PR reviews) and what the change checks read
    (policy files touched, whether a human opened the PR, which commits are signed).

    Reviews are read with PyGithub (imported only here, only for a PR) from `--github-api-url`,
    else `GITHUB_API_URL`, else api.github.com, with `GITHUB_TOKEN`. Approvals that do not
    count are listed on stderr with the reason. Raises `GitHubError` (exit 2) when the API
    cannot be read: no verdict without the reviews.
    """
    signatures = load_agent_signatures(config.agent_emails, config.agent_branches)
    decisions = [offline]
    pr_author_human = False
    signed = dict(trust.signed)
    target = pr_target(args, changeset.head)
    if target is not None:
        # PyGithub is slow to import: only a run that reads a pull request pays for it.
        from checker.approval.github_api import DEFAULT_API_URL, GitHubClient

        url = (
            getattr(args, "github_api_url", None)
            or os.environ.get("GITHUB_API_URL")
            or DEFAULT_API_URL
        )
        client = GitHubClient(url, os.environ.get("GITHUB_TOKEN") or None, target[0])
        pr = client.pull_request(target[1])
        decisions.append(
            review_approvals(pr, changeset, signatures, config, trust.codeowners, client)
        )
        pr_author_human = (
            pr.author_type == "User"
            and classify_login(pr.author_login, signatures).actor_kind == "human"
        )
        # Either verdict counts: the base allowed signers (offline) or GitHub's verification.
        for sha, verified in (pr.verified or {}).items():
            signed[sha] = signed.get(sha, False) or verified
    for decision in decisions:
        for rejection in decision.rejections:
            print(f"nhi-gate: approval by {rejection.who} not counted: {rejection.reason}",
                  file=sys.stderr)
    facts = ChangeFacts(
        config, changeset, provenance, signatures=signatures, trust_touches=trust.touches,
        trust_kinds=trust.kinds, pr_author_human=pr_author_human, signed=signed,
        steering=trust.steering,
    )
    return tuple(a for d in decisions for a in d.approvals), facts
