"""Opens an experiment's runs page in headless Chromium and reports when the newest run's name is on
screen and how many bytes the page pulled (every response body, scripts included, until 3 s later).
Works for mltrack's UI and for MLflow's, on the data of tracking-server/benches/ui.rs.

    python bench/ui_browser.py http://127.0.0.1:5000/experiments/1            # mltrack
    python bench/ui_browser.py 'http://127.0.0.1:5001/#/experiments/1/runs?workflowType=machine_learning'
"""

import statistics
import sys
import time

from playwright.sync_api import sync_playwright

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def once(browser, url: str, text: str):
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    page = ctx.new_page()
    sizes = {}
    page.on("requestfinished", lambda r: sizes.__setitem__(r.url, r.sizes()["responseBodySize"]))
    started = time.perf_counter()
    page.goto(url)
    page.get_by_text(text, exact=True).first.wait_for(timeout=180_000)
    elapsed = time.perf_counter() - started
    # Count what arrives in the next 3 s too (MLflow's UI keeps polling, so "network idle" never comes).
    page.wait_for_timeout(3000)
    total = sum(sizes.values())
    biggest = sorted(sizes.items(), key=lambda kv: -kv[1])[:3]
    ctx.close()
    return elapsed, total, len(sizes), biggest


def main():
    url = sys.argv[1]
    text = sys.argv[2] if len(sys.argv) > 2 else "run-09999"
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS, headless=True)
        results = [once(browser, url, text) for _ in range(rounds)]
        browser.close()
    times = [r[0] for r in results]
    _, total, count, biggest = results[-1]
    print(f"{url}: '{text}' visible after median {statistics.median(times) * 1000:.0f} ms "
          f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}, {rounds} cold loads); "
          f"{count} responses, {total / 1024:.0f} KB of bodies")
    for u, size in biggest:
        print(f"  {size / 1024:8.0f} KB  {u[:110]}")


if __name__ == "__main__":
    main()
