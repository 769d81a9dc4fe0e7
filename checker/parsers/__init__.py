"""Parsers: one per file format, each a function satisfying `Parser`.

The registry is the literal dict `build_parsers()` returns (file format -> parser); the caller
builds it and passes it down, and nothing registers itself at import. The parser modules are
imported when it is called, so importing `checker.parsers.common` or `checker.safeyaml`
(the secret scan, the config loader) does not load python-hcl2.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Protocol

from checker.model import ParseResult, SourceFile
from checker.policy.catalogue import Catalogue


class Parser(Protocol):
    """Turn one file into IdentityObjects and ParseProblems. Never raises on bad input."""

    def __call__(self, source: SourceFile, catalogue: Catalogue) -> ParseResult: ...


#: The formats `build_parsers` has a parser for (known without importing the parsers).
FORMATS = frozenset({"terraform", "terraform_json", "terraform_vars", "terraform_state", "hcl",
                     "kubernetes", "github_actions", "gitlab_ci", "secret_values",
                     "secret_template", "mcp_config"})  # fmt: skip
#: Formats read for secret material only: they define no identity themselves. Terraform
#: variable definitions files (`.tfvars`, `.tfvars.json`) and other HCL (`terragrunt.hcl`
#: inputs) hold values such as `db_password = "..."` that end up in resources; a Terraform
#: state file (`terraform.tfstate`) is secret material as a whole; `secret_values` are files
#: that only hold values (`.env`, Helm values: `checker.sources.discovery.secret_values_file`);
#: `secret_template` a dotenv template (`.env.example`), whose values are judged as tokens,
#: never as weak passwords (`checker.secrets.hardcoded.find_hardcoded`'s `template`).
VALUE_FORMATS = frozenset({"terraform_vars", "terraform_state", "hcl", "secret_values",
                           "secret_template"})
#: The secret scan's format for a text file no parser reads (`.env.example`,
#: `config/settings.json`, source code): only the format plugins run on it
#: (`checker.secrets.hardcoded.find_tokens`), since a token's shape says it is one wherever it
#: stands (issue 12: never pass a credential silently). No parser has it.
TOKENS = "format_tokens"


def parser_for(fmt: str, callees: Mapping[str, frozenset[str]] | None = None) -> Parser:
    """The parser of `fmt` (a key of `build_parsers()`), importing only its own module: a
    workflow or manifest is parsed without loading python-hcl2 (the Terraform parser's import
    and grammar are most of a parse process's start). Raises `KeyError` for a format without
    a parser, as the registry does. A GitHub Actions parser reads its local callees' Terraform
    inputs from `callees` (`checker.parsers.ci_tf_inputs.callee_inputs`)."""
    if fmt == "kubernetes":
        from checker.parsers import kubernetes

        return kubernetes.parse
    if fmt == "github_actions":
        from checker.parsers import github_actions

        return functools.partial(github_actions.parse, callees=callees) if callees else (
            github_actions.parse)
    if fmt == "gitlab_ci":
        from checker.parsers import gitlab_ci

        return gitlab_ci.parse
    if fmt == "mcp_config":
        from checker.parsers import mcp

        return mcp.parse
    return build_parsers()[fmt]


def build_parsers() -> Mapping[str, Parser]:
    """The literal registry: file format -> parser."""
    from checker.parsers import github_actions, gitlab_ci, kubernetes, mcp, terraform

    return {
        "terraform": terraform.parse,
        "terraform_json": terraform.parse_json,
        "kubernetes": kubernetes.parse,
        "github_actions": github_actions.parse,
        "gitlab_ci": gitlab_ci.parse,
        "hcl": terraform.parse_terragrunt,
        "terraform_vars": terraform.parse_vars,  # only a var file no module reads (pipeline)
        "mcp_config": mcp.parse,
    }
