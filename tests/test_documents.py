"""A large multi-document manifest is parsed one distinct document at a time
(`checker.sources.documents`): the answer is the whole file's parse, for the format parser, the
secret scan and `check`'s findings, and a document base and head share is parsed once."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from checker import secrets
from checker.cli import main
from checker.model import ParseResult, SourceFile
from checker.parsers import build_parsers
from checker.policy.catalogue import load_catalogue
from checker.safeyaml.load import load_text
from checker.sources import documents
from checker.sources.discovery import sniff
from checker.sources.documents import SharedDocuments, parse_by_documents, segments
from checker.sources.manifests import Parsed, has_manifest
from tests.conftest import COPILOT, HUMAN, GitRepo

#: A CustomResourceDefinition-like filler document: no identity, no secret, ~5 KB.
FILLER = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets{n}.example.com
spec:
  group: example.com
  names:
    kind: Widget{n}
    plural: widgets{n}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
{props}"""
PROP = """\
          field{i}:
            description: The number of widgets of size {i} the controller keeps ready.
            type: integer
"""

#: Sits above the account's `---` marker, at the end of the document before it.
COMMENT = "# nhi-gate: owner=team-ci ticket=CI-1 expires=2999-01-31\n"
ACCOUNT = """\
apiVersion: v1
kind: ServiceAccount
metadata:
  name: deployer
  namespace: ci
"""
ROLE = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: deployer
rules:
- apiGroups: [""]
  resources: [{resources}]
  verbs: [{verbs}]
"""
BINDING = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: deployer
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: deployer
subjects:
- kind: ServiceAccount
  name: deployer
  namespace: ci
"""
SECRET = """\
apiVersion: v1
kind: Secret
metadata:
  name: registry
  namespace: ci
stringData:
  password: "q8Zr4LxT0pV2mWc9sKd7"
"""


def manifest(verbs: str = '"get"', resources: str = '"pods"', extra: str = "") -> str:
    """A ~180 KB install manifest: fillers around an account, its role, binding and a
    Secret; `extra` lines go into the role (a change that shifts the documents after it)."""
    fillers = [FILLER.format(n=n, props="".join(PROP.format(i=i) for i in range(60)))
               for n in range(36)]
    role = ROLE.format(verbs=verbs, resources=resources) + extra
    docs = [*fillers[:11], fillers[11] + COMMENT, ACCOUNT, *fillers[12:24], role, BINDING,
            SECRET, *fillers[24:]]
    return "---\n".join(docs)


def _parsers() -> tuple[Callable[[SourceFile], ParseResult], Callable[[SourceFile], ParseResult]]:
    catalogue = load_catalogue()
    kubernetes = build_parsers()["kubernetes"]
    return (lambda s: kubernetes(s, catalogue)), (lambda s: secrets.scan(s, "kubernetes"))


def _kept_lines(seen: list[int]) -> Callable[[SourceFile], SourceFile]:
    def note(src: SourceFile) -> SourceFile:
        seen.append(sum(1 for line in src.raw.split(b"\n")
                        if line.strip() and not line.startswith((b"#", b"---"))))
        return src
    return note


@pytest.mark.parametrize("head_args", [
    {"verbs": '"*"', "resources": '"*"'},  # same line count: base reuses head's placed results
    {"verbs": '"get"', "extra": "- apiGroups: [apps]\n  resources: [\"*\"]\n  verbs: [\"*\"]\n"},
])
def test_reading_by_documents_gives_the_whole_parse_and_reads_shared_documents_once(
        head_args: dict[str, str]) -> None:
    parse, scan = _parsers()
    base = SourceFile("deploy/install.yaml", manifest().encode())
    head = SourceFile("deploy/install.yaml", manifest(**head_args).encode())
    sibling = SourceFile("deploy/ha/install.yaml", manifest().encode())
    assert segments(head.raw) is not None and len(head.raw) > documents.MIN_BYTES
    shared = SharedDocuments()
    seen: list[int] = []
    note = _kept_lines(seen)
    for src in (head, base, sibling):
        by_docs = parse_by_documents(src, lambda s: parse(note(s)), shared.identities)
        assert by_docs == parse(src)
        assert parse_by_documents(src, scan, shared.secrets) == scan(src)
    whole = parse(head)
    assert [o.address for o in whole.objects] == [
        "ServiceAccount/ci/deployer", "ClusterRole/deployer", "ClusterRoleBinding/deployer",
        "Secret/ci/registry"]
    assert whole.objects[0].metadata["owner"] == "team-ci"  # the comment above its marker
    assert len(scan(head).objects) == 1  # the Secret's password
    # head is read whole; base and the sibling file only where they differ from what was read
    full = seen[0]
    assert full > 3000
    assert seen[1] < 40  # base: the role (same lines) or the documents after it (shifted)
    if "extra" in head_args:
        assert seen[1] > 10  # shifted documents are parsed again, fillers are not
    assert seen[2] < 40  # another file: only the documents that gave something


def test_a_file_not_read_by_documents_is_parsed_whole() -> None:
    small = manifest()[:60_000]
    assert segments(small.encode()) is None  # under MIN_BYTES
    assert segments((manifest() + "...\n").encode()) is None  # a document end line
    assert segments(manifest().replace("\n", "\r\n").encode()) is None
    parse, _ = _parsers()
    src = SourceFile("a.yaml", manifest().encode())
    seen: list[int] = []
    assert parse_by_documents(src, lambda s: parse(_kept_lines(seen)(s)),
                              documents.DocumentMemo()) == parse(src)
    assert len(seen) == 1 and seen[0] > 3000


