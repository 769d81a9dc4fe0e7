"""Which files make up a Terraform module's values, without reading HCL (no python-hcl2 import).

A Terraform module is one directory: every `.tf` file in it shares its `locals` and
`variable` blocks, and a root module also reads `terraform.tfvars`, `terraform.tfvars.json`,
`*.auto.tfvars` and `*.auto.tfvars.json` from it
(https://developer.hashicorp.com/terraform/language/values/variables#variable-definition-precedence).
So `role = local.ci_role` in `main.tf` means whatever `locals.tf` says, and an agent that edits
only `locals.tf` changes the role. This module groups the sources of a change by directory
(`group_modules`) and tells `checker.pipeline` which parse jobs need their module's values
(`uses_module_values`); `checker.parsers.terraform.module_values` reads the values. The
`check`/`hook` commands use `is_module_file`/`module_directory` to read the unchanged files of
a changed module.

Everything here is a byte or name test, cheap enough for the parent process of a pre-commit
run, where python-hcl2 is never imported.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence

from checker.globs import glob_match
from checker.lazy_patterns import lazy_compile
from checker.model import IdentityObject, ModuleSources, SourceFile
from checker.parsers.common import (
    VAR_FILE_DIRS,
    file_reference,
    file_references,
    fileset_candidates,
    fileset_expressions,
    fileset_globs,
    is_terragrunt,
    is_tfvars,
    is_var_file,
    literal_assignments,
    var_file_module,
)
from checker.paths import path_name, path_parent

#: Configuration files of a module (`.tofu` is OpenTofu's name for them).
CONFIG_SUFFIXES = (".tf", ".tofu")

#: A `locals {` or `variable "x" {` block may start on this line (a byte test; the HCL
#: parse decides).
_DEFINES = lazy_compile(rb"^[ \t]*(?:locals|variable)\b", re.MULTILINE)
#: A block another file's block may name (`checker.parsers.terraform.siblings`): a `provider`
#: (`provider = aws.admin`), a launch template or configuration (an autoscaling group's); or
#: a `moved` block, which renames an address of any file of the module
#: (`checker.parsers.terraform.moved`).
_SIBLING_BLOCKS = lazy_compile(
    rb'^[ \t]*(?:provider\b|moved\b|resource[ \t]+"aws_launch_(?:template|configuration)")',
    re.MULTILINE)
#: A `moved` block (HCL) or `"moved"` key (Terraform JSON) may be in the file (a byte test).
_MOVED = lazy_compile(rb'^[ \t]*moved\b|"moved"[ \t\r\n]*:', re.MULTILINE)
#: Terraform JSON configuration files: part of a module for their `moved` blocks, `locals`
#: and `variable` defaults.
JSON_CONFIG_SUFFIXES = (".tf.json", ".tofu.json")
#: A `"locals"` or `"variable"` key of a Terraform JSON file (a byte test).
_JSON_DEFINES = lazy_compile(rb'"(?:locals|variable)"[ \t\r\n]*:')
#: A local module call's `source = "./dir"` / `"../dir"`, on a line of its own or on the
#: block's first line (`module "iam" { source = "./modules/iam" }`): a byte test; the HCL
#: parse decides.
_LOCAL_SOURCE = lazy_compile(
    rb'^[ \t]*(?:module[ \t]+"[^"\n]*"[ \t]*\{[ \t]*)?source[ \t]*=[ \t]*"(\.\.?/[^"$%]*)"',
    re.MULTILINE)
#: A `local.NAME` / `var.NAME` reference, a `file(`/`templatefile(` call or a local module call
#: may be in the file.
_USES = lazy_compile(
    rb"\b(?:local|var)\.[A-Za-z_]|\bfile\(|\btemplatefile\(|\bsource\s*=\s*\"\.\.?/"
    rb"|\bpath\.(?:module|root|cwd)\s*\}/[\w./-]+\.(?:sh|bash|ps1|cmd|bat|py)\b|\bfileset\("
    rb'|[\s"][\w./-]*\w\.(?:sh|bash|ps1|cmd|bat|py)[\s"]'
    # a block of another file of the module (`checker.parsers.terraform.siblings`)
    rb"|\baws_launch_(?:template|configuration)\.[A-Za-z_]|\bprovider\s*=\s*[A-Za-z]"
    # a workload naming an instance profile (`checks.aws_workloads.profile_runners`), a GCP
    # binding naming a service account a workload may run as (`account_access.role_access`),
    # an attachment naming a customer-managed policy (`account_access.policy_holders`)
    rb"|\b(?:aws_iam_instance_profile|google_service_account|aws_iam_policy)\.[A-Za-z_]")


def module_directory(path: str) -> str:
    """The directory of repository path `path` (`""` for a file at the root)."""
    parent = path_parent(path)
    return "" if parent == "." else parent


def is_module_file(path: str) -> bool:
    """True for a file whose content is part of a module's values: a `.tf` or `.tofu` file,
    one in JSON syntax (`.tf.json`/`.tofu.json`: its `locals` and `variable` defaults), an
    auto-loaded `.tfvars`/`.tfvars.json`, or a `-var-file` file (`is_var_file`: `prod.tfvars`,
    of the module `owner_directory` names)."""
    return (path_name(path).lower().endswith((*CONFIG_SUFFIXES, *JSON_CONFIG_SUFFIXES))
            or is_tfvars(path) or is_var_file(path))


def owner_directory(path: str) -> str:
    """The module directory a module file belongs to: its own, or for a `-var-file` file in
    a `VAR_FILE_DIRS` subdirectory (`envs/prod.tfvars`) the one above
    (`checker.parsers.common.var_file_module`)."""
    return var_file_module(path) if is_var_file(path) else module_directory(path)


def module_homes(sources: Iterable[SourceFile]) -> set[str]:
    """The directories holding a module: those of the `.tf`/`.tofu` files among `sources`."""
    return {module_directory(s.path) for s in sources if is_config_file(s.path)}


def value_identities(fmt: str, path: str, homes: Collection[str]) -> bool:
    """True for a file of a value format (`checker.parsers.VALUE_FORMATS`) that the parsers
    still read for identities: a `terragrunt.hcl` (its `inputs`), and a `.tfvars` file whose
    module directory (`owner_directory`) is not among `homes` (`module_homes`): no module
    nhi-gate knows reads it, so it is an `unread` facet (NHI106) instead of skipped."""
    if fmt == "hcl":
        return is_terragrunt(path)
    return fmt == "terraform_vars" and owner_directory(path) not in homes


#: A top-level `NAME =` assignment of a `.tfvars` file, or a `"NAME":` key of a
#: `.tfvars.json` file (a byte test: a nested map's key may match too, which only widens the
#: search of `orphan_variables`).
_ASSIGNED = lazy_compile(rb'^[ \t]*"?([A-Za-z_][\w-]*)"?[ \t]*[=:]', re.MULTILINE)
#: At most this many variable names of changed var files are searched for (`orphan_variables`).
MAX_ORPHAN_VARIABLES = 64


def orphan_variables(sources: Iterable[SourceFile], modules: Iterable[SourceFile]
                     ) -> list[str]:  # fmt: skip
    """The names the `-var-file` files (`is_var_file`) among `sources` assign whose module
    directory (`owner_directory`) holds no `.tf`/`.tofu` file among `sources` and `modules`:
    no module nhi-gate knows reads them, so the modules that declare those variables
    (`variable "NAME"`) elsewhere in the repository are read to learn what the values feed
    (`checker.checks.unread`). Sorted, unique, at most `MAX_ORPHAN_VARIABLES`."""
    sources = list(sources)
    homes = module_homes([*sources, *modules])
    names = {m.group(1).decode() for s in sources
             if is_var_file(s.path) and owner_directory(s.path) not in homes
             for m in _ASSIGNED.finditer(s.raw)}
    return sorted(names)[:MAX_ORPHAN_VARIABLES]


def var_file_directories(directories: Iterable[str]) -> list[str]:
    """The `VAR_FILE_DIRS` subdirectories of `directories` (`envs`, `infra/vars`, ...), whose
    `.tfvars` files are read as the module's `-var-file` values."""
    return [f"{d}/{n}" if d else n for d in directories for n in VAR_FILE_DIRS]


