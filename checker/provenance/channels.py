"""Who wrote a range, from the pull request around it: its author and its body.

Pure: the event payload (`GITHUB_EVENT_PATH`, read by `checker.commands.event`) comes in as
plain values. Two channels (issue 14, "Channels not read"):

- the PR author: a login of an agent signature (the Copilot coding agent opens its PRs as
  `Copilot`; `copilot-swe-agent[bot]`, `devin-ai-integration[bot]`, ...) or of a bot makes
  every commit of the range that agent's or bot's: strong evidence on field `pr_author`. A
  person pushing to an agent's PR branch does so inside the agent's change, so it only ever
  raises a commit's actor, never lowers it;
- the PR body: disclosure prose ("Generated with Claude Code", "AI-assisted", "written with
  Copilot") is weak evidence on field `pr_body` for every commit. Kubernetes forbids AI
  trailers and asks for disclosure in the PR text instead
  (https://github.com/kubernetes/community/blob/main/contributors/guide/pull-requests.md#ai-guidance);
  prose says what someone wrote about the change, not who made each commit, so it is weak.

With `agents.weak_evidence: gate` weak evidence decides too (`gate_weak`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from checker.change import ACTOR_RANK, Evidence, Provenance
from checker.lazy_patterns import lazy_compile
from checker.provenance.agents import AgentSignatures
from checker.provenance.classify import classify_login

#: The `Evidence.signature` of a disclosure in the PR body.
BODY_SIGNATURE = "pr-body-disclosure"
_BODY_LIMIT = 65536
_MAX_VALUE = 200
#: Disclosure phrases: AI named as what generated, assisted or wrote the change.
_DISCLOSURE = lazy_compile(
    r"(?i)\b(?:ai[- ](?:generated|assisted|written)"
    r"|(?:generated|written|created|assisted|authored|co-authored|made)"
    r"\s+(?:with|by|using)\s+(?:the\s+help\s+of\s+)?(?:an?\s+)?"
    r"(?:ai\b|llm\b|\[?(?P<product>[A-Za-z][\w .-]{1,40})))"
)


@dataclass(frozen=True)
class PullRequestFacts:
    """What the `pull_request` event says about who made the change: the author's login and
    account type (`User`, `Bot`), and the body (None when absent)."""

    author_login: str | None = None
    author_type: str | None = None
    body: str | None = None


def pull_request_facts(pr: Mapping[str, object]) -> PullRequestFacts:
    """The author and body of a `pull_request` event object (`event["pull_request"]`);
    missing or mistyped fields are None."""
    user = pr.get("user")
    login = user.get("login") if isinstance(user, dict) else None
    kind = user.get("type") if isinstance(user, dict) else None
    body = pr.get("body")
    return PullRequestFacts(
        login if isinstance(login, str) and login.strip() else None,
        kind if isinstance(kind, str) else None,
        body[:_BODY_LIMIT] if isinstance(body, str) else None,
    )


def body_disclosure(body: str | None, signatures: AgentSignatures) -> str | None:
    """The first disclosure phrase of the PR body, or None: `AI-generated`, `AI-assisted`,
    `generated|written|created|assisted|made with|by|using AI|an LLM`, or the same verbs
    followed by an agent product of the pack (`Generated with [Claude Code](...)`). Prose
    naming something else (`generated with terraform-docs`) is not a disclosure."""
    if not body:
        return None
    for match in _DISCLOSURE.finditer(body):
        product = match.group("product")
        if product is None or signatures.named_product(product) is not None:
            text = " ".join(match.group(0).split())
            return text[:_MAX_VALUE]
    return None


def with_pull_request(
    provenance: Mapping[str, Provenance], facts: PullRequestFacts, signatures: AgentSignatures
) -> dict[str, Provenance]:
    """`provenance` (sha -> the commit's `Provenance`) with the PR's channels applied: an
    agent or bot PR author raises every commit below that kind to it (evidence `pr_author`,
    strong, its product), and a disclosure in the body is added to every commit as weak
    evidence (`pr_body`), deciding nothing on its own."""
    author = classify_login(facts.author_login or "", signatures)
    disclosure = body_disclosure(facts.body, signatures)
    out: dict[str, Provenance] = {}
    for sha, prov in provenance.items():
        evidence = list(prov.evidence)
        kind, agent = prov.actor_kind, prov.agent
        if author.actor_kind in ("agent", "bot"):
            strong = [ev for ev in author.evidence if ev.strength == "strong"]
            if strong:
                evidence.append(replace(strong[0], field="pr_author"))
                if ACTOR_RANK[author.actor_kind] > ACTOR_RANK[kind]:
                    kind, agent = author.actor_kind, author.agent
        if disclosure is not None:
            evidence.append(Evidence(BODY_SIGNATURE, "pr_body", disclosure, "weak"))
        out[sha] = Provenance(prov.commit, kind, agent, tuple(evidence))
    return out


def gate_weak(prov: Provenance, signatures: AgentSignatures) -> Provenance:
    """`prov` with weak agent evidence deciding (config `agents.weak_evidence: gate`): a human
    or unknown commit with any agent evidence becomes that agent's (the first evidence's
    product; a PR-body disclosure names no product). Anything else is returned unchanged."""
    if ACTOR_RANK[prov.actor_kind] >= ACTOR_RANK["bot"] or not prov.evidence:
        return prov
    products = {sig.id: sig for sig in signatures.entries}
    for ev in prov.evidence:
        sig = products.get(ev.signature)
        if ev.signature == BODY_SIGNATURE:
            return replace(prov, actor_kind="agent", agent="AI disclosed in the PR body")
        if sig is not None and sig.actor_kind == "agent":
            return replace(prov, actor_kind="agent", agent=sig.product)
    return prov
