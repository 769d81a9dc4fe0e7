"""An identity's meaning is its resolved value across everything it reads (issue 12, slice
closure-expr): index and lookup expressions, interpolation, `jsonencode(local.x)`, `for_each`
and `count`, `dynamic "statement"` blocks and `data.aws_iam_policy_document.X.json`.

Each class has a real git repository (human base) where an agent (`Claude
<noreply@anthropic.com>`) widens access only through that input: `check` blocks with the rule
naming the change and `via <input> (<path>:<line>)`; the same change by a human does not block.
The evaluator's own tests come first (`expressions.evaluate`): what it computes, and that an
expression with any unknown part never resolves to a value.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

import pytest
from conftest import HUMAN, GitRepo, Identity
from hypothesis import given, settings
from hypothesis import strategies as st

from checker.cli import main
from checker.model import Location, SourceFile
from checker.parsers import terraform
from checker.parsers.terraform.expressions import Unresolved, evaluate
from checker.policy.catalogue import load_catalogue
from checker.sources.modules import group_modules

CLAUDE: Identity = ("Claude", "noreply@anthropic.com")

# ----------------------------------------------------------------------------- the evaluator

_VALUES: dict[str, Any] = {
    "local.roles": ["roles/viewer", "roles/browser"],
    "local.m": {"ci": "roles/owner", "ro": "roles/viewer"},
    "var.enabled": True,
    "var.sub": "0000-1111",
    "local.doc": {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
    "local.nested": [["a"], ["b", ["c"]]],
    "each": {"key": "ci", "value": {"role": "roles/editor"}},
}


def _scope(name: str) -> Any:
    if name in _VALUES:
        return _VALUES[name]
    raise Unresolved(name)


@pytest.mark.parametrize(("text", "value"), [
    ("local.roles[0]", "roles/viewer"),
    ("local.roles[1]", "roles/browser"),
    ('local.m["ci"]', "roles/owner"),
    ("local.m.ci", "roles/owner"),
    ("element(local.roles, 2)", "roles/viewer"),  # element() wraps around
    ('lookup(local.m, "ci", "roles/viewer")', "roles/owner"),
    ('lookup(local.m, "x", "roles/viewer")', "roles/viewer"),
    ('try(local.m.x, "fallback")', "fallback"),
    ('one(["a"])', "a"),
    ('concat(local.roles, ["roles/owner"])', ["roles/viewer", "roles/browser", "roles/owner"]),
    ('merge(local.m, {ci = "roles/viewer", extra = 1})',
     {"ci": "roles/viewer", "ro": "roles/viewer", "extra": 1}),
    ("flatten(local.nested)", ["a", "b", "c"]),
    ('tolist(toset(["b", "a", "b"]))', ["a", "b"]),
    ('"arn:aws:iam::aws:policy/${local.m.ci}"', "arn:aws:iam::aws:policy/roles/owner"),
    ('"/subscriptions/${var.sub}/x"', "/subscriptions/0000-1111/x"),
    ('"$${literal}"', "${literal}"),
    ("var.enabled ? 1 : 0", 1),
    ("!var.enabled ? 1 : 0", 0),
    ("each.value.role", "roles/editor"),
    ("each.key", "ci"),
    ("jsonencode(local.doc)", '{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'),
    ("<<-EOT\n  ${jsonencode(local.m)}\n  EOT", '{"ci":"roles/owner","ro":"roles/viewer"}\n'),
    ("length(local.roles) > 1 && var.enabled", True),
    ("1 + 2 * 3 # a comment", 7),
    ("[for r in local.roles : upper(r)]", ["ROLES/VIEWER", "ROLES/BROWSER"]),
    ('{for k, v in local.m : k => v if v != "roles/owner"}', {"ro": "roles/viewer"}),
    ("{for i, r in local.roles : r => i}", {"roles/viewer": 0, "roles/browser": 1}),
    ("[for k, v in local.m : k]", ["ci", "ro"]),
])
def test_evaluator_computes_known_expressions(text: str, value: Any) -> None:
    assert evaluate(text, _scope) == value


@pytest.mark.parametrize("text", [
    "aws_iam_role.ci.arn",                      # a resource attribute: known after apply
    'try(aws_iam_role.ci.arn, "fallback")',     # try() never hides an unknown value
    'lookup(var.unset, "ci", "default")',       # the map itself is unknown
    "[for r in local.roles : r...]",            # grouping is not evaluated
    "{for r in local.roles : r => r}[aws_iam_role.x.name]",
    '{for r in ["a", "a"] : r => r}',           # a repeated key is an error
    "local.roles[*]",                           # splats are not evaluated
    "templatefile(\"p.json\", {})",             # an unknown function
    '"%{ if var.enabled }a%{ endif }"',         # template directives are not evaluated
    "var.enabled ? aws_iam_role.a.arn : 0",
    "local.roles[0",                            # not even syntax
])
def test_evaluator_leaves_unknown_expressions_unresolved(text: str) -> None:
    with pytest.raises(Unresolved):
        evaluate(text, _scope)


_KNOWN = st.sampled_from(['"a"', "1", "true", "local.roles", "local.m", "var.enabled",
                          '["x", "y"]', '{k = "v"}'])
_UNKNOWN = st.sampled_from(["aws_iam_role.x.arn", "var.unset", "local.unset", "module.m.out",
                            "data.aws_caller_identity.me.account_id", "count.index",
                            'file("p.json")', "self.x"])


def _wrap(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Expressions that always evaluate `inner` (no branch or fallback can skip it)."""
    return st.one_of(
        inner.map(lambda x: f"[{x}]"),
        inner.map(lambda x: f"{{k = {x}}}"),
        inner.map(lambda x: f'"pre-${{{x}}}-post"'),
        inner.map(lambda x: f"({x})"),
        inner.map(lambda x: f"{x}[0]"),
        inner.map(lambda x: f"{x}.k"),
        st.tuples(inner, _KNOWN).map(lambda p: f"concat([{p[0]}], [{p[1]}])"),
        st.tuples(inner, _KNOWN).map(lambda p: f"merge({{a = {p[0]}}}, {{b = {p[1]}}})"),
        st.tuples(inner, _KNOWN).map(lambda p: f"{p[1]} == {p[0]}"),
        st.tuples(inner, _KNOWN).map(lambda p: f"{p[1]} && {p[0]}"),
        st.tuples(inner, _KNOWN).map(lambda p: f"try({p[0]}, {p[1]})"),
        st.tuples(inner, _KNOWN).map(lambda p: f"lookup({p[0]}, \"k\", {p[1]})"),
        st.tuples(inner, _KNOWN).map(lambda p: f"{p[0]} ? {p[1]} : {p[1]}"),
        inner.map(lambda x: f"jsonencode({x})"),
        inner.map(lambda x: f"one([{x}])"),
        inner.map(lambda x: f"[for v in [1, 2] : {x}]"),
        inner.map(lambda x: f"{{for k, v in {{a = 1}} : k => {x}}}"),
        inner.map(lambda x: f"[for v in [1] : v if {x}]"),
        inner.map(lambda x: f"[for v in {x} : 1]"),
    )


