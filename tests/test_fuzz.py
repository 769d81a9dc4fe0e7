"""Property-based fuzzing (hypothesis) of the three parsers and the config loader.

Inputs are real files from ../shared/corpus (and the rule fixtures), mutated byte-wise with
fragments that stress each grammar (unclosed brackets, anchors/aliases, escapes, NUL, invalid
UTF-8, BOMs, CR line ends). Properties: a parser never raises, never runs past a 10-second
deadline, returns only NHI901-NHI903 problems whose messages name the file, and 1-based
locations inside the file; the config loader returns a `Config` or raises `ConfigError`.

Profiles (selected by environment, so CI runs exactly the README's test command):
- default (CI): `NHI_GATE_FUZZ_EXAMPLES` unset → 40 examples per target, derandomized;
- long local run: `NHI_GATE_FUZZ_EXAMPLES=25000 python -m pytest -p no:cacheprovider
  tests/test_fuzz.py` (4 targets × 25,000 = 100,000 examples; see benchmarks/RESULTS.md).
Every crash found becomes a regression test in tests/test_robustness.py.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checker import secrets
from checker.errors import ConfigError
from checker.model import ParseResult, SourceFile
from checker.parsers import github_actions, gitlab_ci, kubernetes, terraform
from checker.policy.catalogue import load_catalogue
from checker.policy.config import Config, parse_config
from checker.sources.budget import deadline

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
_SEED_MAX_BYTES = 6_000
_PER_FORMAT = 150

_EXAMPLES = int(os.environ.get("NHI_GATE_FUZZ_EXAMPLES", "40"))
FUZZ = settings(
    max_examples=_EXAMPLES,
    derandomize=_EXAMPLES <= 100,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

FRAGMENTS = [
    b"{", b"}", b"[", b"]", b"(", b")", b'"', b"'", b"${", b"%{", b"<<EOT\n", b"EOT\n",
    b"\n", b"\r\n", b"\r", b"  ", b"\t", b"#", b"//", b"/*", b"*/", b"=", b": ", b"- ", b",",
    b"&a ", b"*a", b"<<: *a\n", b"!!binary ", b"!!python/object ", b"? ", b"|\n", b">-\n",
    b"---\n", b"...\n", b"\\", b"\\u0000", b"\\x41", b"\x00", b"\xff\xfe", b"\xef\xbb\xbf",
    b"\xc3", b"\xe2\x80\xa8", b"\x1b", b"kind: ServiceAccount\n", b"kind: List\nitems:\n",
    b'resource "aws_iam_user" "x" {\n', b"permissions: write-all\n", b"id-token: write\n",
    b"uses: aws-actions/configure-aws-credentials@v4\n", b"9" * 40, b"1e999", b"-.inf",
    b"null", b"~", b"true", b"jsonencode({", b"for x in y :", b"[" * 50, b"{" * 50,
]


def _seeds(pattern_dirs: list[tuple[Path, tuple[str, ...]]]) -> list[bytes]:
    out: list[bytes] = []
    for base, suffixes in pattern_dirs:
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            if path.is_relative_to(ROOT / "fixtures" / "scenarios"):
                continue  # tests/test_scenarios.py's specs, not parser inputs
            if path.is_file() and not path.is_symlink() and path.name.endswith(suffixes):
                size = path.stat().st_size
                if 0 < size <= _SEED_MAX_BYTES:
                    out.append(path.read_bytes())
            if len(out) >= _PER_FORMAT:
                return out
    return out


TF_SEEDS = _seeds([(ROOT / "fixtures", (".tf",)), (CORPUS / "terraform", (".tf",)),
                   (CORPUS / "real-repos", (".tf",))]) or [b'resource "aws_iam_user" "x" {}\n']
K8S_SEEDS = _seeds([(ROOT / "fixtures", (".yaml",)), (CORPUS / "kubernetes", (".yaml", ".yml"))])
K8S_SEEDS = K8S_SEEDS or [b"apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: a\n"]
GHA_SEEDS = _seeds([(CORPUS / "github-actions", (".yml", ".yaml"))])
GHA_SEEDS = GHA_SEEDS or [b"on: push\npermissions:\n  id-token: write\njobs: {}\n"]
GITLAB_SEEDS = _seeds([(CORPUS / "gitlab-ci", (".yml", ".yaml"))])
GITLAB_SEEDS = GITLAB_SEEDS or [b"deploy:\n  id_tokens:\n    T:\n      aud: x\n  script: [x]\n"]
CONFIG_SEEDS = [
    b"",
    b"fail_on: warning\nexclude: ['examples/**']\nmax_lifetime_days: 30\n",
    b"required_metadata:\n  ticket:\n    aliases: [jira]\n    pattern: '^[A-Z]+-[0-9]+$'\n",
    b"environments:\n  prod: ['envs/prod/**']\nagents:\n  emails: ['bot@example.com']\n"
    b"  branches: ['ai/*']\n",
    b"approval:\n  approvers: ['alice@example.com']\n  require_signed_agent_commits: true\n",
    b"rules:\n  NHI201:\n    level: warning\nbudgets:\n  max_file_bytes: 1000\n"
    b"  parse_seconds: 1.5\nbaseline: .nhi-gate-baseline.json\n",
]


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    """A seed with 0-8 edits: delete a slice, insert a fragment or random bytes, duplicate."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(0, 8))):
        pos = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(("insert", "delete", "random", "dup")))
        if op == "insert":
            data[pos:pos] = draw(st.sampled_from(FRAGMENTS))
        elif op == "delete":
            data[pos : pos + draw(st.integers(1, 64))] = b""
        elif op == "random":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        else:
            end = min(len(data), pos + draw(st.integers(1, 256)))
            data[pos:pos] = data[pos:end] * draw(st.integers(1, 4))
    return bytes(data)


