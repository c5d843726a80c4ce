"""Installing the project is quiet (issue 26, item 7): `pip install -e .` (what `make run` and
`make test` do) used to print setuptools' "Editable installation ... folders in your working
directory" warning, because the packages were mapped by an import hook. They are now a plain
.pth entry naming the checkout."""

from __future__ import annotations

import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_an_editable_install_says_nothing_of_concern(tmp_path):
    # The project's packaging, with empty packages: what pip builds is the same.
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(ROOT / "pyproject.toml", project)
    for package in ("app", "ivr"):
        (project / package).mkdir()
        (project / package / "__init__.py").write_text("")
    target = tmp_path / "env"
    venv.create(target, with_pip=False)
    pip = [sys.executable, "-m", "pip", "--python", str(target / "bin" / "python")]
    installed = subprocess.run(
        [*pip, "install", "--no-deps", "-e", str(project)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert installed.returncode == 0, installed.stderr
    said = installed.stdout + installed.stderr
    assert "Editable installation" not in said and "BuildBackendWarning" not in said, said
    [pth] = (target / "lib").glob("python3*/site-packages/__editable__.coachline-*.pth")
    assert pth.read_text().split() == [str(project)]