def module_directories(paths: Iterable[str]) -> list[str]:
    """The sorted module directories of the module files among `paths` (see `is_module_file`,
    `owner_directory`)."""
    return sorted({owner_directory(p) for p in paths if is_module_file(p)})


def uses_module_values(raw: bytes) -> bool:
    """False only when the file's bytes name no `local.X` / `var.X` value and call no
    `file()`/`templatefile()`, no local module and no script of the module
    (`checker.parsers.common.SCRIPT_PATH`)."""
    return _USES.search(raw) is not None


#: The names of the files a change is checked against the `.tf` text above it for being read
#: by `file()`/`templatefile()`: policy and trust documents and their templates (JSON, YAML,
#: HCL such as Vault policies, Terraform's `.tftpl`). Other changed files (a README) list no
#: module: the pre-commit hook stays cheap.
DOCUMENT_SUFFIXES = (".json", ".tpl", ".tftpl", ".tmpl", ".template", ".hcl", ".yaml", ".yml",
                     ".xml", ".txt", ".policy")


#: Files that are never a policy or trust document (docs, images, code, lock files): a change
#: of one lists no module. Shell and Python scripts are not among them: a provisioner or an
#: `external` program may run one (`checker.parsers.common.SCRIPT_PATH`). Any other name may be
#: one (`policies/reader`).
NOT_DOCUMENT_SUFFIXES = (".md", ".markdown", ".rst", ".adoc", ".png", ".jpg", ".jpeg", ".gif",
                         ".svg", ".ico", ".pdf", ".go", ".js", ".ts", ".rb",
                         ".java", ".rs", ".lock", ".sum", ".mod", ".toml", ".cfg", ".ini",
                         ".gitignore", ".gitattributes", ".editorconfig")


