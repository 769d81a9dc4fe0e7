"""`inventory` summarises NHI107 problems in one stderr line (issue 13, C2)."""

from pathlib import Path

import pytest

from checker.cli import main


def test_inventory_prints_one_nhi107_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("a.yaml", "b.yaml", "c.yaml"):
        (tmp_path / name).write_text(
            "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {% if x %}a{% endif %}\n"
        )
    main(["inventory", str(tmp_path)])
    err = capsys.readouterr().err
    assert err.count("NHI107") == 1
    assert "3 templates or charts could not be rendered (NHI107); `nhi-gate scan` lists them" in err
