"""The same ES module live in JupyterLab: the widget renders, an arrow key moves its slider
(JupyterLab does not swallow it), and Python reads back companion's values for the new input.

The gradient-flow explorer and the train-it-here widget too (the trainer runs on the page
there, in chunks, as JupyterLab gives it no Web Worker; its first step is companion's).

Slow (starts a Jupyter server and a kernel, about 20-40 s): runs only with
COMPANION_TEST_JUPYTERLAB=1 (and jupyterlab, playwright, /usr/bin/chromium installed); ``make
test`` sets it when CI is set.
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


def test_gradient_flow_and_training_live_in_jupyterlab(lab):
    """Live in JupyterLab (anywidget; no Web Worker there, so the trainer runs on the page in
    chunks): the gradient-flow explorer follows a keyboard move of rho and Python reads the same
    setting back; one Step of the trainer gives companion.page_training's first step to 1e-9."""
    from companion import gradient_flow as gf
    from companion import page_training
    src = ("import companion.widgets as cw\n"
           "g = cw.GradientFlowExplorer(kind='rnn', rho=0.9, T=40, H=8)\n"
           "t = cw.TrainingRun(kind='gru', distance=10, hidden=4, update_bias=-2.0, steps=3)\n"
           "cw.show(g); cw.show(t)")
    nb = {"cells": [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": src},
                    {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                     "source": "print('READBACK', repr(g.rho))"}],
          "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
          "nbformat": 4, "nbformat_minor": 5}
    req = urllib.request.Request(f"{lab}/api/contents/new.ipynb?token={TOKEN}", method="PUT",
                                 data=json.dumps({"type": "notebook", "content": nb}).encode(),
                                 headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=10)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = b.new_page(viewport={"width": 1300, "height": 1400})
        errors, foreign = [], []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: r.url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:"))
                or foreign.append(r.url))
        page.goto(f"{lab}/lab/tree/new.ipynb?reset&token={TOKEN}")   # reset: only this notebook open
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
        time.sleep(2)
        page.locator(".jp-Cell").first.click()
        page.keyboard.press("Shift+Enter")
        page.wait_for_function("() => document.querySelectorAll('.jp-OutputArea .cw[data-ready]').length === 2",
                               timeout=60_000)
        time.sleep(1.0)
        # the gradient-flow explorer: rho moved by keyboard, the decay factor is companion's
        slider = page.locator('.jp-OutputArea input[type=range][data-name="rho"]').first
        before = float(slider.input_value())
        slider.focus()
        page.keyboard.press("ArrowRight")
        rho = float(slider.input_value())
        assert rho > before
        want = gf.gradient_flow("rnn", rho=rho, T=40, H=8).decay
        page.wait_for_function(
            "([w]) => Math.abs(parseFloat(document.querySelector('.jp-OutputArea [data-out=\"decay-rnn\"]')"
            ".getAttribute('data-value')) - w) < 1e-9", arg=[want], timeout=10_000)
        time.sleep(1.0)                                          # the change travels to the kernel
        page.locator(".jp-Cell").nth(1).click()
        page.keyboard.press("Shift+Enter")
        out = page.locator(".jp-Cell").nth(1).locator(".jp-OutputArea-output")
        out.wait_for(timeout=30_000)
        assert f"READBACK {rho!r}" in out.text_content(), out.text_content()
        # the trainer, on the page (no worker in JupyterLab): one Step equals companion's first step
        trainer = page.locator(".jp-OutputArea .cw[data-mode]").first
        assert trainer.get_attribute("data-mode") == "page"
        trainer.locator('button[data-action="step"]').click()
        page.wait_for_function("() => document.querySelector('.jp-OutputArea .cw[data-mode]')"
                               ".getAttribute('data-step') === '1'", timeout=20_000)
        ref = page_training.TrainingRun(kind="gru", distance=10, hidden=4, update_bias=-2.0).step()
        for attr, key in (("data-loss", "loss"), ("data-grad-first", "grad_first")):
            got = float(trainer.get_attribute(attr))
            assert abs(got - ref[key]) <= 1e-9 * max(1.0, abs(ref[key])), (attr, got, ref[key])
        assert foreign == [], foreign
        assert errors == [], errors
        b.close()
