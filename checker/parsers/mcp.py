"""MCP client configurations -> IdentityObjects: an MCP server the agent runs with a credential.

An MCP configuration tells an AI agent which tool servers to start or call, and with which
credentials (`env` of a local server, `headers` of a remote one). A server entry that carries
one is a non-human identity the agent acts as: adding or changing it is an identity change,
so NHI101 asks a human to approve it when an agent or bot wrote it (the literal values are
NHI401, from the secret scan). GitGuardian's State of Secrets Sprawl 2026 counts 24,008
secrets in MCP configuration files on public GitHub
(https://www.gitguardian.com/state-of-secrets-sprawl-report-2026).

Files (`checker.sources.discovery.MCP_FILES`) and the key holding the servers:
`mcpServers` in Claude Code's `.mcp.json` and `.claude/settings*.json`
(https://docs.anthropic.com/en/docs/claude-code/mcp), Cursor's `.cursor/mcp.json`
(https://docs.cursor.com/context/model-context-protocol) and Gemini CLI's
`.gemini/settings.json`
(https://github.com/google-gemini/gemini-cli/blob/main/docs/tools/mcp-server.md) and Roo
Code's `.roo/mcp.json` (https://docs.roocode.com/features/mcp/using-mcp-in-roo); `servers`
in VS Code's `.vscode/mcp.json` (https://code.visualstudio.com/docs/copilot/chat/mcp-servers),
which VS Code reads as JSON with comments and trailing commas (so does this parser); `mcp`
(version 1) or `mcp.servers` (version 2) in OpenCode's `opencode.json`/`opencode.jsonc`, at
the root or in `.opencode/` (https://opencode.ai/docs/mcp-servers/; local servers take
`environment`, remote ones `headers`), read as JSON with comments too.

Shape: `mcp_server` (kind `api_token`, platform `mcp`), one per server entry with a
credential: an `env`, `environment` or `headers` key named like one
(`GITHUB_PERSONAL_ACCESS_TOKEN`, `Authorization`, `X-API-Key`), a credential flag in `args`
(`--api-key`, `--token`), or a credential-named parameter in the `url`'s query
(`https://mcp.example/sse?api_key=...`, `checker.parsers.url_params`).
Address `<path>#mcpServers.<name>` (or `servers.<name>`, `mcp.<name>`, `mcp.servers.<name>`);
location = the entry; `attribute_lines` = `env.<KEY>`/`headers.<KEY>`/`args`/`url` -> line;
`references` = the credential keys (names, never values); `metadata` = `command` or `url`;
`digest` = sha256 over the entry as parsed (values included: a new token is a changed
identity). Never raises on bad input.
"""

from __future__ import annotations

import hashlib
import json

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from checker.decode import decode
from checker.lazy_patterns import lazy_compile
from checker.model import IdentityObject, Location, ParseProblem, ParseResult, SourceFile
from checker.parsers.steering import strip_jsonc
from checker.parsers.url_params import query_pairs
from checker.policy.catalogue import Catalogue
from checker.safeyaml import end_line_of, get, items, line_of, load_source, scalar
from checker.safeyaml.load import YamlStream, load_text

FORMAT = "mcp_config"
#: The keys that hold the server entries, by client.
SERVER_KEYS = ("mcpServers", "servers")
#: A key naming a credential (env var or HTTP header).
_CREDENTIAL_KEY = lazy_compile(
    r"(?i)(password|passwd|pwd|secret|token|api[_-]?key|apikey|private[_-]?key|access[_-]?key"
    r"|credential|authorization|auth[_-]?key|bearer|cookie)"
)
#: Files read as JSON with comments and trailing commas (`_load`).
_JSONC = (".vscode/mcp.json", "opencode.json", "opencode.jsonc")
_CREDENTIAL_ARG = lazy_compile(r"(?i)^--?(?:api[_-]?key|token|access[_-]?token|password|secret)\b")


