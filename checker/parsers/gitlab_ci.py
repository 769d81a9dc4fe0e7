"""GitLab CI (`.gitlab-ci.yml` and files it includes locally) -> IdentityObjects.

What counts is data in `rules/catalogue/gitlab_ci.yaml`: `id_token`, `job_secrets`,
`ci_job_token` and `ci_granted_access`. Keys that are not jobs (`stages`, `variables`,
`include`, `default`, `workflow`, ...) are skipped; hidden jobs (`.name`) are read as
templates.

Shapes produced (`<path>` is `SourceFile.path`, `<job>` the job name):
- `id_token` (oidc_trust, gitlab): one per `id_tokens:` entry; address
  `<path>#<job>.id_tokens.<NAME>`; location = the entry; `privileges` =
  `Grant("id_token", <aud>)` per audience (`*` when `aud` is missing);
  `attribute_lines["aud"]` when `aud` is written.
- `job_secrets` (ci_credential): one per `secrets:` entry; address `<path>#<job>.secrets.<NAME>`;
  platform from the provider key (`vault` -> vault, `gcp_secret_manager` -> gcp,
  `azure_key_vault` -> azure, `aws_secrets_manager` -> aws); `references` = the secret path
  or name (an identifier, not a value); `attribute_lines["token"]` when it names the id token
  used (`token: $VAULT_ID_TOKEN`).
- `ci_job_token` (ci_credential, gitlab): a job whose script uses `$CI_JOB_TOKEN`; address
  `<path>#<job>.CI_JOB_TOKEN`; location = the first script line using it.
- `ci_granted_access` (role_binding): a grant command of a script line
  (`checker.parsers.ci_grants`: `aws iam attach-role-policy`, `kubectl create
  clusterrolebinding`, ...); address `<path>#<job>.<script key>.grants.<platform>`; location
  = the command's line; the grants, trust and unread entries its arguments name.
- Every object: `environment` = the job's `environment` (name); `attribute_lines`:
  `job` (the job key line), `environment` when set, `protected_ref` when the job's `rules:`/
  `only:` restrict it to protected refs, the default branch or tags (`$CI_COMMIT_REF_PROTECTED`,
  `$CI_DEFAULT_BRANCH`, `$CI_COMMIT_TAG`, `only: [main, tags]`), `template` for hidden jobs;
  `metadata` from `# nhi-gate: k=v` comments above the object and above the job.

Includes: `included_paths(sources)` names the `include: local:` files of every `.gitlab-ci.yml`
among `sources` (paths resolved against the directory of the including file), so
`checker.pipeline` parses them with this parser too. Remote, project and template includes are
not fetched (no network).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import PurePosixPath

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from checker.decode import decode
from checker.lazy_patterns import lazy_compile
from checker.model import Grant, IdentityObject, Location, ParseResult, SourceFile
from checker.parsers import ci_grants, common
from checker.parsers.ci_tf_inputs import gitlab_terraform_inputs
from checker.paths import path_name
from checker.policy.catalogue import Catalogue, CatalogueEntry
from checker.safeyaml import (
    end_line_of,
    get,
    get_entry,
    items,
    line_of,
    load_source,
    load_text,
    scalar,
    sequence,
)

FORMAT = "gitlab_ci"
#: Top-level keys that are not jobs (https://docs.gitlab.com/ci/yaml/#global-keywords).
RESERVED = frozenset({
    "stages", "variables", "include", "default", "workflow", "image", "services", "cache",
    "before_script", "after_script", "types", "spec",
})
_PROVIDERS: Mapping[str, str] = {
    "vault": "vault",
    "gcp_secret_manager": "gcp",
    "azure_key_vault": "azure",
    "aws_secrets_manager": "aws",
}
_PROTECTED = lazy_compile(
    r"CI_COMMIT_REF_PROTECTED|CI_DEFAULT_BRANCH|CI_COMMIT_TAG|\$CI_COMMIT_BRANCH\s*==\s*[\"']?(main|master)"
)
_PROTECTED_ONLY = frozenset({"main", "master", "tags", "/^release/", "production"})
_JOB_TOKEN = lazy_compile(r"\$\{?CI_JOB_TOKEN\b")


def parse(source: SourceFile, catalogue: Catalogue) -> ParseResult:
    """Find the credentials of one GitLab CI file. Never raises on bad input.

    Reads the first mapping document; returns objects in file order and at most one
    `ParseProblem` (NHI901/NHI902/NHI903).
    """
    stream = load_source(source)
    problems = (stream.problem,) if stream.problem is not None else ()
    root = next((d for d in stream.documents if isinstance(d, MappingNode)), None)
    if root is None:
        return ParseResult((), problems)
    objects: list[IdentityObject] = []
    for name, key, job in items(root):
        if name in RESERVED or not isinstance(job, MappingNode):
            continue
        objects.extend(_Job(source.path, stream.lines, catalogue, name, key, job).objects())
        tf = gitlab_terraform_inputs(source.path, stream.lines, name, key, job,
                                     get(root, "variables"))
        objects.extend([tf] if tf is not None else [])  # NHI106: inputs set in CI
    return ParseResult(tuple(objects), problems)


def included_paths(sources: Sequence[SourceFile]) -> frozenset[str]:
    """Paths of the `include: local:` files reached from the `.gitlab-ci.yml` files in
    `sources`, following includes of included files that are among `sources` too (GitLab
    allows nested includes: https://docs.gitlab.com/ci/yaml/includes/).

    A local include is relative to the repository root, taken as the root file's directory
    (`ci/deploy.yml` from `app/.gitlab-ci.yml` is `app/ci/deploy.yml`), also inside an
    included file. Globs and unreadable or malformed files give nothing.
    """
    by_path = {s.path: s for s in sources}
    queue = [(s.path, PurePosixPath(s.path).parent) for s in sources
             if path_name(s.path).lower() in (".gitlab-ci.yml", ".gitlab-ci.yaml")]
    seen = {path for path, _ in queue}
    out: set[str] = set()
    while queue:
        path, base = queue.pop(0)
        for included in includes_of(by_path[path], base):
            out.add(included)
            if included in by_path and included not in seen:
                seen.add(included)
                queue.append((included, base))
    return frozenset(out)


def includes_of(src: SourceFile, base: PurePosixPath) -> list[str]:
    """The `include: local:` paths of one GitLab CI file, resolved against `base` (the
    directory of its root `.gitlab-ci.yml`); globs are left out."""
    text = decode(src)
    if not isinstance(text, str):
        return []
    stream = load_text(text, src.path)
    root = next((d for d in stream.documents if isinstance(d, MappingNode)), None)
    return [(base / local.lstrip("/")).as_posix().removeprefix("./")
            for local in _local_includes(get(root, "include")) if "*" not in local]


def _local_includes(node: Node | None) -> list[str]:
    entries = node.value if isinstance(node, SequenceNode) else [node] if node else []
    out: list[str] = []
    for entry in entries:
        if isinstance(entry, ScalarNode):
            text = str(entry.value)
            if not text.startswith(("http://", "https://")):
                out.append(text)
        elif isinstance(entry, MappingNode):
            local = scalar(get(entry, "local"))
            if local:
                out.append(local)
    return out


class _Job:
    """One job: the context every object it defines shares."""

    def __init__(self, path: str, lines: list[str], catalogue: Catalogue, name: str,
                 key: Node, job: MappingNode) -> None:
        self.path = path
        self.lines = lines
        self.catalogue = catalogue
        self.name = name
        self.job = job
        self.job_line = line_of(key)
        self.meta = common.comment_metadata(lines, self.job_line)
        env_entry = get_entry(job, "environment")
        env_node = env_entry[1] if env_entry else None
        if isinstance(env_node, MappingNode):
            env_node = get(env_node, "name")
        self.environment = scalar(env_node) or None
        self.common_lines = {"job": self.job_line}
        if env_entry is not None:
            self.common_lines["environment"] = line_of(env_entry[0])
        protected = _protected_line(job)
        if protected is not None:
            self.common_lines["protected_ref"] = protected
        if name.startswith("."):
            self.common_lines["template"] = self.job_line

    def objects(self) -> list[IdentityObject]:
        out: list[IdentityObject] = []
        entry = self.catalogue.get(FORMAT, "id_token")
        if entry is not None:
            for token, key, value in items(get(self.job, "id_tokens")):
                aud_entry = get_entry(value, "aud")
                auds = _texts(aud_entry[1]) if aud_entry else []
                start = line_of(key)
                lines = {"aud": line_of(aud_entry[0])} if aud_entry else {}
                grants = tuple(Grant("id_token", a, line=lines.get("aud", start))
                               for a in (auds or ["*"]))
                out.append(self._object(entry, entry.platform, f"id_tokens.{token}", start,
                                        end_line_of(value, self.lines), lines, grants, ()))
        entry = self.catalogue.get(FORMAT, "job_secrets")
        if entry is not None:
            for secret, key, value in items(get(self.job, "secrets")):
                provider = next((p for p in _PROVIDERS if get(value, p) is not None), None)
                platform = _PROVIDERS.get(provider or "", entry.platform)
                ref = _secret_reference(get(value, provider)) if provider else None
                lines = {}
                token_entry = get_entry(value, "token")
                if token_entry is not None:
                    lines["token"] = line_of(token_entry[0])
                start = line_of(key)
                out.append(self._object(entry, platform, f"secrets.{secret}", start,
                                        end_line_of(value, self.lines), lines, (),
                                        (ref,) if ref else ()))
        entry = self.catalogue.get(FORMAT, "ci_job_token")
        if entry is not None:
            use = self._job_token_line()
            if use is not None:
                out.append(self._object(entry, entry.platform, "CI_JOB_TOKEN", use, use,
                                        {"script": use}, (), ()))
        entry = self.catalogue.get(FORMAT, "ci_granted_access")
        return out + (self._granted(entry) if entry is not None else [])

    def _granted(self, entry: CatalogueEntry) -> list[IdentityObject]:
        """The access the job's script lines grant (`ci_grants`), one identity per command."""
        out: list[IdentityObject] = []
        for part in ("before_script", "script", "after_script"):
            for g in ci_grants.granted(get(self.job, part)):
                obj = self._object(entry, g.platform, f"{part}.grants.{g.key}", g.line, g.line,
                                   {"script": g.line}, g.grants, ())
                out.append(g.applied(obj))
        return out

    def _job_token_line(self) -> int | None:
        for key in ("before_script", "script", "after_script"):
            node = get(self.job, key)
            for item in (node.value if isinstance(node, SequenceNode) else [node]):
                if isinstance(item, ScalarNode) and _JOB_TOKEN.search(str(item.value)):
                    first = line_of(item) + (1 if item.style in ("|", ">") else 0)
                    for offset, text in enumerate(str(item.value).split("\n")):
                        if _JOB_TOKEN.search(text):
                            return first + offset
        return None

    def _object(self, entry: CatalogueEntry, platform: str, suffix: str, start: int, end: int,
                lines: Mapping[str, int], grants: tuple[Grant, ...],
                references: tuple[str, ...]) -> IdentityObject:
        attrs = dict(self.common_lines)
        attrs.update(lines)
        meta = dict(self.meta)
        meta.update(common.comment_metadata(self.lines, start))
        return IdentityObject(
            kind=entry.kind,
            platform=platform,
            type=entry.type,
            address=f"{self.path}#{self.name}.{suffix}",
            location=Location(self.path, start, max(start, end)),
            metadata=meta,
            attribute_lines=attrs,
            privileges=grants,
            environment=self.environment,
            references=references,
        )


def _protected_line(job: MappingNode) -> int | None:
    """Line of a `rules:`/`only:` restriction to protected refs, the default branch or tags."""
    rules = get_entry(job, "rules")
    if rules is not None:
        for rule in sequence(rules[1]):
            condition = scalar(get(rule, "if")) or ""
            when = scalar(get(rule, "when")) or ""
            if _PROTECTED.search(condition) and when != "never":
                return line_of(rule)
    only = get_entry(job, "only")
    if only is not None:
        refs = _texts(get(only[1], "refs")) if isinstance(only[1], MappingNode) else _texts(
            only[1])
        if refs and all(r in _PROTECTED_ONLY for r in refs):
            return line_of(only[0])
    return None


def _secret_reference(node: Node | None) -> str | None:
    if isinstance(node, ScalarNode):
        return str(node.value) or None
    name = scalar(get(node, "name")) or scalar(get(node, "path"))
    return name or None


def _texts(node: Node | None) -> list[str]:
    if isinstance(node, SequenceNode):
        return [str(n.value) for n in node.value if isinstance(n, ScalarNode)]
    text = scalar(node)
    return [text] if text else []
