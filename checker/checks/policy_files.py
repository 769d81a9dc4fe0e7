"""NHI102: a policy file (the nhi-gate config, CODEOWNERS, the allowed-signers file, the
baseline, git attributes, a workflow that runs nhi-gate, a workflow that adds or changes a job
whose name may evaluate to `nhi-gate`: `parsers.status_checks`) or a file that steers agents and
their attribution (`parsers.steering`: `.claude/settings.json`, `CLAUDE.md`,
`CLAUDE.local.md`, `AGENTS.md`, `GEMINI.md`, `.codex/config.toml`, `.copilot/`, Copilot
instructions, `.cursor/`, `.cursorrules`, `.vscode/settings.json`, `copilot-setup-steps.yml`,
`.pre-commit-config.yaml`, git hooks in `.husky/`/`.githooks/`, a `package.json` naming
`core.hooksPath`, `devcontainer.json`, `.envrc`; other agents' `.aider.conf.yml`,
`.windsurfrules`, `.clinerules`, `AGENT.md`, `opencode.json`, `.gemini/`, Copilot prompt files,
`.claude/` commands, a commit message template `.gitmessage`) or a file the job that runs
nhi-gate executes before its check
(`parsers.gate_job`: a local action, a script, a makefile, a `package.json`; kind `gate-job`;
also what its `pip install` installs from, and the scripts a GitLab CI job that runs nhi-gate
runs), or a GitLab CI file whose change reaches that job (`parsers.gitlab_gate`; kind
`gitlab-gate`) changed by an agent or bot commit; a Terraform file whose change weakens GitHub
merge protection (`checks.merge_protection`, kind `merge-protection`: a ruleset or branch
protection that loses a required check, review or rule, or gains a bypass), by anyone; and a
commit of the range that a replace ref replaces (`ChangeFacts.replaced`; git is read with
replace refs off, so the original is judged, and the replacement is blamed on the original's
actor, or on an unknown one when that is a person: the replacement names no one).

In `hook` mode the staged change is the one change: every staged policy file
(`ChangeFacts.trust_touches`) is reported when the committer is an agent or a bot, on its first
added line.

An agent's edit of a steering file blocks (error) when it changes attribution (a co-author,
trailer or attribution setting, a `GIT_AUTHOR_*`/`GIT_COMMITTER_*` variable, a line of
instructions about them) or removes or changes what keeps nhi-gate running (its pre-commit
hooks, their settings, a pre-commit.ci `ci: skip` naming them, a line naming it), or when
the file cannot be read on one side, or adds or removes a line naming nhi-gate (a `mention`
fact: "skip nhi-gate"); any other agent edit of such a file is a note (variant `steering`). A
person's edit is not reported.

A change that weakens merge protection is an error for an agent or bot and a note for a person
(variant `human`: a person may change the repository's protection, and the reviewer should
know); a change that tightens it, or edits something else in the file, is no finding.

Policy is read from the base revision, so such a change cannot loosen the rules that judge it;
it still needs a human's approval before it takes effect (DESIGN.md "Approval and trust").
Which paths are policy files, and which in-range commits touched each (deletions included), is
gathered by the commands (`ChangeFacts.trust_touches`, `trust_kinds`). One finding per path, on
the first line an agent or bot wrote there (line 1 otherwise).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from checker.change import Provenance
from checker.checks.api import ChangeFacts, ChangeHit
from checker.checks.merge_protection import weakened
from checker.model import Finding, Location

_TRUST_WHAT = {
    "config": "the nhi-gate configuration",
    "codeowners": "CODEOWNERS",
    "signers": "the allowed-signers file for offline approvals",
    "baseline": "the nhi-gate baseline",
    "attributes": "git attributes, which change how git shows the diff",
    "gate-workflow": "a workflow that runs nhi-gate",
    "gitlab-gate": "a GitLab CI file that defines or shapes the job that runs nhi-gate",
    "status-check": "a workflow whose job may report the nhi-gate status check",
    "steering": "a file that steers coding agents",
    "gate-job": "a file the job that runs nhi-gate executes before its check",
    "merge-protection": "GitHub merge protection managed in Terraform",
}
_SHOWN = 2
_WIDTH = 80


def _shown(facts: frozenset[str]) -> str:
    items = sorted(f.split(":", 1)[1] for f in facts)
    text = "; ".join(f"`{i[:_WIDTH]}`" for i in items[:_SHOWN])
    return text + (f" and {len(items) - _SHOWN} more" if len(items) > _SHOWN else "")


def steering_change(sides: tuple[frozenset[str] | None, frozenset[str] | None] | None
                    ) -> str | None:  # fmt: skip
    """What an edit of an agent-steering file does to attribution or the gate, in words, or
    None when it does neither (a note). `sides` are its facts at (base, head)."""
    base, head = sides if sides is not None else (None, None)
    if base is None or head is None:
        return "it could not be read at " + ("base" if base is None else "head")
    said: list[str] = []
    b_attr = {f for f in base if f.startswith("attribution:")}
    h_attr = {f for f in head if f.startswith("attribution:")}
    if b_attr != h_attr:
        parts = [f"adds {_shown(frozenset(h_attr - b_attr))}" if h_attr - b_attr else "",
                 f"removes {_shown(frozenset(b_attr - h_attr))}" if b_attr - h_attr else ""]
        said.append("it changes attribution: " + ", ".join(p for p in parts if p))
    lost = {f for f in base if f.startswith("gate:")} - head
    if lost:
        said.append(f"it removes or changes what runs nhi-gate: {_shown(frozenset(lost))}")
    b_said = {f for f in base if f.startswith("mention:")}
    h_said = {f for f in head if f.startswith("mention:")}
    if b_said != h_said:  # an instruction about the gate, either way ("skip nhi-gate")
        parts = [f"adds {_shown(frozenset(h_said - b_said))}" if h_said - b_said else "",
                 f"removes {_shown(frozenset(b_said - h_said))}" if b_said - h_said else ""]
        said.append("it changes what it says about nhi-gate: "
                    + ", ".join(p for p in parts if p))
    return "; ".join(said) or None


def status_jobs(sides: tuple[frozenset[str] | None, frozenset[str] | None] | None) -> str:
    """The jobs a workflow change adds or changes whose check may be nhi-gate's, in words.
    `sides` are its `parsers.status_checks` facts at (base, head)."""
    base, head = sides if sides is not None else (None, None)
    jobs = [fact.removeprefix("job:").split("\t")
            for fact in sorted((head or frozenset()) - (base or frozenset()))]
    named = [f"`{job[0]}` (`name: {job[1][:_WIDTH]}`)" for job in jobs[:_SHOWN]]
    more = f" and {len(jobs) - _SHOWN} more" if len(jobs) > _SHOWN else ""
    return (f"it adds or changes job {', '.join(named) or '?'}{more} in a workflow run on pull "
            "requests, whose name may evaluate to `nhi-gate` and report a passing status "
            "check of that name whatever the job runs (a required status check is matched by "
            "name only)")


def who(prov: Provenance | None, sha: str) -> str:
    """`agent (Claude Code) in commit 1a2b3c4d5e6f`: the actor of commit `sha` for messages."""
    kind = prov.actor_kind if prov else "unknown"
    product = f" ({prov.agent})" if prov and prov.agent else ""
    return f"{kind}{product} in commit {sha[:12]}"


def _message(facts: ChangeFacts, path: str, by: str) -> tuple[str, str | None]:
    """The NHI102 message for `path` changed `by` (an actor in words), and its variant."""
    kind = facts.trust_kinds.get(path, "config")
    what = _TRUST_WHAT.get(kind, "a policy file")
    if kind == "status-check":
        return (f"{path} ({what}) was changed by {by}: {status_jobs(facts.steering.get(path))}"
                ", so it needs a human's approval"), None
    if kind == "steering":
        change = steering_change(facts.steering.get(path))
        return (f"{path} ({what}) was changed by {by}: "
                + (f"{change}, so it needs a human's approval" if change else
                   "it changes no attribution and removes no gate (a note)"),
                None if change else "steering")
    if kind == "merge-protection":
        return (f"{path} ({what}) was changed by {by}: "
                f"{weakened(facts.steering.get(path))}, so it needs a human's approval"), None
    if kind == "gate-job":
        return (f"{path} ({what}) was changed by {by}: the job runs it before the check "
                f"({facts.gate_runs.get(path, 'a step of the nhi-gate job')}), so it can "
                "switch the gate off; it needs a human's approval"), None
    return (f"{path} ({what}) was changed by {by}; policy is read from the base revision, so "
            "the change only takes effect once a human approves it"), None


def _staged(facts: ChangeFacts) -> Iterator[ChangeHit]:
    """`hook`: NHI102 per staged policy file when the committer is an agent or bot."""
    actor = facts.committer
    if actor is None or actor.actor_kind not in ("agent", "bot"):
        return
    product = f" ({actor.agent})" if actor.agent else ""
    files = {cf.path: cf for cf in facts.changeset.files}
    for path in sorted(facts.trust_touches):
        if _unweakened(facts, path):
            continue
        cf = files.get(path)
        line = cf.added_lines[0][0] if cf is not None and cf.added_lines else 1
        by = f"{actor.actor_kind}{product} in the staged change"
        message, variant = _message(facts, path, by)
        yield ChangeHit("NHI102", message, Location(path, line, line), f"trust:{path}",
                        actor=actor, variant=variant)


def _replaced(facts: ChangeFacts) -> Iterator[ChangeHit]:
    """NHI102 per range commit that a replace ref replaces (see `ChangeFacts.replaced`)."""
    for sha, replacement in sorted(facts.replaced.items()):
        prov = facts.provenance.get(sha)
        actor = prov if prov is not None and prov.actor_kind in ("agent", "bot") else (
            Provenance(sha, "unknown"))
        ref = f"refs/replace/{sha}"
        yield ChangeHit(
            "NHI102",
            f"{ref} makes git show {replacement[:12]} in place of {who(prov, sha)} (another "
            "author, message or tree under the same id); nhi-gate judged the original "
            "commit, but a replacement hides it from git and names no one who made it, so it "
            "needs a human's review",
            Location(ref, 1, 1), f"replace:{sha}", actor=actor, commit=sha, commits=(sha,),
        )


def check_change(facts: ChangeFacts, findings: Sequence[Finding]) -> Iterator[ChangeHit]:
    """NHI102 per policy file an agent or bot commit changed (the staged change's committer
    in `hook` mode), and per range commit a replace ref replaces (see the module doc)."""
    if facts.mode == "hook":
        yield from _staged(facts)
        return
    yield from _replaced(facts)
    provenance = facts.provenance
    files = {cf.path: cf for cf in facts.changeset.files}
    for path in sorted(facts.trust_touches):
        if _unweakened(facts, path):
            continue
        shas = [
            s for s in facts.trust_touches[path]
            if (p := provenance.get(s)) is not None and p.actor_kind in ("agent", "bot")
        ]
        if not shas:
            yield from _persons(facts, path)
            continue
        agents = [s for s in shas if provenance[s].actor_kind == "agent"]
        sha = (agents or shas)[0]
        cf = files.get(path)
        lines = sorted(n for n, s in (cf.line_commits.items() if cf else ()) if s in shas)
        line = lines[0] if lines else 1
        message, variant = _message(facts, path, who(provenance.get(sha), sha))
        yield ChangeHit(
            "NHI102", message, Location(path, line, line), f"trust:{path}",
            actor=provenance.get(sha) or Provenance(sha, "unknown"), commit=sha,
            commits=tuple(shas), variant=variant,
        )


def _unweakened(facts: ChangeFacts, path: str) -> bool:
    """True for a merge-protection file whose change does not weaken it: no finding."""
    return (facts.trust_kinds.get(path) == "merge-protection"
            and weakened(facts.steering.get(path)) is None)


def _persons(facts: ChangeFacts, path: str) -> Iterator[ChangeHit]:
    """A person's change that weakens merge protection managed in Terraform: a note (variant
    `human`), on the first line a person's commit wrote there; nothing for other kinds."""
    if facts.trust_kinds.get(path) != "merge-protection":
        return
    shas = list(facts.trust_touches[path])
    if not shas:
        return
    sha = shas[0]
    cf = next((f for f in facts.changeset.files if f.path == path), None)
    lines = sorted(n for n, s in (cf.line_commits.items() if cf else ()) if s in shas)
    line = lines[0] if lines else 1
    prov = facts.provenance.get(sha) or Provenance(sha, "human")
    change = weakened(facts.steering.get(path))
    yield ChangeHit(
        "NHI102", f"{path} ({_TRUST_WHAT['merge-protection']}) was changed by "
        f"{who(prov, sha)}: {change}; a person's change is a note for the reviewer",
        Location(path, line, line), f"trust:{path}", actor=prov, commit=sha,
        commits=tuple(shas), variant="human")
