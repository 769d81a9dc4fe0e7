"""Values a changed deploy command line passes that no file of the repository holds (session 11,
fixH: attacks `helm-set-in-deploy-script`, `helmfile-set`, `gha-script-tf-var`).

A workflow, a script, a makefile or a helmfile that a change touches may hand a chart or a
Terraform configuration values on its command line (`checker.sources.render.helm_calls`):
- `helm install|upgrade|template ... --set rbac.clusterAdmin=true` (also `--set-string`,
  `--set-json`, `--set-literal`), or a helmfile release's `set:`, `setString:` and inline
  `values:` maps: for a chart of this repository whose values are all computed, the chart is
  rendered at head and at base as that call installs it (`SetRender`: its values files, then
  the values it sets), its objects addressed under the file of the call, so what the values
  deploy is judged like any rendered object (NHI101, NHI301, NHI302 on the binding they add).
  A value that is not computed (`--set-file`, a list or index key, `$VAR`, a templated
  helmfile value) or a chart from elsewhere fails closed: an NHI107 problem at the call's line
  naming the call, the chart and what it sets, never a value;
- `terraform|tofu|terragrunt plan|apply ... -var 'actions=["*"]'` (`-var-file`) in a script
  (not a workflow or GitLab CI file: `checker.parsers.ci_tf_inputs` reads those as a job's
  Terraform inputs, NHI106): every identity reading the variable gets the value, which
  nhi-gate does not compute, so a change of those inputs is an NHI107 problem at the command's
  line naming the inputs;
- a cloud CLI grant command (`checker.parsers.grant_verbs`: `aws iam attach-role-policy`,
  `kubectl create clusterrolebinding`, ...) in a shell script, makefile or justfile that
  another file of the repository names (a workflow step `./scripts/grant.sh`, a makefile:
  `named`), as a workflow step's `run:` would be read (`checker.parsers.ci_grants`), but its
  arguments are not judged: a command line base did not have (continuation lines joined) is
  an NHI107 problem at its line naming the verbs. A script nothing names runs nowhere nhi-gate
  knows, and is not judged;
- a chart's rendered output rewritten before it is applied (`checker.sources.render.
  post_renderers`: `--post-renderer`, `helm template | ./x.sh | kubectl apply`, a helmfile
  `postRenderer`, `transformers`, `jsonPatches`, `strategicMergePatches`): nhi-gate renders
  without it, so a rewrite base's file did not have is an NHI107 problem at its line naming
  the call and the rewriter; so is a changed script that a deploy of the repository runs as
  such a rewriter (`./deploy/labels.sh`: `rewriters`).
Only a call whose values differ from base's (same file, same command and chart) counts; one
the change removed deploys nothing. The level is decided by who changed the file (an agent's
change blocks, a person's is a note: `checks/engine.problem_findings`).
"""

from __future__ import annotations

import posixpath
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import NamedTuple

from checker.commands.render_disk import UNRENDERED
from checker.decode import utf8
from checker.model import ParseProblem
from checker.parsers.ci_tf_inputs import script_inputs
from checker.parsers.common import command_lines
from checker.parsers.grant_verbs import grant_verbs
from checker.policy.config import Config
from checker.sources.discovery import excluded
from checker.sources.render.helm_calls import HelmCall, cli_calls, helmfile_calls, is_helmfile
from checker.sources.render.post_renderers import rewrites, runs

#: Files a deploy command may sit in, by name: workflows and CI files, shell scripts,
#: makefiles, task runners, helmfiles; and any file starting with `#!` (an executable script).
SCRIPTS = (".yml", ".yaml", ".sh", ".bash", ".zsh", "makefile", ".mk", "justfile")
#: The files that may name a script (`git grep` suffixes, case-sensitive).
NAMERS = (".yml", ".yaml", ".sh", ".bash", ".zsh", "Makefile", "makefile", ".mk", "justfile",
          "Justfile", ".json", ".toml")


class SetRender(NamedTuple):
    """Render the chart whose `Chart.yaml` is `chart` as the call at `line` of `owner`
    installs it: at head its `values` files then the YAML values `sets`; at base with
    `base_values` and `base_sets` (what base's same call passed, else nothing)."""

    chart: str
    owner: str
    line: int
    values: tuple[str, ...]
    sets: str
    base_values: tuple[str, ...]
    base_sets: str


def may_deploy(path: str, raw: bytes | None = None) -> bool:
    """True for a file that may hold a deploy command line: by name (`SCRIPTS`), or a name
    without an extension (`bin/deploy`) whose text `raw` (when given) starts with `#!`."""
    name = posixpath.basename(path).lower()
    return name.endswith(SCRIPTS) or ("." not in name and (raw is None or raw.startswith(
        b"#!")))


