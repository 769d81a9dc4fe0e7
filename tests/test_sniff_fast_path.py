"""`manifests.plain_manifest`, the sniff's way to read a file as a manifest without composing its
YAML, must give the sniff's answer: on every YAML file of the corpus and the fixtures the sniff
with the fast path equals the sniff without it."""

from __future__ import annotations

from pathlib import Path

import pytest

from checker.sources import discovery, manifests

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"


def _yaml_files() -> list[Path]:
    roots = [ROOT / "fixtures", *([CORPUS] if CORPUS.is_dir() else [])]
    return [p for root in roots for p in sorted(root.rglob("*"))
            if p.suffix in (".yaml", ".yml") and p.is_file() and not p.is_symlink()]


def test_fast_path_gives_the_full_sniff(monkeypatch: pytest.MonkeyPatch) -> None:
    files = _yaml_files()
    fast = [discovery.sniff(p.name, p.read_bytes()) for p in files]
    monkeypatch.setattr(discovery, "plain_manifest", lambda text: False)
    full = [discovery.sniff(p.name, p.read_bytes()) for p in files]
    differ = [(str(p), a, b) for p, a, b in zip(files, fast, full, strict=True) if a != b]
    assert differ == []
    taken = sum(manifests.plain_manifest(p.read_text(errors="replace")) for p in files)
    assert taken > (200 if CORPUS.is_dir() else 5)  # the fast path is used


@pytest.mark.parametrize("text,plain", [
    ("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: a\n", True),
    ("apiVersion: v1\n---\nkind: ServiceAccount\n", False),  # two documents, one key each
    ("kind: ServiceAccount\napiVersion: {{ .Values.api }}\n", False),  # a template: full parse
    ("spec:\n  apiVersion: v1\n  kind: X\n", False),  # nested keys: full parse
])
def test_plain_manifest(text: str, plain: bool) -> None:
    assert manifests.plain_manifest(text) is plain
