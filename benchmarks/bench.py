"""nhi-gate vs Checkov, side by side, and how nhi-gate's cost grows. Not part of the test suite.

Run from the repository root with the Python of the venv nhi-gate is installed in, as the README
installs it (one command; writes benchmarks/RESULTS.md and prints it):

    .venv/bin/python benchmarks/bench.py [--reps 3] [--checkov CHECKOV] [--quick]

nhi-gate is run as users run it: the `nhi-gate` script beside that Python (`--nhi-gate` to name
another command); `python -m checker` only when there is no script.

Checkov must live in its own venv (its bc-python-hcl2 installs the same `hcl2` package as
python-hcl2):  python3 -m venv /tmp/checkov-venv && /tmp/checkov-venv/bin/pip install checkov

Each case runs each tool in its own process on the same inputs, alternating (nhi-gate, Checkov,
nhi-gate, ...), `--reps` times; the table gives median wall seconds, the ratio nhi-gate/Checkov,
and peak RSS (`os.wait4` ru_maxrss: the largest single process of the tool's process tree).
Cases: (a) full scan of ../shared/corpus/real-repos, (b) each real repo alone, (c) a five-file
pre-commit change (`nhi-gate hook` in a temp repo with the files staged vs `checkov -f`), (d) a
PR-sized `check` (50 changed files over 20 commits; Checkov: `-d` on the 50 files), then the
peers and cases of `peers.py`: (e) zizmor, (f) detect-secrets, (c busy), (a both render),
(a no renderer). Then the in-process effect of each optimisation, and growth with files and
commits.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from growth_range import growth_table  # benchmarks/growth_range.py, beside this script
from peers import peer_rows  # benchmarks/peers.py, beside this script

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
REAL = CORPUS / "real-repos"
_SCRIPT = Path(sys.executable).with_name("nhi-gate")
#: How nhi-gate is run (`--nhi-gate` replaces it): as installed, else from this checkout.
NHI = [str(_SCRIPT)] if _SCRIPT.is_file() else [sys.executable, "-m", "checker"]
FRAMEWORKS = ["--framework", "terraform", "kubernetes", "github_actions"]
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "bench@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}  # fmt: skip


def run(cmd: Sequence[str], cwd: Path | None = None, env: dict[str, str] | None = None
        ) -> tuple[float, int, int]:  # fmt: skip
    """Run `cmd` to completion (output discarded): (wall seconds, peak RSS KiB, exit code)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        list(cmd), cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )  # fmt: skip
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, int(usage.ru_maxrss), proc.returncode


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                   env={**os.environ, **GIT_ENV})  # fmt: skip


def pair(
    label: str, nhi: list[str], ck: list[str] | None, reps: int, cwd: Path | None = None
) -> str:
    """Alternate the two commands `reps` times, after one untimed nhi-gate run (writes its
    bytecode, see `bytecode_env`); one markdown table row."""
    a: list[tuple[float, int, int]] = []
    b: list[tuple[float, int, int]] = []
    run(nhi, cwd)
    for _ in range(reps):
        a.append(run(nhi, cwd))
        if ck is not None:
            b.append(run(ck, cwd))
    ta = statistics.median(x[0] for x in a)
    ra = max(x[1] for x in a)
    if not b:
        return f"| {label} | {ta:.2f} | - | - | {ra / 1024:.0f} | - | - | {a[0][2]} / - |"
    tb = statistics.median(x[0] for x in b)
    rb = max(x[1] for x in b)
    return (f"| {label} | {ta:.2f} | {tb:.2f} | {ta / tb:.3f} (1/{tb / ta:.0f}) | "
            f"{ra / 1024:.0f} | {rb / 1024:.0f} | {ra / rb:.2f} | {a[0][2]} / {b[0][2]} |")


HEADER = ("| case | nhi-gate s | Checkov s | ratio | nhi-gate MiB | Checkov MiB | RSS ratio "
          "| exit codes |\n|---|---|---|---|---|---|---|---|")


