"""Files that steer coding agents and how their commits are attributed, read as facts for
NHI102 (`checker.checks.policy_files` decides).

Which files (`steering_kind`), each a convention its tool documents (kind: paths; source):

- `claude`: `.claude/settings.json`, `.claude/settings.local.json` (`includeCoAuthoredBy`,
  `attribution.commit`/`.pr`, `env`); https://code.claude.com/docs/en/settings
- `claude-md`: `CLAUDE.md`, `CLAUDE.local.md` anywhere; https://code.claude.com/docs/en/memory
- `gemini-md`: `GEMINI.md` anywhere; https://geminicli.com/docs/cli/gemini-md
- `agents-md`: `AGENTS.md` anywhere; https://agents.md/
- `codex`: `.codex/config.toml` (`shell_environment_policy.set`, the agent's environment);
  https://developers.openai.com/codex/config-basic
- `copilot`: any file under `.copilot/`;
  https://docs.github.com/en/copilot/how-tos/use-copilot-agents/use-copilot-cli
- `copilot-setup`: `.github/workflows/copilot-setup-steps.yml`, run before the Copilot coding
  agent starts; https://docs.github.com/en/copilot/how-tos/use-copilot-agents/coding-agent/customize-the-agent-environment
- `copilot-instructions`: `.github/copilot-instructions.md`,
  `.github/instructions/*.instructions.md`; https://docs.github.com/en/copilot/how-tos/configure-custom-instructions/add-repository-instructions
- `cursor`: any file under a `.cursor/` folder (rules, `environment.json`), `.cursorrules`
  anywhere; https://docs.cursor.com/context/rules
- `git-hook`: any file under `.husky/` or `.githooks/` (a `prepare-commit-msg` hook can strip
  trailers); https://typicode.github.io/husky/ , https://git-scm.com/docs/githooks
- (no kind by name) a `package.json` whose text at base or head names `core.hooksPath`, which
  decides which hooks git runs: `checker.commands.gate_files.gate_files` adds it by content;
  https://git-scm.com/docs/git-config#Documentation/git-config.txt-corehooksPath
- `devcontainer`: `.devcontainer.json`, `.devcontainer/devcontainer.json`,
  `.devcontainer/*/devcontainer.json` (JSON with comments; `containerEnv`/`remoteEnv`);
  https://containers.dev/implementors/json_reference/
- `direnv`: `.envrc` anywhere (exported variables); https://direnv.net/
- `vscode`: `.vscode/settings.json` (JSON with comments and trailing commas, as VS Code reads
  it; `git.addAICoAuthor` adds Copilot's `Co-authored-by:`);
  https://github.com/microsoft/vscode/pull/310226
- `pre-commit`: `.pre-commit-config.yaml` (the nhi-gate hooks); https://pre-commit.com/#plugins
- `claude-files`: any other file under a `.claude/` folder (slash commands in
  `.claude/commands/*.md`, subagents in `.claude/agents/`, hook scripts);
  https://code.claude.com/docs/en/slash-commands , https://code.claude.com/docs/en/sub-agents
- `agent-md`: `AGENT.md` anywhere (Amp reads it like `AGENTS.md`);
  https://ampcode.com/manual#AGENTS.md
- `aider`: `.aider.conf.yml` anywhere (YAML; `attribute-author`, `attribute-committer`,
  `attribute-co-authored-by`, `attribute-commit-message-author`/`-committer`,
  `git-commit-verify`); https://aider.chat/docs/config/options.html
- `windsurf`: `.windsurfrules` anywhere, any file under a `.windsurf/` folder (rules,
  workflows); https://docs.windsurf.com/windsurf/cascade/memories#rules
- `cline`: `.clinerules` anywhere, a file or a folder of rule files;
  https://docs.cline.bot/features/cline-rules
- `opencode`: `opencode.json`/`opencode.jsonc` anywhere (JSON with comments), any file under
  an `.opencode/` folder (agents, commands); https://opencode.ai/docs/config/
- `gemini`: any file under a `.gemini/` folder (`settings.json`, JSON with comments; custom
  commands); https://geminicli.com/docs/reference/configuration
- `copilot-prompt`: `.github/prompts/*.prompt.md` (reusable Copilot chat prompts) and
  `.github/chatmodes/*.chatmode.md` (custom chat modes);
  https://code.visualstudio.com/docs/copilot/customization/prompt-files ,
  https://code.visualstudio.com/docs/copilot/chat/chat-modes
- `commit-template`: `.gitmessage`, `.gitmessage.txt`, `.git-commit-template`,
  `.git-commit-template.txt` anywhere: a commit message template (`git config commit.template`,
  https://git-scm.com/docs/git-config#Documentation/git-config.txt-committemplate) whose text
  starts every message written in the editor, so a trailer planted there (`Requested-by:`,
  `Approved-by:`, `Co-authored-by:`) lands in later commits; git drops its `#` lines
  (`core.commentChar`, https://git-scm.com/docs/git-commit#_discussion). A pull request template
  (`.github/pull_request_template.md`) is not one: the PR body only ever raises a commit's
  actor (`checker.provenance.channels`) and approves nothing.
- more agents' rule files, all prose: `AGENTS.override.md` (Codex,
  https://github.com/openai/codex/blob/main/docs/getting-started.md#memory-with-agentsmd),
  `QWEN.md` (Qwen Code, https://qwenlm.github.io/qwen-code-docs/en/cli/configuration/),
  `CONVENTIONS.md` (aider's conventions file, https://aider.chat/docs/usage/conventions.html),
  `.rules` (Zed, https://zed.dev/docs/ai/rules), `.goosehints` (goose,
  https://block.github.io/goose/docs/guides/using-goosehints), `.augment-guidelines`
  (Augment, https://docs.augmentcode.com/setup-augment/guidelines), `.roomodes` and any file
  under `.roo/` (Roo Code, https://docs.roocode.com/features/custom-instructions), `.junie/`
  (JetBrains Junie, https://www.jetbrains.com/help/junie/customize-guidelines.html), `.kiro/`
  (Kiro steering, https://kiro.dev/docs/steering/), `.amazonq/` (Amazon Q project rules,
  https://docs.aws.amazon.com/amazonq/latest/qdeveloper-ug/context-project-rules.html) and
  `.continue/` (Continue rules, https://docs.continue.dev/customize/deep-dives/rules).

What is recorded (`steering_facts`), as a set of strings per revision:

- `attribution:...`: what decides who a commit says wrote it, who asked for it and who approved
  it. In a commit template, every trailer-shaped line (`Key: value`) below its subject line
  that is not a `#` comment; in JSON settings, every key path
  (with its value) that names co-authoring, trailers, attribution or sign-off, or sets a
  `GIT_AUTHOR_*`/`GIT_COMMITTER_*` variable; in TOML, such `key = value` lines (with their
  table); in prose and workflow files, every line that mentions them (`Co-authored-by`,
  `git config user.email`, `--author`, `--no-verify`, `core.hooksPath`, ...).
- `gate:...`: what keeps nhi-gate running. In `.pre-commit-config.yaml`, each nhi-gate repo
  (its URL and `rev`), each of its hooks with its settings, `default_install_hook_types`, and
  each of its hook ids that pre-commit.ci's `ci: {skip: [...]}` does not name (a skip added
  loses that fact; https://pre-commit.ci/#configuration); elsewhere, every
  key path or line that names nhi-gate is a `mention:` fact instead (an instruction about the
  gate: "skip nhi-gate", "never run the nhi-gate hook"), which changes when added or removed.

A file that is absent gives the empty set; one that cannot be read (not UTF-8, invalid JSON
or YAML) gives None, which the check treats as a change (fail closed).
"""

