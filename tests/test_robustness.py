"""Hostile and odd input: each case has an exact expected message and verdict (issue 7).

Parser-level cases call the parsers / `parse_sources` on real bytes; git-level cases build real
repositories in temp dirs and run `nhi-gate check` / `hook` through `cli.main` with JSON output.
Fail-closed: a changed file that could not be analysed makes the verdict "fail" (NHI9xx blocks
whoever wrote it) unless its path is excluded by the base revision's config.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import COPILOT, HUMAN, GitRepo

from checker.cli import main
from checker.model import ParseResult, SourceFile
from checker.parsers import build_parsers, github_actions, kubernetes, terraform
from checker.pipeline import parse_sources
from checker.policy.catalogue import load_catalogue
from checker.policy.config import Config, parse_config
from checker.sources import budget
from checker.sources.discovery import classify
from checker.sources.prefilter import build_tokens, may_define_identity

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
PEER = CORPUS / "peer-suites"

SA_TF = 'resource "aws_iam_user" "bot" {\n  name = "bot"\n}\n'
SA_YAML = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: deployer\n"


def _problems(result: ParseResult) -> list[tuple[str, int, str]]:
    return [(p.rule_id, p.line, p.message) for p in result.problems]


def _parse(parse: Callable[[SourceFile, Any], ParseResult], path: str, raw: bytes) -> ParseResult:
    return parse(SourceFile(path, raw, None), load_catalogue())


# ------------------------------------------------------------------------------------------
# YAML: bombs, nesting, cycles, scalars, encodings


def test_yaml_alias_bomb_is_over_budget() -> None:
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 10):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 10)}]")
    raw = ("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: bomb\n"
           + "\n".join(lines) + "\n").encode()  # fmt: skip
    result = _parse(kubernetes.parse, "k8s/bomb.yaml", raw)
    assert result.objects == ()
    [(rule, _line, message)] = _problems(result)
    assert rule == "NHI903"
    assert message.startswith("k8s/bomb.yaml: ")
    assert "alias" in message and "not analysed" in message


def test_yaml_deep_nesting_is_over_budget() -> None:
    raw = b"apiVersion: v1\nkind: ServiceAccount\nmetadata: " + b"[" * 5000 + b"]" * 5000 + b"\n"
    result = _parse(kubernetes.parse, "k8s/deep.yaml", raw)
    [(rule, _line, message)] = _problems(result)
    assert rule == "NHI903"
    assert message.startswith("k8s/deep.yaml: nesting deeper than ")
    assert message.endswith(" levels; not analysed")


def test_yaml_cyclic_alias_is_a_syntax_problem() -> None:
    raw = b"apiVersion: v1\nkind: ServiceAccount\nmetadata: &m\n  name: a\n  self: *m\n"
    result = _parse(kubernetes.parse, "k8s/cycle.yaml", raw)
    [(rule, _line, message)] = _problems(result)
    assert (rule, message.split(": ", 1)[0]) == ("NHI901", "k8s/cycle.yaml")
    assert "cyclic" in message


def test_huge_scalar_within_budget_still_finds_the_identity() -> None:
    big = "x" * (1024 * 1024)
    raw = (SA_YAML + f"  annotations:\n    blob: {big}\n").encode()
    result = _parse(kubernetes.parse, "k8s/big.yaml", raw)
    assert result.problems == ()
    assert [o.address for o in result.objects] == ["ServiceAccount/deployer"]


def test_huge_scalar_over_the_byte_budget_is_nhi903() -> None:
    raw = (SA_YAML + "  annotations:\n    blob: " + "x" * (3 * 1024 * 1024) + "\n").encode()
    parsed = parse_sources([SourceFile("k8s/huge.yaml", raw)], load_catalogue(), Config())
    assert parsed.objects == ()
    assert [(p.rule_id, p.message) for p in parsed.problems] == [
        ("NHI903", f"k8s/huge.yaml: {len(raw)} bytes is over the 2097152-byte budget; "
                   "not analysed"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("parse", "path", "text", "address"),
    [
        (terraform.parse, "iam.tf", SA_TF, "aws_iam_user.bot"),
        (kubernetes.parse, "sa.yaml", SA_YAML, "ServiceAccount/deployer"),
    ],
)
def test_bom_and_mixed_line_endings_keep_lines(
    parse: Callable[..., ParseResult], path: str, text: str, address: str
) -> None:
    crlf = text.replace("\n", "\r\n", 1)  # first line CRLF, the rest LF
    raw = b"\xef\xbb\xbf" + b"\n\r\n" + crlf.encode()  # BOM, LF, CRLF, then the object
    result = _parse(parse, path, raw)
    assert result.problems == ()
    [obj] = result.objects
    assert (obj.address, obj.location.start_line) == (address, 3)


@pytest.mark.parametrize(
    ("parse", "path"),
    [(terraform.parse, "iam.tf"), (kubernetes.parse, "sa.yaml"),
     (github_actions.parse, ".github/workflows/ci.yml")],
)  # fmt: skip
def test_nul_byte_is_nhi902(parse: Callable[..., ParseResult], path: str) -> None:
    result = _parse(parse, path, b"kind: ServiceAccount\n\x00\n")
    assert _problems(result) == [("NHI902", 1, f"{path}: binary content (NUL byte)")]


@pytest.mark.parametrize(
    ("parse", "path"),
    [(terraform.parse, "iam.tf"), (kubernetes.parse, "sa.yaml"),
     (github_actions.parse, ".github/workflows/ci.yml")],
)  # fmt: skip
def test_invalid_utf8_is_nhi902_with_line(parse: Callable[..., ParseResult], path: str) -> None:
    result = _parse(parse, path, b"# ok\n# ok\nname = \"\xff\xfe\"\n")
    assert _problems(result) == [("NHI902", 3, f"{path}: not valid UTF-8 at byte 18 (line 3)")]


# ------------------------------------------------------------------------------------------
# Budgets: time and size, including the peer suites' own fixtures


def _forever(source: SourceFile, catalogue: Any) -> ParseResult:
    while True:  # computes: uses CPU time until stopped
        pass


def _blocked(source: SourceFile, catalogue: Any) -> ParseResult:
    while True:  # waits: uses (almost) no CPU time
        time.sleep(0.01)


SLOW_CPU = "slow.tf: parsing used more than its 0.2-second CPU-time budget; not analysed"
SLOW_STALLED = ("slow.tf: parsing stalled: almost no CPU time in 5 s of wall-clock time "
                "(its CPU-time budget is 0.2 s); not analysed")  # fmt: skip


def test_time_budget_stops_a_hanging_parser() -> None:
    result = budget.parse_one(_forever, SourceFile("slow.tf", b""), load_catalogue(), 0.2)
    assert _problems(result) == [("NHI903", 1, SLOW_CPU)]


def test_wall_backstop_stops_a_parser_that_gets_no_cpu_time() -> None:
    result = budget.parse_one(_blocked, SourceFile("slow.tf", b""), load_catalogue(), 0.2)
    assert _problems(result) == [("NHI903", 1, SLOW_STALLED)]


def test_time_budget_in_a_thread_uses_a_child_process() -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        result = pool.submit(
            budget.parse_one, _forever, SourceFile("slow.tf", b""), load_catalogue(), 0.2
        ).result()
        stalled = pool.submit(
            budget.parse_one, _blocked, SourceFile("slow.tf", b""), load_catalogue(), 0.2
        ).result()
        ok = pool.submit(
            budget.parse_one, terraform.parse, SourceFile("ok.tf", SA_TF.encode()),
            load_catalogue(), 30.0,
        ).result()  # fmt: skip
    assert _problems(result) == [("NHI903", 1, SLOW_CPU)]
    assert _problems(stalled) == [("NHI903", 1, SLOW_STALLED)]
    assert [o.address for o in ok.objects] == ["aws_iam_user.bot"]


def test_parse_seconds_from_config_bounds_a_real_parse_in_workers() -> None:
    # 60 files (enough for the worker pool) of ~200 KiB of HCL each; 1 ms cannot parse one.
    body = "".join(
        f'resource "aws_iam_user" "u{i}" {{\n  name = "u{i}"\n}}\n' for i in range(4000)
    ).encode()
    config = parse_config("budgets:\n  parse_seconds: 0.001\n  parse_seconds_per_mib: 0\n",
                          "cfg")
    sources = [SourceFile(f"m{i:02}.tf", body) for i in range(60)]
    parsed = parse_sources(sources, load_catalogue(), config, workers=2)
    assert parsed.objects == ()
    assert [(p.path, p.rule_id, p.message) for p in parsed.problems] == [
        (f"m{i:02}.tf", "NHI903",
         f"m{i:02}.tf: parsing used more than its 0.001-second CPU-time budget; not analysed")
        for i in range(60)
    ]  # fmt: skip


def test_parallel_and_sequential_parses_agree() -> None:
    sources = [SourceFile(f"a/{i:03}.tf", SA_TF.replace("bot", f"b{i}").encode())
               for i in range(100)]  # fmt: skip
    sources.append(SourceFile("a/broken.tf", b'resource "aws_iam_user" "x" {\n'))
    seq = parse_sources(sources, load_catalogue(), Config(), workers=1)
    par = parse_sources(sources, load_catalogue(), Config(), workers=2)
    assert seq == par
    assert len(par.objects) == 100
    assert [(p.path, p.rule_id) for p in par.problems] == [("a/broken.tf", "NHI901")]


def test_checkov_hcl_timeout_fixture_is_a_prompt_syntax_problem() -> None:
    path = PEER / "checkov/tests/terraform/parser/resources/hcl_timeout/main.tf"
    if not path.is_file():
        pytest.skip(f"{path} is absent (../shared/corpus not checked out)")
    raw = path.read_bytes()
    catalogue = load_catalogue()
    # As shipped it names no catalogued type (aws_glue_connection): the pre-filter skips it.
    assert parse_sources([SourceFile("t/main.tf", raw)], catalogue, Config()).problems == ()
    expected = [("NHI901", 4, "t/main.tf: HCL syntax error at line 4, column 24: "
                              "unexpected token")]  # fmt: skip
    full = parse_sources([SourceFile("t/main.tf", raw)], catalogue, Config(), prefilter=False)
    assert [(p.rule_id, p.line, p.message) for p in full.problems] == expected
    # The same pathological body on an identity type is parsed (no hang) and fails closed.
    iam = raw.replace(b"aws_glue_connection", b"aws_iam_user")
    parsed = parse_sources([SourceFile("t/main.tf", iam)], catalogue, Config())
    assert [(p.rule_id, p.line, p.message) for p in parsed.problems] == expected


def test_kics_max_file_size_fixture_is_over_the_byte_budget(
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = PEER / "kics/_fixtures/test/fixtures/max_file_size/sample.tf"
    if not path.is_file():
        pytest.skip(f"{path} is absent (../shared/corpus not checked out)")
    code = main(["scan", str(path), "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert report["verdict"] == "fail"
    size = path.stat().st_size
    assert [(p["rule_id"], p["message"]) for p in report["problems"]] == [
        ("NHI903", f"{path.as_posix()}: {size} bytes is over the 2097152-byte budget; "
                   "not analysed"),
    ]  # fmt: skip


# ------------------------------------------------------------------------------------------
# The pre-filter


def test_prefilter_never_drops_a_file_with_an_identity_in_the_corpus() -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"{CORPUS} is absent")
    catalogue = load_catalogue()
    tokens = build_tokens(catalogue)
    parsers = build_parsers()
    checked = dropped = 0
    missed: list[str] = []
    for path in sorted(CORPUS.rglob("*")):
        if not path.is_file() or path.is_symlink():
            continue
        rel = path.relative_to(CORPUS).as_posix()
        raw = path.read_bytes()
        fmt = classify(rel, raw[:4096])
        if fmt not in parsers or len(raw) > 2 * 1024 * 1024:
            continue
        checked += 1
        if may_define_identity(fmt, raw, tokens, 2 * 1024 * 1024):
            continue
        dropped += 1
        if parsers[fmt](SourceFile(rel, raw), catalogue).objects:
            missed.append(rel)
    assert missed == []
    assert checked > 1500 and dropped > 300  # the filter is exercised, not vacuous


@pytest.mark.parametrize(
    ("fmt", "raw"),
    [
        ("terraform", b'resource "aws_iam_\\u0075ser" "x" {}\n'),
        ("terraform_json", b'{"resource": {"aws_iam_\\u0075ser": {"x": {}}}}'),
        ("kubernetes", b'apiVersion: v1\nkind: "Service\\\n  Account"\nmetadata: {name: a}\n'),
        ("github_actions", b"jobs:\n  a:\n    steps:\n      - uses: AWS-Actions/Configure-AWS-"
                           b"Credentials@v4\n"),
        ("kubernetes", b"apiVersion: v1\nkind: Foo\n\xff\n"),
        ("kubernetes", b"apiVersion: v1\nkind: Foo\n\x00\n"),
    ],
)  # fmt: skip
def test_prefilter_keeps_escaped_or_undecodable_files(fmt: str, raw: bytes) -> None:
    assert may_define_identity(fmt, raw, build_tokens(load_catalogue()), 2 * 1024 * 1024)


def test_prefilter_drops_plain_files_without_tokens() -> None:
    tokens = build_tokens(load_catalogue())
    assert not may_define_identity("terraform", b'resource "aws_s3_bucket" "b" {}\n', tokens,
                                   2 * 1024 * 1024)  # fmt: skip
    assert not may_define_identity("kubernetes", b"apiVersion: v1\nkind: ConfigMap\n", tokens,
                                   2 * 1024 * 1024)  # fmt: skip


def test_escaped_yaml_kind_is_still_found_through_the_filter() -> None:
    raw = b'apiVersion: v1\nkind: "Service\\\n  Account"\nmetadata: {name: a}\n'
    parsed = parse_sources([SourceFile("sa.yaml", raw)], load_catalogue(), Config())
    assert [o.address for o in parsed.objects] == ["ServiceAccount/a"]


# ------------------------------------------------------------------------------------------
# Git: the change under review


def _check(repo: GitRepo, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any]:
    code = main(["check", "--repo", str(repo.path), "--format", "json", *args])
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else None


def _problem_rows(report: Any) -> list[tuple[str, str, str]]:
    return [(p["rule_id"], p["path"], p["message"]) for p in report["problems"]]


@pytest.fixture
def agent_repo(make_repo: Callable[..., GitRepo]) -> Iterator[tuple[GitRepo, str]]:
    repo = make_repo()
    base = repo.commit({"README.md": "# infra\n"}, author=HUMAN)
    repo.checkout("copilot/change", create=True)
    yield repo, base


def test_symlink_out_of_the_repo_is_nhi902_and_blocks(
    agent_repo: tuple[GitRepo, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo, base = agent_repo
    secret = tmp_path / "outside.tf"
    secret.write_text(SA_TF, encoding="utf-8")
    repo.symlink("infra/iam.tf", str(secret))
    repo.symlink("k8s/sa.yaml", "../../outside.yaml")
    repo.symlink("docs/link.md", "/etc/passwd")  # not IaC: not reported
    head = repo.commit(author=COPILOT, message="links")
    code, report = _check(repo, capsys, "--base", base, "--head", head)
    assert code == 1 and report["verdict"] == "fail"
    assert _problem_rows(report) == [
        ("NHI902", "infra/iam.tf", "infra/iam.tf: symbolic link (git mode 120000); links are "
         "not followed, so the file it points to was not analysed"),
        ("NHI902", "k8s/sa.yaml", "k8s/sa.yaml: symbolic link (git mode 120000); links are "
         "not followed, so the file it points to was not analysed"),
    ]  # fmt: skip
    assert [f["rule_id"] for f in report["findings"]] == ["NHI902", "NHI902"]
    assert all(f["blocking"] for f in report["findings"])


def test_symlink_excluded_by_base_config_passes(
    agent_repo: tuple[GitRepo, str], capsys: pytest.CaptureFixture[str]
) -> None:
    repo, _ = agent_repo
    base = repo.commit({".nhi-gate.yaml": "exclude: ['vendor/**']\n"}, author=HUMAN)
    repo.symlink("vendor/iam.tf", "/etc/hostname")
    head = repo.commit(author=COPILOT, message="vendored link")
    code, report = _check(repo, capsys, "--base", base, "--head", head)
    assert (code, report["verdict"], report["problems"]) == (0, "pass", [])


def test_submodule_at_an_iac_path_is_nhi902(
    agent_repo: tuple[GitRepo, str], capsys: pytest.CaptureFixture[str]
) -> None:
    repo, base = agent_repo
    sub = "0123456789abcdef0123456789abcdef01234567"
    repo.git("update-index", "--add", "--cacheinfo", f"160000,{sub},modules/iam.tf")
    repo.git("update-index", "--add", "--cacheinfo", f"160000,{sub},vendor/lib")
    who = {"GIT_AUTHOR_NAME": COPILOT[0], "GIT_AUTHOR_EMAIL": COPILOT[1],
           "GIT_COMMITTER_NAME": COPILOT[0], "GIT_COMMITTER_EMAIL": COPILOT[1]}  # fmt: skip
    repo.git("commit", "--quiet", "--no-verify", "-m", "submodules", env=who)
    head = repo.sha()
    code, report = _check(repo, capsys, "--base", base, "--head", head)
    assert code == 1
    assert _problem_rows(report) == [
        ("NHI902", "modules/iam.tf",
         "modules/iam.tf: git submodule (mode 160000); its content is not analysed"),
    ]  # fmt: skip


def test_oversized_blob_is_nhi903_without_reading_it(
    agent_repo: tuple[GitRepo, str], capsys: pytest.CaptureFixture[str]
) -> None:
    repo, _ = agent_repo
    base = repo.commit({".nhi-gate.yaml": "budgets:\n  max_file_bytes: 2048\n"}, author=HUMAN)
    big = SA_TF + "#" * 4000 + "\n"
    head = repo.commit({"iam/big.tf": big, "iam/small.tf": SA_TF.replace("bot", "b2")},
                       author=COPILOT, message="big")  # fmt: skip
    code, report = _check(repo, capsys, "--base", base, "--head", head)
    assert code == 1
    assert _problem_rows(report) == [
        ("NHI903", "iam/big.tf",
         f"iam/big.tf: {len(big)} bytes is over the 2048-byte budget; not analysed"),
    ]  # fmt: skip
    assert ("NHI101", "iam/small.tf") in {(f["rule_id"], f["path"]) for f in report["findings"]}


def test_binary_file_with_iac_extension_is_nhi902(
    agent_repo: tuple[GitRepo, str], capsys: pytest.CaptureFixture[str]
) -> None:
    repo, base = agent_repo
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))
    head = repo.commit({"infra/logo.tf": png, "k8s/blob.yaml": b"kind: x\n\x00\x01"},
                       author=COPILOT, message="binary")  # fmt: skip
    code, report = _check(repo, capsys, "--base", base, "--head", head)
    assert code == 1 and report["verdict"] == "fail"
    assert _problem_rows(report) == [
        ("NHI902", "infra/logo.tf", "infra/logo.tf: binary content (NUL byte)"),
    ]  # k8s/blob.yaml is not sniffed as Kubernetes (no apiVersion): not read at all


@pytest.mark.parametrize(
    "path",
    ["infra dir/iam user.tf", "infra/ünïcødé-身份.tf", "infra/new\nline.tf", 'in"fra/q\tt.tf'],
)
def test_odd_paths_are_reported_verbatim(
    agent_repo: tuple[GitRepo, str], capsys: pytest.CaptureFixture[str], path: str
) -> None:
    repo, base = agent_repo
    head = repo.commit({path: SA_TF}, author=COPILOT, message="odd path")
    code, report = _check(repo, capsys, "--base", base, "--head", head)
    assert code == 1
    assert ("NHI101", path, 1) in {
        (f["rule_id"], f["path"], f["start_line"]) for f in report["findings"]
    }


def test_renamed_file_is_not_a_new_identity_and_deleted_file_passes(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo()
    base = repo.commit({"old/iam.tf": SA_TF, "gone/k8s.yaml": SA_YAML}, author=HUMAN)
    repo.checkout("copilot/move", create=True)
    head = repo.commit({"gone/k8s.yaml": None}, renames={"old/iam.tf": "new/iam.tf"},
                       author=COPILOT, message="move and delete")  # fmt: skip
    code, report = _check(repo, capsys, "--base", base, "--head", head)
    assert (code, report["verdict"]) == (0, "pass")
    assert [f for f in report["findings"] if f["blocking"]] == []
    assert report["problems"] == []


def test_renamed_file_with_a_new_identity_is_judged_at_the_new_path(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo()
    original = SA_TF + "".join(f"# line {i}\n" for i in range(20))
    base = repo.commit({"old/iam.tf": original}, author=HUMAN)
    repo.checkout("copilot/move", create=True)
    added = SA_TF.replace("bot", "extra")
    head = repo.commit({"new/iam.tf": original + "\n" + added},
                       renames={"old/iam.tf": "new/iam.tf"},
                       author=COPILOT, message="move and add")  # fmt: skip
    code, report = _check(repo, capsys, "--base", base, "--head", head)
    assert code == 1
    blocking = {(f["rule_id"], f["path"], f["address"]) for f in report["findings"]
                if f["blocking"]}  # fmt: skip
    assert ("NHI101", "new/iam.tf", "aws_iam_user.extra") in blocking
    assert not any(addr == "aws_iam_user.bot" for _, _, addr in blocking)


def test_empty_range_passes_with_no_findings(
    agent_repo: tuple[GitRepo, str], capsys: pytest.CaptureFixture[str]
) -> None:
    repo, base = agent_repo
    code, report = _check(repo, capsys, "--base", base, "--head", base)
    assert (code, report["verdict"], report["reason"]) == (0, "pass", "no identity findings")
    assert (report["findings"], report["problems"]) == ([], [])
    assert report["run"]["base"] == report["run"]["head"] == base


def test_base_that_is_not_an_ancestor_uses_the_merge_base(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo()
    root = repo.commit({"README.md": "# infra\n"}, author=HUMAN)
    repo.checkout("other", create=True)
    other = repo.commit({"other/iam.tf": SA_TF.replace("bot", "other")}, author=COPILOT)
    repo.checkout("copilot/feature", create=True, start=root)
    head = repo.commit({"feature/iam.tf": SA_TF}, author=COPILOT, message="feature")
    code, report = _check(repo, capsys, "--base", other, "--head", head)
    assert code == 1
    assert report["run"]["base"] == root  # merge-base(other, head), as `git diff other...head`
    assert {f["path"] for f in report["findings"]} == {"feature/iam.tf"}


def test_base_with_no_common_history_is_exit_2(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo()
    repo.commit({"README.md": "# a\n"}, author=HUMAN)
    repo.git("checkout", "--quiet", "--orphan", "island")
    island = repo.commit({"x.tf": SA_TF}, author=COPILOT)
    code = main(["check", "--repo", str(repo.path), "--base", "main", "--head", island])
    err = capsys.readouterr().err
    assert code == 2
    assert "'main' and '" in err and "have no common ancestor; pass --base" in err
    assert "Traceback" not in err


def test_shallow_clone_with_missing_base_is_exit_2_with_a_hint(
    make_repo: Callable[..., GitRepo], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo()
    first = repo.commit({"README.md": "# a\n"}, author=HUMAN)
    repo.commit({"a.tf": SA_TF}, author=HUMAN)
    repo.commit({"b.tf": SA_TF.replace("bot", "b")}, author=COPILOT)
    clone = tmp_path / "shallow"
    subprocess.run(["git", "clone", "--quiet", "--depth", "1", repo.path.as_uri(), str(clone)],
                   check=True, capture_output=True)  # fmt: skip
    assert (clone / ".git" / "shallow").is_file()
    code = main(["check", "--repo", str(clone), "--base", first, "--head", "HEAD"])
    err = capsys.readouterr().err
    assert code == 2
    assert f"unknown revision '{first}' (is the clone shallow? fetch with fetch-depth: 0)" in err
    assert "Traceback" not in err


# ------------------------------------------------------------------------------------------
# Hook mode (pre-commit): staged symlinks and oversized files


def test_hook_reports_staged_symlink_and_blocks(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    repo = make_repo()
    repo.commit({"README.md": "# a\n"}, author=HUMAN)
    repo.symlink("infra/iam.tf", "/etc/hostname")
    repo.stage()
    monkeypatch.chdir(repo.path)
    code = main(["hook", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert _problem_rows(report) == [
        ("NHI902", "infra/iam.tf", "infra/iam.tf: symbolic link (git mode 120000); links are "
         "not followed, so the file it points to was not analysed"),
    ]  # fmt: skip


def test_scan_never_follows_symlinks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "iam.tf").write_text(SA_TF, encoding="utf-8")
    tree = tmp_path / "tree"
    tree.mkdir()
    os.symlink(outside / "iam.tf", tree / "link.tf")
    os.symlink(outside, tree / "linkdir")
    code = main(["scan", str(tree), "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    # Nothing behind a link is read (no aws_iam_user from outside/); the file link is reported
    # (NHI902, fail-closed), the directory link is not descended into.
    assert code == 1
    assert [(f["rule_id"], f["path"]) for f in report["findings"]] == [("NHI902", "link.tf")]
    assert [p["path"] for p in report["problems"]] == ["link.tf"]
