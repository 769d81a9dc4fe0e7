"""Who wrote and who approved a range, for `check`: commit provenance, signed `Approved-by:`
commits verified against the base revision's allowed signers, and pull request reviews."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping

from checker.approval.reviews import Approval, Decision, review_approvals
from checker.approval.signed_commits import offline_approvals
from checker.change import ACTOR_RANK, ChangeSet, Provenance
from checker.checks.api import ChangeFacts
from checker.commands.event import event_pull_request, pr_target
from checker.commands.trust import TrustInputs, approval_signatures, read_trust
from checker.git.repo import Repo
from checker.policy.config import Config
from checker.provenance.agents import signatures_for
from checker.provenance.channels import gate_weak, with_pull_request
from checker.provenance.classify import classify_commit, classify_login, logs_url, strength_of
from checker.reporters import CommitActor


def provenance(changeset: ChangeSet, config: Config, assume_agent: bool) -> dict[str, Provenance]:
    """Each commit of the range classified (agent, bot, human, unknown), by sha.

    The `pull_request` event of the checked head adds its channels (`provenance.channels`: an
    agent or bot PR author, a disclosure in the body). With `agents.weak_evidence: gate` weak
    agent evidence decides (`channels.gate_weak`). `assume_agent` (`--assume-agent`) makes
    every commit an agent's, keeping its evidence.
    """
    signatures = signatures_for(config)
    classified = {c.sha: classify_commit(c, signatures, changeset.branch)
                  for c in changeset.commits}
    facts = event_pull_request(changeset.head)
    if facts is not None:
        classified = with_pull_request(classified, facts, signatures)
    out: dict[str, Provenance] = {}
    for commit in changeset.commits:
        prov = classified[commit.sha]
        if config.weak_evidence == "gate":
            prov = gate_weak(prov, signatures)
        if assume_agent and prov.actor_kind != "agent":
            prov = Provenance(prov.commit, "agent", prov.agent or "--assume-agent", prov.evidence)
        out[commit.sha] = prov
    return out


def commit_actors(
    changeset: ChangeSet, provenance: Mapping[str, Provenance]
) -> tuple[CommitActor, ...]:
    """Every commit of the range as the reports list it (`reporters.CommitActor`), in the
    changeset's order: its provenance, the strength of its evidence, the git-ai note
    evidence of the lines it wrote (`ChangedFile.ai_lines`: such a commit is listed as that
    agent's when nothing stronger says so) and its `Agent-Logs-Url:`."""
    noted: dict[str, list[Provenance]] = {}
    for cf in changeset.files:
        for prov in cf.ai_lines.values():
            found = noted.setdefault(prov.commit, [])
            if prov not in found:
                found.append(prov)
    out: list[CommitActor] = []
    for commit in changeset.commits:
        prov = provenance.get(commit.sha, Provenance(commit.sha, "unknown"))
        evidence = list(prov.evidence)
        kind, agent = prov.actor_kind, prov.agent
        for note in noted.get(commit.sha, ()):
            evidence += [e for e in note.evidence if e not in evidence]
            if ACTOR_RANK[kind] < ACTOR_RANK["agent"]:
                kind, agent = "agent", note.agent
        listed = Provenance(commit.sha, kind, agent, tuple(evidence))
        out.append(CommitActor(commit.sha, kind, agent, strength_of(listed), tuple(evidence),
                               logs_url(commit)))
    return tuple(out)


def offline_approval(
    repo: Repo, changeset: ChangeSet, provenance: Mapping[str, Provenance], config: Config
) -> tuple[TrustInputs, Decision]:
    """Policy files read from base, and the signed `Approved-by:` commits of the range."""
    trust = read_trust(repo, changeset, config)
    signatures = signatures_for(config)
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
    signatures = signatures_for(config)
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
        steering=trust.steering, gate_runs=trust.gate_runs, replaced=trust.replaced,
    )
    return tuple(a for d in decisions for a in d.approvals), facts
