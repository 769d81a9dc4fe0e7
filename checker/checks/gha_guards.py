"""NHI302 for a GitHub Actions job that gets cloud credentials by OIDC and lost a guard: what
stood between a push and the credentials (`parsers/github_guards.py`, the `guard:` references
of its credential steps) is looser at head than at base.

- The job left its `environment:` (or runs in another one): the environment's protection rules
  (required reviewers, wait timer, deployment branches) no longer gate it. Unlike a job that
  only reads secrets (`checks/gha_environment.py`: leaving narrows what it can read), a job
  that assumes a cloud identity by OIDC keeps the credentials; only the gate went.
- The job's `if:` was removed or changed.
- A trigger was added (`pull_request:`), or a trigger's branch or tag filter widened
  (`branches: [main]` -> `["**"]`, a filter removed, an ignore pattern dropped).

Each is a widening (an agent's blocks; a person's is a warning, variant `ci-guard-human`),
unless the job still runs in the same environment at head: its deployment branch rules, set
outside the repository, may still keep the new refs from the credentials, so the change is a
note that says so (variant `ci-guard-environment`). A change of the guards that loosens none
(an environment or `if:` added, a trigger removed, a filter narrowed) is a narrowing note.

Sources:
https://docs.github.com/en/actions/managing-workflow-runs-and-deployments/managing-deployments/managing-environments-for-deployment#deployment-branches-and-tags,
https://docs.github.com/en/actions/writing-workflows/workflow-syntax-for-github-actions#onpushpull_requestpull_request_targetpathspaths-ignore
(a workflow with only `branches` filters does not run for tags, and the reverse),
https://docs.github.com/en/actions/security-for-github-actions/security-hardening-your-deployments/about-security-hardening-with-openid-connect
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import replace

from checker.checks.api import Hit, Subject
from checker.lazy_patterns import lazy_compile
from checker.model import IdentityObject

#: `parsers/github_guards.py`'s `PREFIX` (checks do not import parsers).
_PREFIX = "guard:"
HUMAN_VARIANT = "ci-guard-human"
ENVIRONMENT_VARIANT = "ci-guard-environment"
_KINDS = {"branches": "tags", "tags": "branches"}
_SPECIAL = lazy_compile(r"[*?+\[\]!]")

Filters = Mapping[str, frozenset[str]]


def _read(obj: IdentityObject) -> tuple[str | None, str | None, dict[str, Filters]]:
    """(environment, `if:`, event -> its ref filters) from `obj`'s guard references."""
    env = cond = None
    on: dict[str, Filters] = {}
    for ref in obj.references:
        if not ref.startswith(_PREFIX):
            continue
        key, _, value = ref[len(_PREFIX):].partition("=")
        if key == "environment":
            env = value
        elif key == "if":
            cond = value
        elif key == "on":
            event, *limits = value.split(";")
            on[event] = {f: frozenset(p for p in ps.split(",") if p)
                         for f, _, ps in (lim.partition("=") for lim in limits)}
    return env, cond, on


def _state(filters: Filters, kind: str) -> tuple[str, frozenset[str]]:
    """Which refs of `kind` (`branches` or `tags`) a trigger runs for: (`include`, patterns),
    (`ignore`, patterns), (`all`, ()), or (`none`, ()) when only the other kind is filtered."""
    if kind in filters:
        return "include", filters[kind]
    if f"{kind}-ignore" in filters:
        return "ignore", filters[f"{kind}-ignore"]
    other = _KINDS[kind]
    if other in filters or f"{other}-ignore" in filters:
        return "none", frozenset()
    return "all", frozenset()


def _covered(head: Filters, base: Filters) -> bool:
    """True when a trigger filtered by `head` runs for no ref `base` does not: for branches
    and for tags, the same include patterns or fewer, the same ignore patterns or more (exact
    strings: patterns nhi-gate cannot compare are not covered)."""
    for kind in _KINDS:
        (h, hp), (b, bp) = _state(head, kind), _state(base, kind)
        if h == "none" or b == "all":
            continue
        if not (((h, b) == ("include", "include") and _within(hp, bp))
                or ((h, b) == ("ignore", "ignore") and bp <= hp)):
            return False
    return True


def _within(head: frozenset[str], base: frozenset[str]) -> bool:
    """True when every pattern of `head` is one of `base`, or a literal ref name (no pattern
    character) a `base` pattern matches (`*` within a `/` segment, `**` across them); a `!`
    negation makes the lists incomparable unless equal."""
    if head <= base:
        return True
    if any(p.startswith("!") for p in (*head, *base)):
        return False
    return all(p in base or (not _SPECIAL.search(p) and any(
        _pattern(b).fullmatch(p) for b in base)) for p in head)


