"""`sources.worker.ParseWorker`: the forked process that loads the parsers while `hook`/`check`
read git, then parses for them (issue 7, case (c)).

Its answers must equal an in-process parse, its per-file deadline must still hold, and when it
is gone (killed, crashed, or never started) the caller must parse in-process and lose nothing.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from conftest import COPILOT, GitRepo

from checker.cli import main
from checker.model import ParseProblem, ParseResult, SourceFile
from checker.parsers import terraform
from checker.pipeline import parse_sources, start_parse, warm_parsers
from checker.policy.catalogue import load_catalogue
from checker.policy.config import Config
from checker.sources import budget
from checker.sources.worker import ParseWorker

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="ParseWorker needs os.fork")

SA_TF = 'resource "aws_iam_user" "bot" {\n  name = "bot"\n}\n'
ROLE_TF = (
    'resource "aws_iam_role_policy_attachment" "admin" {\n'
    '  role       = "deployer"\n'
    '  policy_arn = "arn:aws:iam::aws:policy/AdministratorAccess"\n'
    "}\n"
)
SA_YAML = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: deployer\n"
WORKFLOW = (
    "on: push\npermissions:\n  id-token: write\njobs:\n  d:\n    runs-on: ubuntu-latest\n"
    "    steps:\n      - uses: aws-actions/configure-aws-credentials@v4\n"
    "        with:\n          role-to-assume: arn:aws:iam::1:role/deploy\n"
)
SOURCES = [
    SourceFile("infra/iam.tf", SA_TF.encode()),
    SourceFile("infra/admin.tf", ROLE_TF.encode()),
    SourceFile("infra/broken.tf", b'resource "aws_iam_user" "x" {\n'),
    SourceFile("k8s/sa.yaml", SA_YAML.encode()),
    SourceFile(".github/workflows/deploy.yml", WORKFLOW.encode()),
    SourceFile("README.md", b"# not parsed\n"),
]


@pytest.fixture
def worker(monkeypatch: pytest.MonkeyPatch) -> Iterator[ParseWorker]:
    monkeypatch.setattr(budget, "available_cores", lambda: 2)
    started = ParseWorker.start(warm_parsers)
    assert started is not None
    with started:
        yield started


def _forever(source: SourceFile, catalogue: Any) -> ParseResult:
    while True:  # computes until its CPU-time budget runs out
        pass


def _exit_in_worker(parent: int) -> Callable[[SourceFile, Any], ParseResult]:
    return _ExitInWorker(parent)


class _ExitInWorker:
    """A parse that kills the process it runs in, unless that is the test process."""

    def __init__(self, parent: int) -> None:
        self.parent = parent

    def __call__(self, source: SourceFile, catalogue: Any) -> ParseResult:
        if os.getpid() != self.parent:
            os._exit(3)
        return ParseResult(problems=(ParseProblem(source.path, "NHI901", "parsed here", 1),))


def _no_parsing_here(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on this process cannot parse (the worker, forked before, still can)."""

    def refuse(*_: object) -> ParseResult:
        raise AssertionError("parsed in the test process, not in the worker")

    monkeypatch.setattr(budget, "parse_one", refuse)


