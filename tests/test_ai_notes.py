"""git-ai authorship notes (`refs/notes/ai`, Git AI Standard v3.0.0) as line-level evidence.

Real repositories: a human-authored commit adds a GCP service account and key; a note written
with `git notes --ref=ai add -m ...` in the spec's format says which lines an AI wrote. Spec:
https://github.com/git-ai-project/git-ai/blob/main/specs/git_ai_standard_v3.0.0.md
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import COPILOT, HUMAN, WEB_FLOW, GitRepo

from checker import git as cg
from checker.change import ChangedFile, ChangeSet, Evidence, Provenance
from checker.cli import main
from checker.git import notes as git_notes
from checker.provenance import ai_notes

# Lines 1-4: the service account; 5: blank; 6-8: the key.
GCP_SA_AND_KEY = """\
resource "google_service_account" "deployer" {
  account_id   = "ci-deployer"
  display_name = "CI deployer"
}

resource "google_service_account_key" "deployer" {
  service_account_id = google_service_account.deployer.name
}
"""
SESSION = "s_c9883b05a2487d"
TRACE = "t_9f8e7d6c5b4a32"
LEGACY = "abcd1234abcd1234"
HUMAN_KEY = "h_31dce776f88375"
MODEL = "claude-sonnet-4-5-20250514"
SCHEMA = Path(__file__).resolve().parents[2] / "shared" / "schemas" / "sarif-schema-2.1.0.json"


def metadata(**extra: Any) -> str:
    meta: dict[str, Any] = {
        "schema_version": "authorship/3.0.0",
        "git_ai_version": "1.4.5",
        "base_commit_sha": "7734793b756b3921c88db5375a8c156e9532447b",
        "prompts": {},
        "sessions": {
            SESSION: {
                "agent_id": {"tool": "claude", "id": "conv_abc123", "model": MODEL},
                "human_author": "alice@example.com",
            }
        },
    }
    meta.update(extra)
    return json.dumps(meta, indent=2)


def note(attestations: str, **extra: Any) -> str:
    """A note in the spec's sessions format (§1.2.5): attestation lines, `---`, JSON."""
    return f"{attestations.rstrip()}\n---\n{metadata(**extra)}\n"


def ai_key_note(path: str = "infra/ci.tf", lines: str = "6-8") -> str:
    return note(f"{path}\n  {SESSION}::{TRACE} {lines}")


def add_note(repo: GitRepo, sha: str, text: str) -> None:
    repo.git("notes", "--ref=ai", "add", "-m", text, sha)


def human_adds_key(make_repo: Callable[..., GitRepo]) -> tuple[GitRepo, str, str]:
    repo = make_repo()
    base = repo.commit({"README.md": "# infra\n"}, author=HUMAN)
    head = repo.commit({"infra/ci.tf": GCP_SA_AND_KEY}, author=HUMAN, message="Add CI deployer")
    return repo, base, head


def run_check(repo: GitRepo, base: str, head: str, tmp_path: Path,
              capsys: pytest.CaptureFixture[str]) -> tuple[int, list[dict[str, Any]],
                                                         dict[str, Any], str]:
    sarif = tmp_path / "out.sarif"
    code = main(["check", "--repo", str(repo.path), "--base", base, "--head", head,
                 "--format", "json", "--sarif", str(sarif)])
    captured = capsys.readouterr()
    log = json.loads(sarif.read_text(encoding="utf-8"))
    return code, json.loads(captured.out)["findings"], log, captured.err


