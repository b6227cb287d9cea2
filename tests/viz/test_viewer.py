"""The viewer in a real headless Chromium: the scene renders, shows the skeleton, and follows the GUI.

Needs Debian's chromium (``apt-get install chromium``) and playwright (no ``playwright install``): CI installs
both, so a missing one fails these tests rather than skipping them.
"""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from poseprior.io import read_motion, write_motion
from poseprior.viz.viewer import MotionViewer, ViewerStyle
from poseprior.viz.viewer_load import load_scene

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--enable-unsafe-swiftshader", "--use-angle=swiftshader", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
CLIP = Path(__file__).resolve().parents[2] / "src/poseprior/assets/cmu_01_01.bvh"
SKELETON_RGB = (235, 110, 30)  # the first motion's colour (ViewerStyle's default)
# The middle of a 900-pixel-wide page, where the skeleton stands: clear of viser's GUI panel (right) and of its
# notices (left; "software WebGL rendering" comes and goes by itself and would count as changes).
SCENE_COLUMNS = slice(320, 560)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    assert CHROMIUM.is_file(), f"{CHROMIUM} is missing: apt-get install -y chromium (CI's .ci/run does)"
    from playwright.sync_api import (
        sync_playwright,  # an ImportError fails the tests: CI installs playwright
    )

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.05)


def screenshot_when(page, condition: Callable[[np.ndarray], bool], what: str, timeout: float = 15.0) -> np.ndarray:
    """``(H, W, 3)`` int screenshot of the scene's middle (:data:`SCENE_COLUMNS`) once it meets ``condition``
    and the next one agrees (rendering has settled); fails naming ``what`` after ``timeout`` seconds."""
    end = time.monotonic() + timeout
    last = None
    while True:
        shot = np.asarray(Image.open(io.BytesIO(page.screenshot())).convert("RGB")).astype(np.int32)[:, SCENE_COLUMNS]
        if last is not None and changed_pixels(shot, last).sum() < 20 and condition(shot):
            return shot
        assert time.monotonic() < end, f"timed out waiting for {what}"
        last = shot
        time.sleep(0.2)


def rendered(shot: np.ndarray) -> bool:
    """Not blank: a rendered scene has many colours, not one background."""
    return shot.std() > 10 and len(np.unique(shot.reshape(-1, 3), axis=0)) > 100


def changed_pixels(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mask of pixels that differ visibly between two screenshots (its sum: how many)."""
    return np.abs(a - b).sum(-1) > 40


def test_viewer_renders_the_skeleton_and_follows_the_gui(browser, tmp_path: Path) -> None:
    clip = tmp_path / "clip.bvh"
    write_motion(read_motion(CLIP).frames(slice(0, 120, 20)), clip)  # 6 frames, 0.67 s apart
    scene = load_scene([clip])
    assert scene.num_frames == 6
    viewer = MotionViewer(scene, port=free_port(), style=ViewerStyle(colors=(SKELETON_RGB,)))
    loop = threading.Thread(target=viewer.run, daemon=True)
    loop.start()
    page = browser.new_page(viewport={"width": 900, "height": 700})
    try:
        page.goto(viewer.url)
        page.wait_for_selector("canvas", timeout=15_000)
        wait_for(lambda: len(viewer.server.get_clients()) == 1, "the browser to connect")
        shown = screenshot_when(page, rendered, "the scene to render")
        Image.fromarray(shown.astype(np.uint8)).save(tmp_path / "viewer.png")

        # The skeleton: hiding it through the viewer changes many pixels, and those pixels were orange-ish.
        viewer.set_skeletons_visible(False)
        hidden = screenshot_when(
            page, lambda shot: changed_pixels(shot, shown).sum() > 800, "the skeleton to disappear"
        )
        skeleton = changed_pixels(shown, hidden)
        r, g, b = shown[skeleton].mean(axis=0)
        assert r > b + 40, (
            f"the pixels of the skeleton average rgb({r:.0f}, {g:.0f}, {b:.0f}), not the skeleton's orange"
        )

        # The server-side frame slider moves the skeleton (the walk advances 3.3 s) and the client's slider.
        viewer.set_skeletons_visible(True)
        # Judged on the skeleton's own pixels: software rendering redraws edges elsewhere slightly differently.
        back = lambda shot: changed_pixels(shot, shown)[skeleton].sum() < 0.05 * skeleton.sum()  # noqa: E731
        screenshot_when(page, back, "the skeleton to come back as it was")
        viewer.frame = 5
        screenshot_when(page, lambda shot: changed_pixels(shot, shown).sum() > 300, "frame 5 to move the skeleton")
        assert page.get_by_text("Frame 5 / 5").count() == 1

        # The browser's Play button reaches the server, whose loop then advances the frames.
        page.get_by_role("button", name="Play").click()
        wait_for(lambda: viewer.playing, "Play to reach the server")
        wait_for(lambda: viewer.frame != 5, "playback to advance")
    finally:
        page.close()
        viewer.close()
        loop.join(timeout=5)
    assert not loop.is_alive()