from __future__ import annotations

import json
import re

from checker.decode import utf8
from checker.lazy_patterns import lazy_compile
from checker.safeyaml import nodes
from checker.safeyaml.load import load_text

_NAMED = {
    ".claude/settings.json": "claude",
    ".claude/settings.local.json": "claude",
    ".codex/config.toml": "codex",
    ".vscode/settings.json": "vscode",
    ".github/workflows/copilot-setup-steps.yml": "copilot-setup",
    ".github/workflows/copilot-setup-steps.yaml": "copilot-setup",
    ".pre-commit-config.yaml": "pre-commit",
}
#: Kinds by file name, anywhere in the repository.
_BY_NAME = {
    "CLAUDE.md": "claude-md", "CLAUDE.local.md": "claude-md", "AGENTS.md": "agents-md",
    "GEMINI.md": "gemini-md", "AGENT.md": "agent-md", ".cursorrules": "cursor",
    ".envrc": "direnv", ".aider.conf.yml": "aider", ".windsurfrules": "windsurf",
    ".clinerules": "cline", "opencode.json": "opencode", "opencode.jsonc": "opencode",
    "AGENTS.override.md": "agents-md", "QWEN.md": "rules", "CONVENTIONS.md": "rules",
    ".rules": "rules", ".goosehints": "rules", ".augment-guidelines": "rules",
    ".roomodes": "rules", ".gitmessage": "commit-template", ".gitmessage.txt": "commit-template",
    ".git-commit-template": "commit-template", ".git-commit-template.txt": "commit-template",
}
#: Kinds by a folder the file is under, anywhere in the repository (`.cursor/rules/x.mdc`).
_BY_FOLDER = {".cursor": "cursor", ".windsurf": "windsurf", ".clinerules": "cline",
              ".opencode": "opencode", ".gemini": "gemini", ".claude": "claude-files",
              ".roo": "rules", ".junie": "rules", ".kiro": "rules", ".amazonq": "rules",
              ".continue": "rules"}
