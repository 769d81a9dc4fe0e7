"""Recall and false findings of nhi-gate's CI and secret rules on peers' own test data.

Usage: python benchmarks/peer_ci_recall.py [CORPUS_DIR] > benchmarks/PEER_CI.md
(CORPUS_DIR defaults to ../shared/corpus next to the repository.)

Ground truth:
- KICS `common/passwords_and_secrets`: `test/positive_expected_result.json` (file, line) for the
  positives; every `negative*` file must have no finding. Measured twice: on the files nhi-gate
  reads (`.tf`, Kubernetes YAML/JSON) through the whole pipeline (NHI401 findings, line-exact),
  and on every test file's text with the detector alone (`secrets.find_hardcoded`), since
  nhi-gate does not read Dockerfiles or generic YAML.
- zizmor test-data and Checkov tests carry their expectations in snapshot files that are not in
  the corpus, so each file below is labelled by hand from its content and the audit it tests;
  `LABELS` gives each label and the nhi-gate rules that count as detecting it.
- KICS `cicd/github` queries (run/script block injection, unpinned actions, unsecured commands)
  and Checkov's GitHub Actions/GitLab CI command checks (curl, netcat, shell injection, images)
  are out of scope: nhi-gate judges identities, credentials and secret material, not command
  injection or supply-chain pinning. Their files are still scanned as negatives for the CI
  rules (a finding there is counted as a false finding only when the file's label says so).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from checker.analysis import Parsed, parse_sources, run_rules
from checker.catalogue import load_catalogue
from checker.config import Config
from checker.discovery import classify
from checker.model import ChangeSet, Finding, SourceFile
from checker.parsers import secrets

CI_RULES = frozenset({f"NHI31{i}" for i in range(10)} | {f"NHI40{i}" for i in range(1, 10)})


@dataclass(frozen=True)
class Label:
    """One peer test file: `positive` for the family, the rules that count as a hit."""

    family: str
    path: str
    positive: bool
    rules: frozenset[str]
    in_scope: bool = True
    note: str = ""


def _l(family: str, path: str, positive: bool, rules: Iterable[str], *, in_scope: bool = True,
       note: str = "") -> Label:
    return Label(family, path, positive, frozenset(rules), in_scope, note)


Z = "peer-suites/zizmor/test-data/"
C = "peer-suites/checkov/tests/"
PERM = ("NHI310",)
LABELS: tuple[Label, ...] = (
    # zizmor excessive-permissions
    _l("zizmor excessive-permissions", Z + "excessive-permissions.yml", True, PERM,
       note="job write-all"),
    _l("zizmor excessive-permissions", Z + "excessive-permissions/workflow-write-all.yml", True,
       PERM, note="workflow write-all"),
    _l("zizmor excessive-permissions", Z + "excessive-permissions/jobs-broaden-permissions.yml",
       True, PERM, note="job write-all under empty workflow permissions"),
    _l("zizmor excessive-permissions", Z + "excessive-permissions/workflow-default-perms.yml",
       True, PERM, note="no permissions anywhere"),
    _l("zizmor excessive-permissions", Z + "excessive-permissions/workflow-write-explicit.yml",
       True, PERM, in_scope=False,
       note="explicit per-scope writes at workflow level: zizmor flags, nhi-gate does not "
            "(scoped grants are reviewed through NHI101/NHI302 instead)"),
    _l("zizmor excessive-permissions", Z + "excessive-permissions/workflow-empty-perms.yml",
       False, PERM),
    _l("zizmor excessive-permissions", Z + "excessive-permissions/workflow-read-all.yml",
       False, PERM),
    _l("zizmor excessive-permissions",
       Z + "excessive-permissions/workflow-default-perms-all-jobs-explicit.yml", False, PERM),
    # zizmor secrets family
    _l("zizmor secrets", Z + "hardcoded-credentials.yml", True, ("NHI401",)),
    _l("zizmor secrets", Z + "overprovisioned-secrets.yml", True, ("NHI312",)),
    _l("zizmor secrets", Z + "secrets-inherit.yml", True, ("NHI311",)),
    _l("zizmor secrets", Z + "artipacked.yml", True, ("NHI314", "NHI405")),
    _l("zizmor secrets", Z + "unredacted-secrets.yml", True, ("NHI406", "NHI312"),
       in_scope=False, note="fromJSON(secrets.X) field access: not modelled"),
    # zizmor use-trusted-publishing: long-lived registry tokens where OIDC publishing exists
    *(
        _l("zizmor use-trusted-publishing", Z + f"use-trusted-publishing/{name}", True,
           ("NHI303", "NHI401"), in_scope=False,
           note="token-based publishing: a registry-specific recommendation, not modelled")
        for name in ("npm-publish.yml", "twine-upload.yml", "cargo-publish.yml",
                     "gem-push.yml", "nuget-push.yml", "bun-publish.yml")
    ),
    # Checkov CKV2_GHA_1 (top-level permissions not write-all / present)
    _l("checkov github-actions permissions",
       C + "github_actions/checks/graph_checks/resources/ReadOnlyTopLevelPermissions/"
           ".github/workflows/fail.yaml", True, PERM),
    _l("checkov github-actions permissions",
       C + "github_actions/checks/graph_checks/resources/ReadOnlyTopLevelPermissions/"
           ".github/workflows/default.yaml", True, PERM),
    _l("checkov github-actions permissions",
       C + "github_actions/checks/graph_checks/resources/ReadOnlyTopLevelPermissions/"
           ".github/workflows/pass.yaml", False, PERM),
    _l("checkov github-actions permissions",
       C + "github_actions/checks/graph_checks/resources/ReadOnlyTopLevelPermissions/"
           ".github/workflows/scope.yaml", False, PERM),
)


def _virtual(path: Path, rel: str) -> str:
    """The path a CI test file is checked under: zizmor keeps workflows outside
    `.github/workflows/`, so they are checked as `.github/workflows/<name>`."""
    if classify(rel) in ("github_actions", "gitlab_ci"):
        return rel
    if path.suffix in (".yml", ".yaml") and "zizmor" in rel:
        return f".github/workflows/{path.name}"
    return rel


def findings(corpus: Path, rel: str) -> list[Finding]:
    path = corpus / rel
    src = SourceFile(_virtual(path, rel), path.read_bytes())
    config = Config()
    parsed = parse_sources([src], load_catalogue(), config, prefilter=False, workers=1)
    verdict, _ = run_rules(parsed, Parsed((), ()), mode="scan", config=config,
                           changeset=ChangeSet(None, None), provenance={})
    return list(verdict.findings)


def labelled(corpus: Path) -> list[str]:
    out = ["## Hand-labelled CI files (zizmor, Checkov)", "",
           "| family | file | label | scope | nhi-gate rules found | result |",
           "|---|---|---|---|---|---|"]
    stats: dict[tuple[str, bool], list[int]] = {}
    for label in LABELS:
        if not (corpus / label.path).is_file():
            continue
        found = sorted({f.rule_id for f in findings(corpus, label.path)} & CI_RULES)
        hit = bool(set(found) & label.rules)
        ok = hit if label.positive else not (set(found) & label.rules)
        key = (label.family, label.in_scope)
        s = stats.setdefault(key, [0, 0, 0, 0])  # pos, pos hit, neg, neg false
        if label.positive:
            s[0] += 1
            s[1] += hit
        else:
            s[2] += 1
            s[3] += not ok
        result = ("detected" if hit else "missed") if label.positive else (
            "clean" if ok else "FALSE FINDING")
        out.append(f"| {label.family} | `{label.path.split('/', 2)[2]}` | "
                   f"{'positive' if label.positive else 'negative'} | "
                   f"{'in' if label.in_scope else 'out'} | {', '.join(found) or '-'} | "
                   f"{result}{' (' + label.note + ')' if label.note else ''} |")
    out += ["", "| family | scope | positives | recall | negatives | false findings |",
            "|---|---|---|---|---|---|"]
    for (family, scope), (p, ph, n, nf) in sorted(stats.items()):
        recall = f"{ph}/{p} ({100 * ph / p:.0f}%)" if p else "-"
        out.append(f"| {family} | {'in' if scope else 'out'} | {p} | {recall} | {n} | {nf} |")
    total_p = sum(s[0] for (_, sc), s in stats.items() if sc)
    total_h = sum(s[1] for (_, sc), s in stats.items() if sc)
    out += ["", f"In-scope recall on hand-labelled CI positives: {total_h}/{total_p} "
                f"({100 * total_h / max(total_p, 1):.0f}%).", ""]
    return out


def kics_passwords(corpus: Path) -> list[str]:
    base = corpus / "peer-suites/kics/common/passwords_and_secrets/test"
    if not base.is_dir():
        return ["KICS passwords_and_secrets not found; skipped.", ""]
    expected = json.loads((base / "positive_expected_result.json").read_text(encoding="utf-8"))
    want = {(e["fileName"], int(e["line"])) for e in expected}
    positives = sorted(p for p in base.iterdir() if p.name.startswith("positive")
                       and p.name != "positive_expected_result.json")
    negatives = sorted(p for p in base.iterdir() if p.name.startswith("negative"))
    rows: list[str] = []

    def tool_lines(p: Path) -> set[int] | None:
        rel = p.relative_to(corpus).as_posix()
        if classify(rel, p.read_bytes()[:4096]) is None:
            return None
        return {f.location.start_line for f in findings(corpus, rel) if f.rule_id == "NHI401"}

    def detector_lines(p: Path) -> set[int]:
        text = p.read_text(encoding="utf-8", errors="replace")
        return {h.line for h in secrets.find_hardcoded(text.split("\n"))}

    missed: list[str] = []
    for mode, fn in (("nhi-gate pipeline (files it reads)", tool_lines),
                     ("detector on every file's text", detector_lines)):
        exp_total = exp_hit = pos_files = neg_files = neg_flagged = neg_findings = 0
        for p in positives:
            lines = fn(p)
            if lines is None:
                continue
            pos_files += 1
            mine = {ln for (f, ln) in want if f == p.name}
            exp_total += len(mine)
            exp_hit += len(mine & lines)
            if fn is detector_lines:
                missed.extend(
                    f"`{p.name}:{ln}` ({q})" for (f, ln, q) in sorted(
                        (e["fileName"], int(e["line"]), e["queryName"].split(" - ")[-1])
                        for e in expected) if f == p.name and ln not in lines)
        for p in negatives:
            lines = fn(p)
            if lines is None:
                continue
            neg_files += 1
            neg_flagged += bool(lines)
            neg_findings += len(lines)
        rows.append(f"| {mode} | {pos_files} | {exp_hit}/{exp_total} "
                    f"({100 * exp_hit / max(exp_total, 1):.0f}%) | {neg_files} | "
                    f"{neg_flagged} ({100 * neg_flagged / max(neg_files, 1):.0f}%) | "
                    f"{neg_findings} |")
    return ["## KICS passwords_and_secrets (line-exact against positive_expected_result.json)",
            "", "| measured on | positive files | expected findings found | negative files | "
            "negatives with a finding (FP rate) | false findings |", "|---|---|---|---|---|---|",
            *rows, "",
            "Expected findings the detector misses (file:line and KICS query; values are "
            "never printed): " + ", ".join(missed) + ".", "",
            "KICS's own rate on these negatives is 0 by construction (its test suite requires "
            "no result on a negative file); the comparison that can be made is against the "
            "query's false positives where it is deployed, which KICS documents as the reason "
            "for its allow rules. nhi-gate's rate on the same negatives is in the table.", ""]


def out_of_scope(corpus: Path) -> list[str]:
    roots = [corpus / "peer-suites/kics/cicd/github",
             corpus / "peer-suites/checkov/tests/gitlab_ci",
             corpus / "peer-suites/checkov/tests/github_actions/resources"]
    files = sorted(p for r in roots if r.is_dir() for p in r.rglob("*")
                   if p.suffix in (".yml", ".yaml") and p.is_file())
    counts: dict[str, int] = {}
    errors = 0
    for p in files:
        rel = p.relative_to(corpus).as_posix()
        for f in findings(corpus, rel):
            if f.rule_id in CI_RULES:
                counts[f.rule_id] = counts.get(f.rule_id, 0) + 1
            elif f.rule_id.startswith("NHI9"):
                errors += 1
    shown = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "none"
    return ["## Out-of-scope peer suites (command injection, pinning, images)", "",
            f"{len(files)} files from KICS `cicd/github`, Checkov `gitlab_ci` and "
            f"`github_actions/resources` scanned without a traceback; NHI9xx findings: {errors}. "
            f"CI/secret findings there (not labelled, listed for review): {shown}.", ""]


def main(argv: Sequence[str]) -> int:
    corpus = Path(argv[1]) if len(argv) > 1 else (
        Path(__file__).resolve().parents[2] / "shared" / "corpus")
    if not corpus.is_dir():
        print(f"corpus not found at {corpus}", file=sys.stderr)
        return 2
    lines = ["# nhi-gate on peers' CI and secret test data", "",
             "Generated by `python benchmarks/peer_ci_recall.py > benchmarks/PEER_CI.md`.", ""]
    lines += labelled(corpus)
    lines += kics_passwords(corpus)
    lines += out_of_scope(corpus)
    sys.stdout.write("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
