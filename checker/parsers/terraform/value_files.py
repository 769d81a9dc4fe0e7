"""Files a module value reads whole: `file("<path>")` and `templatefile("<path>", ...)` calls in
a `local`'s or variable's source text, read from the module's files (`ModuleSources.files`) so
`yamldecode(file(...))` computes (`checker.parsers.terraform.values.module_values`)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from checker.decode import decode
from checker.lazy_patterns import lazy_compile
from checker.model import Location, ModuleSources
from checker.parsers.common import file_reference
from checker.parsers.terraform.interpolations import closing

#: A `file("<path>")` call in a value's source text (`_read_files`), and the start of a
#: `templatefile("<path>", ...)` call (its end: `interpolations.closing`).
_FILE_CALL = lazy_compile(r'(?<![\w.])file\(\s*"((?:[^"\\$]|\$\{\s*path\.\w+\s*\})*)"\s*\)')
_TEMPLATE_CALL = lazy_compile(
    r'(?<![\w.])templatefile\(\s*"((?:[^"\\$]|\$\{\s*path\.\w+\s*\})*)"\s*,')



def read_files(texts: dict[str, str], defined: dict[str, tuple[Any, Location]],
                module: ModuleSources) -> dict[str, str]:  # fmt: skip
    """Each `file("...")` call in a value's source text that names a file of `module.files`
    (`${path.module}/iam.yaml`) read as that file's text: the call becomes a module value
    `local.nhi_gate_file_N` whose definition is the whole file, so `yamldecode(file(...))`
    computes and a change of the file changes every value read through it. Returns the labels
    inputs are shown with (`file("iam.yaml")`)."""
    by_path = {s.path: s for s in module.files}
    labels: dict[str, str] = {}

    def read(m: re.Match[str]) -> str:
        path = file_reference(module.directory, m.group(1)) or ""
        body = decode(by_path[path]) if path in by_path else None
        if not isinstance(body, str) or "${" in body or "%{" in body:
            return m.group(0)
        key = f"local.nhi_gate_file_{len(labels)}"
        lines = max(body.count("\n") + (0 if body.endswith("\n") else 1), 1)
        defined[key] = (body, Location(by_path[path].path, 1, lines))
        labels[key] = f'file("{m.group(1)}")'
        return key

    for name, text in list(texts.items()):
        if "file(" in text and module.files:
            texts[name] = _templates(_FILE_CALL.sub(read, text), read)
    return labels


def _templates(text: str, read: Callable[[re.Match[str]], str]) -> str:
    """`text` with each `templatefile("<path>", vars)` call whose file `read` reads (a file
    without `${`/`%{`: the template renders to its own text whatever `vars` holds,
    https://developer.hashicorp.com/terraform/language/functions/templatefile) replaced."""
    out, pos = [], 0
    for m in _TEMPLATE_CALL.finditer(text):
        end = closing(text, m.end())
        if m.start() < pos or end is None:
            continue
        got = read(m)
        out += [text[pos:m.start()], got if got != m.group(0) else text[m.start():end]]
        pos = end
    return "".join(out) + text[pos:]
