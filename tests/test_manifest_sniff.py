"""Classify by parsing, not by regex (issue 13): a YAML/JSON file is a Kubernetes manifest when
its parsed keys say so, and the byte test in front of the parse never drops a manifest.

The proof obligation of `checker.sources.manifests.may_be_manifest`: for every file, when the
byte test drops it, the full parse (`has_manifest`) finds no manifest. Checked over every YAML
and JSON file of `../shared/corpus`, over the evasion variants a hostile author may write, and
over generated documents (hypothesis).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import CORPUS
from hypothesis import given, settings
from hypothesis import strategies as st

from checker.cli import main
from checker.decode import as_utf8, decode
from checker.model import SourceFile
from checker.sources.discovery import classify
from checker.sources.manifests import Parsed, has_manifest, may_be_manifest

CRB_BODY = (
    "metadata: {name: ci}\n"
    "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\n"
    "subjects: [{kind: ServiceAccount, name: ci, namespace: default}]\n"
)
#: name -> (path, bytes): the same cluster-admin binding, keys spelled so a regex misses them.
EVASIONS: dict[str, tuple[str, bytes]] = {
    "json unicode escape": ("k8s/crb.json", json.dumps({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "ci"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                    "name": "cluster-admin"},
        "subjects": [{"kind": "ServiceAccount", "name": "ci", "namespace": "default"}],
    }).replace('"apiVersion"', '"\\u0061piVersion"').replace(
        '"kind": "ClusterRoleBinding"', '"\\u006bind": "ClusterRoleBinding"').encode()),
    "yaml tagged keys": ("k8s/crb.yaml", (
        "!!str apiVersion: rbac.authorization.k8s.io/v1\n!!str kind: ClusterRoleBinding\n"
        + CRB_BODY).encode()),
    "yaml anchored keys": ("k8s/crb.yaml", (
        "&a apiVersion: rbac.authorization.k8s.io/v1\n&k kind: ClusterRoleBinding\n"
        + CRB_BODY).encode()),
    "yaml hex escapes": ("k8s/crb.yaml", (
        '"\\x61piVersion": rbac.authorization.k8s.io/v1\n"\\x6bind": ClusterRoleBinding\n'
        + CRB_BODY).encode()),
    "yaml escaped line break in a key": ("k8s/crb.yaml", (
        '? "api\\\n  Version"\n: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\n'
        + CRB_BODY).encode()),
    "flow mapping": ("k8s/crb.yaml", (
        b"{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRoleBinding, metadata: "
        b"{name: ci}, roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "
        b"cluster-admin}, subjects: [{kind: ServiceAccount, name: ci, namespace: default}]}\n"
    )),
    "quoted keys": ("k8s/crb.yaml", (
        "'apiVersion': rbac.authorization.k8s.io/v1\n\"kind\": ClusterRoleBinding\n"
        + CRB_BODY).encode()),
    "byte-order mark and CRLF": ("k8s/crb.yaml", b"\xef\xbb\xbf" + (
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\n" + CRB_BODY
    ).replace("\n", "\r\n").encode()),
    "manifest second in a multi-document stream": ("k8s/crb.yaml", (
        "replicas: 3\n---\napiVersion: rbac.authorization.k8s.io/v1\n"
        "kind: ClusterRoleBinding\n" + CRB_BODY).encode()),
    "merge key": ("k8s/crb.yaml", (
        "<<: {apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRoleBinding}\n"
        + CRB_BODY).encode()),
    "merge key through an alias": ("k8s/crb.yaml", (
        "x-base: &base {apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRoleBinding}\n"
        "<<: *base\n" + CRB_BODY).encode()),
    "explicit keys": ("k8s/crb.yaml", (
        "? apiVersion\n: rbac.authorization.k8s.io/v1\n? kind\n: ClusterRoleBinding\n"
        + CRB_BODY).encode()),
    "utf-16 with a byte-order mark": ("k8s/crb.yaml", (
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\n" + CRB_BODY
    ).encode("utf-16")),
}


def _full_parse(path: str, raw: bytes) -> Parsed:
    """What the parse says about the file (as the pipeline reads it: UTF-8, BOM dropped)."""
    text = decode(SourceFile(path, raw))
    return Parsed.UNREADABLE if not isinstance(text, str) else has_manifest(text, path)


def _sound(path: str, raw: bytes) -> None:
    utf8 = as_utf8(SourceFile(path, raw)).raw
    if not may_be_manifest(utf8.removeprefix(b"\xef\xbb\xbf")):
        assert _full_parse(path, raw) is not Parsed.MANIFEST, path


@pytest.mark.parametrize("name", sorted(EVASIONS))
def test_each_evasion_is_a_manifest_to_the_parse_and_passes_the_byte_test(name: str) -> None:
    path, raw = EVASIONS[name]
    utf8 = as_utf8(SourceFile(path, raw)).raw
    assert may_be_manifest(utf8.removeprefix(b"\xef\xbb\xbf"))
    assert _full_parse(path, raw) is Parsed.MANIFEST
    assert classify(path, utf8) == "kubernetes"


@pytest.mark.parametrize("name", ["json unicode escape", "yaml tagged keys",
                                  "yaml anchored keys", "merge key", "explicit keys"])
def test_an_evasive_cluster_admin_binding_is_judged(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The three evasions of issue 13 (and two more): the binding is NHI301, not a pass."""
    path, raw = EVASIONS[name]
    target = tmp_path / path
    target.parent.mkdir(parents=True)
    target.write_bytes(raw)
    code = main(["scan", str(target), "--format", "json"])
    found = {(f["rule_id"], f["level"]) for f in json.loads(capsys.readouterr().out)["findings"]}
    assert code == 1
    assert ("NHI301", "error") in found