def test_a_large_file_is_a_manifest_by_its_first_document_and_the_rest_is_not_composed() -> None:
    text = manifest()
    assert has_manifest(text, "install.yaml") is Parsed.MANIFEST
    # the first document decides: a syntax error further on changes nothing
    assert has_manifest(text + "---\nkey: [unclosed\n", "install.yaml") is Parsed.MANIFEST
    # no manifest in the first document: the whole stream is read, as before
    assert has_manifest("---\nnot: a manifest\n---\n" + text, "x.yaml") is Parsed.MANIFEST
    assert has_manifest("a: 1\n---\n" + "b: 2\n" * 20_000, "x.yaml") is Parsed.OTHER
    # nothing after the first document is read: a character YAML forbids there (NHI902 for
    # the parser) no longer makes the sniff fall back to its byte test; both say kubernetes
    tail = text + "---\nnote: \x01\n"
    assert has_manifest(tail, "install.yaml") is Parsed.MANIFEST
    assert sniff("install.yaml", tail.encode()).format == "kubernetes"
    stream = load_text(text, "install.yaml", until=lambda _: True)
    assert len(stream.documents) == 1 and stream.problem is None


def _check(repo: GitRepo, base: str, head: str, capsys: pytest.CaptureFixture[str]
           ) -> list[tuple[str, str, int, str | None, bool]]:  # fmt: skip
    code = main(["check", "--repo", str(repo.path), "--base", base, "--head", head,
                 "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    assert code == (1 if out["verdict"] == "fail" else 0)
    return sorted((f["rule_id"], f["path"], f["start_line"], f["address"], f["blocking"])
                  for f in out["findings"])


def test_check_of_a_change_inside_a_large_manifest_finds_what_the_whole_parse_finds(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    repo = make_repo()
    base = repo.commit({"deploy/install.yaml": manifest(), "deploy/ha/install.yaml": manifest()},
                       author=HUMAN)
    head = repo.commit({"deploy/install.yaml": manifest('"*"', '"*"'),
                        "deploy/ha/install.yaml": manifest('"*"', '"*"')},
                       author=COPILOT, message="Widen the deployer role")
    changed = manifest('"*"', '"*"').split("\n").index('  resources: ["*"]') + 1
    by_documents = _check(repo, base, head, capsys)
    monkeypatch.setattr(documents, "MIN_BYTES", 1 << 40)  # every file parsed whole
    assert _check(repo, base, head, capsys) == by_documents
    assert {(rule, path, line, address) for rule, path, line, address, _ in by_documents
            if rule != "NHI103"} == {
        (rule, path, changed, "ClusterRole/deployer")
        for rule in ("NHI101", "NHI301", "NHI302")
        for path in ("deploy/install.yaml", "deploy/ha/install.yaml")}


ARGO = Path("/work/wt-scale-data/argo-cd")
_ARGO_FILES = ("manifests/install.yaml", "manifests/ha/install.yaml",
               "manifests/namespace-install.yaml", "manifests/install-with-hydrator.yaml")


@pytest.mark.skipif(not (ARGO / ".git").is_dir() or shutil.which("git") is None,
                    reason="needs a clone of argo-cd (its generated install manifests)")
def test_argo_cd_install_manifests_read_by_documents_give_the_whole_parse() -> None:
    parse, scan = _parsers()
    shared = SharedDocuments()
    for rev in ("d94bfc0db9", "d94bfc0db9~1"):
        for path in _ARGO_FILES:
            raw = subprocess.run(["git", "-C", str(ARGO), "show", f"{rev}:{path}"],
                                 capture_output=True, check=True).stdout
            src = SourceFile(path, raw)
            assert parse_by_documents(src, parse, shared.identities) == parse(src)
            assert parse_by_documents(src, scan, shared.secrets) == scan(src)


def test_an_object_several_kustomizations_render_the_same_is_parsed_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from checker.parsers import kubernetes, rendered
    from checker.sources.render.api import Rendered, RenderedDocument

    catalogue = load_catalogue()
    role = ROLE.format(verbs='"*"', resources='"pods"')
    doc = RenderedDocument(role, "base/role.yaml", 3, ("base/role.yaml",),
                           (("rules", 8), ("rules.[0].verbs", 11)))
    renders = [Rendered(root, "kustomize", documents=(doc,), owner=f"{root}/kustomization.yaml")
               for root in ("prod", "staging")]
    alone = [rendered.rendered_objects(r.documents, r.owner, catalogue)[0] for r in renders]
    calls: list[str] = []
    parse = kubernetes.parse
    monkeypatch.setattr(kubernetes, "parse",
                        lambda src, cat: calls.append(src.path) or parse(src, cat))
    objects, problems = rendered.merged([], renders, catalogue, head=False)
    assert calls == ["base/role.yaml"]  # once for both renders
    assert objects == [*alone[0], *alone[1]] and problems == []
    assert [o.address for o in objects] == ["prod/kustomization.yaml:ClusterRole/deployer",
                                            "staging/kustomization.yaml:ClusterRole/deployer"]
    assert {g.line for o in objects for g in o.privileges} == {8}  # placed: the `rules` line