def nhi101(findings: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {f["address"]: f for f in findings if f["rule_id"] == "NHI101"}


def annotated(repo: GitRepo, base: str, head: str) -> dict[str, ChangedFile]:
    """The check command's changeset after notes, by path."""
    from checker.commands.check import with_ai_notes

    with cg.repo_session(repo.path) as r:
        cs = with_ai_notes(r, cg.build_changeset(r, base, head))
    return {cf.path: cf for cf in cs.files}


# --------------------------------------------------------------------------------------------
# End to end: `nhi-gate check`


def test_note_on_human_commit_makes_key_lines_agent(
        make_repo: Callable[..., GitRepo], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    repo, base, head = human_adds_key(make_repo)
    add_note(repo, head, ai_key_note())
    assert repo.git("notes", "--ref=ai", "show", head).startswith(
        f"infra/ci.tf\n  {SESSION}::{TRACE} 6-8\n---\n")  # -m kept the 2-space indent

    code, findings, log, err = run_check(repo, base, head, tmp_path, capsys)

    assert code == 1
    assert "ignored" not in err
    found = nhi101(findings)
    assert set(found) == {"google_service_account_key.deployer"}  # the SA lines stay human
    key = found["google_service_account_key.deployer"]
    assert (key["actor_kind"], key["agent"], key["commit"], key["start_line"], key["blocking"]) \
        == ("agent", f"git-ai: claude/{MODEL}", head, 6, True)
    assert "was created by agent (git-ai: claude/" in key["message"]
    sa = [f for f in findings if f["address"] == "google_service_account.deployer"]
    assert sa and {f["actor_kind"] for f in sa} == {"human"}
    assert not any(f["blocking"] for f in sa)
    [result] = [r for r in log["runs"][0]["results"] if r["ruleId"] == "NHI101"]
    assert result["properties"]["actor_kind"] == "agent"
    assert result["properties"]["agent"] == f"git-ai: claude/{MODEL}"
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 6
    if SCHEMA.is_file():
        import jsonschema

        jsonschema.validate(log, json.loads(SCHEMA.read_text(encoding="utf-8")))

    cf = annotated(repo, base, head)["infra/ci.tf"]
    assert sorted(cf.ai_lines) == [6, 7, 8]
    prov = cf.ai_lines[6]
    assert (prov.commit, prov.actor_kind) == (head, "agent")
    assert prov.evidence == (Evidence(
        "git-ai-notes", "note", f"refs/notes/ai {SESSION}::{TRACE} (claude/{MODEL})", "strong"),)


def test_same_commit_without_note_is_human_and_passes(
        make_repo: Callable[..., GitRepo], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    repo, base, head = human_adds_key(make_repo)
    code, findings, _, err = run_check(repo, base, head, tmp_path, capsys)
    assert code == 0
    assert findings and {f["actor_kind"] for f in findings} == {"human"}
    assert not nhi101(findings)
    assert err == ""
    assert all(not cf.ai_lines for cf in annotated(repo, base, head).values())


def test_note_marking_other_lines_only_changes_nothing(
        make_repo: Callable[..., GitRepo], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({"README.md": "# infra\n"}, author=HUMAN)
    head = repo.commit({"infra/ci.tf": GCP_SA_AND_KEY, "docs/ci.md": "one\ntwo\nthree\n"},
                       author=HUMAN)
    # AI wrote the docs and the blank line between the two identities; nothing else.
    add_note(repo, head, note(f"docs/ci.md\n  {SESSION}::{TRACE} 1-3\n"
                              f"infra/ci.tf\n  {SESSION}::{TRACE} 5"))
    code, findings, _, err = run_check(repo, base, head, tmp_path, capsys)
    assert code == 0
    assert "ignored" not in err
    assert not nhi101(findings)
    assert {f["actor_kind"] for f in findings} == {"human"}
    files = annotated(repo, base, head)
    assert sorted(files["infra/ci.tf"].ai_lines) == [5]  # read, but inside no identity
    assert sorted(files["docs/ci.md"].ai_lines) == [1, 2, 3]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (ai_key_note().replace("---\n", ""), "no `---` line"),
        (f"infra/ci.tf\n  {SESSION}::{TRACE} 6-8\n---\n{{not json", "not valid JSON"),
        (note(f"infra/ci.tf\n  s_00000000000000::{TRACE} 6-8"), "is not in metadata `sessions`"),
        (note(f"infra/ci.tf\n  {SESSION}::{TRACE} 8-6"), "empty or not 1-based"),
        (note(f"infra/ci.tf\n  {SESSION}::{TRACE} 6-8", schema_version="authorship/2.0.0"),
         "metadata schema_version"),
    ],
    ids=["no-divider", "bad-json", "unknown-session", "reversed-range", "old-schema"],
)
def test_malformed_note_is_ignored_with_a_reason(
        make_repo: Callable[..., GitRepo], tmp_path: Path,
        capsys: pytest.CaptureFixture[str], text: str, reason: str) -> None:
    repo, base, head = human_adds_key(make_repo)
    add_note(repo, head, text)
    code, findings, _, err = run_check(repo, base, head, tmp_path, capsys)
    assert code == 0
    assert not nhi101(findings)
    assert {f["actor_kind"] for f in findings} == {"human"}
    assert f"git-ai note (refs/notes/ai) on commit {head[:12]} ignored: " in err
    assert reason in err


def test_note_on_commit_outside_the_range_is_ignored(
        make_repo: Callable[..., GitRepo], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({"README.md": "# infra\n"}, author=HUMAN)
    repo.checkout("side", create=True)
    side = repo.commit({"infra/ci.tf": GCP_SA_AND_KEY}, author=HUMAN)  # same file, same lines
    repo.checkout("main")
    head = repo.commit({"infra/ci.tf": GCP_SA_AND_KEY}, author=HUMAN)
    add_note(repo, base, ai_key_note())
    add_note(repo, side, ai_key_note())
    code, findings, _, err = run_check(repo, base, head, tmp_path, capsys)
    assert code == 0
    assert not nhi101(findings)
    assert err == ""
    with cg.repo_session(repo.path) as r:
        assert cg.read_ai_notes(r, [head]) == {}
        assert set(cg.read_ai_notes(r, [base, side, head])) == {base, side}


def test_lines_shifted_and_rewritten_by_a_later_human_commit(
        make_repo: Callable[..., GitRepo], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({"README.md": "# infra\n"}, author=HUMAN)
    noted = repo.commit({"infra/ci.tf": GCP_SA_AND_KEY}, author=HUMAN)
    add_note(repo, noted, ai_key_note())
    # A human later prepends three lines and rewrites the key's closing brace line.
    shifted = "# CI\n# identities\n\n" + GCP_SA_AND_KEY.replace(
        "deployer.name\n}\n", "deployer.name\n} # reviewed\n")
    head = repo.commit({"infra/ci.tf": shifted}, author=HUMAN)
    cf = annotated(repo, base, head)["infra/ci.tf"]
    assert sorted(cf.ai_lines) == [9, 10]  # old 6-7 moved down by 3; old 8 rewritten (11)
    assert cf.line_commits[11] == head
    code, findings, _, _ = run_check(repo, base, head, tmp_path, capsys)
    assert code == 1
    key = nhi101(findings)["google_service_account_key.deployer"]
    assert (key["actor_kind"], key["commit"], key["start_line"]) == ("agent", noted, 9)
    assert set(nhi101(findings)) == {"google_service_account_key.deployer"}


def test_file_renamed_after_the_noted_commit(
        make_repo: Callable[..., GitRepo], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({"README.md": "# infra\n"}, author=HUMAN)
    noted = repo.commit({"infra/ci.tf": GCP_SA_AND_KEY}, author=HUMAN)
    add_note(repo, noted, ai_key_note())
    head = repo.commit({"infra/gcp.tf": "# moved\n" + GCP_SA_AND_KEY, "infra/ci.tf": None},
                       author=HUMAN)
    cf = annotated(repo, base, head)["infra/gcp.tf"]
    assert sorted(cf.ai_lines) == [7, 8, 9]
    code, findings, _, _ = run_check(repo, base, head, tmp_path, capsys)
    assert code == 1
    assert nhi101(findings)["google_service_account_key.deployer"]["commit"] == noted


def test_merge_in_range_legacy_note(
        make_repo: Callable[..., GitRepo], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({"README.md": "# infra\n"}, author=HUMAN)
    repo.checkout("feature", create=True)
    noted = repo.commit({"infra/ci.tf": GCP_SA_AND_KEY}, author=HUMAN)
    legacy = note(f"infra/ci.tf\n  {LEGACY} 6-8", sessions={}, prompts={LEGACY: {
        "agent_id": {"tool": "cursor", "id": "6ef2299e", "model": "gpt-4"},
        "human_author": "Alice <alice@example.com>",
        "total_additions": 3, "total_deletions": 0, "accepted_lines": 3, "overriden_lines": 0}})
    add_note(repo, noted, legacy)
    repo.checkout("main")
    repo.commit({"README.md": "# infra\n\nmore\n"}, author=HUMAN)
    head = repo.merge("feature")
    code, findings, _, _ = run_check(repo, base, head, tmp_path, capsys)
    assert code == 1
    key = nhi101(findings)["google_service_account_key.deployer"]
    assert (key["actor_kind"], key["agent"], key["commit"]) == ("agent", "git-ai: cursor/gpt-4",
                                                                 noted)


def test_human_key_never_lowers_an_agent_commit(
        make_repo: Callable[..., GitRepo], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({"README.md": "# infra\n"}, author=HUMAN)
    head = repo.commit({"infra/ci.tf": GCP_SA_AND_KEY}, author=COPILOT, committer=WEB_FLOW)
    add_note(repo, head, note(f"infra/ci.tf\n  {HUMAN_KEY} 1-8", sessions={},
                              humans={HUMAN_KEY: {"author": "Alice <alice@example.com>"}}))
    code, findings, _, err = run_check(repo, base, head, tmp_path, capsys)
    assert code == 1
    assert "ignored" not in err
    found = nhi101(findings)
    assert set(found) == {"google_service_account.deployer", "google_service_account_key.deployer"}
    assert {f["agent"] for f in found.values()} == {"GitHub Copilot coding agent"}


def test_unreadable_notes_ref_is_reported_and_ignored(
        make_repo: Callable[..., GitRepo], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    repo, base, head = human_adds_key(make_repo)
    blob = repo.git("hash-object", "-w", "--stdin", input=b"not a notes tree\n")
    repo.git("update-ref", "refs/notes/ai", blob)
    code, findings, _, err = run_check(repo, base, head, tmp_path, capsys)
    assert code == 0
    assert "refs/notes/ai ignored:" in err
    assert {f["actor_kind"] for f in findings} == {"human"}


# --------------------------------------------------------------------------------------------
# git access


def test_read_ai_notes_absent_ref_and_size_cap(make_repo: Callable[..., GitRepo]) -> None:
    repo, base, head = human_adds_key(make_repo)
    with cg.repo_session(repo.path) as r:
        assert cg.read_ai_notes(r, [base, head]) == {}
    add_note(repo, head, ai_key_note())
    repo.git("notes", "add", "-m", "default notes ref is not read", base)
    with cg.repo_session(repo.path) as r:
        notes = cg.read_ai_notes(r, [base, head])
        assert set(notes) == {head}
        assert notes[head] == (ai_key_note()).encode()
        assert cg.read_ai_notes(r, [head], max_bytes=10) == {head: None}
    assert isinstance(ai_notes.parse_note(head, None), ai_notes.NoteProblem)


def test_read_ai_notes_is_one_git_call(
        make_repo: Callable[..., GitRepo], monkeypatch: pytest.MonkeyPatch) -> None:
    repo = make_repo()
    shas = [repo.commit({f"f{i}.txt": f"{i}\n"}) for i in range(5)]
    for sha in shas:
        add_note(repo, sha, ai_key_note())
    calls: list[str] = []
    real = git_notes.run_git

    def counting(r: object, *args: str, **kw: Any) -> bytes:
        calls.append(args[0])
        return real(r, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(git_notes, "run_git", counting)
    with cg.repo_session(repo.path) as r:
        assert set(cg.read_ai_notes(r, shas)) == set(shas)
        calls_for_notes = list(calls)
        calls.clear()
        deltas = cg.diffs_to_head(r, shas[-1], shas, [f"f{i}.txt" for i in range(5)])
    assert calls_for_notes == ["notes"]
    assert calls == ["rev-parse", "diff-tree"]
    # each older commit differs from head by the files added after it
    assert {s: sorted(d.new_path or "" for d in ds) for s, ds in deltas.items()} == {
        shas[0]: ["f1.txt", "f2.txt", "f3.txt", "f4.txt"],
        shas[1]: ["f2.txt", "f3.txt", "f4.txt"],
        shas[2]: ["f3.txt", "f4.txt"],
        shas[3]: ["f4.txt"],
    }
    assert all(d.old_path is None and d.hunks == ((0, 0, 1, 1),) for d in deltas[shas[3]])


def test_diffs_to_head_renames_and_hunks(make_repo: Callable[..., GitRepo]) -> None:
    repo = make_repo()
    c1 = repo.commit({"a.txt": "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n", "b.bin": b"\x00\x01"})
    head = repo.commit({"a.txt": None, "c.txt": "0\n1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n",
                        "b.bin": b"\x00\x02"})
    with cg.repo_session(repo.path) as r:
        deltas = cg.diffs_to_head(r, head, [c1, head], ["a.txt", "b.bin", "c.txt"])
    assert set(deltas) == {c1}
    by_new = {d.new_path: d for d in deltas[c1]}
    assert by_new["c.txt"] == cg.FileDelta("a.txt", "c.txt", ((0, 0, 1, 1),))
    # `--text`: binary content is diffed as text, so a `.gitattributes` in the change
    # (`*.tf binary`) cannot hide lines.
    assert by_new["b.bin"] == cg.FileDelta("b.bin", "b.bin", ((1, 1, 1, 1),))


# --------------------------------------------------------------------------------------------
# Parser and line mapping (pure)


def test_parse_sessions_legacy_human_and_quoted_paths() -> None:
    text = (
        f'src/main.rs\n  {SESSION}::{TRACE} 1-10,15-20\n  {HUMAN_KEY} 42-50\n'
        f'"src/my file.rs"\n  {LEGACY} 1-50\n  abcdef1 7\n'
    )
    meta = metadata(
        prompts={
            LEGACY: {"agent_id": {"tool": "cursor", "id": "x", "model": "gpt-4"}},
            "abcdef1": {"agent_id": {"tool": "copilot\x1b[31m", "id": "y"}},
        },
        humans={HUMAN_KEY: {"author": "Developer <dev@example.com>"}},
    )
    log = ai_notes.parse_note("c" * 40, f"{text}---\n{meta}\n".encode())
    assert isinstance(log, ai_notes.AuthorshipLog)
    assert [(a.path, a.key, a.ranges, a.actor, a.tool, a.model) for a in log.attestations] == [
        ("src/main.rs", f"{SESSION}::{TRACE}", ((1, 10), (15, 20)), "agent", "claude", MODEL),
        ("src/main.rs", HUMAN_KEY, ((42, 50),), "human", None, None),
        ("src/my file.rs", LEGACY, ((1, 50),), "agent", "cursor", "gpt-4"),
        ("src/my file.rs", "abcdef1", ((7, 7),), "agent", "copilot__31m", None),
    ]


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\xff\xfe", "not UTF-8"),
        (b"src/a.tf\n  0123456789abcdef 1\n", "no `---` line"),
        (f"  {SESSION}::{TRACE} 1\n---\n{metadata()}".encode(), "before any file path"),
        (f"a.tf\n   {SESSION}::{TRACE} 1\n---\n{metadata()}".encode(), "2-space"),
        (f"a.tf\n\t{SESSION}::{TRACE} 1\n---\n{metadata()}".encode(), "2-space"),
        (f'"a b.tf\n  {SESSION}::{TRACE} 1\n---\n{metadata()}'.encode(), "unterminated"),
        (f"a.tf\n  {SESSION}::{TRACE} 0\n---\n{metadata()}".encode(), "not 1-based"),
        (f"a.tf\n  {SESSION}::{TRACE} 1,,2\n---\n{metadata()}".encode(), "is not N or N-M"),
        (f"a.tf\n  {SESSION}::{TRACE} 1-9999999999\n---\n{metadata()}".encode(), "not N or N-M"),
        (f"a.tf\n  {SESSION} 1\n---\n{metadata()}".encode(), "legacy hex key"),
        (f"a.tf\n  XYZ 1\n---\n{metadata()}".encode(), "legacy hex key"),
        (f"a.tf\n  {LEGACY} 1\n---\n{metadata()}".encode(), "not in metadata `prompts`"),
        (f"a.tf\n  {HUMAN_KEY} 1\n---\n{metadata()}".encode(), "not in metadata `humans`"),
        (b"a.tf\n---\n[1, 2]", "metadata (top level)"),
        (b"a.tf\n---\n" + b"[" * 100000, "not valid JSON"),
        (f"a.tf\n---\n{metadata(prompts=[])}".encode(), "metadata prompts"),
        (f"a.tf\n---\n{metadata(schema_version=3)}".encode(), "metadata schema_version"),
        (f"a.tf\n---\n{metadata(sessions={SESSION: {'agent_id': {}}})}".encode(),
         f"metadata sessions/{SESSION}/agent_id"),
        (f"a.tf\n---\n{metadata(sessions={'s_bad': {'agent_id': {'tool': 'x'}}})}".encode(),
         "metadata sessions"),
    ],
)
def test_malformed_notes_give_a_reason_never_an_exception(raw: bytes, reason: str) -> None:
    problem = ai_notes.parse_note("f" * 40, raw)
    assert isinstance(problem, ai_notes.NoteProblem), problem
    assert reason in problem.reason
    assert str(problem).startswith(f"git-ai note (refs/notes/ai) on commit {'f' * 12} ignored: ")


def test_empty_attestation_section_and_crlf_are_valid() -> None:
    log = ai_notes.parse_note("a" * 40, f"---\r\n{metadata()}".encode())
    assert isinstance(log, ai_notes.AuthorshipLog) and log.attestations == ()
    crlf = ai_key_note().replace("\n", "\r\n").encode()
    log = ai_notes.parse_note("a" * 40, crlf)
    assert isinstance(log, ai_notes.AuthorshipLog)
    assert log.attestations[0].ranges == ((6, 8),)


def _file(line_commits: dict[int, str], path: str = "f.tf") -> ChangedFile:
    lines = sorted(line_commits)
    return ChangedFile(path=path, status="M", added_lines=tuple((n, n) for n in lines),
                       line_commits=line_commits)


def test_ai_lines_need_the_introducing_commit_and_unchanged_lines() -> None:
    c, d = "c" * 40, "d" * 40
    log = ai_notes.parse_note(c, note(f"f.tf\n  {SESSION}::{TRACE} 2-4,100").encode())
    assert isinstance(log, ai_notes.AuthorshipLog)
    # d (after c) inserted 2 lines at the top and rewrote c's line 3 (head line 5).
    deltas = {c: (cg.FileDelta("f.tf", "f.tf", ((0, 0, 1, 2), (3, 1, 5, 1))),)}
    cf = _file({1: d, 2: d, 4: c, 5: d, 6: c, 7: c})
    got = ai_notes.ai_lines(cf, {c: log}, deltas)
    assert sorted(got) == [4, 6]  # head 4 = c's 2, head 6 = c's 4; c's 3 was rewritten by d
    assert all(p.commit == c and p.actor_kind == "agent" for p in got.values())
    # no note for the commit that introduced the line: nothing
    assert ai_notes.ai_lines(_file({4: d}), {c: log}, deltas) == {}
    # the note is on head (no deltas needed): identity mapping
    assert sorted(ai_notes.ai_lines(_file({2: c, 3: c, 9: c}), {c: log}, {})) == [2, 3]
    # the file was deleted / is a different file at c
    gone = {c: (cg.FileDelta("f.tf", "g.tf", ()),)}
    assert ai_notes.ai_lines(_file({2: c}), {c: log}, gone) == {}
    binary = {c: (cg.FileDelta("f.tf", "f.tf", (), opaque=True),)}
    assert ai_notes.ai_lines(_file({2: c}), {c: log}, binary) == {}


def test_annotate_and_overlapping_sessions() -> None:
    c = "c" * 40
    other = "s_e7f2a90b31cc48"
    sessions = {
        SESSION: {"agent_id": {"tool": "claude", "model": MODEL}},
        other: {"agent_id": {"tool": "codex"}},
    }
    log = ai_notes.parse_note(c, note(
        f"f.tf\n  {SESSION}::{TRACE} 3-5\n  {other}::{TRACE} 1-4", sessions=sessions).encode())
    assert isinstance(log, ai_notes.AuthorshipLog)
    cs = ChangeSet(base="b" * 40, head=c, files=(_file({n: c for n in range(1, 7)}),))
    out = ai_notes.annotate(cs, {c: log}, {})
    got = out.files[0].ai_lines
    assert {n: p.agent for n, p in got.items()} == {
        1: "git-ai: codex", 2: "git-ai: codex", 3: "git-ai: codex", 4: "git-ai: codex",
        5: f"git-ai: claude/{MODEL}",
    }
    assert ai_notes.annotate(cs, {}, {}) is cs
    assert isinstance(got[1], Provenance)
