"""`checker.paths` answers as `pathlib.PurePosixPath` does, for every path shape."""

from __future__ import annotations

import itertools
from pathlib import PurePosixPath

from checker.paths import path_name, path_parent, path_parts

#: Segments and separators whose combinations cover the shapes `PurePosixPath` normalises:
#: empty and `.` segments, `..`, absolute paths, trailing slashes, dotted names.
_PIECES = ("a", ".", "/", "b.tf", "..")


def test_same_answers_as_pure_posix_path() -> None:
    for length in range(7):
        for pieces in itertools.product(_PIECES, repeat=length):
            path = "".join(pieces)
            pure = PurePosixPath(path)
            assert path_name(path) == pure.name, path
            assert path_parent(path) == pure.parent.as_posix(), path
            assert path_parts(path) == pure.parts, path


def test_repository_paths() -> None:
    assert path_name("infra/iam/main.tf") == "main.tf"
    assert path_parent("infra/iam/main.tf") == "infra/iam"
    assert path_parent("main.tf") == "."
    assert path_parts("../shared/corpus/x.tf") == ("..", "shared", "corpus", "x.tf")
    assert path_parent("infra//iam/./main.tf") == "infra/iam"  # normalised, as pathlib does
