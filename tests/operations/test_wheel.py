"""The wheel carries the built web UI: `pip install` of it serves the UI with no Node and no
checkout around. (`make test` builds the UI before the Python tests.)"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.helpers.alerts import free_port, wait_for

pytestmark = pytest.mark.realtime
ROOT = Path(__file__).resolve().parents[2]
UV = Path(sys.executable).parent / "uv"


def _build_wheel(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "cartrack", src / "cartrack",
                    ignore=shutil.ignore_patterns("__pycache__", "static"))
    shutil.copytree(ROOT / "frontend" / "dist", src / "cartrack" / "static")
    out = tmp_path / "dist"
    r = subprocess.run([str(UV), "build", "--wheel", "--out-dir", str(out), str(src)],
                       capture_output=True, text=True, timeout=300, check=False,
                       env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "UV_NATIVE_TLS": "1"})
    assert r.returncode == 0, r.stderr[-2000:]
    wheels = list(out.glob("cartrack-*.whl"))
    assert len(wheels) == 1
    return wheels[0]


def test_the_installed_wheel_serves_the_ui(tmp_path: Path) -> None:
    if not (ROOT / "frontend" / "dist" / "index.html").is_file():
        pytest.skip("the web UI is not built (make frontend)")
    wheel = _build_wheel(tmp_path)
    site = tmp_path / "site"
    r = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                        "--target", str(site), str(wheel)], capture_output=True, text=True,
                       timeout=300, check=False)
    assert r.returncode == 0, r.stderr
    assert (site / "cartrack" / "static" / "index.html").is_file()
    run = tmp_path / "run"
    run.mkdir()
    port = free_port()
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(site),
           "CARTRACK_DATABASE_URL": f"sqlite:///{run / 'cartrack.db'}",
           "CARTRACK_SCHEDULER_ENABLED": "false"}
    where = subprocess.run([sys.executable, "-c", "import cartrack; print(cartrack.__file__)"],
                           env=env, cwd=run, capture_output=True, text=True, check=True)
    assert where.stdout.startswith(str(site)), where.stdout  # the wheel's code, not the checkout
    with (run / "serve.log").open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "cartrack.cli", "serve", "--port",
                                 str(port)], env=env, cwd=run, stdout=log,
                                stderr=subprocess.STDOUT)
    try:
        assert wait_for(lambda: _get(port, "/api/health") == 200, 60, step=0.2), \
            (run / "serve.log").read_text()
        page = httpx.get(f"http://127.0.0.1:{port}/cases/1", timeout=5)
        assert page.status_code == 200 and '<div id="root">' in page.text
        script = next(p for p in (site / "cartrack" / "static" / "assets").glob("*.js"))
        asset = httpx.get(f"http://127.0.0.1:{port}/assets/{script.name}", timeout=5)
        assert asset.status_code == 200 and asset.content == script.read_bytes()
    finally:
        proc.terminate()
        proc.wait(10)


def _get(port: int, path: str) -> int:
    try:
        return httpx.get(f"http://127.0.0.1:{port}{path}", timeout=2).status_code
    except httpx.HTTPError:
        return 0
