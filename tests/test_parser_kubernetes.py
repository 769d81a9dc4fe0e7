"""Kubernetes parser and the shared YAML loader: addresses, exact lines, grants, metadata, problems.

Fixtures live in `fixtures/parsers/kubernetes/`; every line number asserted here was read off the
fixture by hand. Hostile inputs (alias bombs, cycles, deep nesting, bad bytes) are built inline.
The corpus test reads `../shared/corpus` (real public manifests and workflows).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import corpus_yaml_files as corpus_files

from checker import safeyaml as yaml_api
from checker.model import KINDS, PLATFORMS, Grant, IdentityObject, Lifetime, ParseResult, SourceFile
from checker.parsers import kubernetes
from checker.policy.catalogue import load_catalogue

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures" / "parsers" / "kubernetes"
CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"

BOMB = "\n".join(
    ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    + ["kind: ServiceAccount", "metadata: {name: boom}", "bomb: *a9", ""]
)


def parse_fixture(name: str) -> ParseResult:
    raw = (FIXTURES / name).read_bytes()
    return kubernetes.parse(SourceFile(f"k8s/{name}", raw), load_catalogue())


def parse_bytes(raw: bytes, name: str = "inline.yaml") -> ParseResult:
    return kubernetes.parse(SourceFile(name, raw), load_catalogue())


def by_address(result: ParseResult) -> dict[str, IdentityObject]:
    assert not result.problems, result.problems
    return {o.address: o for o in result.objects}


def spans(result: ParseResult) -> list[tuple[str, str, int, int]]:
    return [(o.address, o.kind, o.location.start_line, o.location.end_line) for o in result.objects]


# -- objects -------------------------------------------------------------------------------------


def test_service_account_and_cluster_admin_binding() -> None:
    result = parse_fixture("sa_binding.yaml")
    assert spans(result) == [
        ("ServiceAccount/payments/deployer", "service_account", 4, 17),
        ("ClusterRoleBinding/deployer-admin", "role_binding", 19, 36),
    ]
    objs = by_address(result)
    sa = objs["ServiceAccount/payments/deployer"]
    assert (sa.platform, sa.type, sa.namespace) == ("kubernetes", "ServiceAccount", "payments")
    assert sa.location.path == "k8s/sa_binding.yaml"
    # comment above the document (across `---`), then labels, then annotations: later wins
    assert dict(sa.metadata) == {
        "owner": "team-payments-label",
        "ticket": "OPS-12",
        "app": "deployer",
        "eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/deployer",
        "expires": "2027-01-31",
    }
    assert sa.attribute_lines["metadata"] == 6
    assert sa.attribute_lines["metadata.labels"] == 9
    assert sa.attribute_lines["metadata.labels.owner"] == 11
    assert sa.attribute_lines["metadata.annotations"] == 12
    assert sa.attribute_lines["automountServiceAccountToken"] == 15
    assert sa.references == ("Secret/payments/deployer-token",)
    assert sa.privileges == ()

    crb = objs["ClusterRoleBinding/deployer-admin"]
    assert crb.namespace is None  # cluster-scoped: metadata.namespace is ignored
    assert crb.type == "ClusterRoleBinding"
    assert crb.privileges == (Grant("ClusterRole/cluster-admin", "*", line=27),)
    assert crb.references == (
        "ServiceAccount/payments/deployer",
        "Group/system:masters",
        "User/alice@example.com",
    )
    assert crb.attribute_lines["roleRef"] == 24
    assert crb.attribute_lines["subjects"] == 28
    assert crb.metadata == {}


def test_role_wildcards_resource_names_and_non_resource_urls() -> None:
    result = parse_fixture("rbac.yaml")
    assert spans(result) == [
        ("Role/payments/everything", "policy", 1, 16),
        ("ClusterRole/metrics-reader", "policy", 18, 24),
        ("RoleBinding/everything-binding", "role_binding", 26, 36),
    ]
    objs = by_address(result)
    assert objs["Role/payments/everything"].privileges == (
        Grant("*", "*/*", line=7),
        Grant("get", "/secrets:db-creds", line=10),
        Grant("watch", "/secrets:db-creds", line=10),
        Grant("create", "/pods/exec", line=14),
        Grant("create", "/deployments", line=14),
        Grant("create", "apps/pods/exec", line=14),
        Grant("create", "apps/deployments", line=14),
    )
    assert objs["Role/payments/everything"].attribute_lines["rules"] == 6
    assert objs["ClusterRole/metrics-reader"].privileges == (
        Grant("get", "url:/metrics", line=23),
        Grant("get", "url:/healthz/*", line=23),
    )
    binding = objs["RoleBinding/everything-binding"]
    assert binding.namespace is None
    assert binding.privileges == (Grant("Role/everything", "(current namespace)", line=32),)
    assert binding.references == ("ServiceAccount/ci",)


def test_secret_types_refine_the_kind_and_values_never_leak() -> None:
    result = parse_fixture("secrets.yaml")
    assert spans(result) == [
        ("Secret/payments/deployer-token", "api_token", 1, 12),
        ("Secret/payments/db-creds", "secret", 14, 22),
        ("Secret/kube-system/bootstrap-token-abcdef", "api_token", 24, 33),
    ]
    objs = by_address(result)
    token = objs["Secret/payments/deployer-token"]
    assert token.type == "Secret:kubernetes.io/service-account-token"
    assert token.attribute_lines["type"] == 10
    assert token.attribute_lines["data"] == 11
    assert token.attribute_lines["data.token"] == 12
    assert token.references == ("ServiceAccount/payments/deployer",)
    # the last-applied annotation (which embeds the data) is not metadata
    assert dict(token.metadata) == {"kubernetes.io/service-account.name": "deployer"}
    opaque = objs["Secret/payments/db-creds"]
    assert opaque.type == "Secret"
    assert opaque.attribute_lines["type"] == 19
    assert opaque.attribute_lines["stringData.password"] == 21
    bootstrap = objs["Secret/kube-system/bootstrap-token-abcdef"]
    assert bootstrap.lifetime == Lifetime(
        expires="2027-03-01T00:00:00Z", attribute="stringData.expiration"
    )
    dumped = repr(result)
    for value in ("azhzLXNhLVFtOHZUMnhM", "hunter2", "0123456789abcdef", "Qm8vT2xLp9Rz4Kw"):
        assert value not in dumped


def test_list_kinds_are_expanded_with_item_lines() -> None:
    result = parse_fixture("list.yaml")
    assert spans(result) == [
        ("ServiceAccount/ci/builder", "service_account", 5, 9),
        ("Role/ci/reader", "policy", 14, 22),
        ("ServiceAccount/ci/typed-item", "service_account", 27, 29),  # kind from ServiceAccountList
    ]
    objs = by_address(result)
    assert objs["ServiceAccount/ci/builder"].metadata == {"owner": "team-ci"}
    assert objs["Role/ci/reader"].privileges == (Grant("get", "/configmaps", line=20),)


def test_json_manifest() -> None:
    objs = by_address(parse_fixture("manifest.json"))
    sa = objs["ServiceAccount/tools/json-sa"]
    assert (sa.location.start_line, sa.location.end_line) == (2, 9)
    assert sa.metadata == {"owner": "team-tools", "ticket": "OPS-7"}
    assert sa.attribute_lines["metadata.labels.ticket"] == 7


def test_cert_manager_csr_external_and_sealed_secrets() -> None:
    result = parse_fixture("certs.yaml")
    assert [(o.address, o.kind, o.platform, o.location.start_line) for o in result.objects] == [
        ("Certificate/web/api-tls", "certificate", "tls", 1),
        ("ClusterIssuer/letsencrypt", "certificate", "tls", 15),
        ("CertificateSigningRequest/agent-client", "certificate", "kubernetes", 25),
        ("ExternalSecret/web/db", "secret", "kubernetes", 35),
        ("SealedSecret/web/api-key", "secret", "kubernetes", 48),
    ]
    objs = by_address(result)
    cert = objs["Certificate/web/api-tls"]
    assert cert.lifetime == Lifetime(hours=2160.0, attribute="spec.duration")
    assert cert.attribute_lines["spec.duration"] == 8
    assert cert.references == ("ClusterIssuer/letsencrypt", "Secret/web/api-tls")
    csr = objs["CertificateSigningRequest/agent-client"]
    assert csr.lifetime == Lifetime(hours=24.0, attribute="spec.expirationSeconds")
    assert csr.namespace is None
    assert objs["ExternalSecret/web/db"].references == (
        "ClusterSecretStore/vault",
        "Secret/web/db-creds",
    )
    sealed = objs["SealedSecret/web/api-key"]
    assert sealed.attribute_lines["spec.encryptedData.key"] == 55
    assert "AgBy3i4" not in repr(sealed)


def test_generate_name_unnamed_and_non_objects_are_handled() -> None:
    text = (
        "---\n"
        "just a string\n"
        "---\n"
        "- a list\n"
        "---\n"
        "metadata: {name: no-kind}\n"
        "---\n"
        "kind: ServiceAccount\n"
        "metadata: {generateName: job-, namespace: ci}\n"
        "---\n"
        "kind: ServiceAccount\n"
        "---\n"
        "kind: ServiceAccount\n"
        "metadata: [not, a, mapping]\n"
        "---\n"
    )
    result = parse_bytes(text.encode())
    assert not result.problems
    assert spans(result) == [
        ("ServiceAccount/ci/job-*", "service_account", 8, 9),
        ("ServiceAccount/(unnamed)", "service_account", 11, 11),
        ("ServiceAccount/(unnamed)", "service_account", 13, 14),
    ]


def test_comment_metadata_only_when_directly_above() -> None:
    text = (
        "# nhi-gate: owner=far-away\n"
        "\n"
        "kind: ServiceAccount\n"
        "metadata: {name: a}\n"
        "---\n"
        "# nhi-gate: owner=team-b ticket=OPS-2\n"
        "# an ordinary comment\n"
        "kind: ServiceAccount\n"
        "metadata: {name: b, labels: {ticket: OPS-3}}\n"
    )
    objs = by_address(parse_bytes(text.encode()))
    assert objs["ServiceAccount/a"].metadata == {}
    assert objs["ServiceAccount/b"].metadata == {"owner": "team-b", "ticket": "OPS-3"}
    assert objs["ServiceAccount/b"].location.start_line == 8


# -- problems ------------------------------------------------------------------------------------


def test_malformed_yaml_keeps_earlier_documents() -> None:
    result = parse_fixture("malformed.yaml")
    assert spans(result) == [("ServiceAccount/before-the-error", "service_account", 1, 4)]
    (problem,) = result.problems
    assert problem.rule_id == "NHI901"
    assert problem.line == 11
    assert problem.path == "k8s/malformed.yaml"
    assert problem.message == (
        "k8s/malformed.yaml: YAML syntax error at line 11: did not find expected ',' or '}' "
        "(while parsing a flow mapping)"
    )


def test_error_at_end_of_stream_is_placed_on_the_last_line() -> None:
    (problem,) = parse_bytes(b"kind: ServiceAccount\nmetadata:\n  labels: [unclosed\n\n").problems
    assert (problem.rule_id, problem.line) == ("NHI901", 3)


def test_helm_template_is_a_syntax_problem() -> None:
    text = b"apiVersion: v1\nkind: Secret\nmetadata:\n  name: {{ .Values.name }}\n  {{- if .x }}\n"
    result = parse_bytes(text)
    assert result.objects == ()
    assert [p.rule_id for p in result.problems] == ["NHI901"]


def test_alias_bomb_is_refused() -> None:
    result = parse_bytes(BOMB.encode())
    assert result.objects == ()
    (problem,) = result.problems
    assert problem.rule_id == "NHI903"
    assert "alias expansion over budget" in problem.message
    assert problem.message.startswith("inline.yaml: ")


def test_alias_bomb_in_a_later_document_keeps_the_earlier_ones() -> None:
    text = "kind: ServiceAccount\nmetadata: {name: ok}\n---\n" + BOMB
    result = parse_bytes(text.encode())
    assert spans(result) == [("ServiceAccount/ok", "service_account", 1, 2)]
    assert [(p.rule_id, p.line) for p in result.problems] == [("NHI903", 4)]


def test_cyclic_alias_is_refused() -> None:
    for text in ("kind: ServiceAccount\nloop: &x [*x]\n", "kind: Role\nrules: &r\n  - *r\n"):
        result = parse_bytes(text.encode())
        assert result.objects == ()
        (problem,) = result.problems
        assert problem.rule_id == "NHI901"
        assert "cyclic alias" in problem.message


def test_shared_aliases_within_budget_are_fine() -> None:
    text = (
        "kind: Role\n"
        "metadata: {name: r, labels: &l {owner: team-a}}\n"
        "rules:\n"
        "  - &rule {apiGroups: [''], resources: [pods], verbs: [get]}\n"
        "  - *rule\n"
    )
    (role,) = parse_bytes(text.encode()).objects
    assert role.metadata == {"owner": "team-a"}
    assert role.privileges == (Grant("get", "/pods", line=4),)  # an alias shares the anchor's line


@pytest.mark.parametrize(
    "text",
    [
        "[" * 10_000 + "]" * 10_000,
        "{a: " * 10_000 + "1" + "}" * 10_000,
        "- " * 10_000 + "x\n",
        "kind: ServiceAccount\nx: " + "[" * 300 + "]" * 300 + "\n",
    ],
    ids=["flow-seq", "flow-map", "compact-block", "just-over"],
)
def test_deep_nesting_is_refused_without_recursion(text: str) -> None:
    result = parse_bytes(text.encode())
    assert result.objects == ()
    (problem,) = result.problems
    assert problem.rule_id == "NHI903"
    assert "nesting deeper than 256 levels" in problem.message


def test_nesting_through_aliases_is_bounded() -> None:
    text = "l0: &l0 [1]\n" + "".join(f"l{i}: &l{i} [*l{i - 1}]\n" for i in range(1, 300))
    (problem,) = parse_bytes(text.encode()).problems
    assert problem.rule_id == "NHI903"


def test_not_utf8_is_nhi902_with_line() -> None:
    result = parse_bytes(b"kind: Secret\nmetadata:\n  name: caf\xe9\n")
    assert result.objects == ()
    (problem,) = result.problems
    assert (problem.rule_id, problem.line) == ("NHI902", 3)
    assert "\xe9" not in problem.message


def test_control_character_is_nhi902() -> None:
    (problem,) = parse_bytes(b"kind: Secret\nmetadata: {name: a\x07b}\n").problems
    assert (problem.rule_id, problem.line) == ("NHI902", 2)


def test_bom_and_crlf_are_accepted() -> None:
    raw = b"\xef\xbb\xbfapiVersion: v1\r\nkind: ServiceAccount\r\nmetadata:\r\n  name: bom\r\n"
    result = parse_bytes(raw)
    assert spans(result) == [("ServiceAccount/bom", "service_account", 1, 4)]


def test_empty_and_comment_only_files() -> None:
    for raw in (b"", b"# nothing\n", b"---\n---\n", b"null\n"):
        assert parse_bytes(raw) == ParseResult()


# -- loader helpers ------------------------------------------------------------------------------


def test_loader_reads_on_key_merges_and_python_values() -> None:
    text = (
        "base: &b {x: 1, y: 2}\n"
        "on: push\n"
        "m:\n"
        "  <<: *b\n"
        "  y: 3\n"
        "yes_key: yes\n"
        "octal: 010\n"
        "when: 2024-01-01\n"
        "custom: !reference [a, b]\n"
    )
    stream = yaml_api.load_text(text, "t.yaml")
    assert stream.problem is None
    (doc,) = stream.documents
    assert yaml_api.scalar(yaml_api.get(doc, "on")) == "push"
    assert yaml_api.key_line(doc, "on") == 2
    assert yaml_api.scalar(yaml_api.get_path(doc, "m", "x")) == "1"
    assert yaml_api.get_path(doc, "m", "missing") is None
    assert yaml_api.to_python(doc) == {
        "base": {"x": 1, "y": 2},
        "on": "push",
        "m": {"x": 1, "y": 3},
        "yes_key": True,
        "octal": 8,
        "when": "2024-01-01",
        "custom": ["a", "b"],
    }


def test_to_python_budget_and_cycles_raise_a_specific_error() -> None:
    import yaml

    (doc,) = yaml.compose_all("a: &x [*x]\n", Loader=yaml_api.LOADER)
    with pytest.raises(yaml_api.YamlLimitError, match="cyclic alias"):
        yaml_api.to_python(doc)
    (doc,) = yaml.compose_all("a: &x [1, 2, 3]\nb: [*x, *x, *x]\n", Loader=yaml_api.LOADER)
    assert yaml_api.measure(doc) == (20, 4)
    with pytest.raises(yaml_api.YamlLimitError, match="alias expansion over budget"):
        yaml_api.to_python(doc, budget=10)


def test_end_lines_skip_trailing_comments_but_keep_block_scalar_text() -> None:
    text = (
        "kind: ConfigMap\n"  # 1
        "data:\n"  # 2
        "  script: |\n"  # 3
        "    echo hi\n"  # 4
        "    # part of the script\n"  # 5
        "\n"  # 6
        "# a trailing comment\n"  # 7
        "---\n"  # 8
        "items:\n"  # 9
        "  - a: 1\n"  # 10
        "    b: 2\n"  # 11
        "  - c: 3\n"  # 12
        "last: [x,\n"  # 13
        "  y]  # after\n"  # 14
    )
    stream = yaml_api.load_text(text, "t.yaml")
    first, second = stream.documents
    assert (yaml_api.line_of(first), yaml_api.end_line_of(first, stream.lines)) == (1, 5)
    assert yaml_api.end_line_of(second, stream.lines) == 14
    item = yaml_api.get_path(second, "items", 0)
    assert item is not None
    assert (yaml_api.line_of(item), yaml_api.end_line_of(item, stream.lines)) == (10, 11)


# -- catalogue and corpus ------------------------------------------------------------------------


def test_catalogue_entries_are_valid() -> None:
    catalogue = load_catalogue()
    types = catalogue.types("kubernetes")
    for required in (
        "ServiceAccount",
        "Secret",
        "Role",
        "ClusterRole",
        "RoleBinding",
        "ClusterRoleBinding",
        "CertificateSigningRequest",
        "Certificate",
        "Issuer",
        "ClusterIssuer",
        "ExternalSecret",
        "SecretStore",
        "ClusterSecretStore",
        "SealedSecret",
    ):
        assert required in types
    for type_ in types:
        entry = catalogue.get("kubernetes", type_)
        assert entry is not None and entry.source.startswith("https://")


def test_corpus_parses_without_exceptions() -> None:
    files = corpus_files()
    if not files:
        pytest.skip(f"corpus not found at {CORPUS} (../shared/corpus next to the repository)")
    catalogue = load_catalogue()
    found = 0
    for path in files:
        raw = path.read_bytes()
        rel = path.relative_to(CORPUS).as_posix()
        result = kubernetes.parse(SourceFile(rel, raw), catalogue)
        line_count = raw.count(b"\n") + 1
        for obj in result.objects:
            assert obj.kind in KINDS and obj.platform in PLATFORMS, obj
            assert 1 <= obj.location.start_line <= obj.location.end_line <= line_count, obj
            assert all(g.line is None or 1 <= g.line <= line_count for g in obj.privileges)
        for problem in result.problems:
            assert problem.rule_id in ("NHI901", "NHI902", "NHI903"), problem
            assert problem.message.startswith(rel), problem
        found += len(result.objects)
    assert found > 100
