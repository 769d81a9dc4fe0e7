"""A chart template condition on the clock or on chance (`now`, `randInt`, `uuidv4`: issue 12,
access paths) is NHI107 at its line like one on the release context: an error for an agent
whatever the render picked (so the verdict does not change from run to run), a note for a
person; a random fallback value (`default (randAlphaNum 8)`) is no condition. Real temp git
repos through `cli.main` with a real `helm`."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from conftest import HUMAN, GitRepo
from test_render_helm_context import AGENT, BINDING, _run, needs_helm

from checker.sources.render.helm_context import context_conditions

NOW = ('{{ if gt (now | date "20060102" | atoi) 20261210 }}cluster-admin'
       '{{ else }}view{{ end }}')
RAND = '{{ if eq (randInt 0 2) 1 }}cluster-admin{{ else }}view{{ end }}'
UUID = '{{ ternary "cluster-admin" "view" (hasPrefix "a" uuidv4) }}'


@needs_helm
@pytest.mark.parametrize(("role", "construct"), [
    (NOW, "`now`"), (RAND, "`randInt`"), (UUID, "`uuidv4`")])
def test_agent_condition_on_clock_or_chance_blocks_on_every_run(
        role: str, construct: str, make_repo: Callable[..., GitRepo],
        capsys: pytest.CaptureFixture[str]) -> None:
    for attempt in range(3):  # randInt picks either branch: the verdict must not follow it
        code, found = _run(make_repo(f"repo{attempt}"), BINDING.format(role=role), AGENT,
                           capsys)
        assert code == 1
        assert [(f["path"], f["start_line"], f["blocking"]) for f in found] == [
            ("chart/templates/r.yaml", 4, True)]
        assert construct in found[0]["message"]
        assert "at random" in found[0]["message"]


@needs_helm
def test_human_condition_on_chance_is_a_note(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, found = _run(make_repo(), BINDING.format(role=RAND), HUMAN, capsys)
    assert [(f["start_line"], f["level"], f["blocking"]) for f in found] == [(4, "note", False)]
    assert code == 0


def test_volatile_functions_in_conditions_only() -> None:
    text = ('a: {{ .Values.password | default (randAlphaNum 16) }}\n'
            'b: {{ if .Values.now }}x{{ end }}\n'
            '{{- if or .Values.admin (gt (now | unixEpoch) 1800000000) }}\n'
            'c: {{ include "randInt" . }}\n'
            '{{- with (shuffle "ab") }}{{ . }}{{ end }}\n')
    found = [(c.line, c.keyword, c.constructs, c.volatile) for c in context_conditions(text)]
    assert found == [(3, "if", ("now",), True), (5, "with", ("shuffle",), True)]
