"""A lesson's control panel, driven in a real browser (issue 5).

Starts JupyterLab on loopback with ``EVOLAB_QUICK=1``, opens a lesson that
holds an :func:`evolab.widgets.evolution_panel` in headless Chromium, runs all
cells from the Run menu, presses the panel's Run button, waits until the live
plot has been redrawn at least twice, presses Stop, and checks that the panel
says it stopped and that no cell shows an error or "Error displaying widget".
A screenshot goes to ``results/browser/panel.png``.

Run it with ``make browser-test``. It needs Debian's ``chromium`` (or a
Chromium named by ``EVOLAB_CHROMIUM``) and Playwright's Python package (only
the package: no ``playwright install``, the browser is the system's). It skips,
saying why, when either is missing, and outside ``make browser-test`` (it
takes two to three minutes, most of it the lesson's own cells).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
#: The lesson to drive: its control panel runs neuroevolution on the digits.
LESSON = REPO / "notebooks" / "10_neuroevolution_at_scale.ipynb"
SCREENSHOT = REPO / "results" / "browser" / "panel.png"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
MIN_REDRAWS = 2

pytestmark = pytest.mark.skipif(
    os.environ.get("EVOLAB_BROWSER_TEST") != "1",
    reason="the browser test runs with `make browser-test` (EVOLAB_BROWSER_TEST=1); it starts JupyterLab and Chromium",
)


def _chromium() -> str | None:
    """The system Chromium: ``EVOLAB_CHROMIUM``, else ``chromium`` / ``chromium-browser`` on the PATH."""
    named = os.environ.get("EVOLAB_CHROMIUM")
    if named:
        return named if os.access(named, os.X_OK) else None
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _lesson() -> Path:
    """Lesson 10, or a notebook in the repository named by ``EVOLAB_BROWSER_NOTEBOOK`` (handy while writing one)."""
    named = os.environ.get("EVOLAB_BROWSER_NOTEBOOK")
    return Path(named).resolve() if named else LESSON


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _child_process_groups(pid: int) -> set[int]:
    """The process groups of ``pid``'s children (Jupyter starts each kernel in a session of its own)."""
    groups = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:  # fields: state, ppid, pgrp, ...
            groups.add(int(fields[2]))
    return groups - {os.getpgrp()}


def _stop_server(server: subprocess.Popen) -> None:
    """Stops the server's process group and then any kernel it started that is still alive."""
    kernels = _child_process_groups(server.pid) - {server.pid}
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):  # on SIGTERM the server shuts its kernels down
        if server.poll() is not None:
            break
        try:
            os.killpg(server.pid, sig)
            server.wait(wait)
        except ProcessLookupError:
            break
        except subprocess.TimeoutExpired:
            continue
    for group in kernels:
        try:
            os.killpg(group, signal.SIGKILL)
        except ProcessLookupError:
            pass  # already gone, as it should be


def _write_lab_settings(settings_dir: Path) -> None:
    """No autosave (the lesson file in the repository must not gain outputs), no news toasts."""
    for plugin, values in {
        "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
        "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    }.items():
        path = settings_dir / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values), encoding="utf-8")


@pytest.fixture
def jupyter_lab(tmp_path):
    """A JupyterLab server on 127.0.0.1 serving the repository; yields its base URL and token."""
    port, token = _free_port(), secrets.token_hex(16)
    settings = tmp_path / "lab-settings"
    _write_lab_settings(settings)
    env = dict(os.environ, EVOLAB_QUICK="1", TF_CPP_MIN_LOG_LEVEL="2", PYTHONHASHSEED="0",
               JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"), JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "workspaces"))
    env.pop("MPLBACKEND", None)  # with Agg exported the kernel would show no figures
    command = [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}", "--port-retries=0",
               "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={REPO}",
               f"--LabApp.user_settings_dir={settings}", f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}",
               "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if os.geteuid() == 0:  # CI and containers run as root
        command.append("--allow-root")
    log = open(tmp_path / "jupyter.log", "wb")
    server = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)  # its own process group: kernels die with it
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                pytest.fail(f"JupyterLab exited with {server.returncode}:\n{(tmp_path / 'jupyter.log').read_text()}")
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2):
                    break
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not answer in 60 s:\n{(tmp_path / 'jupyter.log').read_text()}")
                time.sleep(0.5)
        yield base, token
    finally:
        _stop_server(server)
        log.close()
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(tmp_path / "jupyter.log", SCREENSHOT.with_name("jupyter.log"))  # for a failure's post-mortem