@settings(max_examples=300, deadline=None)
@given(st.recursive(_UNKNOWN, _wrap, max_leaves=6))
def test_an_expression_with_an_unknown_part_never_resolves(text: str) -> None:
    with pytest.raises(Unresolved):
        evaluate(text, _scope)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet='ab.[]{}()"$,:?=!<>&|*+-0123456789 \n#/%\\', max_size=40))
def test_any_text_evaluates_or_is_unresolved(text: str) -> None:
    with contextlib.suppress(Unresolved):  # anything else (a crash) fails the test
        evaluate(text, _scope)


def test_parser_records_the_inputs_of_an_expression_and_of_count() -> None:
    files = {
        "locals.tf": 'locals {\n  m = {\n    ci = "roles/viewer"\n  }\n}\n'
                     'variable "enabled" {\n  default = false\n}\n',
        "main.tf": 'resource "google_project_iam_member" "ci" {\n  project = "p"\n'
                   '  role    = lookup(local.m, "ci", "roles/browser")\n  member  = "x"\n}\n'
                   'resource "aws_iam_user" "admin" {\n  count = var.enabled ? 1 : 0\n'
                   '  name  = "admin"\n}\n',
    }  # fmt: skip
    sources = [SourceFile(p, t.encode()) for p, t in files.items()]
    module = group_modules(sources)[""]
    objs = terraform.parse(sources[1], load_catalogue(), module=module).objects
    binding, admin = objs  # admin: count 0, still an identity (a caller may turn it on)
    assert [(g.action, g.resource, g.line) for g in binding.privileges] == [
        ("roles/viewer", "p", 3)]
    assert binding.inputs == (("local.m", Location("locals.tf", 2, 4)),)
    assert admin.address == "aws_iam_user.admin"
    assert admin.inputs == (("var.enabled", Location("locals.tf", 7, 7)),)