def parse(source: SourceFile, catalogue: Catalogue) -> ParseResult:
    """The credentialed MCP servers of one configuration file (see the module docstring);
    at most one `ParseProblem` (NHI901-NHI903) for a file that is not readable JSON."""
    stream = _load(source)
    problems = (stream.problem,) if stream.problem is not None else ()
    root = next((d for d in stream.documents if isinstance(d, MappingNode)), None)
    objects: list[IdentityObject] = []
    for key, servers in _server_maps(root):
        for name, name_node, entry in items(servers):
            if isinstance(entry, MappingNode):
                obj = _server(source.path, stream.lines, key, name, name_node, entry)
                if obj is not None:
                    objects.append(obj)
    return ParseResult(tuple(objects), problems)


def _server_maps(root: MappingNode | None) -> list[tuple[str, Node | None]]:
    """(address prefix, mapping of server entries) of a configuration's root: `mcpServers`,
    `servers`, and OpenCode's `mcp.servers` (version 2) or `mcp` (version 1)."""
    if root is None:
        return []
    found: list[tuple[str, Node | None]] = [(key, get(root, key)) for key in SERVER_KEYS]
    opencode = get(root, "mcp")
    if isinstance(opencode, MappingNode):
        nested = get(opencode, "servers")
        found.append(("mcp.servers", nested) if isinstance(nested, MappingNode)
                     else ("mcp", opencode))
    return found


def _load(source: SourceFile) -> YamlStream:
    """`source` composed as YAML; VS Code's `.vscode/mcp.json` and OpenCode's configuration
    are JSON with comments and trailing commas (their tools read them so), read with those
    blanked out, lines kept."""
    if not source.path.endswith(_JSONC):
        return load_source(source)
    text = decode(source)
    if isinstance(text, ParseProblem):
        return YamlStream(source.path, [], (), text)
    return load_text(strip_jsonc(text), source.path)


def _server(path: str, lines: list[str], key: str, name: str, name_node: Node,
            entry: MappingNode) -> IdentityObject | None:
    attrs: dict[str, int] = {}
    refs: list[str] = []
    for section in ("env", "environment", "headers"):
        for var, var_node, _ in items(get(entry, section)):
            if _CREDENTIAL_KEY.search(var):
                attrs[f"{section}.{var}"] = line_of(var_node)
                refs.append(var)
    url = get(entry, "url")
    for param, _ in query_pairs(f" {scalar(url) or ''}"):
        if _CREDENTIAL_KEY.search(param) and url is not None:
            attrs.setdefault("url", line_of(url))
            refs.append(param)
    args = get(entry, "args")
    if isinstance(args, SequenceNode):
        for arg in args.value:
            text = scalar(arg) or ""
            if isinstance(arg, ScalarNode) and _CREDENTIAL_ARG.match(text):
                attrs.setdefault("args", line_of(arg))
                refs.append(text.split("=", 1)[0])
    if not attrs:
        return None
    start = line_of(name_node)
    metadata = {k: v for k in ("command", "url") if (v := scalar(get(entry, k)) or "")}
    return IdentityObject(
        kind="api_token",
        platform="mcp",
        type="mcp_server",
        address=f"{path}#{key}.{name}",
        location=Location(path, start, max(start, end_line_of(entry, lines))),
        metadata=metadata,
        attribute_lines=attrs,
        references=tuple(dict.fromkeys(refs)),
        digest=hashlib.sha256(json.dumps(_plain(entry), sort_keys=True).encode()).hexdigest()[:32],
    )


def _plain(node: Node | None) -> object:
    """A YAML node as plain data (for the digest)."""
    if isinstance(node, MappingNode):
        return {str(scalar(k)): _plain(v) for k, v in node.value}
    if isinstance(node, SequenceNode):
        return [_plain(v) for v in node.value]
    return scalar(node) if node is not None else None
