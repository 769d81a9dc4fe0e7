"""Which environment an identity belongs to (prod, staging, ...), for NHI204 and reports."""

from __future__ import annotations

from collections.abc import Mapping

from checker.checks.metadata import lookup
from checker.globs import glob_match
from checker.lazy_patterns import lazy_compile
from checker.model import IdentityObject
from checker.policy.config import Config

_ENV_WORDS: Mapping[str, str] = {
    "prod": "prod",
    "production": "prod",
    "prd": "prod",
    "staging": "staging",
    "stage": "staging",
    "stg": "staging",
    "dev": "dev",
    "development": "dev",
    "test": "test",
    "testing": "test",
    "qa": "qa",
    "sandbox": "sandbox",
}
_SPLIT = lazy_compile(r"[/_.\-]")


def infer_environment(obj: IdentityObject, config: Config) -> str | None:
    """The environment an identity belongs to.

    Config globs win: `envs/prod/**` matches the path, `namespace:prod*` the Kubernetes
    namespace. Then an `environment`/`env` tag, label or `# nhi-gate:` key (`production` reads
    as `prod`). Otherwise a path segment or namespace that names a well-known environment
    (`prod`, `production`, `staging`, `dev`, ...) decides. None when nothing says.
    """
    for env, patterns in config.environments.items():
        for pattern in patterns:
            if pattern.startswith("namespace:"):
                if obj.namespace and glob_match(obj.namespace, pattern[len("namespace:") :]):
                    return env
            elif glob_match(obj.location.path, pattern):
                return env
    label = lookup(obj.metadata, ("environment", "env"))
    if label:
        return _ENV_WORDS.get(label.lower(), label.lower())
    words = [*obj.location.path.lower().split("/")[:-1]]
    if obj.namespace:
        words.append(obj.namespace.lower())
    for word in reversed(words):
        for token in [word, *_SPLIT.split(word)]:
            if token in _ENV_WORDS:
                return _ENV_WORDS[token]
    return None
