"""Access a CI script grants (`run:` of a GitHub Actions step), as facts for
`checker.parsers.github_actions`, which makes each an identity (`ci_granted_access`).

A step that runs a cloud CLI's grant sub-command (`checker.parsers.grant_verbs`, the table
Terraform's `local-exec` commands are read with) changes who may do what, with the job's
credentials, and no file of the repository shows it. Each such command is one fact, with the
grants its arguments name where they are literal:
- `aws iam attach-{role,user,group}-policy`: the `--policy-arn` on the principal
  (https://docs.aws.amazon.com/cli/latest/reference/iam/attach-role-policy.html);
  `put-{role,user,group}-policy` and `create-policy-version`: the statements of the
  `--policy-document` JSON (https://docs.aws.amazon.com/cli/latest/reference/iam/put-role-policy.html,
  .../iam/create-policy-version.html); `update-assume-role-policy`: its trust
  (https://docs.aws.amazon.com/cli/latest/reference/iam/update-assume-role-policy.html);
- `gcloud projects|organizations|folders|iam service-accounts add-iam-policy-binding`: the
  `--role` on the resource
  (https://cloud.google.com/sdk/gcloud/reference/projects/add-iam-policy-binding);
- `az role assignment create` and `az ad sp create-for-rbac`: the `--role` on the `--scope`
  (`--scopes`) (https://learn.microsoft.com/en-us/cli/azure/role/assignment#az-role-assignment-create);
- `kubectl create clusterrolebinding|rolebinding`: `--clusterrole`/`--role` (cluster-wide, or
  in `-n`), `kubectl create clusterrole|role`: each `--verb` on each `--resource`
  (https://kubernetes.io/docs/reference/kubectl/generated/kubectl_create/kubectl_create_clusterrolebinding/);
- `gcloud <group> add-iam-policy-binding` of any other resource (`storage buckets`, `secrets`,
  `run services`): the `--role` on `<group's last word>/<resource>`.
A command whose grant is not in its words (`kubectl set subject`, a ClusterRole `label`,
`aws iam delete-role-permissions-boundary`, `gh api -X PUT .../collaborators/...`:
`checker.parsers.ci_grant_gains`) is an `Unresolved` entry showing the command (its positional
words and naming options, never a field or a document) and saying what it gains.
A value that is a shell expansion (`$ROLE`), a `file://` document or a command nhi-gate does
not read for grants (`set-iam-policy`, `kubectl apply`, `az role definition create`) is an
`Unresolved` entry (NHI106: fail closed), never guessed. Commands that mint a credential are
`checker.parsers.ci_minted`'s, not repeated here.
"""

from __future__ import annotations

import hashlib
import json
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, replace

from yaml.nodes import Node, ScalarNode, SequenceNode

from checker.model import Grant, IdentityObject, Trust, Unresolved
from checker.parsers.aws_policy import document_grants, document_trust
from checker.parsers.ci_grant_gains import gained, shown
from checker.parsers.grant_verbs import GRANT_VERBS
from checker.safeyaml import line_of

#: Sub-commands `checker.parsers.ci_minted` makes minted credentials of.
_MINTS = ("aws iam create-access-key", "gcloud iam service-accounts keys create",
          "az ad sp credential reset", "kubectl create token")
_STOP = frozenset({";", "&&", "||", "|", "&", "(", ")"})
#: The options whose values are the grant itself (not its frame).
_GRANT_OPTIONS = frozenset({"policy-arn", "policy-document", "role", "clusterrole", "verb",
                            "resource", "scope", "scopes"})


@dataclass(frozen=True)
class Granted:
    """One grant command: its 1-based `line`, `platform`, `verb` (`aws iam attach-role-policy`),
    the `grants` and `trust` its literal arguments name, and what could not be read
    (`unresolved`, each naming the option); `key` is the platform, then `aws[1]`, `aws[2]`
    for the next commands of one platform in the script (its address in the step)."""

    key: str
    line: int
    platform: str
    verb: str
    grants: tuple[Grant, ...]
    trust: tuple[Trust, ...]
    unresolved: tuple[Unresolved, ...]
    frame: str = ""

    def applied(self, obj: IdentityObject) -> IdentityObject:
        """`obj` (the command's identity) with its grants' trust, unread entries and frame:
        the command without what it grants (`frame_digest`), so a change that only narrows
        the grant (`AdministratorAccess` -> `ReadOnlyAccess`) is a narrowing."""
        return replace(obj, trust=self.trust, unresolved=self.unresolved,
                       frame_digest=self.frame)


def granted(run: Node | None) -> list[Granted]:
    """The grant commands of a `run:` script (a scalar, or a list of scalars), in line order;
    comment lines are skipped, a line ending in `\\` is joined with the next."""
    out: list[Granted] = []
    for line, text in _lines(run):
        for start, platform, verb in _verbs(text):
            if verb in _MINTS:
                continue
            n = sum(g.platform == platform for g in out)
            key = f"{platform}[{n}]" if n else platform
            out.append(_read(key, line, platform, verb, _words(text[start:])))
    return out


def _lines(run: Node | None) -> Iterator[tuple[int, str]]:
    for item in (run.value if isinstance(run, SequenceNode) else [run]):
        if not isinstance(item, ScalarNode):
            continue
        first = line_of(item) + (1 if item.style in ("|", ">") else 0)
        pending: tuple[int, str] | None = None
        for offset, text in enumerate(str(item.value).split("\n")):
            if pending is not None:
                text = pending[1] + " " + text.strip()
            number = pending[0] if pending is not None else first + offset
            pending = None
            if text.rstrip().endswith("\\"):
                pending = (number, text.rstrip()[:-1])
            elif text.strip() and not text.lstrip().startswith("#"):
                yield number, text
        if pending is not None:
            yield pending


