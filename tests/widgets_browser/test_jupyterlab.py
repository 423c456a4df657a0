"""The same ES module live in JupyterLab: the widget renders, an arrow key moves its slider
(JupyterLab does not swallow it), and Python reads back companion's values for the new input.

Slow (starts a Jupyter server and a kernel, about 20-40 s): runs only with
COMPANION_TEST_JUPYTERLAB=1 (and jupyterlab, playwright, /usr/bin/chromium installed).
"""
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

if os.environ.get("COMPANION_TEST_JUPYTERLAB") != "1":
    pytest.skip("JupyterLab test is opt-in: set COMPANION_TEST_JUPYTERLAB=1", allow_module_level=True)
pytest.importorskip("jupyterlab")
if not os.path.exists("/usr/bin/chromium"):
    pytest.skip("/usr/bin/chromium is missing", allow_module_level=True)
from playwright.sync_api import sync_playwright

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
TOKEN = "companion-widgets-test"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("lab")
    nb = {"cells": [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                     "source": "import companion.widgets as cw\nw = cw.LSTMExplorer(preset='remember')\ncw.show(w)"},
                    {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                     "source": "print('READBACK', repr(w.C_prev), repr(w.outputs['C_t']))"}],
          "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
          "nbformat": 4, "nbformat_minor": 5}
    (root / "w.ipynb").write_text(json.dumps(nb))
    port = _free_port()
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(root / ".cfg"), "JUPYTER_RUNTIME_DIR": str(root / ".rt")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         f"--ServerApp.root_dir={root}", f"--IdentityProvider.token={TOKEN}",
         "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
         "--ServerApp.allow_root=True"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    base = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            urllib.request.urlopen(f"{base}/api/status?token={TOKEN}", timeout=1)
            break
        except OSError:
            time.sleep(0.5)
    else:
        proc.terminate()
        pytest.fail("jupyter lab did not start")
    yield base
    proc.terminate()
    proc.wait(timeout=20)


def test_live_widget_in_jupyterlab(lab):
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = b.new_page(viewport={"width": 1300, "height": 1000})
        errors, foreign = [], []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: r.url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:"))
                or foreign.append(r.url))
        page.goto(f"{lab}/lab/tree/w.ipynb?token={TOKEN}")
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle'], "
                               ".jp-Toolbar-kernelStatus, .jp-Notebook", timeout=60_000)
        time.sleep(2)
        page.locator(".jp-Cell").first.click()
        page.keyboard.press("Shift+Enter")
        page.wait_for_selector(".jp-OutputArea .cw[data-ready]", timeout=60_000)
        time.sleep(1.0)
        # cw.show sends the live view and text/html: JupyterLab shows the live one only
        assert page.locator(".jp-OutputArea .cw").count() == 1
        assert page.locator(".jp-OutputArea .cw-static").count() == 0
        slider = page.locator('.jp-OutputArea input[type=range][data-name="C_prev"]')
        slider.focus()
        page.keyboard.press("ArrowRight")                        # JupyterLab must not take it
        assert slider.input_value() == "2.05"
        time.sleep(1.0)                                          # the change travels to the kernel
        page.locator(".jp-Cell").nth(1).click()
        page.keyboard.press("Shift+Enter")
        out = page.locator(".jp-Cell").nth(1).locator(".jp-OutputArea-output")
        out.wait_for(timeout=30_000)
        text = out.text_content()
        assert "READBACK 2.05" in text, text
        import companion.widgets as cw
        w = cw.LSTMExplorer(preset="remember")
        w.C_prev = 2.05
        assert repr(w.outputs["C_t"]) in text, (text, w.outputs["C_t"])
        shown = float(page.locator('.jp-OutputArea [data-out="C_t"]').get_attribute("data-value"))
        assert abs(shown - w.outputs["C_t"]) < 1e-12
        assert foreign == [], foreign
        assert errors == [], errors
        b.close()
