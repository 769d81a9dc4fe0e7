"""Which files can define identities, and how to read them from disk in `scan` mode.

`sniff(path, head)` picks the parser by name and, for generic YAML and JSON, by parsing the
content (`checker.sources.manifests`: a document with `apiVersion` and `kind` keys is a
Kubernetes manifest), behind a byte test proven never to drop a manifest. It also tells a
template of another language (`checker.sources.templates`) from a YAML syntax error.
`classify(path, head)` is its format. Path globs (`envs/prod/**`) are matched with
`glob_match`, shared by excludes and environment mapping.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from checker.decode import nul_padded
from checker.globs import glob_match
from checker.lazy_patterns import lazy_compile
from checker.model import FileFormat
from checker.paths import path_name, path_parts
from checker.sources.manifests import Parsed, has_manifest, may_be_manifest, plain_manifest
from checker.sources.templates import JSONNET, JSONNET_SUFFIXES, template_language

#: Where a YAML mapping key can start: a line (after indentation or a sequence dash), after
#: `{` or `,` in flow style, or after `?` (explicit key); the key may be quoted.
_KEY_START = rb"""(?:^[ \t]*(?:-[ \t]+)*(?:\?[ \t]+)?|[{,][ \t]*)["']?"""
_EXPLICIT = rb"""|^[ \t]*\?[ \t]+["']?"""  # `? kind` with its `:` on the next line
_K8S_SNIFF = lazy_compile(
    _KEY_START + rb"""apiVersion["']?[ \t]*:""" + _EXPLICIT + rb"apiVersion\b", re.MULTILINE
)
_K8S_KIND = lazy_compile(
    _KEY_START + rb"""kind["']?[ \t]*:""" + _EXPLICIT + rb"kind\b", re.MULTILINE
)
#: A double-quoted scalar with an escape (`"\x6bind"`): it can spell any key, so the sniff
#: cannot rule the file out and the parser decides.
_YAML_ESCAPE = lazy_compile(rb'"[^"\n]*\\[0-9xuUN]')
_JSON_K8S = lazy_compile(rb'"apiVersion"\s*:')
#: A composite action's metadata (`runs:` at top level with `using: composite`).
_COMPOSITE = lazy_compile(rb"^runs\s*:(?:.|\n)*?^\s+using\s*:\s*[\"']?composite\b", re.MULTILINE)
_SKIP_DIRS = frozenset({".git", ".terraform", "node_modules", "__pycache__", ".venv"})
#: Terraform/OpenTofu state written by the local backend: `terraform.tfstate` (any workspace
#: under `terraform.tfstate.d/`, any `-state=` name ending `.tfstate`) and the backup kept
#: beside it. State holds every resource attribute in plain text, secrets included
#: (https://developer.hashicorp.com/terraform/language/state/sensitive-data), so its content
#: does not matter: the name is enough.
STATE_SUFFIXES = (".tfstate", ".tfstate.backup")
#: The file names whose formats are read with python-hcl2 (`checker.parsers.terraform`):
#: `terraform`, `terraform_json`, `terraform_vars`, `hcl`, and state (`sniff` by name alone).
HCL_SUFFIXES = (".tf", ".tofu", ".tf.json", ".tofu.json", ".tfvars", ".tfvars.json", ".hcl",
                *STATE_SUFFIXES)


def reads_hcl(paths: Iterable[str]) -> bool:
    """Whether any of `paths` (repository paths or bare names) is a file nhi-gate reads with
    python-hcl2 (`HCL_SUFFIXES`, case-insensitive): its start-up then loads python-hcl2 early."""
    return any(p.lower().endswith(HCL_SUFFIXES) for p in paths)
#: Application configuration files of `key = value` lines, read for secret material only
#: (`secret_values`), like a dotenv file: Java `.properties` (Spring Boot's
#: `application.properties`, `spring.datasource.password=`,
#: https://docs.spring.io/spring-boot/reference/features/external-config.html), INI (`[section]`
#: and `key = value` or `key: value`, Python's `configparser`,
#: https://docs.python.org/3/library/configparser.html#supported-ini-file-structure), also
#: named `.cfg` and `.conf` (pip's `pip.conf`,
#: https://pip.pypa.io/en/stable/topics/configuration/#configuration-files; `setup.cfg`,
#: https://setuptools.pypa.io/en/latest/userguide/declarative_config.html;
#: boto's `/etc/boto.cfg`, https://github.com/boto/boto/blob/develop/docs/source/boto_config_tut.rst;
#: rclone's `rclone.conf`, https://rclone.org/commands/rclone_config_file/), and TOML
#: (`key = "value"`, https://toml.io/en/v1.0.0#keyvalue-pair).
CONFIG_SUFFIXES = (".properties", ".ini", ".cfg", ".conf", ".toml")
#: The file names `walk` yields (by lower-cased suffix); `classify` decides on each.
_WALK_SUFFIXES = (".tf", ".tofu", ".tf.json", ".tfvars", ".hcl", ".yml", ".yaml", ".json",
                  ".env", *STATE_SUFFIXES, *CONFIG_SUFFIXES, *JSONNET_SUFFIXES)  # fmt: skip
#: dotenv files (`.env`, `.env.production`, `prod.env`): `KEY=value` lines read by docker
#: compose, direnv and most frameworks (https://docs.docker.com/compose/how-tos/environment-variables/variable-interpolation/#env-file);
#: the documented templates beside them (`.env.example`) are `secret_template`: a format token
#: or a random value under a credential-named key there is a credential, a weak password
#: (`DB_PASSWORD=postgres`) is documentation.
_DOTENV = lazy_compile(r"^(?:\.env(?:\.[\w.-]+)?|[\w.-]+\.env)$")
_DOTENV_TEMPLATES = (".example", ".sample", ".template", ".dist", ".defaults")
#: MCP client configurations: each server entry's `env`/`headers` carry the credential the
#: agent's tool runs with. Claude Code's project `.mcp.json`
#: (https://docs.anthropic.com/en/docs/claude-code/mcp), VS Code's `.vscode/mcp.json`
#: (https://code.visualstudio.com/docs/copilot/chat/mcp-servers), Cursor's `.cursor/mcp.json`
#: (https://docs.cursor.com/context/model-context-protocol), and agent settings that hold
#: `mcpServers` (Claude Code `.claude/settings.json`, `.claude/settings.local.json`; Gemini
#: CLI `.gemini/settings.json`, https://github.com/google-gemini/gemini-cli/blob/main/docs/tools/mcp-server.md).
#: Windsurf's `mcp_config.json` (https://docs.windsurf.com/windsurf/cascade/mcp), kept in a
#: repository as `.windsurf/mcp_config.json`, and Claude Desktop's `claude_desktop_config.json`
#: (https://modelcontextprotocol.io/quickstart/user) hold the same `mcpServers` entries, as does
#: Roo Code's project `.roo/mcp.json` (https://docs.roocode.com/features/mcp/using-mcp-in-roo);
#: OpenCode's `opencode.json`/`opencode.jsonc` hold them under `mcp`
#: (https://opencode.ai/docs/mcp-servers/); Kiro's `.kiro/settings/mcp.json`
#: (https://kiro.dev/docs/mcp/configuration/) and Amazon Q's `.amazonq/mcp.json`
#: (https://docs.aws.amazon.com/amazonq/latest/qdeveloper-ug/qdev-mcp.html) `mcpServers`.
MCP_FILES = (".mcp.json", ".vscode/mcp.json", ".cursor/mcp.json", ".claude/settings.json",
             ".claude/settings.local.json", ".gemini/settings.json",
             ".windsurf/mcp_config.json", "claude_desktop_config.json", ".roo/mcp.json",
             "opencode.json", "opencode.jsonc", ".kiro/settings/mcp.json", ".amazonq/mcp.json")
#: MCP configurations recognised at the repository root only (a generic name elsewhere).
MCP_ROOT_FILES = ("mcp.json",)
#: Helm values files (`values.yaml`, `values-prod.yaml`, `values.prod.yaml`, and the
#: `helm install -f app-values.yml` form, `app-values.yml`): a chart's inputs, where charts
#: take passwords (https://helm.sh/docs/chart_template_guide/values_files/).
_HELM_VALUES = lazy_compile(r"^(?:[\w.-]+[.-])?values(?:[.-][\w.-]+)?\.ya?ml$")
#: Credential files by name, read for secret material only: SSH private keys (`ssh-keygen`
#: default names, https://man.openbsd.org/ssh-keygen#FILES), PEM/key files, npm's `.npmrc`
#: (`//registry/:_authToken=`, https://docs.npmjs.com/cli/v10/configuring-npm/npmrc#auth-related-configuration),
#: `.pypirc` (https://packaging.python.org/en/latest/specifications/pypirc/), the AWS shared
#: credentials file (https://docs.aws.amazon.com/sdkref/latest/guide/file-location.html) and a
#: Docker registry auth config (`.dockerconfigjson`, `.docker/config.json`,
#: https://docs.docker.com/reference/cli/docker/#configuration-files), and the `.netrc` file
#: of ftp, curl and git (`_netrc` on Windows; `machine host login user password secret`,
#: https://www.gnu.org/software/inetutils/manual/html_node/The-_002enetrc-file.html,
#: https://everything.curl.dev/usingcurl/netrc.html; read by `checker.secrets.config_values`),
#: s3cmd's `.s3cfg` (`access_key`/`secret_key`, https://s3tools.org/kb/item14.htm) and boto's
#: `~/.boto` (https://github.com/boto/boto/blob/develop/docs/source/boto_config_tut.rst), both INI;
#: PostgreSQL's `.pgpass`, Maven's `settings.xml` and .NET's `appsettings*.json` (read by
#: `checker.secrets.credential_files`); Apache's and nginx's basic-auth user file `.htpasswd`
#: (https://httpd.apache.org/docs/2.4/programs/htpasswd.html, read by `checker.secrets.htpasswd`).
CREDENTIAL_NAMES = frozenset({"id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", "id_ecdsa_sk",
                              "id_ed25519_sk", ".npmrc", ".pypirc", "credentials",
                              ".dockerconfigjson", ".netrc", "_netrc", ".s3cfg", ".boto",
                              ".pgpass", "pgpass", "pgpass.conf", "settings.xml",
                              ".htpasswd", "htpasswd"})
CREDENTIAL_SUFFIXES = (".pem", ".key", ".p8", ".htpasswd")
_DOCKER_CONFIG = ".docker/config.json"
#: .NET configuration (https://learn.microsoft.com/en-us/aspnet/core/fundamentals/configuration/).
_APPSETTINGS = lazy_compile(r"^appsettings(?:\.[\w-]+)?\.json$")
#: A PEM private-key block's header or END line (RFC 7468; PGP's `... PRIVATE KEY BLOCK-----`):
#: a file holding one is read whatever its name (a GCP service-account key JSON holds one in
#: its `private_key`, https://cloud.google.com/iam/docs/keys-create-delete).
_PRIVATE_KEY = lazy_compile(rb"PRIVATE KEY(?: BLOCK)?-----")
#: A YAML `environment:` or `env:` key (Compose services, CI systems, serverless functions):
#: its map is read for credential-named keys (`checker.secrets.config_values`).
_ENVIRONMENT = lazy_compile(rb"""(?im)^[ \t]*(?:-[ \t]+)?["']?(?:environment|env)["']?[ \t]*:""")


@dataclass(frozen=True)
class Sniff:
    """How nhi-gate reads one file: its `format` (None: not read), or, for a YAML-named file
    that is a template of another language, `template` (`Jinja template`, `Go template`,
    `template`; `format` is then None: it is not parsed)."""

    format: FileFormat | None
    template: str | None = None
    #: The 1-based line of a template's first tag.
    line: int = 1
    #: Read by the format plugins alone (`checker.parsers.TOKENS`), in `scan` too: a file of
    #: no format read by name whose content holds a private-key header (source code, docs, a
    #: JSON key file), or a YAML file with an `environment:`/`env:` map
    #: (`checker.secrets.config_values`). Such a file's keyed values are not read: only a value
    #: whose format proves it is a credential counts there (a PEM block with a body).
    tokens: bool = False


def classify(path: str, head: bytes | None = None) -> FileFormat | None:
    """The format of repository path `path` (posix), or None when nhi-gate does not read it;
    `sniff(path, head).format`."""
    return sniff(path, head).format


def sniff(path: str, head: bytes | None = None) -> Sniff:
    """How nhi-gate reads repository path `path` (posix); see `Sniff`.

    `head` is the content (the whole file up to the size budget: a manifest may follow a long
    licence header), used only to tell Kubernetes YAML/JSON from other YAML (Helm values, CI
    configs of other systems, docs) and templates, and a composite action's `action.yml`
    (`runs.using: composite`, read as GitHub Actions) from other actions' metadata. Without
    `head` any YAML file is `kubernetes` (the caller only asks by name).
    A YAML or JSON file is a manifest when its parsed keys say so (`manifests.has_manifest`,
    only for files `manifests.may_be_manifest` keeps). When the parse fails: a template tag
    makes it a template (`templates.template_language`); else a text that is not readable as
    such (invalid UTF-8, over a budget) or has a syntax error is `kubernetes` when its bytes
    have `apiVersion` and `kind` at key positions (or an escape that can spell them), so the
    parser reports NHI901-NHI903 instead of the file passing unread.
    GitLab CI files are `.gitlab-ci.yml` and templates named `*.gitlab-ci.yml`. Terraform
    state (`STATE_SUFFIXES`) is `terraform_state` by name alone, whatever its content;
    `.tofu.json` is Terraform JSON like `.tf.json`; `.tfvars.json` is `terraform_vars` like
    `.tfvars`. Configuration files (`CONFIG_SUFFIXES`) and `.netrc` are `secret_values` by
    name. Any other file whose content holds a private-key header, and a YAML file of no other
    format with an `environment:`/`env:` map, is `secret_values` with `tokens` set: read by
    its format tokens (and that map) alone. A test snapshot (`snapshot`: helm-unittest's
    `tests/__snapshot__/`) is read for private keys alone.
    """
    name = path_name(path).lower()
    if name.endswith(STATE_SUFFIXES):
        return Sniff("terraform_state")
    if mcp_file(path):
        return Sniff("mcp_config")
    if secret_values_file(path) or credential_file(path) or name.endswith(CONFIG_SUFFIXES):
        return Sniff("secret_values")
    if _DOTENV.match(path_name(path)):
        return Sniff("secret_template")  # `.env.example`: `secret_values_file` says no
    if name.endswith((".tf.json", ".tofu.json")):  # OpenTofu reads .tofu.json like .tf.json
        return Sniff("terraform_json")
    if name.endswith((".tf", ".tofu")):  # OpenTofu reads .tofu files as Terraform
        return Sniff("terraform")
    if name.endswith((".tfvars", ".tfvars.json")):
        return Sniff("terraform_vars")
    if name.endswith(".hcl"):
        return Sniff("hcl")
    if name.endswith(JSONNET_SUFFIXES) and head is not None:
        return Sniff(None, JSONNET, 1)  # not parsed: its output is not checked (NHI107)
    is_yaml = name.endswith((".yml", ".yaml"))
    parts = path_parts(path)
    if is_yaml and len(parts) >= 3 and parts[-3] == ".github" and parts[-2] == "workflows":
        return Sniff("github_actions")
    if name.endswith((".gitlab-ci.yml", ".gitlab-ci.yaml")):
        return Sniff("gitlab_ci")
    if head is not None and head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]  # a UTF-8 BOM must not hide a manifest from the sniff
    if name in {"action.yml", "action.yaml"} and (head is None or _COMPOSITE.search(head)):
        return Sniff("github_actions")
    if snapshot(path):
        return _tokens_only(Sniff(None), head, False)
    if is_yaml and head is None:
        return Sniff("kubernetes")
    if (is_yaml or name.endswith(".json")) and head is not None:
        found = _by_content(path, head, is_yaml)
        return _tokens_only(found, head, is_yaml)
    return _tokens_only(Sniff(None), head, False)


def _tokens_only(found: Sniff, head: bytes | None, is_yaml: bool) -> Sniff:
    """`found`, or for a file no format reads (`Sniff(None)`) whose content holds a private-key
    header or (YAML) an environment map, the `tokens` sniff of `secret_values` (see `Sniff`)."""
    if found != Sniff(None) or head is None:
        return found
    if holds_private_key(head) or (is_yaml and _ENVIRONMENT.search(head) is not None):
        return Sniff("secret_values", tokens=True)
    return found


#: Directories that hold test snapshots: helm-unittest writes a chart test's rendered output
#: to `tests/__snapshot__/` (https://github.com/helm-unittest/helm-unittest#snapshot-testing),
#: Jest to `__snapshots__/`; a CRD test may keep its expected YAML there too.
SNAPSHOT_DIRECTORIES = frozenset({"__snapshot__", "__snapshots__"})


def snapshot(path: str) -> bool:
    """True when repository path `path` is a test snapshot (under `SNAPSHOT_DIRECTORIES`):
    the expected output of a test, never applied to a cluster, so not a manifest (only a
    private key in it is still found)."""
    return any(part in SNAPSHOT_DIRECTORIES for part in path_parts(path)[:-1])


def secret_values_file(path: str) -> bool:
    """True when repository path `path` is read for secret material only, by its name: a
    dotenv file (`_DOTENV`, not its `.example` template). Helm values files are told by
    content too (`_by_content`: a values file that is a manifest is read as one)."""
    name = path_name(path)
    return bool(_DOTENV.match(name)) and not name.lower().endswith(_DOTENV_TEMPLATES)


def credential_file(path: str) -> bool:
    """True when repository path `path` is a credential file by its name
    (`CREDENTIAL_NAMES`, `CREDENTIAL_SUFFIXES`, `appsettings*.json`, `.docker/config.json`),
    read for secret material only; a public key (`id_rsa.pub`) is not one."""
    name = path_name(path).lower()
    return (name in CREDENTIAL_NAMES or name.endswith(CREDENTIAL_SUFFIXES)
            or _APPSETTINGS.match(name) is not None
            or path.lower() == _DOCKER_CONFIG or path.lower().endswith("/" + _DOCKER_CONFIG))


def text_file(raw: bytes) -> bool:
    """True when `raw` is text to search for secret material: no NUL byte in its first 8 KiB
    (git's own binary test, `buffer_is_binary` in git's xdiff-interface.c), or binary only by
    its NUL bytes (`decode.nul_padded`: a dotenv file ending in `\\0` that a shell sources)."""
    return b"\0" not in raw[:8192] or nul_padded(raw)


def holds_private_key(head: bytes) -> bool:
    """True when bytes `head` hold a PEM private-key header or END line (`_PRIVATE_KEY`)."""
    return _PRIVATE_KEY.search(head) is not None


def mcp_file(path: str) -> bool:
    """True when repository path `path` is an MCP client configuration (`MCP_FILES`), read
    by `checker.parsers.mcp` and for secret material."""
    return (path in MCP_FILES or path in MCP_ROOT_FILES
            or path.endswith(tuple(f"/{f}" for f in MCP_FILES)))


def _by_content(path: str, head: bytes, is_yaml: bool) -> Sniff:
    """`sniff` of a YAML (`is_yaml`) or JSON file from its content `head` (BOM dropped)."""
    if not may_be_manifest(head):
        helm_values = is_yaml and _HELM_VALUES.match(path_name(path))
        return Sniff("secret_values" if helm_values else None)
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        if is_yaml and plain_manifest(text):  # no need to compose it here
            return Sniff("kubernetes")
    parsed = Parsed.UNREADABLE if text is None else has_manifest(text, path)
    if parsed is Parsed.MANIFEST:
        return Sniff("kubernetes")
    if parsed is Parsed.OTHER:
        return Sniff("secret_values" if _HELM_VALUES.match(path_name(path)) else None)
    if parsed is Parsed.SYNTAX_ERROR and text is not None:
        tagged = template_language(text)
        if tagged is not None:
            return Sniff(None, *tagged)
    return Sniff("kubernetes" if _keys_at_key_positions(head, is_yaml) else None)


def _keys_at_key_positions(head: bytes, is_yaml: bool) -> bool:
    """The byte sniff for a file that could not be parsed: `apiVersion` and `kind` where a
    mapping key can start (quoted, flow style, `? kind`), or a double-quoted escape in YAML;
    `"apiVersion":` in JSON."""
    if not is_yaml:
        return _JSON_K8S.search(head) is not None
    return bool(_K8S_SNIFF.search(head) and _K8S_KIND.search(head)) or bool(
        _YAML_ESCAPE.search(head))


def excluded(path: str, patterns: Sequence[str]) -> bool:
    """True when `path` matches any exclude glob."""
    return any(glob_match(path, p) for p in patterns)


def walk(roots: Sequence[Path]) -> Iterator[tuple[Path, str]]:
    """Yield (absolute file, display path) for every candidate file under `roots`, sorted.

    The display path is relative to the root's parent when a root is a directory given
    relatively (so `scan repo` shows `repo/infra/iam.tf`), else the path as given. Symlinks are
    not followed (a link out of the tree must never be read) but are yielded, so the caller
    can report them (NHI902) instead of passing silently; VCS and tool caches are skipped.
    """
    for root in roots:
        if root.is_symlink():
            yield root, root.as_posix()
            continue
        if root.is_file():
            yield root, root.as_posix()
            continue
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
            dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
            for fname in sorted(filenames):
                full = Path(dirpath) / fname
                if not full.is_symlink() and not full.is_file():
                    continue  # FIFOs and devices are not files
                if (fname.lower().endswith(_WALK_SUFFIXES) or _DOTENV.match(fname)
                        or credential_file(full.as_posix())):
                    yield full, full.as_posix()
