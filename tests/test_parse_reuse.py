"""Work the Terraform parse does once, not once per reader (issue 12's speed item).

python-hcl2 is most of a scan's cost. Each test counts its calls (`hcl.load_hcl`) on real files
and checks that what is found stays the same: identical text under two paths is parsed once; a
module's `versions.tf` is not parsed for values it cannot hold; a called module's files without
a catalogued type are not parsed for identities; jobs of one directory go to one worker.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from checker.model import ModuleSources, SourceFile
from checker.parsers.common import word_alternation
from checker.parsers.terraform import hcl
from checker.parsers.terraform import values as tf_values
from checker.pipeline import parse_sources
from checker.policy.catalogue import load_catalogue
from checker.policy.config import Config
from checker.sources import budget, prefilter
from tests.conftest import CORPUS

ROOT = Path(__file__).resolve().parent.parent

VERSIONS = 'terraform {\n  required_version = ">= 1.5.7"\n}\n'
VARIABLES = 'variable "policy_arn" {\n  default = "arn:aws:iam::aws:policy/ReadOnlyAccess"\n}\n'
ROLE = """\
resource "aws_iam_role_policy_attachment" "this" {
  role       = "ci"
  policy_arn = var.policy_arn
}
"""
NETWORK = 'resource "aws_vpc" "main" {\n  cidr_block = "10.0.0.0/16"\n}\n'
CALL = """\
module "ci" {
  source     = "./modules/role"
  policy_arn = "arn:aws:iam::aws:policy/AdministratorAccess"
}
"""


@pytest.fixture
def parsed_texts(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The texts python-hcl2 parses during the test (caches emptied before and after)."""
    seen: list[str] = []
    real = hcl.load_hcl

    def counting(text: str, with_meta: bool = False) -> object:
        seen.append(text)
        return real(text, with_meta)

    hcl.load.cache_clear()
    hcl._load_whole.cache_clear()
    tf_values.module_values.cache_clear()
    monkeypatch.setattr(hcl, "load_hcl", counting)
    yield seen
    hcl.load.cache_clear()
    hcl._load_whole.cache_clear()
    tf_values.module_values.cache_clear()


def _scan(files: dict[str, str]) -> list[tuple[str, str, tuple[str, ...]]]:
    sources = [SourceFile(p, t.encode(), None) for p, t in files.items()]
    parsed = parse_sources(sources, load_catalogue(), Config(), workers=1)
    return sorted(
        (o.location.path, o.address, tuple(g.action for g in o.privileges))
        for o in parsed.objects if o.derived_from is None
    )


def test_the_same_text_under_two_paths_is_parsed_once(parsed_texts: list[str]) -> None:
    a = hcl.load(SourceFile("examples/a/versions.tf", VERSIONS.encode(), None))
    b = hcl.load(SourceFile("examples/b/versions.tf", VERSIONS.encode(), None))
    assert parsed_texts == [VERSIONS]
    assert a.data == b.data and a.data["terraform"][0]["__start_line__"] == 1
    assert a.problems == b.problems == ()


def test_a_rejected_text_keeps_each_paths_problem(parsed_texts: list[str]) -> None:
    bad = 'resource "aws_iam_user" "u" {\n  name = \n}\n'
    a = hcl.load(SourceFile("a/main.tf", bad.encode(), None))
    b = hcl.load(SourceFile("b/main.tf", bad.encode(), None))
    assert [p.path for p in a.problems] == ["a/main.tf"]
    assert [p.path for p in b.problems] == ["b/main.tf"]
    assert [(p.rule_id, p.line) for p in a.problems] == [(p.rule_id, p.line) for p in b.problems]


def test_module_values_parse_only_files_that_can_define_a_value(parsed_texts: list[str]) -> None:
    module = ModuleSources("infra", (
        SourceFile("infra/outputs.tf", b'output "x" {\n  value = 1\n}\n', None),
        SourceFile("infra/variables.tf", VARIABLES.encode(), None),
        SourceFile("infra/versions.tf", VERSIONS.encode(), None),
    ))
    found = tf_values.module_values(module).values["var.policy_arn"]
    assert found.value == "arn:aws:iam::aws:policy/ReadOnlyAccess"
    assert [loc.path for _, loc in found.inputs] == ["infra/variables.tf"]
    assert parsed_texts == [VARIABLES]


def test_a_called_modules_file_without_a_catalogued_type_is_not_parsed(
    parsed_texts: list[str],
) -> None:
    found = _scan({
        "main.tf": CALL,
        "modules/role/network.tf": NETWORK,
        "modules/role/role.tf": ROLE,
        "modules/role/variables.tf": VARIABLES,
        "modules/role/versions.tf": VERSIONS,
    })
    # The call still reads the module's role with the caller's argument.
    assert ("modules/role/role.tf", "module.ci.aws_iam_role_policy_attachment.this",
            ("arn:aws:iam::aws:policy/AdministratorAccess",)) in found
    assert ("modules/role/role.tf", "aws_iam_role_policy_attachment.this",
            ("arn:aws:iam::aws:policy/ReadOnlyAccess",)) in found
    assert NETWORK not in parsed_texts and VERSIONS not in parsed_texts
    assert sorted(parsed_texts) == sorted([CALL, ROLE, VARIABLES])