def _pattern(glob: str) -> re.Pattern[str]:
    """A GitHub ref filter pattern as a regular expression (`**`, `*`, `?` only; any other
    pattern character is matched literally, so it covers less: fail closed)."""
    out = re.escape(glob).replace(r"\*\*", ".*").replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
    return re.compile(out)


def _shown(filters: Filters) -> str:
    return "; ".join(f"{f}: [{', '.join(sorted(p))}]" for f, p in sorted(filters.items())) or (
        "every ref")


def gains(obj: IdentityObject, base: IdentityObject) -> list[tuple[str, int | None]]:
    """What the job's credentials became reachable through, in words, each with its line."""
    env, cond, on = _read(obj)
    was_env, was_cond, was_on = _read(base)
    out: list[tuple[str, int | None]] = []
    if was_env and env != was_env:
        out.append((f"runs in environment `{env}` instead of `{was_env}`" if env else
                    f"no longer runs in environment `{was_env}` (its required reviewers and "
                    "deployment branch rules no longer apply)", None))
    if was_cond and cond != was_cond:
        out.append((f"its `if: {was_cond}` changed to `if: {cond}`" if cond else
                    f"its `if: {was_cond}` was removed", None))
    for event, filters in sorted(on.items()):
        line = obj.attribute_lines.get(f"on.{event}")
        if event not in was_on:
            out.append((f"a new trigger `{event}`" + (
                f" ({_shown(filters)})" if filters else ""), line))
        elif not _covered(filters, was_on[event]):
            out.append((f"`on.{event}` runs for {_shown(filters)} (was "
                        f"{_shown(was_on[event])})", line))
    return out


def _guarded(obj: IdentityObject, base: IdentityObject | None) -> bool:
    return base is not None and obj.kind == "ci_credential" and any(
        r.startswith(_PREFIX) for r in (*obj.references, *base.references))


def _job(obj: IdentityObject) -> str:
    return obj.address.rsplit(".steps[", 1)[0]


def widened(subject: Subject) -> Iterator[Hit]:
    """NHI302 (see the module doc) for a credential step whose job lost a guard and runs in
    no environment at head, or in another one than at base."""
    obj, base = subject.obj, subject.base
    if base is None or not _guarded(obj, base):
        return
    found = gains(obj, base)
    env, was = _read(obj)[0], _read(base)[0]
    if not found or (env is not None and env == was):
        return
    line = next((n for _, n in found if n is not None), None)
    yield Hit("NHI302",
              f"{_job(obj)} gets cloud credentials by OIDC ({obj.type}) from more refs or "
              f"events: {'; '.join(w for w, _ in found)}"
              + ("" if env else "; no environment's protection rules gate the job now"),
              "guards", line,
              variant=HUMAN_VARIANT if subject.touch.actor_kind == "human" else None)


def _rest(obj: IdentityObject) -> tuple[object, ...]:
    """What must be equal for a change of the guards alone."""
    return (obj.kind, obj.type, sorted(obj.metadata.items()),
            sorted(repr(replace(g, line=None)) for g in obj.privileges),
            tuple(r for r in obj.references if not r.startswith(_PREFIX)),
            obj.secret_sinks, obj.unresolved, obj.lifetime, obj.usages, obj.principals,
            tuple(replace(t, line=None) for t in obj.trust))


def narrows(subject: Subject) -> Iterator[Hit]:
    """NHI302 notes for a credential step whose job's guards alone changed: `narrowed` when
    none is looser, `ci-guard-environment` when some is but the job still runs in the same
    environment (module doc)."""
    obj, base = subject.obj, subject.base
    if base is None or not _guarded(obj, base) or _rest(obj) != _rest(base) or (
            _read(obj) == _read(base)):
        return
    found = gains(obj, base)
    env, was = _read(obj)[0], _read(base)[0]
    if not found:
        yield Hit("NHI302", f"{_job(obj)}: only what guards its OIDC credentials changed, "
                  "and none of it is looser (an environment or `if:` added, a trigger "
                  "removed or narrowed); a narrowing needs no approval", "guards",
                  obj.location.start_line, variant="narrowed")
    elif env is not None and env == was:
        line = next((n for _, n in found if n is not None), None)
        yield Hit("NHI302",
                  f"{_job(obj)} gets cloud credentials by OIDC ({obj.type}) from more refs "
                  f"or events: {'; '.join(w for w, _ in found)}; it still runs in environment "
                  f"`{env}`, whose deployment branch rules and required reviewers, set outside "
                  "the repository, may still keep them from the credentials: check them",
                  "guards", line, variant=ENVIRONMENT_VARIANT)