@pytest.fixture
def chromium_path():
    """The system Chromium and Playwright's package, or a skip saying which is missing."""
    path = _chromium()
    if path is None:
        pytest.skip("no Chromium found: install Debian's `chromium` (apt-get install -y chromium) "
                    "or name one with EVOLAB_CHROMIUM")
    pytest.importorskip("playwright.sync_api", reason="Playwright's Python package is not installed "
                        "(pip install playwright; the system Chromium is used, no `playwright install`)")
    return path


# JavaScript run in the page. The panel is the widget box that holds both a Run and a Stop button.
_FIND_PANEL = """
() => {
  const buttons = [...document.querySelectorAll('button.jupyter-button')];
  const run = buttons.find(b => b.textContent.trim() === 'Run');
  if (!run) return null;
  let box = run.parentElement;
  while (box && !(box.querySelector('.widget-output, .jupyter-widget-output')
                  && [...box.querySelectorAll('button.jupyter-button')].some(b => b.textContent.trim() === 'Stop'))) {
    box = box.parentElement;
  }
  if (box) box.setAttribute('data-evolab-panel', '');
  return box;
}
"""
_PANEL_STATE = f"""
() => {{
  const panel = ({_FIND_PANEL})();
  if (!panel) return null;
  const img = panel.querySelector('.widget-output img, .jupyter-widget-output img');
  const html = [...panel.querySelectorAll('.widget-html-content')].map(e => e.innerText).join(' | ');
  const src = img ? img.getAttribute('src') || '' : '';
  return {{image: src ? src.length + ':' + src.slice(-48) : null, status: html}};
}}
"""
_CELL_PROMPTS = """
() => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputArea-prompt')].map(e => e.textContent.trim())
"""


_ERRORS = """
() => {
  const found = [];
  for (const out of document.querySelectorAll('.jp-OutputArea-output')) {
    const text = out.innerText || '';
    if (out.dataset.mimeType === 'application/vnd.jupyter.stderr' && /Traceback|^\\w*(Error|Exception)\\b/m.test(text))
      found.push(text.slice(0, 2000));
  }
  const body = document.body.innerText;
  if (body.includes('Error displaying widget')) found.push('a widget shows "Error displaying widget"');
  return found;
}
"""


def _wait_for(page, predicate, timeout, what, poll=0.25):
    """Polls ``predicate()`` until it returns a truthy value; fails saying ``what`` after ``timeout`` seconds.

    Fails at once, with the error's text, when a cell shows an error meanwhile.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        errors = page.evaluate(_ERRORS)
        if errors or time.monotonic() > deadline:
            _screenshot(page, SCREENSHOT.with_name("failure.png"))
            if errors:
                pytest.fail(f"while waiting for {what}, the notebook shows an error:\n" + "\n---\n".join(errors))
            pytest.fail(f"timed out after {timeout} s waiting for {what} (screenshot: results/browser/failure.png)")
        page.wait_for_timeout(poll * 1000)


def _screenshot(page, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path))


def _menu(page, menu, item):
    """Clicks a JupyterLab menu item, e.g. Run > Run All Cells, as a person would."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{re.escape(menu)}$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{re.escape(item)}$")).click()


def _kernel_ready(page):
    """True once the notebook's kernel is idle; accepts JupyterLab's kernel dialog if it asks."""
    dialog = page.locator(".jp-Dialog")
    if dialog.count() and "Select Kernel" in dialog.inner_text():
        dialog.locator("button", has_text=re.compile("^Select$")).click()
        return False
    idle = page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").count() > 0
    return idle and any("Idle" in text for text in page.locator(".jp-StatusBar-Widget").all_inner_texts())