def moved_files(module: ModuleSources) -> frozenset[str]:
    """The paths of `module`'s files that may hold a `moved` block: the parse of any other
    file of the module then needs the module, since a `moved` block renames an address of any
    of its files (`checker.parsers.terraform.moved`)."""
    return frozenset(s.path for s in module.sources if _MOVED.search(s.raw))


def job_module(fmt: str, src: SourceFile, modules: Mapping[str, ModuleSources],
               moving: Mapping[str, Collection[str]]) -> ModuleSources | None:
    """The `ModuleSources` (`modules`: `group_modules`) the parse of `src` (format `fmt`)
    needs: a `.tf` file's that names a module value (`uses_module_values`), and a `.tf` or
    `.tf.json` file's whose module has a `moved` block in another file (`moving`: directory
    -> `moved_files`); else None."""
    if fmt not in ("terraform", "terraform_json"):
        return None
    home = module_directory(src.path)
    if set(moving.get(home, ())) - {src.path} or (
            fmt == "terraform" and uses_module_values(src.raw)):
        return modules.get(home)
    return None


def may_be_document(path: str) -> bool:
    """True for a file that is no module file and may be a document a module reads with
    `file()`/`templatefile()`: any name but `NOT_DOCUMENT_SUFFIXES` (`DOCUMENT_SUFFIXES` are
    the usual ones; Terraform reads any file)."""
    name = path_name(path).lower()
    return not is_module_file(path) and (name.endswith(DOCUMENT_SUFFIXES)
                                         or not name.endswith(NOT_DOCUMENT_SUFFIXES))


def calls_local_module(raw: bytes) -> bool:
    """True when the file's bytes may call a local module (`source = "./modules/iam"`): the
    called module's identities are read through the call, so the pre-filter keeps it."""
    return b"source" in raw and _LOCAL_SOURCE.search(raw) is not None