def _check_result(result: ParseResult, path: str, raw: bytes) -> None:
    assert isinstance(result, ParseResult)
    n_lines = raw.count(b"\n") + raw.count(b"\r") + 2
    for p in result.problems:
        assert p.rule_id in ("NHI901", "NHI902", "NHI903"), p
        assert p.path == path and p.message.startswith(f"{path}: "), p
        assert 1 <= p.line <= n_lines, p
    for obj in result.objects:
        loc = obj.location
        assert loc.path == path
        assert 1 <= loc.start_line <= loc.end_line <= n_lines, (obj.address, loc)


def _run(parse: Callable[..., ParseResult], path: str, raw: bytes) -> None:
    with deadline(10.0):
        result = parse(SourceFile(path, raw, None), load_catalogue())
    _check_result(result, path, raw)


@FUZZ
@given(raw=st.one_of(mutated(TF_SEEDS), st.binary(max_size=512)))
def test_fuzz_terraform(raw: bytes) -> None:
    _run(terraform.parse, "fuzz/main.tf", raw)


@FUZZ
@given(raw=st.one_of(mutated(K8S_SEEDS), st.binary(max_size=512)))
def test_fuzz_kubernetes(raw: bytes) -> None:
    _run(kubernetes.parse, "fuzz/manifest.yaml", raw)


@FUZZ
@given(raw=st.one_of(mutated(GHA_SEEDS), st.binary(max_size=512)))
def test_fuzz_github_actions(raw: bytes) -> None:
    _run(github_actions.parse, ".github/workflows/fuzz.yml", raw)


@FUZZ
@given(raw=st.one_of(mutated(GITLAB_SEEDS), st.binary(max_size=512)))
def test_fuzz_gitlab_ci(raw: bytes) -> None:
    _run(gitlab_ci.parse, ".gitlab-ci.yml", raw)


@FUZZ
@given(raw=st.one_of(mutated(TF_SEEDS + K8S_SEEDS[:40] + GHA_SEEDS[:40] + GITLAB_SEEDS[:40]),
                     st.binary(max_size=512)),
       fmt=st.sampled_from(["terraform", "kubernetes", "github_actions", "gitlab_ci",
                            "terraform_vars", "hcl"]))  # fmt: skip
def test_fuzz_secret_scan(raw: bytes, fmt: str) -> None:
    path = {"github_actions": ".github/workflows/fuzz.yml", "gitlab_ci": ".gitlab-ci.yml",
            "terraform": "fuzz/main.tf", "kubernetes": "fuzz/s.yaml",
            "terraform_vars": "fuzz/terraform.tfvars", "hcl": "fuzz/terragrunt.hcl"}[fmt]
    with deadline(10.0):
        result = secrets.scan(SourceFile(path, raw, None), fmt)
    _check_result(result, path, raw)


@FUZZ
@given(raw=mutated(CONFIG_SEEDS + K8S_SEEDS[:20]))
def test_fuzz_config_loader(raw: bytes) -> None:
    text = raw.decode("utf-8", "replace")
    try:
        with deadline(10.0):
            cfg = parse_config(text, "fuzz/.nhi-gate.yaml")
    except ConfigError as exc:
        assert str(exc).startswith("fuzz/.nhi-gate.yaml: "), str(exc)
    else:
        assert isinstance(cfg, Config)
        assert cfg.source == "fuzz/.nhi-gate.yaml"


def test_seeds_come_from_the_corpus() -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"{CORPUS} is absent: the fuzzers run on built-in seeds only")
    assert len(TF_SEEDS) >= 50 and len(K8S_SEEDS) >= 50 and len(GHA_SEEDS) >= 50
