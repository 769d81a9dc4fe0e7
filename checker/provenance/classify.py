"""Who wrote a commit: an AI agent, a bot, a human, or unknown (DESIGN.md "Provenance").

Pure: no git and no I/O besides loading the fingerprint pack `rules/agents.yaml` (validated by
`rules/schema/agents.schema.json`). The pack's entries come from
../shared/research/anchors.md §3 (CHAOSS `disclosure` detection/constants.go, vendor issues and
source code); each entry carries its own `source`.

Classification (`classify_commit`, `classify_actor`):
- evidence is collected from the author email, the committer email (skipped for GitHub's
  web-flow committer `noreply@github.com`), the author/committer display name, the email inside
  `Name <email>` of co-author trailers (their display name is weak evidence only), other
  trailers (`Assisted-by:` ...), message footers, and the head branch;
- a tool trailer (`TOOL_TRAILER_KEYS`: `Generated-by:`) is strong evidence when its value
  names an agent product of the pack (`Fingerprints.named_product`): the trailer is written by
  or for the tool and says what generated the commit, unlike a person's display name;
- `actor_kind` is `agent` when any *strong* agent evidence matched (or a branch matched an
  `agents.branches` pattern from the config, which is explicit policy), else `bot` when strong bot
  evidence matched, else `unknown` when the author email is empty or not an address, else
  `human`. Weak evidence (display names like "Devin", built-in branch prefixes like `copilot/`)
  is recorded but never decides.

A trailer counts wherever it appears in the message, not only in git's final trailer block,
so moving `Co-authored-by:` up one paragraph does not hide an agent.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from checker.change import ActorKind, Commit, Evidence, Provenance, Strength
from checker.errors import RulePackError
from checker.policy.catalogue import load_pack, rules_dir

#: GitHub's web-flow committer: commits made through the web UI or by Apps on a user's behalf.
WEB_FLOW_EMAILS = frozenset({"noreply@github.com"})
#: Trailer keys (lower-cased) whose value names the tool that generated the commit:
#: `Generated-by: <tool> [model]`, recommended by the ASF Generative Tooling Guidance
#: (https://www.apache.org/legal/generative-tooling.html) and written `Generated-By:` by
#: OpenInfra projects (https://docs.openstack.org/nova/latest/contributor/commit-messages.html).
#: A pack trailer matcher on one of these keys with neither `email` nor `value` matches only
#: when the value names an agent product of the pack; the commit's agent is that product.
TOOL_TRAILER_KEYS = frozenset({"generated-by"})

_EMAIL_RE = re.compile(r"[^@\s<>]+@[^@\s<>]+")
_ANGLE_EMAIL_RE = re.compile(r"<([^<>]*)>")
_TRAILER_LINE_RE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9-]*)[ \t]*:[ \t]*(\S.*?)\s*$", re.MULTILINE)
_SCISSORS_RE = re.compile(r"^# -+ >8 -+$", re.MULTILINE)
_LEADING_JUNK_RE = re.compile(r"^[^0-9a-z]+")
_GLOB_CHARS = frozenset("*?[")
_MAX_VALUE = 200
#: Evidence order, and which evidence names the product: author email first.
_FIELD_ORDER = {
    "author_email": 0,
    "committer_email": 1,
    "author_name": 2,
    "committer_name": 3,
    "trailer": 4,
    "message": 5,
    "branch": 6,
    "login": 7,
}


@dataclass(frozen=True)
class TrailerMatcher:
    """A trailer `key` (lower-cased) and an optional regex on the address inside `<...>`
    (`email`, full match) or on the whole value (`value`, search); neither = any value."""

    key: str
    email: re.Pattern[str] | None = None
    value: re.Pattern[str] | None = None


@dataclass(frozen=True)
class Fingerprint:
    """One compiled entry of `rules/agents.yaml` (or of the config's `agents:` section).

    `emails`, `names`, `logins` are lower-cased; `name_suffixes` lower-cased; `branches` are
    `fnmatch` globs (a pack prefix `copilot/` becomes `copilot/*`). `policy` marks entries from
    the user's config: a weak branch match from policy still classifies the commit as agent.
    """

    id: str
    product: str
    actor_kind: Literal["agent", "bot"]
    strength: Strength
    source: str
    emails: frozenset[str] = frozenset()
    email_patterns: tuple[re.Pattern[str], ...] = ()
    trailers: tuple[TrailerMatcher, ...] = ()
    message_patterns: tuple[re.Pattern[str], ...] = ()
    name_suffixes: tuple[str, ...] = ()
    names: frozenset[str] = frozenset()
    logins: frozenset[str] = frozenset()
    login_patterns: tuple[re.Pattern[str], ...] = ()
    branches: tuple[str, ...] = ()
    policy: bool = False

    def matches_email(self, email: str) -> bool:
        """True when the (lower-cased, stripped) address is listed or matches a pattern."""
        return email in self.emails or any(p.fullmatch(email) for p in self.email_patterns)

    def matches_login(self, login: str) -> bool:
        """True when the GitHub login is listed (case-insensitive) or matches a pattern."""
        low = login.strip().lower()
        return low in self.logins or any(p.fullmatch(low) for p in self.login_patterns)


@dataclass(frozen=True)
class Fingerprints:
    """Every fingerprint, in pack order (config entries last), and the co-author trailer keys
    (lower-cased). `trailer_keys` are all keys worth looking for in a message."""

    entries: tuple[Fingerprint, ...]
    coauthor_keys: frozenset[str]

    @functools.cached_property
    def trailer_keys(self) -> frozenset[str]:
        """Lower-cased trailer keys that any fingerprint inspects."""
        keys = set(self.coauthor_keys)
        for fp in self.entries:
            keys.update(t.key for t in fp.trailers)
        return frozenset(keys)

    @functools.cached_property
    def product_names(self) -> tuple[tuple[str, str], ...]:
        """`(lower-cased name, product)` for the agent entries of the pack (config entries
        excluded), longest name first. A name is claimed by the first of: a `product` without a
        parenthesised qualifier (`Claude Code`, `GitHub Copilot`); a display name of `names`
        (`Copilot` -> `GitHub Copilot`, `Jules` -> `Google Jules`); a `product` with its
        qualifier dropped (`Windsurf (Codeium)` -> `windsurf`)."""
        agents = [fp for fp in self.entries if fp.actor_kind == "agent" and not fp.policy]
        claims: dict[str, str] = {}
        for fp in agents:
            if "(" not in fp.product:
                claims.setdefault(fp.product.strip().lower(), fp.product)
        for fp in agents:
            for name in sorted(fp.names):
                claims.setdefault(name, fp.product)
        for fp in agents:
            bare = fp.product.split("(", 1)[0].strip().lower()
            if bare:
                claims.setdefault(bare, fp.product)
        return tuple(sorted(claims.items(), key=lambda item: (-len(item[0]), item[0])))

    def named_product(self, value: str) -> str | None:
        """The agent product a tool trailer's value starts with (case-insensitive, a whole
        name: `claude-opus-4-6` names Claude, `claudette` does not; any `<email>` and leading
        punctuation such as a Markdown `[` are ignored), or None. See `product_names`."""
        text = _ANGLE_EMAIL_RE.sub(" ", value).strip().lower()
        text = _LEADING_JUNK_RE.sub("", text)
        for name, product in self.product_names:
            if text.startswith(name) and (
                len(text) == len(name) or not text[len(name)].isalnum()
            ):
                return product
        return None


# --------------------------------------------------------------------------------------------
# Loading


def _compile(pattern: str, flags: int, where: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern, flags)
    except re.error as exc:
        raise RulePackError(f"{where}: invalid regex {pattern!r}: {exc}") from exc


def _compile_entry(item: dict[str, Any], where: str) -> Fingerprint:
    def patterns(key: str, flags: int) -> tuple[re.Pattern[str], ...]:
        return tuple(
            _compile(p, flags, f"{where}/{key}/{i}") for i, p in enumerate(item.get(key, ()))
        )

    trailers = tuple(
        TrailerMatcher(
            key=t["key"].lower(),
            email=_compile(t["email"], re.IGNORECASE, f"{where}/trailers/{i}/email")
            if "email" in t
            else None,
            value=_compile(t["value"], 0, f"{where}/trailers/{i}/value") if "value" in t else None,
        )
        for i, t in enumerate(item.get("trailers", ()))
    )
    return Fingerprint(
        id=item["id"],
        product=item["product"],
        actor_kind=item["actor_kind"],
        strength=item["strength"],
        source=item["source"],
        emails=frozenset(e.lower() for e in item.get("emails", ())),
        email_patterns=patterns("email_patterns", re.IGNORECASE),
        trailers=trailers,
        message_patterns=patterns("message_patterns", re.MULTILINE),
        name_suffixes=tuple(s.lower() for s in item.get("name_suffixes", ())),
        names=frozenset(n.strip().lower() for n in item.get("names", ())),
        logins=frozenset(n.lower() for n in item.get("logins", ())),
        login_patterns=patterns("login_patterns", re.IGNORECASE),
        branches=tuple(_branch_glob(b) for b in item.get("branch_prefixes", ())),
    )


@functools.lru_cache(maxsize=4)
def _load_pack(path: Path) -> Fingerprints:
    data = load_pack(path, "agents")
    entries: list[Fingerprint] = []
    seen: set[str] = set()
    for i, item in enumerate(data["fingerprints"]):
        if item["id"] in seen:
            raise RulePackError(f"{path}: fingerprints/{i}: duplicate id {item['id']!r}")
        seen.add(item["id"])
        entries.append(_compile_entry(item, f"{path}: fingerprints/{i}"))
    return Fingerprints(
        entries=tuple(entries),
        coauthor_keys=frozenset(k.lower() for k in data["coauthor_trailers"]),
    )


def _branch_glob(prefix: str) -> str:
    """A pack `branch_prefixes` entry (`copilot/`) as a glob (`copilot/*`)."""
    return prefix + "*"


def _config_branch_glob(pattern: str) -> str:
    """A config `agents.branches` entry: a glob (`ai/*`) is kept; `ai/` (ending in `/`) is a
    prefix; anything else is an exact branch name."""
    if _GLOB_CHARS & set(pattern):
        return pattern
    if pattern.endswith("/"):
        return pattern + "*"
    return pattern


def load_fingerprints(
    extra_emails: Iterable[str] = (),
    extra_branches: Iterable[str] = (),
    *,
    pack: Path | None = None,
) -> Fingerprints:
    """The shipped fingerprints plus the config's `agents.emails` / `agents.branches`.

    Config emails are exact addresses (case-insensitive) and strong agent evidence; config
    branches are globs (`ai/*`; `ai/` means the prefix; no glob character means the exact name)
    and classify as agent even though branch evidence is weak, because the user declared them.
    `pack` overrides `rules/agents.yaml` (tests). The pack is parsed once per path.
    Raises `RulePackError` when the pack does not validate or holds an invalid regex.
    """
    base = _load_pack(pack or rules_dir() / "agents.yaml")
    emails = frozenset(e.strip().lower() for e in extra_emails if e.strip())
    branches = tuple(_config_branch_glob(b.strip()) for b in extra_branches if b.strip())
    extra: list[Fingerprint] = []
    if emails:
        extra.append(
            Fingerprint(
                id="config-agent-email",
                product="configured agent (agents.emails)",
                actor_kind="agent",
                strength="strong",
                source=".nhi-gate.yaml agents.emails",
                emails=emails,
                policy=True,
            )
        )
    if branches:
        extra.append(
            Fingerprint(
                id="config-agent-branch",
                product="configured agent branch (agents.branches)",
                actor_kind="agent",
                strength="weak",
                source=".nhi-gate.yaml agents.branches",
                branches=branches,
                policy=True,
            )
        )
    if not extra:
        return base
    return Fingerprints(entries=base.entries + tuple(extra), coauthor_keys=base.coauthor_keys)


# --------------------------------------------------------------------------------------------
# Parsing helpers


def address_of(value: str) -> str | None:
    """The email inside `Name <email>` (lower-cased), or the value itself when it is a bare
    address; None when there is no address. The display name is never returned."""
    found = _ANGLE_EMAIL_RE.findall(value)
    if found:
        address = str(found[-1]).strip().lower()
        return address or None
    bare = value.strip().lower()
    return bare if _EMAIL_RE.fullmatch(bare) else None


def message_trailers(message: str) -> tuple[tuple[str, str], ...]:
    """Every `Key: value` line of a commit message, in order, wherever it appears.

    Lines after a scissors line (`# ---- >8 ----`) and `#` comment lines are dropped, as git
    does for a commit message being edited (the commit-msg hook sees them). This is looser than
    git's trailer-block rule on purpose: callers filter by the keys they care about.
    """
    cut = _SCISSORS_RE.search(message)
    if cut:
        message = message[: cut.start()]
    return tuple((m.group(1), m.group(2)) for m in _TRAILER_LINE_RE.finditer(message))


def normalise_branch(branch: str) -> str:
    """`refs/heads/copilot/x` → `copilot/x`; other names unchanged."""
    return branch.removeprefix("refs/heads/")


def _clip(value: str) -> str:
    return value if len(value) <= _MAX_VALUE else value[: _MAX_VALUE - 1] + "…"


def _is_address(email: str) -> bool:
    return bool(_EMAIL_RE.fullmatch(email.strip()))


# --------------------------------------------------------------------------------------------
# Classification


def _collect(
    fps: Fingerprints,
    *,
    author_name: str,
    author_email: str,
    committer_name: str,
    committer_email: str,
    message: str,
    trailers: Sequence[tuple[str, str]],
    branch: str | None,
) -> list[tuple[Fingerprint, Evidence]]:
    found: list[tuple[Fingerprint, Evidence]] = []
    seen: set[Evidence] = set()

    def add(fp: Fingerprint, field: str, value: str) -> None:
        ev = Evidence(fingerprint=fp.id, field=field, value=_clip(value), strength=fp.strength)
        if ev not in seen:
            seen.add(ev)
            found.append((fp, ev))

    a_email = author_email.strip().lower()
    c_email = committer_email.strip().lower()
    committer_real = bool(c_email) and c_email not in WEB_FLOW_EMAILS
    check_committer = committer_real and c_email != a_email
    a_name = author_name.strip().lower()
    c_name = committer_name.strip().lower()

    keys = fps.trailer_keys
    all_trailers: list[tuple[str, str]] = []
    for key, value in (*trailers, *message_trailers(message)):
        item = (key, value.strip())
        if key.lower() in keys and item not in all_trailers:
            all_trailers.append(item)
    coauthors = [
        (key, value, address_of(value))
        for key, value in all_trailers
        if key.lower() in fps.coauthor_keys
    ]
    norm_branch = normalise_branch(branch) if branch else None

    for fp in fps.entries:
        if a_email and fp.matches_email(a_email):
            add(fp, "author_email", author_email.strip())
        if check_committer and fp.matches_email(c_email):
            add(fp, "committer_email", committer_email.strip())
        if any(a_name.endswith(s) for s in fp.name_suffixes):
            add(fp, "author_name", author_name.strip())
        if (
            committer_real
            and c_name != a_name
            and any(c_name.endswith(s) for s in fp.name_suffixes)
        ):
            add(fp, "committer_name", committer_name.strip())
        if a_name and a_name in fp.names:
            add(fp, "author_name", author_name.strip())
        for key, value, address in coauthors:
            if address and fp.matches_email(address):
                add(fp, "trailer", f"{key}: {value}")
            # a co-author's display name is a name like any other: weak (names are weak-only)
            if value.split("<", 1)[0].strip().lower() in fp.names:
                add(fp, "trailer", f"{key}: {value}")
        for matcher in fp.trailers:
            for key, value in all_trailers:
                if key.lower() != matcher.key:
                    continue
                if matcher.email is not None:
                    address = address_of(value)
                    if not address or not matcher.email.fullmatch(address):
                        continue
                if matcher.value is not None and not matcher.value.search(value):
                    continue
                if (
                    matcher.key in TOOL_TRAILER_KEYS
                    and matcher.email is None
                    and matcher.value is None
                ):
                    named = fps.named_product(value)
                    if named is not None:
                        add(replace(fp, product=named), "trailer", f"{key}: {value}")
                    continue
                add(fp, "trailer", f"{key}: {value}")
        for pattern in fp.message_patterns:
            match = pattern.search(message)
            if match:
                add(fp, "message", match.group(0).strip() or match.group(0))
        if norm_branch and any(fnmatch.fnmatchcase(norm_branch, g) for g in fp.branches):
            add(fp, "branch", norm_branch)
    return found


def _decide(
    commit: str, identified: bool, found: Sequence[tuple[Fingerprint, Evidence]]
) -> Provenance:
    """Agent if strong (or policy) agent evidence, else bot if strong bot evidence, else human
    when `identified` (a valid author email / a login), else unknown."""
    found = sorted(found, key=lambda item: _FIELD_ORDER.get(item[1].field, len(_FIELD_ORDER)))
    deciding = [fp for fp, ev in found if ev.strength == "strong" or fp.policy]
    agent = next((fp for fp in deciding if fp.actor_kind == "agent"), None)
    bot = next((fp for fp in deciding if fp.actor_kind == "bot"), None)
    kind: ActorKind = "human" if identified else "unknown"
    product: str | None = None
    if agent is not None:
        kind, product = "agent", agent.product
    elif bot is not None:
        kind, product = "bot", bot.product
    return Provenance(
        commit=commit, actor_kind=kind, agent=product, evidence=tuple(ev for _, ev in found)
    )


def classify_commit(commit: Commit, fps: Fingerprints, branch: str | None = None) -> Provenance:
    """The `Provenance` of one commit (see the module docstring for the rules).

    `branch` is the head branch of the change (`ChangeSet.branch`); branch evidence is weak
    unless it comes from the config. `Provenance.agent` is the product of the first deciding
    fingerprint (author email first, then committer, names, trailers, message, branch) for
    agents and bots, None for humans and unknown. Evidence keeps every match, weak ones too.
    """
    found = _collect(
        fps,
        author_name=commit.author_name,
        author_email=commit.author_email,
        committer_name=commit.committer_name,
        committer_email=commit.committer_email,
        message=commit.message,
        trailers=commit.trailers,
        branch=branch,
    )
    return _decide(commit.sha, _is_address(commit.author_email), found)


def classify_actor(
    name: str,
    email: str,
    message: str = "",
    fps: Fingerprints | None = None,
    branch: str | None = None,
) -> Provenance:
    """The `Provenance` of a commit not made yet (pre-commit / commit-msg hooks).

    `name`/`email` are the author from `git_identity`; `message` the commit message being
    written (trailers are read from it; comment lines and everything below a scissors line are
    ignored). `fps` defaults to `load_fingerprints()`. `Provenance.commit` is `""`.
    """
    found = _collect(
        fps if fps is not None else load_fingerprints(),
        author_name=name,
        author_email=email,
        committer_name="",
        committer_email="",
        message=message,
        trailers=(),
        branch=branch,
    )
    return _decide("", _is_address(email), found)


def classify_login(login: str, fps: Fingerprints) -> Provenance:
    """The `Provenance` of a GitHub login (PR author, reviewer): `agent` or `bot` when it is a
    fingerprinted login or any `*[bot]` App, `human` otherwise, `unknown` when empty.
    Evidence field is `login`; `Provenance.commit` is `""`. Lets approval refuse agents."""
    found = [
        (fp, Evidence(fingerprint=fp.id, field="login", value=login, strength=fp.strength))
        for fp in fps.entries
        if fp.matches_login(login)
    ]
    return _decide("", bool(login.strip()), found)