def test_worker_answers_equal_an_in_process_parse(
    worker: ParseWorker, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalogue = load_catalogue()
    here = parse_sources(SOURCES, catalogue, Config())
    _no_parsing_here(monkeypatch)
    there = parse_sources(SOURCES, catalogue, Config(), worker=worker)
    assert there == here
    assert [o.address for o in there.objects if o.derived_from is None] == [
        "aws_iam_user.bot",
        "aws_iam_role_policy_attachment.admin",
        "ServiceAccount/deployer",
        ".github/workflows/deploy.yml#permissions",
        ".github/workflows/deploy.yml#permissions.id-token",
        ".github/workflows/deploy.yml#jobs.d.steps[0]",
    ]
    assert [(p.path, p.rule_id) for p in there.problems] == [("infra/broken.tf", "NHI901")]


def test_start_parse_returns_each_side_in_order(
    worker: ParseWorker, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalogue = load_catalogue()
    head, base = SOURCES[:3], SOURCES[3:]
    expected = [parse_sources(head, catalogue, Config()), parse_sources(base, catalogue, Config())]
    with monkeypatch.context() as m:
        _no_parsing_here(m)
        got = start_parse([head, base], catalogue, Config(), worker)()
    assert got == expected
    # The worker answered and is still alive, idle, and ready for another batch.
    assert os.waitpid(worker.pid, os.WNOHANG) == (0, 0)
    again = worker.run([(terraform.parse, SOURCES[0])], 5.0)
    assert again is not None and [o.address for o in again[0].objects] == ["aws_iam_user.bot"]


def test_the_per_file_deadline_holds_in_the_worker(worker: ParseWorker) -> None:
    ok = SourceFile("ok.tf", SA_TF.encode())
    results = worker.run([(_forever, SourceFile("slow.tf", b"")), (terraform.parse, ok)], 0.3)
    assert results is not None
    assert [(p.rule_id, p.message) for p in results[0].problems] == [
        ("NHI903", "slow.tf: parsing used more than its 0.3-second CPU-time budget; not analysed")
    ]
    assert [o.address for o in results[1].objects] == ["aws_iam_user.bot"]


def test_a_killed_worker_falls_back_to_parsing_here(worker: ParseWorker) -> None:
    os.kill(worker.pid, signal.SIGKILL)
    os.waitpid(worker.pid, 0)
    catalogue = load_catalogue()
    got = parse_sources(SOURCES, catalogue, Config(), worker=worker)
    assert got == parse_sources(SOURCES, catalogue, Config())
    assert worker.run([(terraform.parse, SOURCES[0])], 1.0) is None  # closed for good


def test_a_worker_that_dies_mid_batch_loses_nothing(worker: ParseWorker) -> None:
    die = _exit_in_worker(os.getpid())
    jobs = [(terraform.parse, SOURCES[0]), (die, SourceFile("x.tf", b""))]
    assert worker.run(jobs, 5.0) is None
    # The caller's fallback (`parse_many`) parses the whole batch in this process.
    results = budget.parse_many(jobs, load_catalogue(), 5.0, worker=worker)
    assert [o.address for o in results[0].objects] == ["aws_iam_user.bot"]
    assert [p.message for p in results[1].problems] == ["parsed here"]


def test_no_worker_on_one_core(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(budget, "available_cores", lambda: 1)
    assert ParseWorker.start(warm_parsers) is None


def test_close_reaps_the_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(budget, "available_cores", lambda: 2)
    started = ParseWorker.start(warm_parsers)
    assert started is not None
    pid = started.pid
    started.close()
    started.close()
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def _hook_json(repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> tuple[int, Any]:
    monkeypatch.chdir(repo.path)
    monkeypatch.setenv("GIT_AUTHOR_NAME", COPILOT[0])
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", COPILOT[1])
    code = main(["hook", "--format", "json"])
    return code, json.loads(capsys.readouterr().out)


def test_hook_verdict_is_the_same_with_and_without_the_worker(
    make_repo: Callable[..., GitRepo], monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    repo = make_repo()
    repo.commit({"infra/iam.tf": SA_TF, "README.md": "x\n"})
    repo.stage({"infra/admin.tf": ROLE_TF, "infra/iam.tf": SA_TF + "\n# edited\n",
                "k8s/sa.yaml": SA_YAML})  # fmt: skip
    monkeypatch.setattr(budget, "available_cores", lambda: 2)
    starts: list[object] = []
    real_start = ParseWorker.start
    real_parse_one = budget.parse_one

    def counting_start(warm: Any) -> ParseWorker | None:
        started = real_start(warm)
        starts.append(started)
        _no_parsing_here(monkeypatch)  # the hook must get every parse from the worker
        return started

    monkeypatch.setattr(ParseWorker, "start", staticmethod(counting_start))
    with_worker = _hook_json(repo, monkeypatch, capsys)
    assert len(starts) == 1 and starts[0] is not None
    monkeypatch.setattr(ParseWorker, "start", staticmethod(lambda warm: None))
    monkeypatch.setattr(budget, "parse_one", real_parse_one)
    without = _hook_json(repo, monkeypatch, capsys)
    assert with_worker == without
    code, report = with_worker
    assert code == 1
    assert ("NHI301", "infra/admin.tf") in {(f["rule_id"], f["path"]) for f in report["findings"]}


def test_a_worker_warmed_without_python_hcl2_still_parses_terraform(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A `hook` whose FILE arguments name no Terraform file warms the worker without
    python-hcl2; a module sibling or any other Terraform job still gets the same answer."""
    import functools

    monkeypatch.setattr(budget, "available_cores", lambda: 2)
    catalogue = load_catalogue()
    here = parse_sources(SOURCES, catalogue, Config())
    started = ParseWorker.start(functools.partial(warm_parsers, False))
    assert started is not None
    with started:
        _no_parsing_here(monkeypatch)
        assert parse_sources(SOURCES, catalogue, Config(), worker=started) == here


def test_a_hook_warms_python_hcl2_only_for_terraform_arguments() -> None:
    from checker.commands import _needs_hcl

    assert _needs_hcl([])  # every staged file: unknown, so warm it
    assert _needs_hcl(["k8s/sa.yaml", "infra/main.tf"])
    assert _needs_hcl(["prod.tfvars"]) and _needs_hcl(["live/terragrunt.hcl"])
    assert _needs_hcl(["main.tf.json"]) and _needs_hcl(["terraform.tfstate"])
    assert not _needs_hcl(["k8s/sa.yaml", ".github/workflows/ci.yml", "README.md"])