#: Keys and text that decide attribution (case-insensitive).
_ATTRIBUTION = lazy_compile(
    r"co-?authored|co[-_]?author|trailer|attribution|sign-?off|signed-off-by|"
    r"GIT_(?:AUTHOR|COMMITTER)_|user\.(?:name|email)|--author\b|--no-verify|hookspath|"
    r"generated with|\battribute-|git-commit-verify|requested-by|approved-by",
    re.IGNORECASE,
)
_GATE = lazy_compile(r"nhi-gate", re.IGNORECASE)
#: A git trailer line (`Key: value`; https://git-scm.com/docs/git-interpret-trailers).
_TRAILER = lazy_compile(r"^[A-Za-z0-9][A-Za-z0-9-]*[ \t]*:[ \t]*\S")
#: JSON-with-comments tokens: a string (kept) or a comment (dropped), then, once comments are
#: gone, a string (kept) or a comma before a closing bracket (dropped).
_JSONC_COMMENT = lazy_compile(r'("(?:[^"\\\n]|\\.)*")|//[^\n]*|/\*.*?\*/', re.DOTALL)
_JSONC_COMMA = lazy_compile(r'("(?:[^"\\\n]|\\.)*")|,(?=\s*[}\]])')
_TOML_KEY = lazy_compile(r"^\s*([A-Za-z0-9_.\"'-]+)\s*=\s*(.*)$")
_TOML_TABLE = lazy_compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")

_DEVCONTAINER = lazy_compile(
    r"^(?:\.devcontainer\.json|\.devcontainer/(?:[^/]+/)?devcontainer\.json)$")

Facts = frozenset[str]


def steering_kind(path: str) -> str | None:
    """The kind of agent-steering file `path` is (see the module table), or None."""
    if path in _NAMED:
        return _NAMED[path]
    parts = path.split("/")
    name = parts[-1]
    if name in _BY_NAME:
        return _BY_NAME[name]
    if path.startswith(".copilot/"):
        return "copilot"
    if path == ".github/copilot-instructions.md" or (
            path.startswith(".github/instructions/") and name.endswith(".instructions.md")):
        return "copilot-instructions"
    if (path.startswith(".github/prompts/") and name.endswith(".prompt.md")) or (
            path.startswith(".github/chatmodes/") and name.endswith(".chatmode.md")):
        return "copilot-prompt"
    folder = next((_BY_FOLDER[p] for p in parts[:-1] if p in _BY_FOLDER), None)
    if folder is not None:
        return folder
    if path.startswith((".husky/", ".githooks/")):
        return "git-hook"
    if _DEVCONTAINER.match(path):
        return "devcontainer"
    return None


def steering_facts(path: str, blob: bytes | None) -> Facts | None:
    """The attribution and gate facts of `path` as `blob` holds it (module docstring);
    frozenset() for an absent file, None when it cannot be read."""
    if blob is None:
        return frozenset()
    text = utf8(blob)
    if text is None:
        return None
    kind = steering_kind(path)
    lower = path.lower()
    if kind == "pre-commit":
        return _pre_commit(text, path)
    if kind == "aider":
        return _yaml(text, path)
    if kind == "commit-template":
        return _commit_template(text)
    if kind in ("devcontainer", "vscode", "opencode", "gemini") and lower.endswith(
            (".json", ".jsonc")):
        return _json(strip_jsonc(text))
    if lower.endswith(".json"):
        return _json(text)
    if lower.endswith(".toml"):
        return _toml(text)
    return _lines(text)


def strip_jsonc(text: str) -> str:
    """`text`, JSON with comments and trailing commas (JSONC, as VS Code and dev containers read
    it: https://code.visualstudio.com/docs/languages/json#_json-with-comments), as plain JSON.

    `//` and `/* */` comments become spaces (a block comment keeps its newlines) and a comma
    before `}` or `]` a space, so every line keeps its number; text inside strings
    (`"https://x"`, `"a,]"`) is never touched. Invalid JSON stays invalid."""

    def blank(m: re.Match[str]) -> str:
        if m.group(1) is not None:
            return m.group(1)
        return re.sub(r"[^\n]", " ", m.group(0))

    return _JSONC_COMMA.sub(blank, _JSONC_COMMENT.sub(blank, text))