def test_word_alternation_finds_what_a_flat_alternation_finds() -> None:
    rng = random.Random(12)
    words = {"".join(rng.choice("ab_") for _ in range(rng.randint(1, 6))).encode()
             for _ in range(40)} | {b"aws_iam_role", b"aws_iam_role_policy", b"aws_iam"}
    for ignore_case in (False, True):
        flat = re.compile(b"|".join(re.escape(w) for w in sorted(words)),
                          re.IGNORECASE if ignore_case else 0)
        tree = word_alternation(words, ignore_case=ignore_case)
        for _ in range(400):
            text = "".join(rng.choice("abAB_ x") for _ in range(rng.randint(0, 12))).encode()
            assert (tree.search(text) is None) == (flat.search(text) is None), text
    assert word_alternation([]).search(b"anything") is None
    assert word_alternation([b"Role"], ignore_case=True).search(b"a role") is not None


def test_the_prefilter_pattern_is_a_prefix_tree() -> None:
    tokens = prefilter.build_tokens(load_catalogue())
    compiled = tokens.pattern("terraform")
    assert compiled is not None
    assert b"aws_iam_role" not in compiled.pattern  # spelled once as a shared prefix
    assert compiled.pattern.count(b"aws_") < 10
    assert compiled.search(b'resource "aws_iam_role" "r" {') is not None
    assert compiled.search(b'resource "aws_vpc" "main" {') is None
    assert tokens.pattern("yaml") is None


_PREFILTER_TEXTS = [
    b'resource "aws_iam_role" "r" {', b'resource "aws_vpc" "main" {', b"kind: ServiceAccount",
    b"kind: Deployment", b"uses: Aws-Actions/Configure-AWS-Credentials@v4", b"uses: x/y@v1",
    b'module "m" {\n  role = "ROLES/OWNER"\n}', b'module "m" {\n  x = 1\n}', b"",
]


def test_the_prefilter_answers_alike_before_and_after_it_compiles() -> None:
    """A few files are tested word by word, later ones by the compiled alternation: every
    corpus file (and a few texts, cased both ways) gets the same answer from both."""
    words = prefilter.build_tokens(load_catalogue()).words
    texts = list(_PREFILTER_TEXTS)
    for folder in ("terraform", "kubernetes", "github-actions", "real-repos"):
        root = CORPUS / folder
        if root.is_dir():
            paths = [p for p in sorted(root.rglob("*"))
                     if p.suffix in {".tf", ".yaml", ".yml", ".json"} and p.is_file()]
            texts += [p.read_bytes()[:20_000] for p in paths[:: max(1, len(paths) // 60)]]
    for fmt in words:
        fresh = prefilter.Tokens(words)  # substring tests
        compiled = prefilter.Tokens(words)
        assert compiled.pattern(fmt) is not None  # compiled before the first search
        for text in texts:
            for variant in (text, text.swapcase()):
                answer = fresh.search(fmt, variant)
                assert answer == compiled.search(fmt, variant), (fmt, variant[:80])
                fresh._searches[fmt] = 0  # stay on the substring path


def _job(path: str) -> budget.Job:
    return (lambda src, catalogue: None), SourceFile(path, b"", None)  # type: ignore[return-value]


def test_parse_chunks_keep_a_directory_together() -> None:
    jobs = [_job(f"a/{i}.tf") for i in range(10)] + [_job(f"b/{i}.tf") for i in range(20)] + [
        _job(f"c/{i}.tf") for i in range(100)]
    chunks = budget._chunks(jobs)
    dirs = [sorted({j[1].path.split("/")[0] for j in chunk}) for chunk in chunks]
    assert [len(c) for c in chunks] == [30, 64, 36]
    assert dirs == [["a", "b"], ["c"], ["c"]]
    assert [j for c in chunks for j in c] == jobs


class _NoSplit:
    def finditer(self, line: str) -> object:
        raise AssertionError(f"split into pairs: {line!r}")


def test_a_line_without_a_secret_key_word_is_not_split_into_pairs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from checker.secrets import hardcoded

    lines = ['resource "aws_vpc" "main" {', '  cidr_block = "10.0.0.0/16"', "}"]
    real = hardcoded._KV
    monkeypatch.setattr(hardcoded, "_KV", _NoSplit())
    assert hardcoded.find_hardcoded(lines) == []
    monkeypatch.setattr(hardcoded, "_KV", real)
    hits = hardcoded.find_hardcoded([*lines, '  db_PASS_2 = "Xq7#kP2m!vR9"'])
    assert [(h.line, h.detector, h.key) for h in hits] == [(4, "credential-named key", "db_PASS_2")]


def test_parser_for_is_the_registry_entry() -> None:
    from checker.parsers import build_parsers, parser_for

    registry = build_parsers()
    for fmt, parser in registry.items():
        assert parser_for(fmt) is parser, fmt
    with pytest.raises(KeyError):
        parser_for("no-such-format")


def test_a_workflow_and_a_manifest_parse_without_python_hcl2(tmp_path: Path) -> None:
    """A process that parses only YAML never imports python-hcl2 or lark (their import and
    grammar are most of a parse worker's start-up)."""
    import subprocess
    import sys

    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "ci.yml").write_text(
        "on: push\npermissions: write-all\njobs:\n  a:\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - run: echo hi\n")
    (tmp_path / "sa.yaml").write_text(
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: robot\n")
    code = (
        "import sys\n"
        "from checker.commands.scan import scan_sources\n"
        "from checker.pipeline import parse_sources\n"
        "from checker.policy.catalogue import load_catalogue\n"
        "from checker.policy.config import Config\n"
        f"sources, _ = scan_sources([{str(tmp_path)!r}])\n"
        "parsed = parse_sources(sources, load_catalogue(), Config(), workers=1)\n"
        "print(sorted(o.type for o in parsed.objects if o.type))\n"
        "print([m for m in ('hcl2', 'lark') if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[1]).stdout.splitlines()
    assert "ServiceAccount" in out[0]
    assert out[1] == "[]"
