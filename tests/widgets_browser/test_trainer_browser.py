"""The train-it-here widget (chapter 09) in headless Chromium, with no kernel.

A page holding ``companion.widgets.TrainingRun`` widgets is written to a temporary folder and
served from http://127.0.0.1 (one test also opens it from file://). The tests check:

* a 200-step training run started from the keyboard (Tab to Train, Enter) shows no long task
  over 50 ms (PerformanceObserver ``longtask``, registered before Train), and Pause stops it;
* one training step (forward, backward, Adam) at (T, B, H) = (60, 32, 16) takes at most 20 ms
  median in the page, for each cell kind (the numpy step of companion.page_training is timed
  for comparison);
* Reset and Train twice with the same seed give the same curve, bit for bit;
* the page's curve equals companion.page_training.TrainingRun for the same settings, the first
  20 steps, to 1e-9 (from file://);
* what chapter 09 tells the reader to try (the default widget of the chapter) shows what it says;
* zero console errors and zero requests to any other host, in every test.

Skipped when /usr/bin/chromium or playwright is missing, unless CI=true (then it fails).
Run alone with ``-s`` to see the figures: ``python -m pytest tests/widgets_browser/test_trainer_browser.py -s``.
"""
import functools
import http.server
import math
import os
import statistics
import threading
import time

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
IN_CI = os.environ.get("CI", "").lower() == "true"


def _need(ok, why):
    if not ok:
        if IN_CI:
            pytest.fail(f"{why} (CI=true: the browser tests must run)")
        pytest.skip(f"{why}: browser tests skipped (set CI=true to make this a failure)")


_need(os.path.exists(CHROMIUM), f"{CHROMIUM} is missing (apt-get install -y chromium)")
try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover
    sync_playwright = None
_need(sync_playwright is not None, "playwright (python) is not installed")

import companion.widgets as cw  # noqa: E402
from companion import page_training  # noqa: E402

#: the widget chapter 09 shows (notebooks/09_long_range.ipynb), whose claims test_chapter_claims checks
CHAPTER = dict(distance=40, kind="gru", hidden=8, update_bias=-2.0, lr=0.03, steps=200)
PAGES = {
    "long.html": [cw.TrainingRun(distance=30, kind="lstm", hidden=16, steps=200)],
    "same.html": [cw.TrainingRun(distance=25, kind="gru", hidden=8, update_bias=1.0, seed=3, steps=40)],
    "equal.html": [cw.TrainingRun(distance=12, kind=k, hidden=6, batch=16, lr=0.02, seed=5, forget_bias=1.0,
                                  update_bias=-1.0, steps=20) for k in ("rnn", "lstm", "gru")],
    "chapter.html": [cw.TrainingRun(**CHAPTER)],
}


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("trainer_site")
    for name, ws in PAGES.items():
        (root / name).write_text(cw.page(ws, title=name), encoding="utf-8")
    handler = functools.partial(QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield {"http": f"http://127.0.0.1:{server.server_port}/", "file": root.as_uri() + "/"}
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class Page:
    """A page with its console errors and foreign requests recorded."""

    def __init__(self, browser, base, name):
        self.page = browser.new_page(viewport={"width": 1000, "height": 1200})
        self.errors, self.foreign = [], []
        origin = base if base.startswith("file:") else base.rstrip("/")
        # the page's own: its files, data: URLs, and the Blob URL of its Worker (blob:null/ from file://)
        own = (origin, "data:", "blob:null/" if base.startswith("file:") else "blob:" + origin + "/")
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: None if r.url.startswith(own) else self.foreign.append(r.url))
        self.page.goto(base + name)
        n = len(PAGES[name])
        self.page.wait_for_function(f"document.querySelectorAll('.cw[data-ready]').length === {n}", timeout=20_000)

    def root(self, k=0):
        return self.page.locator(".cw-static .cw").nth(k)

    def button(self, action, k=0):
        return self.root(k).locator(f'button[data-action="{action}"]')

    def state(self, k=0):
        r = self.root(k)
        return {"step": int(r.get_attribute("data-step")), "running": r.get_attribute("data-running"),
                "loss": float(r.get_attribute("data-loss")), "accuracy": float(r.get_attribute("data-accuracy"))}

    def history(self, k=0):
        return self.page.evaluate(f"document.querySelectorAll('.cw-static .cw')[{k}]._history")

    def train(self, k=0, timeout=120_000):
        """Press Train and wait until the run has taken its steps and stopped."""
        self.button("train", k).click()
        self.page.wait_for_function(
            f"document.querySelectorAll('.cw-static .cw')[{k}].getAttribute('data-running') === 'false'",
            timeout=timeout)

    def check_clean(self):
        assert self.errors == [], f"console errors: {self.errors}"
        assert self.foreign == [], f"requests to other hosts: {self.foreign}"
        self.page.close()


