"""Browser tests: Debian's chromium + chromium-driver driven by Selenium, against the platform run in-process.

`running_platform` starts, on free ports in a background thread, the metrics writer (fold worker), the metrics
query API (its own follower replica and the SSE stream) and the console — all on the shared test Kafka and
PostgreSQL with the test's own topic prefix. Departments are not started: the console shows them "unavailable".
`screenshot` saves what the browser shows at 1400×1000 into `.cache/browser-screenshots/` (a reviewer looks there;
the paths are printed and recorded as properties of the test report).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from services.console.config import Settings as ConsoleSettings
from services.console.main import create_app as create_console
from services.metrics.config import Settings as MetricsSettings
from services.metrics.follower import running_folder
from services.metrics.main import create_app as create_metrics
from shared.settings import PlatformSettings

CHROME_OPTIONS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1400,1000",
)  # fmt: skip
SCREENSHOTS = Path(__file__).resolve().parents[2] / ".cache" / "browser-screenshots"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives headless Chromium against the running platform")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Running:
    platform: PlatformSettings
    console_url: str
    metrics_url: str


@pytest.fixture
def running_platform(platform: PlatformSettings) -> Iterator[Running]:
    metrics_port, console_port = _free_port(), _free_port()
    metrics_settings = MetricsSettings(platform=platform)
    console_settings = ConsoleSettings(
        platform=platform,
        metrics_url=f"http://127.0.0.1:{metrics_port}",
        **{f"{d}_url": "http://127.0.0.1:9" for d in ("intake", "legal_aid", "mediation", "notary")},
    )
    servers = [
        uvicorn.Server(uvicorn.Config(create_metrics(metrics_settings), port=metrics_port, log_level="warning")),
        uvicorn.Server(uvicorn.Config(create_console(console_settings), port=console_port, log_level="warning")),
    ]
    failed: list[BaseException] = []

    async def main() -> None:
        async with running_folder(metrics_settings, writer=True):
            await asyncio.gather(*(s.serve() for s in servers))

    def thread() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:  # surfaced by the readiness wait below
            failed.append(exc)

    t = threading.Thread(target=thread, name="platform", daemon=True)
    t.start()
    running = Running(platform, f"http://127.0.0.1:{console_port}", f"http://127.0.0.1:{metrics_port}")
    deadline = time.monotonic() + 60
    while not all(s.started for s in servers):
        assert not failed, f"platform failed to start: {failed[0]!r}"
        assert time.monotonic() < deadline, "platform did not start within 60 s"
        time.sleep(0.1)
    assert httpx.get(f"{running.console_url}/healthz").status_code == 200
    try:
        yield running
    finally:
        for s in servers:
            s.should_exit = True
        t.join(timeout=30)


@pytest.fixture
def browser() -> Iterator:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, driver_bin = shutil.which("chromium"), shutil.which("chromedriver")
    assert chromium and driver_bin, (
        "install Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)"
    )
    profile = tempfile.mkdtemp(prefix="caseflow-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in (*CHROME_OPTIONS, f"--user-data-dir={profile}"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=driver_bin), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        with contextlib.suppress(Exception):
            driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def screenshot(browser, record_property: Callable[[str, object], None]) -> Callable[[str], Path]:  # type: ignore[no-untyped-def]
    """`screenshot(name)`: the browser's page at 1400×1000 as `.cache/browser-screenshots/<name>.png`."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> Path:
        browser.set_window_size(1400, 1000)
        path = SCREENSHOTS / f"{name}.png"
        assert browser.save_screenshot(str(path)), f"no screenshot of {name}"
        record_property(f"screenshot_{name}", str(path))
        print(f"\nscreenshot: {path}")
        return path

    return take