def _lines(text: str) -> Facts:
    out: set[str] = set()
    for line in text.split("\n"):
        norm = " ".join(line.split())
        if _ATTRIBUTION.search(norm):
            out.add(f"attribution:{norm}")
        if _GATE.search(norm):
            out.add(f"mention:{norm}")
    return frozenset(out)


def _commit_template(text: str) -> Facts:
    """The facts of a commit message template: its lines' (`_lines`), and each trailer-shaped
    line below the subject that git keeps (not a `#` comment) as an `attribution:` fact."""
    out = set(_lines(text))
    kept = [" ".join(line.split()) for line in text.split("\n")
            if not line.lstrip().startswith("#")]
    subject = next((i for i, line in enumerate(kept) if line), len(kept))
    out.update(f"attribution:{line}" for line in kept[subject + 1:] if _TRAILER.match(line))
    return frozenset(out)


def _yaml(text: str, path: str) -> Facts | None:
    """The facts of a YAML settings file (every leaf as `key.path=value`), None when invalid."""
    stream = load_text(text, path)
    if stream.problem is not None:
        return None
    docs = [nodes.to_python(doc) for doc in stream.documents]
    return _tree_facts(docs[0] if len(docs) == 1 else docs)


def _json(text: str) -> Facts | None:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return _tree_facts(data)


def _tree_facts(data: object) -> Facts:
    """The facts of a parsed JSON or TOML document: every leaf as `key.path=value`."""
    out: set[str] = set()
    stack: list[tuple[str, object]] = [("", data)]
    while stack:
        prefix, value = stack.pop()
        if isinstance(value, dict):
            stack.extend((f"{prefix}.{k}" if prefix else str(k), v) for k, v in value.items())
            continue
        if isinstance(value, list):
            stack.extend((f"{prefix}[{i}]", v) for i, v in enumerate(value))
            continue
        fact = f"{prefix}={json.dumps(value, default=str)}"
        if _ATTRIBUTION.search(fact):
            out.add(f"attribution:{fact}")
        if _GATE.search(fact):
            out.add(f"mention:{fact}")
    return frozenset(out)


def _toml(text: str) -> Facts:
    """The document's facts (`_tree_facts`) read with the standard library's `tomllib`
    (Python 3.11+, multi-line values included); on Python 3.10, or when the text is not valid
    TOML, its `key = value` lines read with their `[table]`, so an attribution key set, added or
    removed, is still seen."""
    try:
        import tomllib  # Python 3.11+
    except ImportError:
        return _toml_lines(text)
    try:
        return _tree_facts(tomllib.loads(text))
    except (tomllib.TOMLDecodeError, RecursionError):
        return _toml_lines(text)


def _toml_lines(text: str) -> Facts:
    out: set[str] = set()
    table = ""
    for line in text.split("\n"):
        if m := _TOML_TABLE.match(line):
            table = m.group(1).strip()
            continue
        m = _TOML_KEY.match(line)
        fact = (f"{table}.{m.group(1)}={' '.join(m.group(2).split())}" if m
                else " ".join(line.split()))  # fmt: skip
        if _ATTRIBUTION.search(fact):
            out.add(f"attribution:{fact}")
        if _GATE.search(fact):
            out.add(f"mention:{fact}")
    return frozenset(out)


def _pre_commit(text: str, path: str) -> Facts | None:
    stream = load_text(text, path)
    if stream.problem is not None:
        return None
    out: set[str] = set()
    for doc in stream.documents:
        for hook_type in nodes.sequence(nodes.get(doc, "default_install_hook_types")):
            out.add(f"gate:default_install_hook_types:{nodes.scalar(hook_type)}")
        skipped = {nodes.scalar(s) for s in nodes.sequence(nodes.get(nodes.get(doc, "ci"),
                                                                      "skip"))}
        for repo in nodes.sequence(nodes.get(doc, "repos")):
            url = nodes.scalar(nodes.get(repo, "repo")) or ""
            hooks = nodes.sequence(nodes.get(repo, "hooks"))
            ids = [nodes.scalar(nodes.get(h, "id")) or "" for h in hooks]
            if not (_GATE.search(url) or any(_GATE.search(i) for i in ids)):
                continue
            out.add(f"gate:repo:{url}@{nodes.scalar(nodes.get(repo, 'rev'))}")
            for hook in hooks:
                out.add("gate:hook:" + json.dumps(nodes.to_python(hook), sort_keys=True))
            out.update(f"gate:pre-commit.ci runs hook {i} (not in ci.skip)"
                       for i in ids if i and i not in skipped)
    return frozenset(out)