def command_values(head: Mapping[str, bytes], base: Mapping[str, bytes | None],
                   charts: Collection[str], config: Config,
                   named: Callable[[Sequence[str]], Collection[str]] = lambda paths: ()
                   ) -> tuple[list[SetRender], list[ParseProblem]]:  # fmt: skip
    """(renders, NHI107 problems) for the changed files `head` (path -> text at head) whose
    command lines set values base's did not (`base`: path at head -> text at base, None when
    new); `charts` are the `Chart.yaml` paths of the charts head renders; `named` says which
    of some script paths another file names (asked only for scripts with new grant commands).
    Both sorted."""
    jobs: list[SetRender] = []
    problems: list[ParseProblem] = []
    granting: list[ParseProblem] = []
    for path, raw in sorted(head.items()):
        if excluded(path, config.exclude) or not may_deploy(path, raw):
            continue
        old = base.get(path)
        before: dict[tuple[str, str], list[HelmCall]] = {}
        for c in _calls(path, old) if old is not None else []:
            before.setdefault((c.who, c.chart), []).append(c)
        seen: dict[tuple[str, str], int] = {}
        for call in _calls(path, raw):
            key = (call.who, call.chart)
            same, n = before.get(key, []), seen.get(key, 0)
            seen[key] = n + 1
            if any((c.sets, c.named) == (call.sets, call.named) for c in same):
                continue  # as base installs it (with several calls: as one of them)
            was = same[min(n, len(same) - 1)] if same else None
            if not call.named and (was is None or not was.named):
                continue
            folder = posixpath.normpath(call.chart)
            chart = posixpath.join("" if folder == "." else folder, "Chart.yaml")
            if chart in charts and not call.uncomputed:
                jobs.append(SetRender(chart, path, call.line, call.values, call.sets,
                                      was.values if was else call.values,
                                      was.sets if was else ""))
            else:
                problems.append(_helm_problem(path, call, chart in charts))
        problems.extend(_rewrite_problems(path, raw, old))
        if not is_helmfile(path) and not _ci_file(path):
            problems.extend(_terraform_problems(path, raw, old))
        if not path.lower().endswith((".yml", ".yaml")):
            granting.extend(_grant_problems(path, raw, old))
    if granting:
        run = set(named([p.path for p in granting]))
        problems.extend(p for p in granting if p.path in run)
    return jobs, sorted(problems, key=lambda p: (p.path, p.line))


def _calls(path: str, raw: bytes) -> list[HelmCall]:
    if is_helmfile(path):
        return helmfile_calls(path, raw)
    text = utf8(raw)
    return cli_calls(text) if text is not None and "helm" in text else []


def _ci_file(path: str) -> bool:
    """A GitHub Actions or GitLab CI file, whose Terraform inputs its parser reads."""
    name = posixpath.basename(path).lower()
    return name.endswith(".gitlab-ci.yml") or name in ("action.yml", "action.yaml") or (
        "/.github/workflows/" in f"/{path}")


def _helm_problem(path: str, call: HelmCall, local: bool) -> ParseProblem:
    shown = ", ".join(f"`{n}`" for n in (call.uncomputed or call.named)[:4])
    more = f" and {len(call.named) - 4} more" if len(call.uncomputed or call.named) > 4 else ""
    why = (f"{shown}{more} is not computed" if local else
           f"the chart {call.chart} is not in this repository, so nhi-gate cannot render it "
           f"offline with {shown}{more}")
    return ParseProblem(path, UNRENDERED, (
        f"{path}: {call.who} of the chart {call.chart} (line {call.line}) sets values on its "
        f"command line: {why}, so what it deploys with them (roles, bindings, service "
        "accounts) is not judged; review what they grant"), call.line,
        address=f"{path}#{call.who} {call.chart}")


def _rewrite_problems(path: str, raw: bytes, old: bytes | None) -> list[ParseProblem]:
    """One problem at each rewrite of a chart's rendered output (`post_renderers.rewrites`)
    that base's file did not have as many times (same call, same rewriter)."""
    before = Counter((r.who, r.what) for r in rewrites(path, old)) if old is not None else (
        Counter[tuple[str, str]]())
    out = []
    for found in rewrites(path, raw):
        if before[(found.who, found.what)] > 0:
            before[(found.who, found.what)] -= 1
            continue
        out.append(ParseProblem(path, UNRENDERED, (
            f"{path}: {found.who} at line {found.line} has the chart's rendered output "
            f"changed by `{found.what}` before it is applied; nhi-gate renders the chart "
            "without it, so what it changes (roles, bindings, service accounts) is not "
            "judged; review what it does"), found.line,
            address=f"{path}#{found.who}: {found.what}"))
    return out