def test_200_steps_no_long_task_keyboard_and_pause(browser, site):
    pg = Page(browser, site["http"], "long.html")
    pg.page.evaluate("""() => { window.__long = [];
        new PerformanceObserver((l) => l.getEntries().forEach((e) => window.__long.push(e.duration)))
          .observe({ entryTypes: ["longtask"] }); }""")
    assert pg.root().get_attribute("data-mode") == "worker"      # the steps run off the main thread
    # keyboard only: from the last setting, Tab reaches Train; Enter starts training
    pg.root().locator('input[type=text][data-name="steps"]').focus()
    pg.page.keyboard.press("Tab")
    assert pg.page.evaluate("document.activeElement.getAttribute('data-action')") == "train"
    t0 = time.perf_counter()
    pg.page.keyboard.press("Enter")
    pg.page.wait_for_function("document.querySelector('.cw-static .cw').getAttribute('data-step') !== '0'")
    assert pg.state()["running"] == "true"
    pg.page.wait_for_function("document.querySelector('.cw-static .cw').getAttribute('data-running') === 'false'",
                              timeout=120_000)
    wall = time.perf_counter() - t0
    longest = pg.page.evaluate("window.__long.length ? Math.max(...window.__long) : 0")
    n_long = pg.page.evaluate("window.__long.length")
    s = pg.state()
    print(f"\n200 steps (d=30, LSTM, H=16, B=32): {wall:.2f} s wall, {n_long} long tasks, "
          f"longest {longest:.0f} ms (long tasks are those over 50 ms)")
    assert s["step"] == 200 and math.isfinite(s["loss"])
    assert longest <= 50, f"a main-thread task took {longest:.0f} ms"
    assert len(pg.history()["loss"]) == 200
    # Pause stops within one chunk: nothing more happens after the click has been handled
    pg.button("train").click()
    pg.page.wait_for_function("+document.querySelector('.cw-static .cw').getAttribute('data-step') > 203")
    pg.button("pause").click()
    # Pause: the chunk under way ends, then nothing more
    pg.page.wait_for_function("document.querySelector('.cw-static .cw').getAttribute('data-running') === 'false'",
                              timeout=2_000)
    at_pause = pg.state()
    pg.page.wait_for_timeout(300)
    assert pg.state()["step"] == at_pause["step"] < 400
    # Step takes exactly one step; Reset starts again at step 0
    pg.button("step").focus()
    pg.page.keyboard.press("Enter")
    pg.page.wait_for_function("document.querySelector('.cw-static .cw').getAttribute('data-running') === 'false'")
    assert pg.state()["step"] == at_pause["step"] + 1
    pg.button("reset").click()
    assert pg.state()["step"] == 0 and pg.history()["loss"] == []
    pg.check_clean()


TIMED = 25


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_step_time_at_60_32_16(browser, site, kind):
    """One step (forward, backward, Adam) at (T, B, H) = (60, 32, 16): median <= 20 ms in the page."""
    pg = Page(browser, site["http"], "long.html")
    # T = distance + 1 = 60 tokens; the held-out evaluation (every evalEvery steps) is not part of
    # a training step: pushed out of the timed steps
    cfg = dict(kind=kind, distance=59, hidden=16, batch=32, evalEvery=10 ** 9)
    # a shared machine is noisy: up to three rounds, the best round's median counts
    rounds = []
    for _ in range(3):
        times = pg.page.evaluate("""([cfg, n]) => {
            const run = document.querySelector('.cw-static .cw')._createRun(cfg);
            for (let k = 0; k < 5; k++) run.step();                  // warm up the JIT
            const t = [];
            for (let k = 0; k < n; k++) { const t0 = performance.now(); run.step(); t.push(performance.now() - t0); }
            return t; }""", [cfg, TIMED])
        rounds.append(times)
        if statistics.median(times) <= 20:
            break
    times = min(rounds, key=statistics.median)
    med = statistics.median(times)
    ref = page_training.TrainingRun(kind=kind, distance=59, hidden=16, batch=32)
    for _ in range(3):
        ref.step()
    tp = []
    for _ in range(10):
        t0 = time.perf_counter()
        ref.step()
        tp.append(1e3 * (time.perf_counter() - t0))
    print(f"\n{kind}: one step at (T, B, H) = (60, 32, 16): browser median {med:.1f} ms "
          f"(min {min(times):.1f}, max {max(times):.1f}, {TIMED} steps); numpy median {statistics.median(tp):.1f} ms")
    assert med <= 20, f"{kind}: median step {med:.1f} ms"
    pg.check_clean()