def five_file_repo(tmp: Path) -> tuple[Path, list[str]]:
    """A repo with one commit, then five IaC files from the corpus staged (not committed)."""
    repo = tmp / "hook-repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "README.md").write_text("x\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "init")
    picks = [
        *sorted((REAL / "terraform-aws-modules__terraform-aws-iam/modules").rglob("main.tf"))[:3],
        # a plain manifest (the first file is a Go template, NHI107 since issue 13)
        *[p for p in sorted((CORPUS / "kubernetes").rglob("*.yaml"))
          if b"{{" not in p.read_bytes()][:1],
        *sorted((CORPUS / "github-actions").rglob("*.yml"))[:1],
    ]
    names = []
    for i, src in enumerate(picks):
        sub = ".github/workflows" if src.suffix == ".yml" else f"infra/m{i}"
        dest = repo / sub / src.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)
        names.append(dest.relative_to(repo).as_posix())
    git(repo, "add", "-A")
    return repo, names


TF = 'resource "aws_iam_user" "u{i}" {{\n  name = "u{i}"\n}}\n\nresource "aws_s3_bucket" "b{i}" {{\n  bucket = "b{i}"\n}}\n'  # noqa: E501


def pr_repo(tmp: Path, files: int, commits: int, name: str) -> Path:
    """`files` changed .tf files spread over `commits` commits on a branch off `main`."""
    repo = tmp / name
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "README.md").write_text("x\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "init")
    git(repo, "checkout", "-q", "-b", "copilot/pr")
    for c in range(commits):
        touched = [f for f in range(files) if f % commits == c] if commits <= files else [
            c % files]
        for f in touched:
            path = repo / f"mod{f % 10}" / f"f{f}.tf"
            path.parent.mkdir(exist_ok=True)
            with path.open("a") as fh:
                fh.write(TF.format(i=f"{f}_{c}"))
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "--allow-empty", "-m", f"c{c}",
            "--trailer", "Co-authored-by: Claude <noreply@anthropic.com>")  # fmt: skip
    return repo


def gen_tree(tmp: Path, n: int) -> Path:
    """`n` files: 1/2 Terraform (half with an identity), 1/2 Kubernetes YAML (a quarter SA)."""
    root = tmp / f"tree{n}"
    for i in range(n):
        d = root / f"d{i % 50}"
        d.mkdir(parents=True, exist_ok=True)
        if i % 2 == 0:
            body = TF.format(i=i) if i % 4 == 0 else f'resource "aws_s3_bucket" "b{i}" {{}}\n'
            (d / f"f{i}.tf").write_text(body)
        else:
            kind = "ServiceAccount" if i % 4 == 1 else "ConfigMap"
            text = f"apiVersion: v1\nkind: {kind}\nmetadata:\n  name: x{i}\n"
            (d / f"f{i}.yaml").write_text(text)
    return root


def ablation() -> list[str]:
    """In-process parse_sources on real-repos with each optimisation toggled (median of 3)."""
    sys.path.insert(0, str(ROOT))
    from checker.commands.scan import scan_sources
    from checker.pipeline import parse_sources
    from checker.policy.catalogue import load_catalogue
    from checker.policy.config import Config

    sources, _ = scan_sources([str(REAL)])
    cat = load_catalogue()

    def med(fn: Callable[[], object]) -> float:
        out = []
        for _ in range(3):
            t = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t)
        return statistics.median(out)

    rows = []
    for label, kw in [
        ("baseline: no pre-filter, 1 process", {"prefilter": False, "workers": 1}),
        ("+ pre-filter, 1 process", {"prefilter": True, "workers": 1}),
        ("no pre-filter, parallel", {"prefilter": False}),
        ("+ pre-filter + parallel (default)", {"prefilter": True}),
    ]:
        t = med(lambda kw=kw: parse_sources(sources, cat, Config(), **kw))  # type: ignore[misc]
        rows.append(f"| {label} | {len(sources)} | {t:.2f} |")
    return rows