def is_config_file(path: str) -> bool:
    """True for a module's configuration file (`.tf`, `.tofu`)."""
    return path_name(path).lower().endswith(CONFIG_SUFFIXES)


def referenced_files(sources: Iterable[SourceFile]) -> set[str]:
    """The repository paths that the `file()`/`templatefile()` calls of the `.tf`/`.tofu`
    files among `sources` read (`checker.parsers.common.file_references`, a path built from a
    local or variable tried with the literals its directory's files assign)."""
    configs = [s for s in sources if is_config_file(s.path)]
    literals = _literals(configs)
    return {ref for s in configs
            for ref in file_references(s.path, s.raw, literals.get(module_directory(s.path)))}


def _literals(configs: Sequence[SourceFile]) -> dict[str, dict[str, list[str]]]:
    """directory -> `literal_assignments` of its files among `configs` (those with a call
    whose path reads a value only, or a `fileset()`)."""
    wanted = {module_directory(s.path) for s in configs
              if (b"file(" in s.raw and b"${" in s.raw) or b"fileset(" in s.raw}
    return {d: literal_assignments(s.raw for s in configs if module_directory(s.path) == d)
            for d in wanted}


def local_module_directories(sources: Iterable[SourceFile]) -> set[str]:
    """The directories of the local modules (`source = "./modules/iam"`, `"../shared"`) that
    the `.tf`/`.tofu` files among `sources` call (a byte scan; a `source` attribute of any
    block counts, a directory without module files then simply has none)."""
    found: set[str] = set()
    for src in sources:
        if not is_config_file(src.path) or b"source" not in src.raw:
            continue
        directory = module_directory(src.path)
        for m in _LOCAL_SOURCE.finditer(src.raw):
            target = file_reference(directory, m.group(1).decode("utf-8", "replace"))
            if target is not None:
                found.add(target)
    return found


def referencing(changed: Iterable[str], configs: Iterable[SourceFile]) -> list[str]:
    """The sorted directories of the `configs` (`.tf`/`.tofu` files) that read one of the
    `changed` paths with `file()`/`templatefile()`: the modules a change of a policy document
    or template changes, found from the modules' text, never from the document's."""
    wanted = set(changed)
    files = [s for s in configs if is_config_file(s.path)]
    literals = _literals(files)
    return sorted({module_directory(s.path) for s in files if wanted.intersection(
        file_references(s.path, s.raw, literals.get(module_directory(s.path))))
        or any(glob_match(p, g) for g in _fileset_globs(s, literals) for p in wanted)})


def _fileset_globs(src: SourceFile, literals: Mapping[str, Mapping[str, Sequence[str]]]
                   ) -> list[str]:  # fmt: skip
    """The `fileset()` globs of a `.tf` file (`checker.parsers.common.fileset_globs`); for a
    directory that is an expression, the globs it computes to with the literals of the file's
    module (`literals`: directory -> `literal_assignments`, a directory outside the module
    too: `"${path.module}/${local.dir}"`, `local.dir = "../policies"`), and the pattern under
    the whole module (`fileset_expressions`)."""
    if b"fileset(" not in src.raw:
        return []
    directory, text = module_directory(src.path), src.raw.decode("utf-8", "replace")
    known = literals.get(directory, {})
    return [*fileset_globs(directory, text),
            *(g for expr, pattern, glob in fileset_expressions(directory, text)
              for g in [*fileset_candidates(directory, expr, pattern, known), glob])]


def _called(directory: str, configs: Mapping[str, Sequence[SourceFile]]) -> set[str]:
    """The directories of the local modules the module in `directory` calls, and those these
    call in turn (any depth: `checker.parsers.terraform.callees` bounds how deep it reads),
    among `configs` (directory -> its `.tf`/`.tofu` files) or not, without `directory`."""
    found: set[str] = set()
    todo = [directory]
    while todo:
        for callee in local_module_directories(configs.get(todo.pop(), ())):
            if callee not in found and callee != directory:
                found.add(callee)
                todo.append(callee)
    return found