@pytest.mark.parametrize(("path", "text", "expected"), [
    # nested keys only: no manifest; a Helm values file is read for secrets only
    ("values.yaml", b"rbac:\n  apiVersion: v1\n  kind: Role\n", "secret_values"),
    ("docs/x.yaml", b"description: apiVersion and kind are required\n", None),
    ("x.json", b'{"spec": {"apiVersion": "v1", "kind": "Pod"}}', None),
    ("x.json", b'[{"apiVersion": "v1", "kind": "ServiceAccount"}]', "kubernetes"),
    ("x.yaml", b"apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a}\n", "kubernetes"),
    # Not parseable: the byte test at key positions keeps it, so the parser reports NHI901.
    ("x.yaml", b"apiVersion: v1\nkind: ServiceAccount\nmetadata: [unclosed\n", "kubernetes"),
    ("x.json", b'{"apiVersion": "v1", "kind": "ServiceAccount",', "kubernetes"),
])  # fmt: skip
def test_parsed_keys_decide(path: str, text: bytes, expected: str | None) -> None:
    assert classify(path, text) == expected


def _corpus_files() -> list[Path]:
    return sorted(p for p in CORPUS.rglob("*") if p.is_file()
                  and p.name.lower().endswith((".yaml", ".yml", ".json")))


@pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus is not beside the clone")
def test_byte_test_never_drops_a_manifest_in_the_corpus() -> None:
    files = _corpus_files()
    assert len(files) > 1000
    kept = manifests = 0
    for path in files:
        raw = path.read_bytes()
        rel = path.relative_to(CORPUS).as_posix()
        utf8 = as_utf8(SourceFile(rel, raw)).raw.removeprefix(b"\xef\xbb\xbf")
        if may_be_manifest(utf8):
            kept += 1
            manifests += _full_parse(rel, raw) is Parsed.MANIFEST
            continue
        assert _full_parse(rel, raw) is not Parsed.MANIFEST, rel
    assert 0 < manifests <= kept < len(files)  # it drops some files, and keeps every manifest


_KEY = st.sampled_from(["apiVersion", "kind", "metadata", "api", "Version", "kin", "d"])
_STYLE = st.sampled_from(["plain", "single", "double", "escaped", "tagged", "anchored"])


def _spell(key: str, style: str) -> str:
    if style == "single":
        return f"'{key}'"
    if style == "double":
        return f'"{key}"'
    if style == "escaped":
        return '"' + "".join(f"\\x{ord(c):02x}" if c in "ak" else c for c in key) + '"'
    if style == "tagged":
        return f"!!str {key}"
    if style == "anchored":
        return f"&n{abs(hash(key)) % 1000} {key}"
    return key


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_KEY, _STYLE, st.sampled_from(["v1", "X", "{a: 1}"])),
                min_size=1, max_size=5),
       st.booleans(), st.sampled_from(["\n", "\r\n"]))
def test_byte_test_is_sound_on_generated_documents(
    entries: list[tuple[str, str, str]], flow: bool, newline: str
) -> None:
    if flow:
        text = "{" + ", ".join(f"{_spell(k, s)}: {v}" for k, s, v in entries) + "}" + newline
    else:
        text = newline.join(f"{_spell(k, s)}: {v}" for k, s, v in entries) + newline
    _sound("gen.yaml", text.encode())
    as_json = json.dumps({k: v for k, _, v in entries})
    _sound("gen.json", as_json.encode())
    _sound("gen.json", as_json.replace("a", "\\u0061").encode())
