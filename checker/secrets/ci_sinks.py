"""CI secret sinks: secrets printed to job logs, written to files, or shipped as artifacts.

`github(path, text, lines)` reads a GitHub Actions workflow or composite action and
`gitlab(path, text, lines)` a GitLab CI file; both return facets (shapes in `checker.secrets`):
`default_token_permissions`, `workflow_env_secret`, `secrets_serialised`, `secrets_inherit`,
`checkout_persisted_token`, `pr_head_code` (`checker.secrets.ci_untrusted`) and
`template_injection` (`checker.secrets.ci_injection`; GitHub only), the halves of flows
across files (`checker.secrets.ci_calls`, `checker.secrets.ci_head_calls`), `ci_secret_echo`,
`ci_secret_artifact` and `ci_rotated_secret_artifact`.

Sources for the CI facts: GitHub "Security hardening for GitHub Actions"
(https://docs.github.com/en/actions/security-for-github-actions/security-guides/security-hardening-for-github-actions),
zizmor's audits (https://docs.zizmor.sh/audits/), GitLab CI/CD variables security
(https://docs.gitlab.com/ci/variables/#cicd-variable-security).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from checker.globs import glob_match
from checker.lazy_patterns import lazy_compile
from checker.model import IdentityObject
from checker.safeyaml import (
    end_line_of,
    get,
    get_entry,
    items,
    line_of,
    load_text,
    scalar,
    sequence,
)
from checker.secrets.ci_calls import calls, expansions
from checker.secrets.ci_head_calls import callees
from checker.secrets.ci_head_calls import calls as head_calls
from checker.secrets.ci_injection import injections
from checker.secrets.ci_untrusted import pr_head_runs
from checker.secrets.facets import facet
from checker.secrets.hardcoded import COMMENT_ONLY, SECRET_KEY

_GHA_SECRET_EXPR = lazy_compile(r"\$\{\{\s*secrets\.[A-Za-z_][\w-]*\s*\}\}")
_TOJSON_SECRETS = lazy_compile(r"(?i)toJSON\(\s*secrets\s*\)")
_ECHO = lazy_compile(r"^\s*(?:-\s+)?(echo|printf)\b")
_MASK = lazy_compile(r"::add-mask::")
_PIPE = lazy_compile(r"(?<!\|)\|(?!\|)")
_REDIRECT = lazy_compile(r"(?<![<>&\d])(>>?|\|\s*tee(?:\s+-a)?)\s*[\"']?([^\s;&|\"'<>]+)")
_CRED_COMMAND = lazy_compile(
    r"(create-access-key|get-session-token|assume-role|keys\s+create|print-access-token"
    r"|vault\s+(token\s+create|write|read)|az\s+ad\s+sp\s+credential\s+reset"
    r"|create-service-specific-credential|gh\s+auth\s+token|get-login-password"
    r"|kubectl\b[^;&|#]*?\bcreate\s+token)"
)
_KEYS_CREATE_FILE = lazy_compile(r"keys\s+create\s+([^\s;&|]+)")
_MINTS = lazy_compile(r"(create-access-key|keys\s+create|credential\s+reset"
                    r"|create-service-specific-credential|token\s+create"
                    r"|kubectl\b[^;&|#]*?\bcreate\s+token)")
#: Command output captured into a variable, not printed: `X=$(...)`, backticks.
_CAPTURE = lazy_compile(r"\$\(|`")
_NOT_FILES = frozenset({"/dev/null", "/dev/stderr", "/dev/stdout"})
_GITHUB_FILES = lazy_compile(r"GITHUB_(ENV|OUTPUT|STEP_SUMMARY|PATH|STATE)")
#: Cloud-auth actions that write a credentials file into the workspace (action -> the file, as
#: a glob), unless told not to (`create_credentials_file: false`): google-github-actions/auth
#: writes `gha-creds-<random>.json` to `$GITHUB_WORKSPACE` and warns not to upload or package
#: it (https://github.com/google-github-actions/auth#inputs, `create_credentials_file`).
_CREDENTIALS_FILE_ACTIONS = {"google-github-actions/auth": "gha-creds-1234567890abcdef.json"}
_WORKSPACE_PATHS = frozenset({".", "./", "*", "**", "**/*", "${{ github.workspace }}",
                              "${{github.workspace}}", "$GITHUB_WORKSPACE", "$CI_PROJECT_DIR"})
_GITLAB_SECRET_VARS = frozenset({"CI_JOB_TOKEN", "CI_REGISTRY_PASSWORD", "CI_DEPLOY_PASSWORD",
                                 "CI_JOB_JWT", "CI_JOB_JWT_V2"})
_VAR_USE = lazy_compile(r"\$\{?([A-Za-z_]\w*)\}?")
#: `${{ inputs.X }}` in a composite action; a secret-named input X is kept as `inputs.X`.
_INPUT_EXPR = lazy_compile(r"\$\{\{\s*inputs\.([A-Za-z_][\w-]*)\s*\}\}")


@dataclass(frozen=True)
class _ScriptLine:
    line: int
    text: str


def _script_lines(node: Node | None) -> list[_ScriptLine]:
    """The physical lines of a `run:`/`script:` value (a scalar, or a list of scalars)."""
    out: list[_ScriptLine] = []
    for item in (node.value if isinstance(node, SequenceNode) else [node]):
        if not isinstance(item, ScalarNode):
            continue
        first = line_of(item) + (1 if item.style in ("|", ">") else 0)
        for offset, text in enumerate(str(item.value).split("\n")):
            if text.strip():
                out.append(_ScriptLine(first + offset, text))
    return out


def _secret_names(*envs: Node | None, inputs: frozenset[str] = frozenset()) -> set[str]:
    """Env var names bound to a secret (`${{ secrets.X }}`, a secret-named expression, or a
    secret input of a composite action, given as `inputs.X` in `inputs` and kept)."""
    names: set[str] = set(inputs)
    for env in envs:
        for name, _, value in items(env):
            text = scalar(value) or ""
            if _GHA_SECRET_EXPR.search(text) or "secrets." in text or (
                SECRET_KEY.search(name) and "${{" in text
            ) or any(f"inputs.{m.group(1)}" in names for m in _INPUT_EXPR.finditer(text)):
                names.add(name)
    return names


def _uses_secret(text: str, names: set[str], secret_named: bool = False) -> bool:
    """True when script `text` reads a secret: `${{ secrets.X }}`, `toJSON(secrets)`, a
    secret input, a variable in `names`, or (`secret_named`: GitLab, whose CI/CD variables are
    defined outside the file) any `$VAR` whose name says credential (`$DEPLOY_TOKEN`)."""
    if _GHA_SECRET_EXPR.search(text) or _TOJSON_SECRETS.search(text):
        return True
    if any(f"inputs.{m.group(1)}" in names for m in _INPUT_EXPR.finditer(text)):
        return True
    return any(m.group(1) in names or (secret_named and SECRET_KEY.search(m.group(1)))
               for m in _VAR_USE.finditer(text))


#: Commands that turn their stdin into something GitHub's and GitLab's log masking no longer
#: recognises and print it (`echo $TOKEN | base64`): the masked value reaches the log encoded.
#: GitHub: "a transformed secret is not masked"
#: (https://docs.github.com/en/actions/security-for-github-actions/security-guides/using-secrets-in-github-actions#redacting-secrets-from-workflow-run-logs).
_ENCODERS = lazy_compile(
    r"^\s*(?:base64|base32|basenc|xxd|od|hexdump|rev|openssl\s+(?:base64|enc)|gzip\s+-c|tr\b"
    r"|sed\b|awk\b|cut\b|fold\b|iconv\b)"
)
#: A whole-environment dump: `printenv`, `env` or `export -p`/`set` alone (or piped on to
#: another command that prints), which lists every secret bound in the step's environment.
_ENV_DUMP = lazy_compile(r"^\s*(?:-\s+)?(?:printenv|env|export\s+-p|set)\s*(?:$|\||;|&&)")
_PRINTENV_VAR = lazy_compile(r"^\s*(?:-\s+)?printenv\s+([A-Za-z_]\w*)\s*$")


def _echo_lines(script: list[_ScriptLine], names: set[str], dump_secrets: bool = False,
                secret_named: bool = False) -> list[int]:
    """Lines that print a secret to the job log: `echo`/`printf` of a secret (not into a file
    or another command's stdin, except an encoder that prints it: `_ENCODERS`), `printenv X`
    of a secret variable, a command minting a credential (`_MINTS`) whose output is neither
    redirected, piped nor captured, and, when `dump_secrets` (secrets are bound in the
    environment), a whole-environment dump (`_ENV_DUMP`)."""
    out: list[int] = []
    for sl in script:
        printenv = _PRINTENV_VAR.match(sl.text)
        if printenv and (printenv.group(1) in names
                         or (secret_named and SECRET_KEY.search(printenv.group(1)))):
            out.append(sl.line)
            continue
        if dump_secrets and _ENV_DUMP.match(sl.text) and not _REDIRECT.search(sl.text):
            out.append(sl.line)
            continue
        if _MINTS.search(sl.text) and not (
                _REDIRECT.search(sl.text) or _PIPE.search(sl.text) or _CAPTURE.search(sl.text)
                or _KEYS_CREATE_FILE.search(sl.text)):
            out.append(sl.line)  # a minting command whose output (the credential) is printed
            continue
        if (not _ECHO.match(sl.text) or _MASK.search(sl.text)
                or not _uses_secret(sl.text, names, secret_named)):
            continue
        pipes = _PIPE.split(sl.text)
        if _REDIRECT.search(sl.text) or (len(pipes) > 1 and not all(
                _ENCODERS.match(part) for part in pipes[1:])):
            continue  # into a file or another command's stdin (`| docker login --password-stdin`)
        out.append(sl.line)
    return out


def _written_files(script: list[_ScriptLine], names: set[str]) -> list[tuple[int, str, bool]]:
    """(line, file, minted) for each file a script line writes secret material to."""
    out: list[tuple[int, str, bool]] = []
    for sl in script:
        secret = _uses_secret(sl.text, names)
        cred = _CRED_COMMAND.search(sl.text)
        if not (secret or cred):
            continue
        minted = bool(_MINTS.search(sl.text))
        targets = [m.group(2) for m in _REDIRECT.finditer(sl.text)]
        targets += [m.group(1) for m in _KEYS_CREATE_FILE.finditer(sl.text)]
        for target in targets:
            if target in _NOT_FILES or _GITHUB_FILES.search(target) or target.startswith("&"):
                continue
            out.append((sl.line, target, minted))
    return out


def _covers(paths: Sequence[str], written: str) -> bool:
    """True when an upload/cache path list includes the written file."""
    w = written.removeprefix("./")
    for raw in paths:
        p = raw.strip().removeprefix("./").rstrip("/")
        if not p or p.startswith("!"):
            continue
        if raw.strip() in _WORKSPACE_PATHS or p in ("", ".", "*", "**"):
            return True
        if w == p or w.startswith(p + "/") or glob_match(w, p) or glob_match(w, p + "/**"):
            return True
    return False


def _path_list(node: Node | None) -> list[str]:
    if isinstance(node, SequenceNode):
        return [scalar(n) or "" for n in node.value]
    text = scalar(node) or ""
    return [p for p in text.split("\n") if p.strip()]


def github(path: str, text: str, lines: list[str]) -> list[IdentityObject]:
    """The facets of one GitHub Actions workflow or composite action (`lines`: `text` split on
    `\\n`). A file that does not compose gives none (its parser reports it)."""
    stream = load_text(text, path)
    root = next((d for d in stream.documents if isinstance(d, MappingNode)), None)
    if root is None or not root.value:
        return []
    out: list[IdentityObject] = []
    first = line_of(root.value[0][0])
    last = end_line_of(root, lines)
    jobs = [(jid, key, job) for jid, key, job in items(get(root, "jobs"))
            if isinstance(job, MappingNode)]
    if get_entry(root, "permissions") is None and jobs and not _called_only(root) and any(
        get_entry(job, "permissions") is None for _, _, job in jobs
    ):
        jobs_key = get_entry(root, "jobs")
        anchor = line_of(jobs_key[0]) if jobs_key else first
        out.append(facet(path, "default_token_permissions", "ci_credential", "github",
                         f"{path}#permissions", first, last, anchor, ("token:default",)))
    workflow_env = get(root, "env")
    for name, key, value in items(workflow_env):
        if _GHA_SECRET_EXPR.search(scalar(value) or "") or "secrets." in (scalar(value) or ""):
            n = line_of(key)
            out.append(facet(path, "workflow_env_secret", "ci_credential", "github",
                             f"{path}#env.{name}", n, n, n, (f"env:{name}",)))
    for number, line in enumerate(lines, start=1):
        if _TOJSON_SECRETS.search(line) and not COMMENT_ONLY.match(line):
            out.append(facet(path, "secrets_serialised", "ci_credential", "github",
                             f"{path}#L{number}.toJSON(secrets)", number, number, number,
                             ("expression:toJSON(secrets)",)))
    for job_id, job_key, job in jobs:
        out.extend(_github_job(path, lines, job_id, job_key, job, workflow_env))
    out.extend(pr_head_runs(path, root, jobs))
    out.extend(injections(path, root, jobs, lines))
    out.extend(calls(path, root, jobs))
    out.extend(expansions(path, root, lines))
    out.extend(head_calls(path, root, jobs))
    out.extend(callees(path, root))
    runs = get(root, "runs")
    if isinstance(runs, MappingNode) and (scalar(get(runs, "using")) or "").lower() == "composite":
        inputs = frozenset(f"inputs.{name}" for name, _, _ in items(get(root, "inputs"))
                           if SECRET_KEY.search(name))
        out.extend(_github_job(path, lines, "runs", runs, runs, None, inputs, f"{path}#runs"))
    return out


def _called_only(root: MappingNode) -> bool:
    """True for a reusable workflow run only through `workflow_call`: its token gets the
    caller's permissions, not the repository default (zizmor #336, #472)."""
    on = get(root, "on")
    names = [scalar(n) for n in on.value] if isinstance(on, SequenceNode) else (
        [n for n, _, _ in items(on)] if isinstance(on, MappingNode) else [scalar(on)])
    return names == ["workflow_call"]


def _github_job(path: str, lines: list[str], job_id: str, job_key: Node, job: Node,
                workflow_env: Node | None, inputs: frozenset[str] = frozenset(),
                prefix: str | None = None) -> list[IdentityObject]:
    out: list[IdentityObject] = []
    prefix = prefix or f"{path}#jobs.{job_id}"
    inherit = get_entry(job, "secrets")
    if inherit is not None and scalar(inherit[1]) == "inherit":
        n = line_of(inherit[0])
        out.append(facet(path, "secrets_inherit", "ci_credential", "github",
                         f"{prefix}.secrets", n, n, n, ("secrets:inherit",)))
    job_env = get(job, "env")
    written: list[tuple[int, str, bool]] = []
    persisted: int | None = None
    cloud_creds: tuple[int, str] | None = None  # (step line, file) of a credentials file
    for index, step in enumerate(sequence(get(job, "steps"))):
        if not isinstance(step, MappingNode):
            continue
        step_line = line_of(step.value[0][0]) if step.value else line_of(step)
        uses = (scalar(get(step, "uses")) or "").split("@", 1)[0].strip().lower()
        names = _secret_names(workflow_env, job_env, get(step, "env"), inputs=inputs)
        script = _script_lines(get(step, "run"))
        for n in _echo_lines(script, names, dump_secrets=bool(names)):
            out.append(facet(path, "ci_secret_echo", "ci_credential", "github",
                             f"{prefix}.steps[{index}].run#L{n}", n, n, n, ("log:run",)))
        written.extend(_written_files(script, names))
        if uses == "actions/checkout":
            persist = (scalar(get(get(step, "with"), "persist-credentials")) or "").strip()
            if persist.lower() != "false":
                persisted = step_line
                out.append(facet(path, "checkout_persisted_token", "ci_credential", "github",
                                 f"{prefix}.steps[{index}]", step_line, step_line, step_line,
                                 ("git-config:GITHUB_TOKEN",)))
        if uses in _CREDENTIALS_FILE_ACTIONS:
            create = (scalar(get(get(step, "with"), "create_credentials_file")) or "").strip()
            if create.lower() != "false":
                cloud_creds = (step_line, _CREDENTIALS_FILE_ACTIONS[uses])
        if uses.startswith(("actions/upload-artifact", "actions/cache")):
            paths = _path_list(get(get(step, "with"), "path"))
            sink = "artifact" if "upload-artifact" in uses else "cache"
            for line, target, minted in written:
                if _covers(paths, target):
                    type_ = "ci_rotated_secret_artifact" if minted else "ci_secret_artifact"
                    out.append(facet(path, type_, "ci_credential", "github",
                                     f"{prefix}.steps[{index}]#{target}", line, step_line,
                                     line, (f"{sink}:{target}",)))
            if cloud_creds is not None and sink == "artifact" and _covers(paths, cloud_creds[1]):
                line, creds_file = cloud_creds
                out.append(facet(path, "ci_secret_artifact", "ci_credential", "github",
                                 f"{prefix}.steps[{index}]#{creds_file}", line,
                                 step_line, line, (f"artifact:{creds_file}",)))
            if persisted is not None and sink == "artifact" and any(
                p.strip() in _WORKSPACE_PATHS for p in paths
            ):
                out.append(facet(path, "ci_secret_artifact", "ci_credential", "github",
                                 f"{prefix}.steps[{index}]#.git/config", persisted,
                                 step_line, step_line, ("artifact:.git/config",)))
    return out


# GitLab CI

_GITLAB_RESERVED = frozenset({
    "stages", "variables", "include", "default", "workflow", "image", "services", "cache",
    "before_script", "after_script", "types", "pages:deploy",
})


def gitlab(path: str, text: str, lines: list[str]) -> list[IdentityObject]:
    """The facets of one GitLab CI file, job by job (`lines`: `text` split on `\\n`)."""
    stream = load_text(text, path)
    root = next((d for d in stream.documents if isinstance(d, MappingNode)), None)
    if root is None:
        return []
    out: list[IdentityObject] = []
    global_vars = get(root, "variables")
    for job_name, _, job in items(root):
        if job_name in _GITLAB_RESERVED or not isinstance(job, MappingNode):
            continue
        names = set(_GITLAB_SECRET_VARS)
        names.update(n for n, _, _ in items(get(job, "id_tokens")))
        names.update(n for n, _, _ in items(get(job, "secrets")))
        for env in (global_vars, get(job, "variables")):
            names.update(n for n, _, _ in items(env) if SECRET_KEY.search(n))
        script: list[_ScriptLine] = []
        for key in ("before_script", "script", "after_script"):
            script.extend(_script_lines(get(job, key)))
        prefix = f"{path}#{job_name}"
        for n in _echo_lines(script, names, dump_secrets=bool(names - _GITLAB_SECRET_VARS),
                             secret_named=True):
            out.append(facet(path, "ci_secret_echo", "ci_credential", "gitlab",
                             f"{prefix}.script#L{n}", n, n, n, ("log:script",)))
        written = _written_files(script, names)
        for sink in ("artifacts", "cache"):
            entry = get_entry(job, sink)
            if entry is None or not written:
                continue
            paths: list[str] = []
            for part in (entry[1].value if isinstance(entry[1], SequenceNode) else [entry[1]]):
                paths.extend(_path_list(get(part, "paths")))
            end = line_of(entry[0])
            for line, target, minted in written:
                if _covers(paths, target):
                    type_ = "ci_rotated_secret_artifact" if minted else "ci_secret_artifact"
                    out.append(facet(path, type_, "ci_credential", "gitlab",
                                     f"{prefix}.{sink}#{target}", min(line, end),
                                     max(line, end), line, (f"{sink}:{target}",)))
    return out