def test_same_seed_same_curve(browser, site):
    pg = Page(browser, site["http"], "same.html")
    pg.train()
    first = pg.history()
    assert len(first["loss"]) == 40
    pg.button("reset").click()
    pg.train()
    assert pg.history() == first                   # bit for bit
    # the stored attribute (written at every stop) holds the same curve
    assert __import__("json").loads(pg.root().get_attribute("data-history")) == first
    # another seed is another curve; back to the first seed, the first curve again
    seed = pg.root().locator('input[type=text][data-name="seed"]')
    seed.fill("4")
    seed.press("Enter")
    pg.train()
    assert pg.history()["loss"] != first["loss"]
    seed.fill("3")
    seed.press("Enter")
    pg.train()
    assert pg.history() == first
    pg.check_clean()


def _close(a, b, tol=1e-9):
    return abs(a - b) <= tol * max(1.0, abs(b))


@pytest.mark.parametrize("scheme", ["file", "http"])
def test_curve_equals_page_training(browser, site, scheme):
    """The page's first 20 steps equal companion.page_training's, to 1e-9, for every cell kind."""
    pg = Page(browser, site[scheme], "equal.html")
    for k, w in enumerate(PAGES["equal.html"]):
        pg.train(k)
        page = pg.history(k)
        ref = w.reference()
        rows = [ref.step() for _ in range(20)]
        assert page["step"] == [r["step"] for r in rows]
        for t, r in enumerate(rows):
            assert _close(page["loss"][t], r["loss"]), f"{w.kind} loss step {t + 1}: {page['loss'][t]} vs {r['loss']}"
            # accuracy on the held-out batch every 10 steps (None between), exactly: a count / 256
            assert page["accuracy"][t] == r["accuracy"], (w.kind, t, page["accuracy"][t], r["accuracy"])
            # a gradient can be tiny: relative to its own size
            assert abs(page["gradFirst"][t] - r["grad_first"]) <= 1e-9 * abs(r["grad_first"]), (w.kind, t)
        shown = pg.state(k)
        assert shown["step"] == 20 and shown["loss"] == page["loss"][-1]
        assert shown["accuracy"] == page["accuracy"][19] == rows[19]["accuracy"]
    pg.check_clean()


def test_chapter_claims(browser, site):
    """What chapter 09 tells the reader to try, on the page (seed 0; tests/test_training_run_widget.py
    checks the same claims on seeds 0, 1, 2 with companion.page_training)."""
    pg = Page(browser, site["http"], "chapter.html")

    def typed(name, value):
        box = pg.root().locator(f'input[type=text][data-name="{name}"]')
        box.fill(str(value))
        box.press("Enter")

    def evaluated(h):
        return [a for a in h["accuracy"] if a is not None]

    # the GRU that keeps (update-gate bias -2) learns within 200 steps; the gradient reaches the symbol
    pg.train()
    h = pg.history()
    assert len(h["loss"]) == 200 and evaluated(h)[0] < 0.4 and max(evaluated(h)) >= 0.9, evaluated(h)
    assert min(h["gradFirst"]) > 1e-5
    # update-gate bias 0: chance for 200 steps, loss near ln 4, hardly any gradient from the start
    typed("update_bias", 0)
    pg.train()
    h = pg.history()
    assert len(h["loss"]) == 200 and max(evaluated(h)) < 0.4, evaluated(h)
    assert abs(sum(h["loss"][-50:]) / 50 - math.log(4)) < 0.05 and h["gradFirst"][0] < 1e-8
    # the vanilla RNN: the same, with less still
    pg.root().locator('select[data-name="kind"]').select_option("rnn")
    pg.train()
    h = pg.history()
    assert max(evaluated(h)) < 0.4 and h["gradFirst"][0] < 1e-10, (evaluated(h), h["gradFirst"][0])
    # the LSTM: forget-gate bias 2 lets far more gradient through at the start than bias 0
    pg.root().locator('select[data-name="kind"]').select_option("lstm")
    pg.button("step").click()
    pg.page.wait_for_function("document.querySelector('.cw-static .cw').getAttribute('data-step') === '1'")
    default = pg.history()["gradFirst"][0]
    typed("forget_bias", 2)
    pg.button("step").click()
    pg.page.wait_for_function("document.querySelector('.cw-static .cw').getAttribute('data-step') === '1'")
    assert pg.history()["gradFirst"][0] > 1e-4 > 1e-8 > default
    # the status line and the numbers shown are there for the reader too
    assert pg.root().locator('[data-out="gradFirst"]').text_content().count("e") == 1
    pg.check_clean()
