"""Blocks of every file of a module, for a fact one block takes from another block that may
live in another file: which launch template an autoscaling group launches (and so which
instance profile its instances run as), which `provider` block a resource is created with.

A Terraform module is one directory whose `.tf`/`.tofu` files share one namespace of resource
addresses (https://developer.hashicorp.com/terraform/language/modules), so
`launch_template { id = aws_launch_template.ops.id }` in `asg.tf` names the block of that
address in `main.tf`. `module_blocks` parses the module's configuration files
(`ModuleSources.sources`, already read for the module's values; `hcl.load` is cached per
process) and the current file's blocks; `checker.sources.modules.uses_module_values` makes the
pipeline hand a file that references such a block its module.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from checker.model import ModuleSources, SourceFile
from checker.parsers.terraform.hcl import load
from checker.parsers.terraform.nodes import Block, Doc, hcl_blocks

#: The configuration files of a module (`.tofu` is OpenTofu's name for them).
_CONFIG = (".tf", ".tofu")


def module_blocks(current: Sequence[Block], path: str, module: ModuleSources | None
                  ) -> Iterator[Block]:  # fmt: skip
    """The `resource`/`data`/`module` blocks of the file at `path` (`current`), then those of
    the module's other configuration files (a file python-hcl2 rejects gives none)."""
    yield from current
    for src in module.sources if module is not None else ():
        if src.path != path and src.path.lower().endswith(_CONFIG):
            yield from _parsed(src)


def module_data(doc: Doc, data: dict[str, Any], module: ModuleSources | None
                ) -> Iterator[tuple[dict[str, Any], Doc]]:  # fmt: skip
    """(python-hcl2 data, doc) of the current file (`data`, `doc`) and of each other
    configuration file of `module`, for top-level blocks `hcl_blocks` does not list
    (`provider`)."""
    yield data, doc
    for src in module.sources if module is not None else ():
        if src.path == doc.path or not src.path.lower().endswith(_CONFIG):
            continue
        loaded = load(src)
        if loaded.text is not None and isinstance(loaded.data, dict):
            yield loaded.data, Doc(path=src.path, lines=loaded.text.split("\n"), spans=None)


def _parsed(src: SourceFile) -> list[Block]:
    loaded = load(src)
    if loaded.text is None or not isinstance(loaded.data, dict):
        return []
    return list(hcl_blocks(loaded.data, Doc(path=src.path, lines=loaded.text.split("\n"),
                                            spans=None)))