# ----------------------------------------------------------------------------- git repos

META = "# nhi-gate: owner=team-ci ticket=OPS-1 expires=2027-01-01\n"
MEMBER = META + """\
resource "google_project_iam_member" "ci" {
  project = "p"
  role    = ROLE
  member  = "serviceAccount:ci@p.iam.gserviceaccount.com"
}
"""


def _check(repo: GitRepo, base: str, capsys: Any) -> tuple[int, list[tuple[str, str, str]]]:
    code = main(["check", "--repo", str(repo.path), "--base", base, "--head", "HEAD",
                 "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    return code, [(f["rule_id"], f["address"], f["message"]) for f in report["findings"]]


def _run(make_repo: Callable[..., GitRepo], capsys: Any, author: Identity,
         base_files: dict[str, str], head_files: dict[str, str], name: str = "repo"
         ) -> tuple[int, list[tuple[str, str, str]]]:  # fmt: skip
    repo = make_repo(name)
    base = repo.commit(base_files, author=HUMAN)
    repo.checkout("agent/widen", create=True)
    repo.commit(head_files, author=author, message="Tune access")
    return _check(repo, base, capsys)


def _has(findings: list[tuple[str, str, str]], rule: str, address: str, via: str) -> bool:
    """A finding of `rule` on `address` whose message names `via` among its inputs."""
    return any(r == rule and a == address and "; via " in m and via in m.split("; via ")[-1]
               for r, a, m in findings)


# (name, base files, head files, rule, address, via): the head changes only an input.
_ROLE_LOCALS = 'locals {\n  roles = ["roles/viewer", "roles/browser"]\n  m = {\n' \
               '    ci = "roles/viewer"\n  }\n}\n'
CASES: list[tuple[str, dict[str, str], dict[str, str], str, str, str]] = [
    *[(f"index-{expr}",
       {"infra/main.tf": MEMBER.replace("ROLE", expr), "infra/locals.tf": _ROLE_LOCALS},
       {"infra/locals.tf": _ROLE_LOCALS.replace(old, new)},
       "NHI301", "google_project_iam_member.ci", via)
      for expr, old, new, via in [
          ("local.roles[0]", '["roles/viewer"', '["roles/owner"',
           "local.roles (infra/locals.tf:2)"),
          ('local.m["ci"]', 'ci = "roles/viewer"', 'ci = "roles/owner"',
           "local.m (infra/locals.tf:3)"),
          ("local.m.ci", 'ci = "roles/viewer"', 'ci = "roles/owner"',
           "local.m (infra/locals.tf:3)"),
          ("element(local.roles, 1)", '"roles/browser"', '"roles/owner"',
           "local.roles (infra/locals.tf:2)"),
          ('lookup(local.m, "ci", "roles/viewer")', 'ci = "roles/viewer"',
           'ci = "roles/owner"', "local.m (infra/locals.tf:3)"),
          ('try(local.m.ci, "roles/viewer")', 'ci = "roles/viewer"', 'ci = "roles/owner"',
           "local.m (infra/locals.tf:3)"),
          ('one(concat([], [local.m.ci]))', 'ci = "roles/viewer"', 'ci = "roles/owner"',
           "local.m (infra/locals.tf:3)"),
          ('merge({ci = "x"}, local.m).ci', 'ci = "roles/viewer"', 'ci = "roles/owner"',
           "local.m (infra/locals.tf:3)"),
          ("flatten([local.roles])[0]", '["roles/viewer"', '["roles/owner"',
           "local.roles (infra/locals.tf:2)"),
          ("tolist(toset(local.roles))[0]", '"roles/browser"', '"roles/editor"',
           "local.roles (infra/locals.tf:2)"),
      ]],
    ("var-index-tfvars",
     {"infra/main.tf": MEMBER.replace("ROLE", "var.roles[1]"),
      "infra/variables.tf": 'variable "roles" {\n  type = list(string)\n}\n',
      "infra/terraform.tfvars": 'roles = ["roles/viewer", "roles/browser"]\n'},
     {"infra/terraform.tfvars": 'roles = ["roles/viewer", "roles/owner"]\n'},
     "NHI301", "google_project_iam_member.ci", "var.roles (infra/terraform.tfvars:1)"),
    ("interpolation-policy-arn",
     {"infra/main.tf": META + 'resource "aws_iam_role_policy_attachment" "ci" {\n'
                       '  role       = "ci"\n'
                       '  policy_arn = "arn:aws:iam::aws:policy/${local.policy}"\n}\n',
      "infra/locals.tf": 'locals {\n  policy = "ReadOnlyAccess"\n}\n'},
     {"infra/locals.tf": 'locals {\n  policy = "AdministratorAccess"\n}\n'},
     "NHI301", "aws_iam_role_policy_attachment.ci", "local.policy (infra/locals.tf:2)"),
    ("interpolation-azure-role-guid",
     {"infra/main.tf": META + 'resource "azurerm_role_assignment" "ci" {\n'
                       '  scope              = "/subscriptions/${var.sub}"\n'
                       '  role_definition_id = "/subscriptions/${var.sub}/providers/'
                       'Microsoft.Authorization/roleDefinitions/${local.role}"\n'
                       '  principal_id       = "00000000-0000-0000-0000-000000000001"\n}\n',
      "infra/locals.tf": 'locals {\n  role = "acdd72a7-3385-48ef-bd42-f606fba81ae7"\n}\n'
                         'variable "sub" {\n  default = "1111"\n}\n'},
     {"infra/locals.tf": 'locals {\n  role = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"\n}\n'
                         'variable "sub" {\n  default = "1111"\n}\n'},
     "NHI301", "azurerm_role_assignment.ci", "local.role (infra/locals.tf:2)"),
    ("jsonencode-local-in-another-file",
     {"infra/main.tf": META + 'resource "aws_iam_policy" "ci" {\n  name   = "ci"\n'
                       '  policy = jsonencode(local.doc)\n}\n',
      "infra/locals.tf": 'locals {\n  doc = {\n    Version = "2012-10-17"\n    Statement = [{\n'
                         '      Effect   = "Allow"\n      Action   = ["s3:GetObject"]\n'
                         '      Resource = ["*"]\n    }]\n  }\n}\n'},
     {"infra/locals.tf": 'locals {\n  doc = {\n    Version = "2012-10-17"\n    Statement = [{\n'
                         '      Effect   = "Allow"\n      Action   = ["*"]\n'
                         '      Resource = ["*"]\n    }]\n  }\n}\n'},
     "NHI301", "aws_iam_policy.ci", "local.doc (infra/locals.tf:2)"),
    ("heredoc-jsonencode",
     {"infra/main.tf": META + 'resource "aws_iam_role_policy" "ci" {\n  role   = "ci"\n'
                       '  policy = <<EOT\n${jsonencode(local.doc)}\nEOT\n}\n',
      "infra/locals.tf": 'locals {\n  doc = {\n    Statement = [{\n      Effect = "Allow"\n'
                         '      Action = "s3:GetObject"\n      Resource = "*"\n    }]\n  }\n}\n'},
     {"infra/locals.tf": 'locals {\n  doc = {\n    Statement = [{\n      Effect = "Allow"\n'
                         '      Action = "iam:*"\n      Resource = "*"\n    }]\n  }\n}\n'},
     "NHI301", "aws_iam_role_policy.ci", "local.doc (infra/locals.tf:2)"),
    ("for-each-tfvars",
     {"infra/main.tf": META + 'resource "google_project_iam_member" "ci" {\n'
                       '  for_each = toset(var.roles)\n  project  = "p"\n  role     = each.value\n'
                       '  member   = "serviceAccount:ci@p.iam.gserviceaccount.com"\n}\n',
      "infra/variables.tf": 'variable "roles" {\n  type = list(string)\n}\n',
      "infra/terraform.tfvars": 'roles = [\n  "roles/viewer",\n]\n'},
     {"infra/terraform.tfvars": 'roles = [\n  "roles/viewer",\n  "roles/owner",\n]\n'},
     "NHI301", "google_project_iam_member.ci", "var.roles (infra/terraform.tfvars:1)"),
    ("for-each-for-expression-tfvars",
     {"infra/main.tf": META + 'resource "google_project_iam_member" "ci" {\n'
                       '  for_each = { for r in var.roles : r => r if r != "" }\n'
                       '  project  = "p"\n  role     = each.key\n'
                       '  member   = "serviceAccount:ci@p.iam.gserviceaccount.com"\n}\n',
      "infra/variables.tf": 'variable "roles" {\n  type = list(string)\n}\n',
      "infra/terraform.tfvars": 'roles = ["roles/viewer"]\n'},
     {"infra/terraform.tfvars": 'roles = ["roles/viewer", "roles/editor"]\n'},
     "NHI301", "google_project_iam_member.ci", "var.roles (infra/terraform.tfvars:1)"),
    ("for-each-map-each-value-attr",
     {"infra/main.tf": META + 'resource "aws_iam_role_policy_attachment" "ci" {\n'
                       '  for_each   = local.attachments\n  role       = each.key\n'
                       '  policy_arn = each.value.arn\n}\n',
      "infra/locals.tf": 'locals {\n  attachments = {\n    ci = { arn = "arn:aws:iam::aws:policy/'
                         'ReadOnlyAccess" }\n  }\n}\n'},
     {"infra/locals.tf": 'locals {\n  attachments = {\n    ci = { arn = "arn:aws:iam::aws:policy/'
                         'AdministratorAccess" }\n  }\n}\n'},
     "NHI301", "aws_iam_role_policy_attachment.ci", "local.attachments (infra/locals.tf:2)"),
    ("count-default-flipped",
     {"infra/main.tf": META + 'resource "aws_iam_user" "admin" {\n'
                       '  count = var.enabled ? 1 : 0\n  name  = "break-glass"\n}\n\n' + META
                       + 'resource "aws_iam_access_key" "admin" {\n  count = var.enabled ? 1 : 0\n'
                       '  user  = aws_iam_user.admin[0].name\n}\n',
      "infra/variables.tf": 'variable "enabled" {\n  type    = bool\n  default = false\n}\n'},
     {"infra/variables.tf": 'variable "enabled" {\n  type    = bool\n  default = true\n}\n'},
     "NHI101", "aws_iam_access_key.admin", "var.enabled (infra/variables.tf:3)"),
    ("count-tfvars",
     {"infra/main.tf": META + 'resource "aws_iam_user_policy_attachment" "admin" {\n'
                       '  count      = var.admin_count\n  user       = "ops"\n'
                       '  policy_arn = "arn:aws:iam::aws:policy/AdministratorAccess"\n}\n',
      "infra/variables.tf": 'variable "admin_count" {\n  default = 0\n}\n',
      "infra/terraform.tfvars": 'admin_count = 0\n'},
     {"infra/terraform.tfvars": 'admin_count = 1\n'},
     "NHI301", "aws_iam_user_policy_attachment.admin",
     "var.admin_count (infra/terraform.tfvars:1)"),
    ("dynamic-statement-from-locals",
     {"infra/main.tf": META + 'data "aws_iam_policy_document" "ci" {\n'
                       '  dynamic "statement" {\n    for_each = local.statements\n    content {\n'
                       '      actions   = statement.value.actions\n'
                       '      resources = statement.value.resources\n    }\n  }\n}\n\n' + META
                       + 'resource "aws_iam_policy" "ci" {\n  name   = "ci"\n'
                       '  policy = data.aws_iam_policy_document.ci.json\n}\n',
      "infra/locals.tf": 'locals {\n  statements = [\n    { actions = ["s3:GetObject"],'
                         ' resources = ["arn:aws:s3:::b/*"] },\n  ]\n}\n'},
     {"infra/locals.tf": 'locals {\n  statements = [\n    { actions = ["s3:GetObject"],'
                         ' resources = ["arn:aws:s3:::b/*"] },\n'
                         '    { actions = ["iam:*"], resources = ["*"] },\n  ]\n}\n'},
     "NHI301", "aws_iam_policy.ci", "local.statements (infra/locals.tf:2)"),
]


@pytest.mark.parametrize(("name", "base", "head", "rule", "address", "via"), CASES,
                         ids=[c[0] for c in CASES])
def test_an_agent_widening_through_an_input_blocks_naming_it(
        make_repo: Callable[..., GitRepo], capsys: Any, name: str, base: dict[str, str],
        head: dict[str, str], rule: str, address: str, via: str) -> None:
    code, findings = _run(make_repo, capsys, CLAUDE, base, head)
    assert code == 1, findings
    assert _has(findings, rule, address, via), findings


@pytest.mark.parametrize(("name", "base", "head", "rule", "address", "via"), CASES,
                         ids=[c[0] for c in CASES])
def test_the_same_change_by_a_human_does_not_block(
        make_repo: Callable[..., GitRepo], capsys: Any, name: str, base: dict[str, str],
        head: dict[str, str], rule: str, address: str, via: str) -> None:
    code, findings = _run(make_repo, capsys, HUMAN, base, head)
    assert code == 0, findings


def test_a_policy_reading_a_data_document_is_judged_when_the_document_widens(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    document = META + ('data "aws_iam_policy_document" "ci" {\n  statement {\n'
                       '    actions   = ["s3:GetObject"]\n    resources = ["*"]\n  }\n}\n')
    policy = META + ('resource "aws_iam_role_policy" "ci" {\n  role   = "ci"\n'
                     '  policy = data.aws_iam_policy_document.ci.json\n}\n')
    code, findings = _run(make_repo, capsys, CLAUDE,
                          {"infra/doc.tf": document, "infra/main.tf": policy},
                          {"infra/doc.tf": document.replace("s3:GetObject", "s3:*")})
    assert code == 1
    # Both files are in one module, but only same-file data blocks are linked: the document
    # itself is judged (its own lines changed).
    assert ("NHI301", "data.aws_iam_policy_document.ci") in {(r, a) for r, a, _ in findings}
    same_file = document + "\n" + policy
    code, findings = _run(make_repo, capsys, CLAUDE, {"infra/main.tf": same_file},
                          {"infra/main.tf": same_file.replace("s3:GetObject", "s3:*")}, "same-file")
    assert code == 1
    assert _has(findings, "NHI301", "aws_iam_role_policy.ci",
                "data.aws_iam_policy_document.ci (infra/main.tf:2)"), findings
