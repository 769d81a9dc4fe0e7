"""Files over the size budget in a change (issue 12 slice): never silent, and judged by who
changed them. An agent's 2.8 MB CSV with a GitHub token in it passed with no finding (a text
file over the 2 MiB cap was skipped); a person's commit growing a 2 MB install manifest (argo-cd
`manifests/ha/install-with-hydrator.yaml`, 1,998,630 bytes) past the cap was a blocking NHI903.
Now any file over the cap is NHI903 (blocking for an agent, a note for a person), and a text
file no parser reads is still searched for token shapes line by line."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.conftest import HUMAN, GitRepo, check_findings

AGENT = ("Claude", "noreply@anthropic.com")
TOKEN = "ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
ROWS = 60_000  # about 2.9 MB, over the 2 MiB default cap


def _csv(token_row: int | None) -> str:
    rows = [f"{i},customer-{i:06d},{i * 7919 % 100000:05d},active,2026-01-01" for i in range(ROWS)]
    if token_row is not None:
        rows[token_row] += f",{TOKEN}"
    return "id,name,zip,status,since\n" + "\n".join(rows) + "\n"


def _manifest(documents: int) -> str:
    one = ("---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{n}\n  namespace: argocd\n"
           "data:\n  note: \"" + "x" * 200 + "\"\n")
    return "".join(one.format(n=n) for n in range(documents))


def test_an_agents_large_csv_is_nhi903_and_its_token_is_found(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({"README.md": "data\n"})
    repo.commit({"data/sample.csv": _csv(30_114)}, author=AGENT, message="sample data")
    code, findings = check_findings(repo, base, capsys)
    rows = sorted((f["rule_id"], f["path"], f["start_line"], f["level"], f["blocking"])
                  for f in findings)
    assert rows == [("NHI401", "data/sample.csv", 30_116, "error", True),
                    ("NHI903", "data/sample.csv", 1, "error", True)]  # was: no finding at all
    assert code == 1


def test_a_persons_large_csv_is_a_note(make_repo: Callable[..., GitRepo],
                                       capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({"README.md": "data\n"})
    repo.commit({"data/sample.csv": _csv(None)}, author=HUMAN, message="sample data")
    code, findings = check_findings(repo, base, capsys)
    assert [(f["rule_id"], f["level"], f["blocking"]) for f in findings] == [
        ("NHI903", "note", False)]
    assert code == 0


@pytest.mark.parametrize(("author", "level", "exit_code"), [
    (HUMAN, "note", 0),  # was: error, blocking
    (AGENT, "error", 1),
])
def test_a_manifest_grown_past_the_cap_is_judged_by_who_grew_it(
        author: tuple[str, str], level: str, exit_code: int,
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({"manifests/ha/install.yaml": _manifest(5_000)})  # about 1.4 MB
    repo.commit({"manifests/ha/install.yaml": _manifest(8_000)}, author=author,
                message="regenerate manifests")
    code, findings = check_findings(repo, base, capsys)
    assert [(f["rule_id"], f["path"], f["level"]) for f in findings] == [
        ("NHI903", "manifests/ha/install.yaml", level)]
    assert code == exit_code


def test_a_large_binary_file_is_not_text(make_repo: Callable[..., GitRepo],
                                         capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({"README.md": "assets\n"})
    repo.commit({"assets/logo.bin": b"\0PNG" + bytes(range(256)) * 12_000}, author=AGENT)
    code, findings = check_findings(repo, base, capsys)
    assert (findings, code) == ([], 0)  # a binary file is never read, whatever its size
