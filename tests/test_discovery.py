"""File discovery and what `scan`/`inventory` read: gaps a hostile new-user test found, each a
silent pass before.

- a Kubernetes manifest after a long licence header (the sniff read only the first 4 KiB);
- quoted, flow-style and explicit (`? kind`) YAML keys the sniff did not accept;
- hardcoded secrets in `.tfvars`, other `.hcl` files and `variable` defaults.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import COPILOT, GitRepo

from checker.cli import main
from checker.sources.discovery import classify

ROOT = Path(__file__).resolve().parents[1]

CRB = (
    "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: ci}\n"
    "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\n"
    "subjects: [{kind: ServiceAccount, name: ci, namespace: default}]\n"
)
QUOTED = (
    '"apiVersion": "rbac.authorization.k8s.io/v1"\n"kind": "ClusterRoleBinding"\n'
    '"metadata": {"name": "ci"}\n'
    '"roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", '
    '"name": "cluster-admin"}\n'
    '"subjects": [{"kind": "ServiceAccount", "name": "ci", "namespace": "default"}]\n'
)
FLOW = (
    "{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRoleBinding, metadata: {name: ci},"
    " roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin},"
    " subjects: [{kind: ServiceAccount, name: ci, namespace: default}]}\n"
)
HEADER = "".join(f"# Licensed under the Apache License, Version 2.0, line {i} of a header\n"
                 for i in range(90))  # fmt: skip


def _agent_check(repo: GitRepo, files: dict[str, str], capsys: Any) -> tuple[int, Any]:
    repo.commit({"README.md": "x\n"})
    repo.checkout("agent", create=True)
    repo.commit(files, author=COPILOT, trailers=[("Requested-by", "Alice <alice@example.com>")])
    code = main(["check", "--repo", str(repo.path), "--base", "main", "--head", "HEAD",
                 "--format", "json"])  # fmt: skip
    return code, json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(("name", "text", "line"), [
    ("after a 5 KiB comment header", HEADER + CRB, 91),
    ("quoted keys", QUOTED, 1),
    ("flow style", FLOW, 1),
])  # fmt: skip
def test_an_agents_cluster_admin_binding_blocks_in_any_yaml_style(
    make_repo: Callable[..., GitRepo], capsys: Any, name: str, text: str, line: int
) -> None:
    code, report = _agent_check(make_repo(), {"k8s/rbac.yaml": text}, capsys)
    assert code == 1, name
    got = {(f["rule_id"], f["path"], f["start_line"], f["blocking"]) for f in report["findings"]}
    assert ("NHI101", "k8s/rbac.yaml", line, True) in got
    assert any(r == "NHI301" and p == "k8s/rbac.yaml" and b for r, p, _, b in got)


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be", "utf-32"])
def test_a_utf16_manifest_is_read_like_utf8(
    make_repo: Callable[..., GitRepo], capsys: Any, tmp_path: Path, codec: str
) -> None:
    """YAML readers (kubectl's go-yaml, YAML 1.2 §5.2) take UTF-16 with a byte-order mark, so
    an agent's cluster-admin binding saved that way must block, not pass unread."""
    # Python's utf-16 and utf-32 codecs write a byte-order mark; utf-16-be does not.
    data = (b"\xfe\xff" if codec == "utf-16-be" else b"") + (HEADER + CRB).encode(codec)
    code, report = _agent_check(make_repo(), {"k8s/rbac.yaml": data}, capsys)
    got = {(f["rule_id"], f["start_line"], f["blocking"]) for f in report["findings"]}
    assert code == 1
    assert {("NHI101", 91, True), ("NHI301", 94, True)} <= got
    (tmp_path / "crb.yaml").write_bytes(data)
    assert main(["scan", str(tmp_path / "crb.yaml"), "--format", "json"]) == 1
    scanned = json.loads(capsys.readouterr().out)["findings"]
    assert [(f["rule_id"], f["start_line"]) for f in scanned] == [("NHI301", 94)]


@pytest.mark.parametrize(("text", "kind"), [
    (b"? apiVersion\n: v1\n? kind\n: ServiceAccount\n", "kubernetes"),
    (b'"\\x61piVersion": v1\n"\\x6bind": ServiceAccount\n', "kubernetes"),
    (b"- apiVersion: v1\n  kind: List\n", "kubernetes"),
    (b"replicaCount: 1\nkind_of: 2\nmyapiVersion: 3\n", None),
    (b"image:\n  repository: nginx\n", None),
])  # fmt: skip
def test_kubernetes_sniff(text: bytes, kind: str | None) -> None:
    assert classify("deploy/x.yaml", text) == kind


def test_secrets_in_tfvars_hcl_and_variable_defaults(tmp_path: Path, capsys: Any) -> None:
    password = "Xk9mP2qL7vR4tZ8aa"
    (tmp_path / "terraform.tfvars").write_text(
        f'region = "eu-west-1"\ndb_password = "{password}"\n', encoding="utf-8")
    (tmp_path / "terragrunt.hcl").write_text(
        f'inputs = {{\n  api_token = "{password}"\n}}\n', encoding="utf-8")
    (tmp_path / "vars.tf").write_text(
        'variable "region" {\n  default = "eu-west-1"\n}\n'
        f'variable "db_password" {{\n  type    = string\n  default = "{password}"\n}}\n'
        'variable "token" {\n  default = "changeme"\n}\n'
        f'variable "api_key" {{ default = "{password}" }}\n', encoding="utf-8")
    code = main(["scan", str(tmp_path), "--format", "json"])
    out = capsys.readouterr().out
    report = json.loads(out)
    assert code == 1
    found = sorted((f["rule_id"], Path(f["path"]).name, f["start_line"])
                   for f in report["findings"])  # fmt: skip
    assert found == [
        ("NHI401", "terraform.tfvars", 2),
        ("NHI401", "terragrunt.hcl", 2),
        ("NHI401", "vars.tf", 6),
        ("NHI401", "vars.tf", 11),
    ]
    assert password not in out


def test_the_precommit_hook_passes_tfvars_files() -> None:
    manifest = (ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8")
    # Every staged text file reaches the hook (issue 12); nhi-gate picks the reader by name.
    assert re.search(r"files: '([^']+)'", manifest) is None and "types: [text]" in manifest
    for name in ("terraform.tfvars.json", "prod.auto.tfvars.json", "iam.tofu.json",
                 "terraform.tfstate", "prod.tfstate", "terraform.tfstate.backup"):
        assert classify(name, b"{}") is not None, name  # read by name, whatever the content


@pytest.mark.parametrize(("path", "fmt"), [
    ("infra/iam.tofu.json", "terraform_json"),
    ("infra/IAM.TOFU.JSON", "terraform_json"),
    ("infra/iam.tf.json", "terraform_json"),
    ("infra/terraform.tfvars.json", "terraform_vars"),
    ("infra/prod.auto.tfvars.json", "terraform_vars"),
    ("infra/prod.tfvars.json", "terraform_vars"),  # -var-file only: secrets, not module values
    ("terraform.tfstate", "terraform_state"),
    ("infra/terraform.tfstate.d/prod/terraform.tfstate", "terraform_state"),
    ("infra/prod.tfstate", "terraform_state"),
    ("infra/terraform.tfstate.backup", "terraform_state"),
    ("infra/state.json", None),
])  # fmt: skip
def test_classify_opentofu_json_tfvars_json_and_state(path: str, fmt: str | None) -> None:
    # A state file is found by name whatever it holds, even JSON that looks like a manifest.
    assert classify(path, b'{"apiVersion": "v1", "kind": "Secret", "version": 4}') == (
        fmt if fmt is not None else "kubernetes")
    assert classify(path, b'{"version": 4, "resources": []}') == fmt


def test_scan_reports_state_files_and_secrets_in_tfvars_json(tmp_path: Path, capsys: Any) -> None:
    password = "Xk9mP2qL7vR4tZ8aa"
    state = ('{\n  "version": 4,\n  "outputs": {},\n  "resources": [\n    {"type": '
             f'"random_password", "instances": [{{"attributes": {{"password": "{password}"}}}}]}}'
             '\n  ]\n}\n')
    (tmp_path / "infra").mkdir()
    (tmp_path / "infra" / "terraform.tfstate").write_text(state, encoding="utf-8")
    (tmp_path / "infra" / "terraform.tfstate.backup").write_text("{}\n", encoding="utf-8")
    (tmp_path / "infra" / "db.auto.tfvars.json").write_text(
        f'{{\n  "region": "eu-west-1",\n  "db_password": "{password}"\n}}\n', encoding="utf-8")
    code = main(["scan", str(tmp_path / "infra"), "--format", "json"])
    out = capsys.readouterr().out
    found = sorted((f["rule_id"], f["path"], f["start_line"], f["blocking"])
                   for f in json.loads(out)["findings"])  # fmt: skip
    assert (code, found) == (1, [
        ("NHI401", "db.auto.tfvars.json", 3, True),
        ("NHI408", "terraform.tfstate", 4, True),  # the top-level "resources" key
        ("NHI408", "terraform.tfstate.backup", 1, True),
    ])
    assert password not in out  # neither file's content is quoted


def test_scan_reports_symlinks_instead_of_skipping_them(tmp_path: Path, capsys: Any) -> None:
    out_dir, in_dir = tmp_path / "out", tmp_path / "in"
    out_dir.mkdir()
    in_dir.mkdir()
    (out_dir / "iam.tf").write_text('resource "aws_iam_user" "u" {\n  name = "u"\n}\n',
                                    encoding="utf-8")  # fmt: skip
    (out_dir / "notes.md").write_text("x\n", encoding="utf-8")
    (in_dir / "iam.tf").symlink_to("../out/iam.tf")
    (in_dir / "notes.md").symlink_to("../out/notes.md")
    (in_dir / "ok.yaml").write_text("a: 1\n", encoding="utf-8")
    for target, path in ((in_dir, "iam.tf"), (in_dir / "iam.tf", f"{in_dir / 'iam.tf'}")):
        code = main(["scan", str(target), "--format", "json"])
        report = json.loads(capsys.readouterr().out)
        assert code == 1
        assert [(p["rule_id"], p["path"], p["message"]) for p in report["problems"]] == [
            ("NHI902", path, f"{path}: symbolic link; links are not followed, so the file it "
                             "points to was not analysed (scan the target itself)")]
        assert [(f["rule_id"], f["path"], f["blocking"]) for f in report["findings"]] == [
            ("NHI902", path, True)]
        assert report["verdict"] == "fail"


def test_a_value_that_names_its_own_variable_is_no_secret() -> None:
    from checker.secrets import find_hardcoded

    lines = ["- name: HF_TOKEN", '  value: "HF_TOKEN"', 'api_token = "api-token"',
             'db_password = "Xk9mP2qL7vR4tZ8aa"']  # fmt: skip
    assert [(h.line, h.key) for h in find_hardcoded(lines)] == [(4, "db_password")]


def test_inventory_takes_several_paths_like_scan(
    tmp_path: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "infra").mkdir()
    (tmp_path / "k8s").mkdir()
    (tmp_path / "infra" / "a.tf").write_text('resource "aws_iam_user" "u" {\n  name = "u"\n}\n',
                                             encoding="utf-8")  # fmt: skip
    (tmp_path / "k8s" / "sa.yaml").write_text(
        "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: x}\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["inventory", "infra", "k8s", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)["identities"]
    assert [(r["path"], r["address"]) for r in rows] == [
        ("infra/a.tf", "aws_iam_user.u"), ("k8s/sa.yaml", "ServiceAccount/x")]
