"""The import contracts of ``.importlinter`` hold, so pytest fails on a package cycle too.

``make lint`` runs ``lint-imports``; this runs the same contracts (layers with no
upward import and no cycle, capabilities free of the doors, the audit core free
of its SQL side) in a subprocess, and shows on a small package with a cycle
that the check does fail.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _lint_imports(config: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    code = (
        "import sys; from importlinter.cli import lint_imports; "
        f"sys.exit(lint_imports(config_filenames=({str(config)!r},), no_cache=True))"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env={"PYTHONPATH": str(cwd), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_gateway_keeps_its_import_contracts() -> None:
    done = _lint_imports(ROOT / ".importlinter", ROOT)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def test_the_measurement_finds_no_package_cycle() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "import_graph.py")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout
    assert "all imports:" in done.stdout and "0 cycle(s)" in done.stdout


def test_a_cycle_through_a_lazy_import_breaks_the_layers(tmp_path: Path) -> None:
    package = tmp_path / "cyclic"
    (package / "low").mkdir(parents=True)
    (package / "high").mkdir()
    (package / "__init__.py").write_text("")
    (package / "high" / "__init__.py").write_text("from cyclic.low import thing\n")
    (package / "low" / "__init__.py").write_text(
        textwrap.dedent(
            """
            thing = 1

            def later():
                from cyclic.high import thing as again  # lazy, still a dependency
                return again
            """
        )
    )
    config = tmp_path / ".importlinter"
    config.write_text(
        textwrap.dedent(
            """
            [importlinter]
            root_packages =
                cyclic

            [importlinter:contract:layers]
            name = high over low
            type = layers
            containers =
                cyclic
            layers =
                high
                low
            """
        )
    )
    done = _lint_imports(config, tmp_path)
    assert done.returncode != 0, done.stdout
    assert "cyclic.low -> cyclic.high" in done.stdout