def _panel_state(page):
    """``{"image": a short key of the live plot's picture or None, "status": the panel's text}``; fails on an error."""
    state = page.evaluate(_PANEL_STATE)
    if state and "Error" in state["status"]:
        _screenshot(page, SCREENSHOT.with_name("failure.png"))
        pytest.fail(f"the panel shows an error: {state['status']}")
    return state


def _all_cells_ran(page):
    prompts = page.evaluate(_CELL_PROMPTS)
    return (bool(prompts) and all(re.fullmatch(r"\[\d+\]:", p) for p in prompts)
            and page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").count() > 0)


def _button(panel, label):
    return panel.locator("button.jupyter-button", has_text=re.compile(rf"^\s*{label}\s*$"))


def _set_slider(panel, label, value):
    """Types ``value`` into a slider's readout (the number beside it) and presses Enter, if the panel has it."""
    slider = panel.locator(".widget-slider", has=panel.page.locator(".widget-label", has_text=re.compile(f"^{label}$")))
    if not slider.count():
        return
    readout = slider.locator(".widget-readout")
    readout.click()
    readout.press("Control+a")
    readout.type(str(value))
    readout.press("Enter")


def test_control_panel_runs_and_stops_in_jupyterlab(chromium_path, jupyter_lab, tmp_path):
    from playwright.sync_api import sync_playwright

    base, token = jupyter_lab
    lesson = _lesson()
    SCREENSHOT.with_name("failure.png").unlink(missing_ok=True)  # a failure screenshot always belongs to this run
    started = time.monotonic()
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True,
            viewport={"width": 1400, "height": 1000})
        try:
            page = context.pages[0] if context.pages else context.new_page()
            page.set_default_timeout(30_000)
            page.goto(f"{base}/lab/tree/{lesson.relative_to(REPO).as_posix()}?token={token}")
            page.locator(".jp-Notebook .jp-CodeCell").first.wait_for(timeout=60_000)
            _wait_for(page, lambda: _kernel_ready(page), 90, "the kernel to start")

            # Stored outputs would look like a finished run: clear them first (autosave is off, the file stays as is).
            _menu(page, "Edit", "Clear Outputs of All Cells")
            _menu(page, "Run", "Run All Cells")
            _wait_for(page, lambda: _all_cells_ran(page), 240, "every cell to run")
            ran = time.monotonic() - started
            panel_state = _wait_for(page, lambda: _panel_state(page), 30, "the control panel to show")
            print(f"\n{lesson.name}: all cells ran after {ran:.1f} s; panel status: {panel_state['status']!r}")
            panel = page.locator("[data-evolab-panel]")
            panel.scroll_into_view_if_needed()
            # Turned to their maximum (a slider clamps what is typed), so that Stop, not the last generation, ends
            # the run: the second redraw comes after about 20 drawings' time (the plot's 10% drawing budget).
            _set_slider(panel, "num generations", 100_000)
            _set_slider(panel, "population size", 100_000)

            images = []  # the distinct pictures the live plot showed after Run was pressed

            def redrawn():
                state = _panel_state(page)
                if "Finished after" in state["status"]:
                    pytest.fail(f"the run ended by itself before {MIN_REDRAWS} redraws: {state['status']}")
                if state["image"] not in (None, panel_state["image"], *images[-1:]):
                    images.append(state["image"])
                return len(images) >= MIN_REDRAWS

            _button(panel, "Run").click()
            _wait_for(page, lambda: "Running" in _panel_state(page)["status"], 30, "the panel to say it is running")
            _wait_for(page, redrawn, 120, f"the live plot to be redrawn {MIN_REDRAWS} times", poll=0.1)
            assert "Running" in _panel_state(page)["status"]
            _button(panel, "Stop").click()
            final = _wait_for(page, lambda: "Stopped after" in (s := _panel_state(page))["status"] and s,
                              60, "the panel to say it stopped")
            print(f"{len(images)} redraws seen; status: {final['status']!r}; {time.monotonic() - started:.1f} s in all")
            page.wait_for_timeout(500)
            assert page.evaluate(_ERRORS) == []
            assert _button(panel, "Run").is_enabled()
            assert _button(panel, "Stop").is_disabled()
            panel.scroll_into_view_if_needed()
            _screenshot(page, SCREENSHOT)
        finally:
            context.close()