def _verbs(text: str) -> list[tuple[int, str, str]]:
    """(start, platform, verb) of each grant sub-command of a command line, in order."""
    found: list[tuple[int, str, str]] = []
    for platform, cli, pattern in GRANT_VERBS:
        for m in pattern.finditer(text):
            words = " ".join(m.group(1).split()[:4])
            found.append((m.start(), platform,
                          f"{cli} {'apply' if words.startswith('apply') else words}"))
    return sorted(found)


def _words(text: str) -> list[str]:
    """The words of one command (up to `;`, `&&`, `|`, ...), shell quoting undone."""
    lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    words: list[str] = []
    try:
        for word in lexer:
            if word in _STOP:
                break
            words.append(word)
    except ValueError:  # an unclosed quote: the words as written
        return text.split()
    return words


def _options(words: list[str]) -> tuple[dict[str, str], list[str]]:
    """(`--name`/`-n` -> value, positional words) of a command's words."""
    options: dict[str, str] = {}
    positional: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word.startswith("-") and "=" in word:
            name, _, value = word.partition("=")
            options[name.lstrip("-")] = value
        elif word.startswith("-") and i + 1 < len(words) and not words[i + 1].startswith("-"):
            options[word.lstrip("-")] = words[i + 1]
            i += 1
        elif word.startswith("-"):
            options[word.lstrip("-")] = ""
        else:
            positional.append(word)
        i += 1
    return options, positional


def _read(key: str, line: int, platform: str, verb: str, words: list[str]) -> Granted:
    """The grants, trust and unread entries of one grant command's `words`."""
    options, positional = _options(words)
    grants: list[Grant] = []
    trust: list[Trust] = []
    unread: list[str] = []

    def literal(name: str) -> str | None:
        value = options.get(name)
        if value is not None and ("$" in value or "`" in value or value.startswith("file")):
            unread.append(name)
            return None
        return value

    sub = verb.split(" ", 2 if platform == "aws" else 1)[-1]  # after `aws iam`, `gcloud`
    if platform == "aws":
        principal = next((f"{k}/{v}" for k in ("role", "user", "group")
                          if (v := options.get(f"{k}-name"))), "*")
        if sub.startswith("attach-") and (arn := literal("policy-arn")):
            grants.append(Grant(arn, principal, line=line))
        elif sub.startswith(("put-", "create-policy-version", "update-assume-role")) and (
                text := literal("policy-document")) is not None:
            doc = _json(text)
            if doc is None:
                unread.append("policy-document")
            elif sub.startswith("update-assume-role"):
                trust += document_trust(doc, line)
            else:
                grants += document_grants(doc, line)
    elif platform == "gcp" and sub.endswith("add-iam-policy-binding"):
        on = positional[positional.index("add-iam-policy-binding") + 1:][:1] if (
            "add-iam-policy-binding" in positional) else []
        kind = sub.split()[-2]  # `projects`, `service-accounts`, `buckets`, `secrets`, ...
        scope = "serviceAccounts" if kind == "service-accounts" else kind
        if (role := literal("role")) and on:
            grants.append(Grant(role, f"{scope}/{on[0]}", line=line))
    elif platform == "azure" and sub in ("role assignment create", "ad sp create-for-rbac"):
        scope = literal("scope") or literal("scopes") or "*"
        if role := literal("role"):
            grants.append(Grant(role, scope, line=line))
    elif platform == "kubernetes" and sub.endswith("rolebinding"):
        namespace = options.get("n") or options.get("namespace") or "(current namespace)"
        scope = "*" if sub.endswith("clusterrolebinding") else namespace
        ref = ("ClusterRole", literal("clusterrole")) if "clusterrole" in options else (
            "Role", literal("role"))
        if ref[1]:
            grants.append(Grant(f"{ref[0]}/{ref[1]}", scope, line=line))
    elif platform == "kubernetes" and sub.endswith("role") and not sub.startswith("apply"):
        verbs, resources = literal("verb") or "", literal("resource") or ""
        grants += [Grant(v, r, line=line) for v in verbs.split(",") if v
                   for r in resources.split(",") if r]
    gain = gained(platform, sub, words)
    if not grants and not trust and not unread and (gain or _reads_more(platform, sub)):
        unread.append("command")
    how = "run by a CI step with the job's credentials"
    entries = tuple(
        Unresolved(name, f"{verb} --{name}", how, line) if name != "command" else
        Unresolved(name, shown(positional, options), f"{gain}; {how}", line) if gain else
        Unresolved(name, verb, how, line) for name in dict.fromkeys(unread))
    frame = [verb, *positional, *sorted(f"{k}={v}" for k, v in options.items()
                                        if k not in _GRANT_OPTIONS)]
    digest = hashlib.sha256(json.dumps(frame).encode()).hexdigest()[:32]
    return Granted(key, line, platform, verb, tuple(grants), tuple(trust), entries, digest)


def _reads_more(platform: str, sub: str) -> bool:
    """True for a grant sub-command whose grants come from what it reads (a policy file, a
    manifest, a role definition), not from its words: nhi-gate does not compute them."""
    return sub.startswith(("apply", "set-iam-policy", "role definition")) or (
        sub.endswith("set-iam-policy")) or (platform == "aws" and sub.startswith(
            ("put-", "create-policy-version", "update-assume-role", "attach-")))


def _json(text: str) -> object | None:
    """A JSON policy document, decoded; None when it is no JSON object."""
    try:
        doc = json.loads(text)
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None
