"""A private-key header whose block holds no key material (a placeholder in documentation) is
no hardcoded key; a real key in the same shape still is (external-secrets' CRD bundle)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from checker.cli import main
from checker.secrets import find_hardcoded

#: 192 base64 characters in three 64-character lines, built here so no key-shaped literal sits
#: in the repository.
BODY = base64.b64encode(bytes(range(7, 151))).decode()
LINES = [BODY[i:i + 64] for i in range(0, len(BODY), 64)]
HEADER, FOOTER = "-----BEGIN " + "PRIVATE KEY-----", "-----END " + "PRIVATE KEY-----"


def one_line(body: str) -> str:
    """The shape of external-secrets' deploy/crds/bundle.yaml:6244 (a JSON string in a CRD
    description)."""
    return f'"private-key": "{HEADER}\\n{body}\\n{FOOTER}\\n",'


def block(body_lines: list[str]) -> list[str]:
    return ["key: |", f"  {HEADER}", *(f"  {b}" for b in body_lines), f"  {FOOTER}"]


def keys(lines: list[str]) -> list[int]:
    return [h.line for h in find_hardcoded(lines) if h.detector == "Private Key"]


@pytest.mark.parametrize("body", ["<private-key>", "...", "xxx", "REDACTED", "",
                                  "MIIEvQIBADANBgkqhkiG9w0...", "x" * 64])
def test_a_placeholder_body_is_no_private_key(body: str) -> None:
    assert keys(["data:", "  " + one_line(body)]) == []
    assert keys(block([body] if body else [])) == []


def test_a_real_key_in_the_same_shapes_still_fires() -> None:
    assert keys(["data:", "  " + one_line("\\n".join(LINES))]) == [2]
    assert keys(block(LINES)) == [2]
    # no END line within reach: kept (fail closed)
    assert keys(block(["<private-key>"])[:-1]) == [2]


def test_scan_of_a_crd_description_placeholder_passes(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    crd = ("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
           "metadata:\n  name: stores.example.io\nspec:\n  group: example.io\n"
           "  description: |-\n    Example: {\n      " + one_line("<private-key>") + "\n    }\n")
    (tmp_path / "crd.yaml").write_text(crd)
    assert main(["scan", str(tmp_path), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["findings"] == []
    (tmp_path / "crd.yaml").write_text(crd.replace("<private-key>", "\\n".join(LINES)))
    assert main(["scan", str(tmp_path), "--format", "json"]) == 1
    found = json.loads(capsys.readouterr().out)["findings"]
    assert [(f["rule_id"], f["start_line"]) for f in found] == [("NHI401", 9)]
