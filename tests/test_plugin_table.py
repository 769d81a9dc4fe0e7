"""`checker/secrets/plugin_table.py`, detect-secrets' plugins as data, must be the installed
library's plugins: same classes, secret types, patterns and flags. Regenerate it with
`python scripts/gen_plugin_table.py` after upgrading detect-secrets."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from checker.secrets import detectors
from checker.secrets.plugin_table import TABLE

ROOT = Path(__file__).resolve().parents[1]


def test_table_is_the_installed_library() -> None:
    assert list(TABLE) == detectors.library_plugins()


def test_generator_writes_the_committed_table() -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import gen_plugin_table
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    assert gen_plugin_table.render() == (ROOT / "checker/secrets/plugin_table.py").read_text()


@pytest.mark.parametrize("text,expected", [
    ("token = ghp_" + "A" * 36, ["ghp_" + "A" * 36]),
    ('aws_secret_key = "' + "wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + 'ZQ3R8TLM2X"',
     ["wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "ZQ3R8TLM2X"]),
    ("- uses: actions/checkout@" + "8e5e7e5ab8b370d6c329ec480221332ada57f0ab", []),
])
def test_table_plugins_find_what_the_library_finds(text: str, expected: list[str]) -> None:
    from detect_secrets.plugins.aws import AWSKeyDetector
    from detect_secrets.plugins.github_token import GitHubTokenDetector

    ours = [v for p in detectors.plugins() for v in detectors.plugin_values(p, text)]
    library = [v for cls in (AWSKeyDetector, GitHubTokenDetector)
               for v in detectors.plugin_values(cls(), text)]
    assert ours == library == expected


def test_jwt_is_validated_by_the_library_only_when_its_shape_is_there() -> None:
    # a JWT whose header is valid base64 JSON: the library's own validation keeps it
    jwt = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
           "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U")
    code = (
        "import sys\n"
        "from checker.secrets import detectors\n"
        "plugs = detectors.plugins()\n"
        "assert not [v for p in plugs for v in detectors.plugin_values(p, 'name: deploy')]\n"
        "before = any(m.startswith('detect_secrets') for m in sys.modules)\n"
        f"found = [v for p in plugs for v in detectors.plugin_values(p, 'token: {jwt}')]\n"
        "after = any(m.startswith('detect_secrets') for m in sys.modules)\n"
        "print(before, after, len(found))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True).stdout.split()
    assert out == ["False", "True", "1"]
