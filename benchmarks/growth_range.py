"""How `nhi-gate check` grows with the number of commits in the range (issue 16, target (g)).
Not part of the test suite.

    .venv/bin/python benchmarks/growth_range.py [REPO] [--counts 100 500 2000] [--reps 1]

For each N, runs `nhi-gate check --base HEAD~N --head HEAD --format json` in REPO (`HEAD~N`
follows first parents, so the range holds every commit merged in those N steps: the table
gives both) and prints a markdown table: commits in the range, wall seconds, CPU seconds (user
+ system of nhi-gate and every process it waited for: git, the parse worker), CPU ms per
commit, and that per-commit cost as a ratio to the first row's. Target (g): the ratio at 2,000
is at most 1.2. CPU time, because wall time on a shared machine measures the neighbours.

Without REPO the history is generated (with `git fast-import`, in a temp dir) in the shape of a
real one: pull requests of two agent commits (a Terraform file, a manifest, Go code) merged
into `main` while a person commits Go code there, around 10 Terraform modules, 10 manifest
folders and 200 Go files nhi-gate never reads. `growth_table` is the entry point for
`bench.py`.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

_SCRIPT = Path(sys.executable).with_name("nhi-gate")
#: How nhi-gate is run: as installed beside this Python, else from this checkout.
NHI = [str(_SCRIPT)] if _SCRIPT.is_file() else [sys.executable, "-m", "checker"]
AGENT = "Copilot <198982749+Copilot@users.noreply.github.com>"
HUMAN = "Alice Example <alice@example.com>"


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(repo: Path, steps: int, reps: int = 1) -> tuple[int, float, float, int]:
    """`(commits in HEAD~steps..HEAD, median wall seconds, median CPU seconds, exit code)` of
    `check`."""
    commits = int(subprocess.run(
        ["git", "-C", str(repo), "rev-list", "--count", f"HEAD~{steps}..HEAD"],
        check=True, capture_output=True, text=True).stdout)
    walls: list[float] = []
    cpus: list[float] = []
    code = 0
    for _ in range(reps):
        cpu, start = _children_cpu(), time.perf_counter()
        code = subprocess.run([*NHI, "check", "--repo", str(repo), "--base", f"HEAD~{steps}",
                        "--head", "HEAD", "--format", "json"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False).returncode
        walls.append(time.perf_counter() - start)
        cpus.append(_children_cpu() - cpu)
    return commits, statistics.median(walls), statistics.median(cpus), code


def growth_table(repo: Path | None, counts: Sequence[int] = (100, 500, 2000),
                 reps: int = 1) -> str:
    """The markdown table for `repo` (None: a generated history deep enough for `counts`)."""
    with tempfile.TemporaryDirectory(prefix="nhi-gate-growth-") as tmp:
        where = repo if repo is not None else generate(Path(tmp) / "repo", max(counts) + 10)
        rows = [(n, *measure(where, n, reps)) for n in counts]
    first = rows[0][3] / rows[0][1]
    lines = [f"`nhi-gate check --base HEAD~N --head HEAD` in "
             f"{repo if repo is not None else 'a generated history'} (CPU: nhi-gate and the "
             "processes it waited for)", "",
             "| N (first-parent) | commits | exit | wall s | CPU s | CPU ms/commit | "
             "ratio to first |", "|---:|---:|---:|---:|---:|---:|---:|"]
    for n, commits, wall, cpu, code in rows:
        per = cpu / commits
        lines.append(f"| {n} | {commits} | {code} | {wall:.1f} | {cpu:.1f} | "
                     f"{per * 1000:.1f} | {per / first:.2f} |")
    return "\n".join(lines)


def _blob(text: str) -> bytes:
    data = text.encode()
    return b"data %d\n%s\n" % (len(data), data)


def generate(path: Path, steps: int) -> Path:
    """A repository at `path` whose `main` has `steps` first-parent commits after a root:
    alternately a person's Go commit and the merge of a two-commit agent pull request."""
    subprocess.run(["git", "init", "-q", "--initial-branch=main", str(path)], check=True)
    files: dict[str, str] = {}
    for k in range(10):
        files[f"infra/m{k}/main.tf"] = f'terraform {{}}\n# module {k}\n'
        files[f"k8s/app{k}/sa.yaml"] = (f"apiVersion: v1\nkind: ServiceAccount\nmetadata:\n"
                                        f"  name: app{k}\n")
    for k in range(200):
        files[f"pkg/p{k % 20}/f{k}.go"] = f"package p{k % 20}\n\nvar v{k} = 0\n"
    out: list[bytes] = []
    clock = 1735689600

    def commit(mark: int, who: str, message: str, parents: Sequence[int],
               changes: dict[str, str]) -> None:
        nonlocal clock
        clock += 60
        out.append(b"commit refs/heads/main\nmark :%d\n" % mark)
        out.append(f"author {who} {clock} +0000\ncommitter {who} {clock} +0000\n".encode())
        out.append(_blob(message))
        if parents:
            out.append(b"from :%d\n" % parents[0])
        out.extend(b"merge :%d\n" % p for p in parents[1:])
        for name, text in sorted(changes.items()):
            out.append(f"M 100644 inline {name}\n".encode() + _blob(text))

    commit(1, HUMAN, "root", [], files)
    tip, mark, pr = 1, 2, 0
    while (mark - 2) // 4 * 2 < steps:
        k = pr % 10
        branch = {f"infra/m{k}/main.tf": files[f"infra/m{k}/main.tf"] +
                  f'resource "aws_iam_user" "u{pr}" {{\n  name = "u{pr}"\n}}\n'}
        branch.update({f"pkg/p{k}/f{k + 20 * j}.go": f"package p{k}\n\nvar v{k + 20 * j} = "
                       f"{pr}\n" for j in range(3)})
        commit(mark, AGENT, f"agent change {pr}", [tip], branch)
        sa = {f"k8s/app{k}/sa.yaml": files[f"k8s/app{k}/sa.yaml"] + f"  # pr {pr}\n"}
        commit(mark + 1, AGENT, f"agent manifest {pr}", [mark], sa)
        other = {f"pkg/p{(k + 5) % 20}/f{(k + 5) % 20 + 20 * j}.go":
                 f"package p{(k + 5) % 20}\n\nvar v{(k + 5) % 20 + 20 * j} = {pr}\n"
                 for j in range(2)}
        commit(mark + 2, HUMAN, f"person {pr}", [tip], other)
        files.update(branch)
        files.update(sa)
        files.update(other)
        commit(mark + 3, HUMAN, f"Merge pull request #{pr}", [mark + 2, mark + 1],
               {**branch, **sa})
        tip, mark, pr = mark + 3, mark + 4, pr + 1
    subprocess.run(["git", "-C", str(path), "fast-import", "--quiet"], input=b"".join(out),
                   check=True)
    subprocess.run(["git", "-C", str(path), "reset", "-q", "--hard", "main"], check=True)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """Print the growth table; returns 0."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("repo", nargs="?", type=Path, help="repository (default: generated)")
    parser.add_argument("--counts", type=int, nargs="+", default=[100, 500, 2000])
    parser.add_argument("--reps", type=int, default=1)
    args = parser.parse_args(argv)
    os.environ.setdefault("GIT_CONFIG_NOSYSTEM", "1")
    print(growth_table(args.repo, args.counts, args.reps))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