def import_cost() -> list[str]:
    rows = []
    for label, code in [
        ("`import checker.cli` (startup)", "import checker.cli"),
        ("+ commands, pipeline, parsers", "import checker.commands.scan, checker.pipeline, "
         "checker.parsers.terraform, checker.parsers.kubernetes"),
        ("sarif reporter (sarif-om; only for --format sarif/--sarif)",
         "import checker.reporters.sarif"),
        ("+ the git readers and the hook command (no GitPython since session 7)",
         "import checker.git, checker.commands.hook"),
        ("PyGithub (PR approvals only)", "import github"),
        ("detect-secrets (only to validate a JWT-shaped value)",
         "import detect_secrets.plugins.jwt"),
    ]:
        ts = [run([sys.executable, "-c", code], ROOT)[0] for _ in range(3)]
        base = [run([sys.executable, "-c", "pass"], ROOT)[0] for _ in range(3)]
        rows.append(f"| {label} | {1000 * (statistics.median(ts) - statistics.median(base)):.0f} |")
    return rows


def machine() -> list[str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = next(x for x in Path("/proc/meminfo").read_text().splitlines()
                   if x.startswith("MemTotal"))  # fmt: skip
    except (OSError, StopIteration):
        mem = "MemTotal: unknown"
    ver = subprocess.run([*NHI, "--version"], capture_output=True, text=True, cwd=ROOT).stdout
    return [f"- `nproc`: {os.cpu_count()} (usable: {len(os.sched_getaffinity(0))}); CPU: {cpu}",
            f"- RAM: {mem.split(':', 1)[1].strip()}; OS: {platform.platform()}",
            f"- Python {platform.python_version()}; {ver.strip()}, run as `{' '.join(NHI)}`",
            "- both tools run with bytecode, as installed (`bytecode_env`; one untimed "
            "nhi-gate run per case writes it)",
            f"- load average at start (1/5/15 min): {os.getloadavg()}: other work on the "
            "machine inflates absolute times; alternation keeps the ratios fair"]  # fmt: skip


def bytecode_env(prefix: Path) -> None:
    """Run every tool with bytecode, as installed: pip writes .pyc files at install time (so
    Checkov's venv has them), but this checkout runs from source, and an environment that sets
    PYTHONDONTWRITEBYTECODE would make every nhi-gate run recompile its modules.
    The .pyc files go under `prefix` (PYTHONPYCACHEPREFIX), not into the source tree."""
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(prefix)


#: RESULTS.md text after this line is kept across runs (hand-measured sections).
KEEP_MARKER = "<!-- kept by bench.py: hand-measured sections below -->"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--checkov", default="/tmp/checkov-venv/bin/checkov")
    ap.add_argument("--quick", action="store_true", help="skip (b) and the 5,000/1,000 growth")
    ap.add_argument("--zizmor", default="/tmp/zz-venv/bin/zizmor")
    ap.add_argument("--range-repo", default=None,
                    help="a real history for (g) (default: a generated one)")
    ap.add_argument("--nhi-gate", dest="nhi_gate", default=None,
                    help=f"command that runs nhi-gate (default: {' '.join(NHI)})")
    ap.add_argument("--output", default=str(ROOT / "benchmarks" / "RESULTS.md"))
    args = ap.parse_args(argv)
    if args.nhi_gate:
        NHI[:] = args.nhi_gate.split()
    ck = args.checkov if Path(args.checkov).exists() else None
    bytecode_env(Path(tempfile.gettempdir()) / "nhi-gate-bench-pycache")
    ck_ver = (subprocess.run([ck, "--version"], capture_output=True, text=True).stdout.strip()
              if ck else "not installed")  # fmt: skip
    out = ["# nhi-gate benchmark results", "",
           f"Generated by `{sys.executable} benchmarks/bench.py --reps {args.reps}` "
           f"on {time.strftime('%Y-%m-%d')}.", "", "## Machine", *machine(),
           f"- Checkov {ck_ver} (own venv: {args.checkov})", "",
           f"## nhi-gate vs Checkov (median of {args.reps}, alternating)", "", HEADER]  # fmt: skip

    def ck_cmd(*a: str) -> list[str] | None:
        return [ck, *a, "--quiet", "--compact", *FRAMEWORKS] if ck else None

    out.append(pair("(a) scan real-repos", [*NHI, "scan", str(REAL)],
                    ck_cmd("-d", str(REAL)), args.reps))  # fmt: skip
    print(out[-1], flush=True)
    if not args.quick:
        for repo in sorted(REAL.iterdir()):
            out.append(pair(f"(b) {repo.name}", [*NHI, "scan", str(repo)],
                            ck_cmd("-d", str(repo)), args.reps))  # fmt: skip
            print(out[-1], flush=True)
    with tempfile.TemporaryDirectory() as tmpd:
        tmp = Path(tmpd)
        repo, names = five_file_repo(tmp)
        # (c) is ~0.2 s against ~3 s: a few more alternating runs (cheap) steady the medians.
        small_reps = max(args.reps, 9)
        out.append(pair(f"(c) 5 staged files: `hook` vs `checkov -f` (median of {small_reps})",
                        [*NHI, "hook"], ck_cmd(*[x for n in names for x in ("-f", n)]),
                        small_reps, cwd=repo))  # fmt: skip
        print(out[-1], flush=True)
        pr = pr_repo(tmp, 50, 20, "pr50")
        changed = sorted(str(p.relative_to(pr)) for p in pr.rglob("*.tf"))
        stage = tmp / "pr50-files"
        for c in changed:
            (stage / c).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(pr / c, stage / c)
        out.append(pair("(d) PR: `check` 50 files / 20 commits vs `checkov -d` on the 50",
                        [*NHI, "check", "--repo", str(pr), "--base", "main", "--head", "HEAD"],
                        ck_cmd("-d", str(stage)), args.reps))  # fmt: skip
        print(out[-1], flush=True)
        for row in peer_rows(pair, NHI, CORPUS, args.reps,
                             args.zizmor if Path(args.zizmor).exists() else None,
                             repo, names, ck_cmd):
            out.append(row)
            print(row, flush=True)

        out += ["", "## Effect of each optimisation", "",
                "Parse stage only, in-process, real-repos (median of 3):", "",
                "| configuration | files | seconds |", "|---|---|---|", *ablation(), "",
                "Import cost over a bare interpreter (median of 3, ms); the lazy ones are paid "
                "only by the commands that need them:", "", "| import | ms |", "|---|---|",
                *import_cost(), "", "## Growth", "",
                "`scan` of generated trees (half Terraform, half Kubernetes; 3/8 define an "
                "identity):", "", "| files | seconds | s per 1,000 files | peak MiB |",
                "|---|---|---|---|"]  # fmt: skip
        for n in ([100, 1000] if args.quick else [100, 1000, 5000]):
            tree = gen_tree(tmp, n)
            res = [run([*NHI, "scan", str(tree)]) for _ in range(args.reps)]
            t = statistics.median(r[0] for r in res)
            out.append(f"| {n:,} | {t:.2f} | {1000 * t / n:.2f} | "
                       f"{max(r[1] for r in res) / 1024:.0f} |")
            print(out[-1], flush=True)
        out += ["", "`check` vs commits in range (each commit changes one of 10 files):", "",
                "| commits | seconds | ms per commit | peak MiB |", "|---|---|---|---|"]
        for n in ([10, 100] if args.quick else [10, 100, 1000]):
            repo_n = pr_repo(tmp, 10, n, f"c{n}")
            res = [run([*NHI, "check", "--repo", str(repo_n), "--base", "main", "--head",
                        "HEAD"]) for _ in range(args.reps)]  # fmt: skip
            t = statistics.median(r[0] for r in res)
            out.append(f"| {n:,} | {t:.2f} | {1000 * t / n:.1f} | "
                       f"{max(r[1] for r in res) / 1024:.0f} |")
            print(out[-1], flush=True)
    out += ["", "## (g) `check` over long ranges", "",
            growth_table(Path(args.range_repo) if args.range_repo else None)]
    print(out[-1], flush=True)
    out += ["", f"- load average at end (1/5/15 min): {os.getloadavg()}"]
    previous = Path(args.output).read_text(encoding="utf-8") if Path(args.output).exists() else ""
    if KEEP_MARKER in previous:
        out += ["", KEEP_MARKER + previous.split(KEEP_MARKER, 1)[1].rstrip("\n")]
    text = "\n".join(out) + "\n"
    Path(args.output).write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