def group_modules(sources: Sequence[SourceFile]) -> dict[str, ModuleSources]:
    """directory -> `ModuleSources` for every directory of `sources` with a value file or a
    `.tf` file that reads a file of `sources` with `file()`/`templatefile()`.

    A `.tf`/`.tofu` file counts when a line starts with `locals` or `variable`, or with a
    block another file's block may name (`_SIBLING_BLOCKS`: `provider`, a launch template);
    auto-loaded `.tfvars`/`.tfvars.json` files always count, and so do `-var-file` files, in
    the module `owner_directory` names, and `.tf.json`/`.tofu.json` files with a `moved`,
    `locals` or `variable` key.
    Directories without such a file are absent.
    `ModuleSources.files` are the files of `sources` its `.tf` files reference.
    """
    found: dict[str, list[SourceFile]] = {}
    refs: dict[str, set[str]] = {}
    configs: dict[str, list[SourceFile]] = {}
    for src in sources:
        if is_tfvars(src.path) or (is_config_file(src.path) and (
                _DEFINES.search(src.raw) or _SIBLING_BLOCKS.search(src.raw))) or (
                src.path.lower().endswith(JSON_CONFIG_SUFFIXES) and (
                    _MOVED.search(src.raw) or _JSON_DEFINES.search(src.raw))):
            found.setdefault(module_directory(src.path), []).append(src)
        elif is_var_file(src.path):
            found.setdefault(var_file_module(src.path), []).append(src)
        if is_config_file(src.path):
            configs.setdefault(module_directory(src.path), []).append(src)
    literals = _literals([s for files in configs.values() for s in files])
    for directory, files in configs.items():
        named = referenced_files(files)  # and the files of `sources` a `fileset()` selects
        named.update(p.path for f in files for g in _fileset_globs(f, literals) for p in sources
                     if glob_match(p.path, g) and not is_module_file(p.path))
        for callee in _called(directory, configs):
            named.update(s.path for s in configs.get(callee, ()))
            named.update(referenced_files(configs.get(callee, ())))
        if named:
            refs[directory] = named
    by_path = {s.path: s for s in sources}
    return {
        directory: ModuleSources(
            directory,
            tuple(sorted(found.get(directory, []), key=lambda s: s.path)),
            tuple(by_path[p] for p in sorted(refs.get(directory, ())) if p in by_path),
        )
        for directory in sorted({*found, *refs})
    }


def without_called_repeats(objects: list[IdentityObject]) -> list[IdentityObject]:
    """`objects` without the identities of a local module read as called
    (`module.ci.aws_iam_role.this`, `checker.parsers.terraform.callees`) that read no argument
    of the call while the module's own file was parsed too (`aws_iam_role.this` at the same
    place): they say the same, and would repeat each finding. A called module under an
    excluded folder is not parsed on its own, so its identities stay. A called identity a
    `moved` block moved into the module (`moved.from=` in its `attribute_lines`) is the one
    kept: it is the caller's identity at its new address, and the module's own copy goes."""
    own = {(o.location.path, o.location.start_line, o.address) for o in objects}
    moved = {(o.location.path, o.location.start_line, o.address.split(".", 2)[2])
             for o in objects if o.address.startswith("module.") and o.address.count(".") >= 3
             and any(k.startswith("moved.from=") for k in o.attribute_lines)}
    return [
        o for o in objects
        if (o.location.path, o.location.start_line, o.address) not in moved
        and not (o.address.startswith("module.") and o.address.count(".") >= 3
                 and (o.location.path, o.location.start_line, o.address.split(".", 2)[2]) in own
                 and not any(" argument " in name for name, _ in o.inputs)
                 and not any(k.startswith("moved.from=") for k in o.attribute_lines))
    ]