def rewriters(changed: Sequence[str], naming: Callable[[Sequence[str]], Mapping[str, bytes]],
              said: Collection[ParseProblem] = ()) -> list[ParseProblem]:
    """An NHI107 problem at line 1 of each `changed` script (a shell script or executable,
    `may_deploy`) that a deploy command or helmfile of the repository runs as a rewriter of a
    chart's output (`post_renderers.runs`), unless that rewrite is new and `said` already
    (`command_values`' problems); `naming` gives the workflows, scripts and helmfiles holding
    some of the scripts' file names (path -> text at head)."""
    scripts = {p for p in changed if may_deploy(p) and not p.lower().endswith(
        (".yml", ".yaml", "makefile", ".mk", "justfile"))}
    if not scripts:
        return []
    out: dict[str, ParseProblem] = {}
    new = {p.address for p in said}
    for path, raw in sorted(naming(sorted({posixpath.basename(p) for p in scripts})).items()):
        for found in rewrites(path, raw):
            target = runs(found, path)
            if target in scripts and target not in out and (
                    f"{path}#{found.who}: {found.what}" not in new):
                out[target] = ParseProblem(target, UNRENDERED, (
                    f"{target}: {found.who} in {path} (line {found.line}) has the chart's "
                    f"rendered output changed by this script (`{found.what}`) before it is "
                    "applied; nhi-gate renders the chart without it, so what the change to it "
                    "does to roles, bindings and service accounts is not judged; review it"),
                    address=f"{target}#rewrites {path}")
    return [out[p] for p in sorted(out)]


def _terraform_problems(path: str, raw: bytes, old: bytes | None) -> list[ParseProblem]:
    """One problem at the first command line whose Terraform inputs changed since base."""
    text = utf8(raw)
    if text is None or ("-var" not in text):
        return []
    now = script_inputs(text)
    before = {(e.attribute, e.expression) for e in script_inputs(
        utf8(old) or "")} if old is not None else set()
    kept = {(e.attribute, e.expression) for e in now}
    changed = [e for e in now if (e.attribute, e.expression) not in before]
    removed = sorted({a for a, x in before - kept if a not in {e.attribute for e in now}})
    if not changed and not removed:
        return []
    names = ", ".join([*dict.fromkeys(f"`{e.attribute}`" for e in changed),
                       *(f"`{a}` (removed)" for a in removed)])
    line = changed[0].line or 1 if changed else 1
    return [ParseProblem(path, UNRENDERED, (
        f"{path}: a Terraform run on its command line (line {line}) is handed inputs no file "
        f"of the repository holds: {names}; every identity reading those variables gets the "
        "value, which nhi-gate does not compute; review what it grants"), line,
        address=f"{path}#terraform-inputs")]


def _grant_problems(path: str, raw: bytes, old: bytes | None) -> list[ParseProblem]:
    """One problem at the first grant command line base did not have, naming every new one's
    verbs."""
    text = utf8(raw)
    if text is None:
        return []
    before = {t.strip() for _, t in _commands(utf8(old) or "")} if old is not None else set()
    found = [(n, verbs) for n, t in _commands(text)
             if t.strip() not in before and (verbs := grant_verbs(t))]
    if not found:
        return []
    names = ", ".join(dict.fromkeys(f"`{v}`" for _, verbs in found for _, v in verbs))
    line = found[0][0]
    return [ParseProblem(path, UNRENDERED, (
        f"{path}: a command at line {line} grants access itself ({names}) with the "
        "credentials of whoever runs the script (a CI job that runs it); nhi-gate does not "
        "compute what it grants; review it"), line, address=f"{path}#grants")]


def _commands(text: str) -> list[tuple[int, str]]:
    """(line, text) of each command line of a script: a line ending in `\\` joined with the
    next; comment lines left out."""
    return [(start, line) for start, line in command_lines(text.split("\n"), strip=True)
            if line.strip() and not line.lstrip().startswith("#")]


def named_by(paths: Sequence[str], grep: Callable[[Sequence[str]], Sequence[str]],
             read: Callable[[Sequence[str]], Mapping[str, bytes]]) -> set[str]:
    """The `paths` whose file name another file of the repository holds: `grep` lists the
    files (workflows, CI files, scripts, makefiles) holding any of the names, `read` reads
    them."""
    names = {posixpath.basename(p): p for p in paths}
    found = [p for p in grep(sorted(names)) if p not in paths]
    texts = read(found) if found else {}
    return {path for name, path in names.items()
            if any(name.encode() in raw for other, raw in texts.items() if other != path)}
