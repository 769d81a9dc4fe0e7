"""Agent and bot signatures: `rules/agents.yaml` compiled into `AgentSignatures`.

The pack (validated by `rules/schema/agents.schema.json`) lists how AI coding agents and bots
identify themselves in commits: addresses, display names, logins, trailers, message footers and
branch prefixes. Its entries come from ../shared/research/anchors.md §3 (CHAOSS `disclosure`
detection/constants.go, vendor issues and source code); each entry carries its own `source`.
The config's `agents.emails` / `agents.branches` add two policy signatures
(`load_agent_signatures`). `checker.provenance.classify` matches commits against them.

Pure: no git and no I/O besides loading the pack.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from checker.change import Strength
from checker.errors import RulePackError
from checker.lazy_patterns import lazy_compile
from checker.policy.catalogue import load_pack, rules_dir
from checker.policy.config import Config

#: The address inside `Name <email>` (group 1).
ANGLE_EMAIL_RE = lazy_compile(r"<([^<>]*)>")
_LEADING_JUNK_RE = lazy_compile(r"^[^0-9a-z]+")
_GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True)
class TrailerMatcher:
    """A trailer `key` (lower-cased) and an optional regex on the address inside `<...>`
    (`email`, full match) or on the whole value (`value`, search); neither = any value."""

    key: str
    email: re.Pattern[str] | None = None
    value: re.Pattern[str] | None = None


@dataclass(frozen=True)
class AgentSignature:
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
    #: A bot whose authorship decides (`author_decides`): see `rules/agents.yaml`.
    author_decides: bool = False

    def matches_email(self, email: str) -> bool:
        """True when the (lower-cased, stripped) address is listed or matches a pattern."""
        return email in self.emails or any(p.fullmatch(email) for p in self.email_patterns)

    def matches_login(self, login: str) -> bool:
        """True when the GitHub login is listed (case-insensitive) or matches a pattern."""
        low = login.strip().lower()
        return low in self.logins or any(p.fullmatch(low) for p in self.login_patterns)


@dataclass(frozen=True)
class AgentSignatures:
    """Every signature, in pack order (config entries last), and the co-author trailer keys
    (lower-cased). `trailer_keys` are all keys worth looking for in a message."""

    entries: tuple[AgentSignature, ...]
    coauthor_keys: frozenset[str]

    @functools.cached_property
    def trailer_keys(self) -> frozenset[str]:
        """Lower-cased trailer keys that any signature inspects."""
        keys = set(self.coauthor_keys)
        for signature in self.entries:
            keys.update(t.key for t in signature.trailers)
        return frozenset(keys)

    @functools.cached_property
    def product_names(self) -> tuple[tuple[str, str], ...]:
        """`(lower-cased name, product)` for the agent entries of the pack (config entries
        excluded), longest name first. A name is claimed by the first of: a `product` without a
        parenthesised qualifier (`Claude Code`, `GitHub Copilot`); a display name of `names`
        (`Copilot` -> `GitHub Copilot`, `Jules` -> `Google Jules`); a `product` with its
        qualifier dropped (`Windsurf (Codeium)` -> `windsurf`)."""
        agents = [
            signature
            for signature in self.entries
            if signature.actor_kind == "agent" and not signature.policy
        ]
        claims: dict[str, str] = {}
        for signature in agents:
            if "(" not in signature.product:
                claims.setdefault(signature.product.strip().lower(), signature.product)
        for signature in agents:
            for name in sorted(signature.names):
                claims.setdefault(name, signature.product)
        for signature in agents:
            bare = signature.product.split("(", 1)[0].strip().lower()
            if bare:
                claims.setdefault(bare, signature.product)
        return tuple(sorted(claims.items(), key=lambda item: (-len(item[0]), item[0])))

    def named_product(self, value: str) -> str | None:
        """The agent product a tool trailer's value starts with (case-insensitive, a whole
        name: `claude-opus-4-6` names Claude, `claudette` does not; any `<email>` and leading
        punctuation such as a Markdown `[` are ignored), or None. See `product_names`."""
        text = ANGLE_EMAIL_RE.sub(" ", value).strip().lower()
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


def _compile_entry(item: dict[str, Any], where: str) -> AgentSignature:
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
    return AgentSignature(
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
        author_decides=bool(item.get("author_decides", False)),
    )


@functools.lru_cache(maxsize=4)
def _load_pack(path: Path) -> AgentSignatures:
    data = load_pack(path, "agents")
    entries: list[AgentSignature] = []
    seen: set[str] = set()
    # `fingerprints:` is the pack's own key (data, validated by the schema), kept as it is.
    for i, item in enumerate(data["fingerprints"]):
        if item["id"] in seen:
            raise RulePackError(f"{path}: fingerprints/{i}: duplicate id {item['id']!r}")
        seen.add(item["id"])
        entries.append(_compile_entry(item, f"{path}: fingerprints/{i}"))
    return AgentSignatures(
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


def signatures_for(config: Config) -> AgentSignatures:
    """The signatures a run with `config` uses: the pack, the config's `agents.emails` and
    `agents.branches`, and the bot accounts of `agents.bots` (`load_agent_signatures`)."""
    return load_agent_signatures(
        config.agent_emails, config.agent_branches, bot_emails=config.bot_emails,
        bot_names=config.bot_names, bot_logins=config.bot_logins,
    )


def load_agent_signatures(
    extra_emails: Iterable[str] = (),
    extra_branches: Iterable[str] = (),
    *,
    pack: Path | None = None,
    bot_emails: Iterable[str] = (),
    bot_names: Iterable[str] = (),
    bot_logins: Iterable[str] = (),
) -> AgentSignatures:
    """The shipped signatures plus the config's `agents.emails` / `agents.branches`.

    Config emails are exact addresses (case-insensitive) and strong agent evidence; config
    branches are globs (`ai/*`; `ai/` means the prefix; no glob character means the exact name)
    and classify as agent even though branch evidence is weak, because the user declared them.
    `bot_emails`/`bot_names`/`bot_logins` (config `agents.bots`) declare bots that commit with
    ordinary accounts: an exact address, author display name or GitHub login (all
    case-insensitive), strong bot evidence because the user declared them.
    `pack` overrides `rules/agents.yaml` (tests). The pack is parsed once per path.
    Raises `RulePackError` when the pack does not validate or holds an invalid regex.
    """
    base = _load_pack(pack or rules_dir() / "agents.yaml")
    emails = frozenset(e.strip().lower() for e in extra_emails if e.strip())
    branches = tuple(_config_branch_glob(b.strip()) for b in extra_branches if b.strip())
    extra: list[AgentSignature] = []
    if emails:
        extra.append(
            AgentSignature(
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
            AgentSignature(
                id="config-agent-branch",
                product="configured agent branch (agents.branches)",
                actor_kind="agent",
                strength="weak",
                source=".nhi-gate.yaml agents.branches",
                branches=branches,
                policy=True,
            )
        )
    bots = [frozenset(v.strip().lower() for v in values if v.strip())
            for values in (bot_emails, bot_names, bot_logins)]
    if any(bots):
        extra.append(
            AgentSignature(
                id="config-bot",
                product="configured bot (agents.bots)",
                actor_kind="bot",
                strength="strong",
                source=".nhi-gate.yaml agents.bots",
                emails=bots[0],
                names=bots[1],
                logins=bots[2],
                policy=True,
            )
        )
    if not extra:
        return base
    return AgentSignatures(entries=base.entries + tuple(extra), coauthor_keys=base.coauthor_keys)
