"""An interactive 3D viewer in the browser: a :class:`~poseprior.viz.viewer_scene.MotionScene` served with viser.

Bones are drawn as cylinders and joints as spheres (instanced meshes), on a ground grid; hypotheses as thinner,
semi-transparent bones. The GUI has play/pause, a frame slider, a speed slider, a hypotheses checkbox (when
there are any) and a legend of the colours. Opening ``http://HOST:PORT`` in a browser shows it (WebGL).

Example:
    >>> scene = load_scene(["walk.bvh"])  # doctest: +SKIP
    >>> with MotionViewer(scene, port=8080) as viewer:  # doctest: +SKIP
    ...     print(viewer.url)
    ...     viewer.run()  # until Ctrl-C
"""

from __future__ import annotations

import contextlib
import html
import io
import signal
import threading
import time
from dataclasses import dataclass

import numpy as np

from poseprior.errors import MissingDependencyError, ValidationError
from poseprior.viz.viewer_load import (
    ReferenceSkeleton,
    ViewOptions,
    load_scene,
    load_scene_motion,
)
from poseprior.viz.viewer_scene import (
    MotionScene,
    SceneMotion,
    bone_transforms,
    value_colors_rgb,
)

__all__ = [
    "ViewerStyle",
    "MotionViewer",
    "MotionScene",
    "SceneMotion",
    "ViewOptions",
    "ReferenceSkeleton",
    "load_scene",
    "load_scene_motion",
]

RGB = tuple[int, int, int]


@dataclass(frozen=True)
class ViewerStyle:
    """How the viewer draws.

    Attributes:
        bone_radius, joint_radius: metres.
        hypothesis_radius: bone radius of hypotheses, metres.
        hypothesis_opacity: their opacity, in (0, 1].
        colors: per motion (cycled), the colour of its bones and (without values) its joints.
        colormap: matplotlib colormap of joint values.
        max_fps: cap on scene updates per second while playing.
    """

    bone_radius: float = 0.018
    joint_radius: float = 0.03
    hypothesis_radius: float = 0.008
    hypothesis_opacity: float = 0.3
    colors: tuple[RGB, ...] = ((235, 110, 30), (30, 120, 230), (40, 170, 80), (200, 50, 160))
    colormap: str = "viridis"
    max_fps: float = 30.0

    def __post_init__(self) -> None:
        for name in ("bone_radius", "joint_radius", "hypothesis_radius", "max_fps"):
            if not getattr(self, name) > 0:
                raise ValidationError(f"{name}: must be positive, got {getattr(self, name)!r}")
        if not 0 < self.hypothesis_opacity <= 1:
            raise ValidationError(f"hypothesis_opacity: expected a number in (0, 1], got {self.hypothesis_opacity!r}")
        if not self.colors:
            raise ValidationError("colors: need at least one colour")


def _viser():
    try:
        import viser
    except ImportError:
        raise MissingDependencyError("the 3D viewer needs viser: pip install viser") from None
    return viser


def _unit_meshes() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``(vertices, faces)`` of a unit cylinder (radius 1, height 1 along Z, centred) and a unit sphere."""
    import trimesh  # a dependency of viser

    cylinder = trimesh.creation.cylinder(radius=1.0, height=1.0, sections=12)
    sphere = trimesh.creation.icosphere(subdivisions=2, radius=1.0)
    return (cylinder.vertices, cylinder.faces), (sphere.vertices, sphere.faces)


class MotionViewer:
    """Serves a :class:`MotionScene` on ``http://host:port`` with viser; the server runs in background threads
    from construction until :meth:`close`.

    Args:
        scene: what to show.
        host: address to listen on (``127.0.0.1``: this machine only; ``0.0.0.0``: every interface).
        port: port to listen on; viser takes the next free one when it is busy (see :attr:`url`).
        style: sizes and colours.
        title: label at the top of the GUI panel.
    """

    def __init__(
        self,
        scene: MotionScene,
        *,
        host: str = "127.0.0.1",
        port: int = 8080,
        style: ViewerStyle | None = None,
        title: str = "poseprior",
    ):
        viser = _viser()
        self.scene = scene
        self.style = style or ViewerStyle()
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._clock = 0.0  # playback position in frames (fractional)
        self._frame = -1
        self._placements = scene.placements()
        self._bones = [scene.bones(k) for k in range(len(scene.motions))]
        self._ranges = scene.value_ranges()
        with contextlib.redirect_stdout(io.StringIO()):  # viser prints its own URL box; callers print theirs
            self.server = viser.ViserServer(host=host, port=port, label=title, verbose=False)
        try:
            self._build_scene()
            self._build_gui()
            self.frame = 0
        except BaseException:
            self.server.stop()
            raise

    # -------------------------------------------------------------------------------------------- public
    @property
    def url(self) -> str:
        """Where to open the viewer (``localhost`` when listening on every interface)."""
        host = self.server.get_host()
        host = "localhost" if host in ("0.0.0.0", "::", "") else host
        return f"http://{host}:{self.server.get_port()}"

    @property
    def frame(self) -> int:
        """The frame shown (of the first motion); setting it moves the slider and every client's scene."""
        return self._frame

    @frame.setter
    def frame(self, frame: int) -> None:
        T = self.scene.num_frames
        if not 0 <= int(frame) < T:
            raise ValidationError(f"frame: expected an index in [0, {T}), got {frame!r}")
        with self._lock:
            self._clock = float(frame)
            if self._slider.value != int(frame):
                self._slider.value = int(frame)  # its callback shows the frame
            else:
                self._show(int(frame))

    @property
    def playing(self) -> bool:
        return self._playing

    @playing.setter
    def playing(self, value: bool) -> None:
        self._playing = bool(value)
        self._play_button.label = "Pause" if self._playing else "Play"

    def set_skeletons_visible(self, visible: bool) -> None:
        """Show or hide every skeleton (bones, joints, labels), leaving the ground and the GUI."""
        for handles in self._handles:
            for h in handles.values():
                h.visible = visible
        self._show_hypotheses(visible and self._hypotheses_checkbox is not None and self._hypotheses_checkbox.value)

    def step(self, seconds: float) -> None:
        """Advance playback by ``seconds`` of wall time (times the speed slider), looping at the end."""
        T = self.scene.num_frames
        with self._lock:
            self._clock = (self._clock + seconds * self.scene.fps * self._speed.value) % T
            frame = int(self._clock)
            if frame != self._frame:
                clock = self._clock
                self._slider.value = frame
                self._clock = clock  # keep the fraction the slider's callback reset

    def run(self) -> None:
        """Block, playing while the Play button is on, until :meth:`stop` or Ctrl-C (then return quietly)."""
        # In the main thread, Ctrl-C only sets the stop flag: a KeyboardInterrupt raised anywhere in the loop
        # (or in viser's calls from it) could leave the server half stopped.
        previous = None
        if threading.current_thread() is threading.main_thread():
            previous = signal.signal(signal.SIGINT, lambda *_: self._stop.set())
        last = time.monotonic()
        try:
            while not self._stop.wait(1.0 / self.style.max_fps):
                now = time.monotonic()
                if self._playing:
                    self.step(now - last)
                last = now
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)

    def stop(self) -> None:
        """Make :meth:`run` return (from another thread)."""
        self._stop.set()

    def close(self) -> None:
        """Stop the server."""
        self._stop.set()
        self.server.stop()

    def __enter__(self) -> MotionViewer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -------------------------------------------------------------------------------------------- scene
    def _build_scene(self) -> None:
        (cyl_v, cyl_f), (sph_v, sph_f) = _unit_meshes()
        api, style = self.server.scene, self.style
        lo, hi = self.scene.extent()
        size = float(max(hi[0] - lo[0], hi[1] - lo[1], 2.0)) + 2.0
        centre = (lo + hi) / 2
        api.add_grid(
            "/ground",
            width=size,
            height=size,
            plane="xy",
            cell_size=0.25,
            section_size=1.0,
            position=(centre[0], centre[1], 0.0),
        )
        position, look_at = self.scene.camera()
        self.server.initial_camera.position = tuple(position)
        self.server.initial_camera.look_at = tuple(look_at)
        self._handles: list[dict[str, object]] = []
        self._hypothesis_handles = []
        for k, m in enumerate(self.scene.motions):
            color = np.array(style.colors[k % len(style.colors)], dtype=np.uint8)
            B, J = len(self._bones[k]), m.num_joints
            shift = tuple(self._placements[k])
            # the name lies on the ground in front of the motion's bounding box
            finite = m.positions[np.isfinite(m.positions).all(-1)]
            centre_x = float((finite[:, 0].min() + finite[:, 0].max()) / 2 + shift[0]) if len(finite) else shift[0]
            front_y = float(finite[:, 1].min() + shift[1] - 0.1) if len(finite) else shift[1]
            handles = {
                "bones": api.add_batched_meshes_simple(
                    f"/motion{k}/bones", cyl_v, cyl_f, batched_wxyzs=np.tile([1.0, 0, 0, 0], (B, 1)), batched_positions=np.zeros((B, 3)),
                    batched_colors=np.tile(color, (B, 1)), position=shift, cast_shadow=False, lod="off",
                ),
                "joints": api.add_batched_meshes_simple(
                    f"/motion{k}/joints", sph_v, sph_f, batched_wxyzs=np.tile([1.0, 0, 0, 0], (J, 1)), batched_positions=np.zeros((J, 3)),
                    batched_scales=np.full(J, style.joint_radius), batched_colors=np.tile(color, (J, 1)), position=shift, cast_shadow=False, lod="off",
                ),
                "label": api.add_label(f"/motion{k}/label", m.name, position=(centre_x, front_y, 0.0), anchor="top-center"),
            }  # fmt: skip
            self._handles.append(handles)
            if m.hypotheses is not None:
                n = m.hypotheses.shape[1] * B
                self._hypothesis_handles.append(
                    (k, api.add_batched_meshes_simple(
                        f"/motion{k}/hypotheses", cyl_v, cyl_f, batched_wxyzs=np.tile([1.0, 0, 0, 0], (n, 1)), batched_positions=np.zeros((n, 3)),
                        batched_colors=np.tile(color, (n, 1)), opacity=style.hypothesis_opacity, position=shift, cast_shadow=False,
                        visible=False, lod="off",
                    ))
                )  # fmt: skip

    def _show(self, frame: int) -> None:
        """Pose every skeleton at the clock's ``frame``."""
        style = self.style
        with self._lock, self.server.atomic():
            self._frame = frame
            for k, m in enumerate(self.scene.motions):
                f = self.scene.frame_of(k, frame)
                handles, bones = self._handles[k], self._bones[k]
                p = m.positions[f]
                if len(bones):
                    centres, wxyz, lengths = bone_transforms(p, bones)
                    radius = np.where(lengths > 0, style.bone_radius, 0.0)
                    handles["bones"].batched_positions = centres
                    handles["bones"].batched_wxyzs = wxyz
                    handles["bones"].batched_scales = np.stack([radius, radius, lengths], axis=-1)
                seen = np.isfinite(p).all(-1)
                handles["joints"].batched_positions = np.where(seen[:, None], p, 0.0)
                handles["joints"].batched_scales = np.where(seen, style.joint_radius, 0.0)
                if m.joint_values is not None:
                    lo, hi = self._ranges[m.value_label]
                    handles["joints"].batched_colors = value_colors_rgb(m.joint_values[f], lo, hi, style.colormap)
            for k, handle in self._hypothesis_handles:
                m, bones = self.scene.motions[k], self._bones[k]
                if not len(bones):
                    continue
                centres, wxyz, lengths = bone_transforms(m.hypotheses[self.scene.frame_of(k, frame)], bones)
                radius = np.where(lengths > 0, style.hypothesis_radius, 0.0)
                handle.batched_positions = centres.reshape(-1, 3)
                handle.batched_wxyzs = wxyz.reshape(-1, 4)
                handle.batched_scales = np.stack([radius, radius, lengths], axis=-1).reshape(-1, 3)
            self._frame_text.content = self._frame_markdown(frame)

    def _show_hypotheses(self, visible: bool) -> None:
        for _, handle in self._hypothesis_handles:
            handle.visible = visible

    # -------------------------------------------------------------------------------------------- GUI
    def _build_gui(self) -> None:
        gui, scene = self.server.gui, self.scene
        T = scene.num_frames
        self._playing = False
        self._play_button = gui.add_button("Play")
        self._play_button.on_click(lambda _: setattr(self, "playing", not self._playing))
        # A slider needs min < max; a one-frame scene gets a disabled 0..1 slider.
        self._slider = gui.add_slider("Frame", min=0, max=max(T - 1, 1), step=1, initial_value=0, disabled=T == 1)
        self._slider.on_update(lambda _: self._on_slider())
        self._speed = gui.add_slider("Speed", min=0.1, max=4.0, step=0.1, initial_value=1.0)
        self._hypotheses_checkbox = None
        if scene.has_hypotheses:
            self._hypotheses_checkbox = gui.add_checkbox(
                "Hypotheses", initial_value=False, hint="Show every hypothesis, semi-transparent"
            )
            self._hypotheses_checkbox.on_update(lambda e: self._show_hypotheses(e.target.value))
        self._frame_text = gui.add_markdown("")
        gui.add_html(self._legend_html())

    def _on_slider(self) -> None:
        frame = min(int(self._slider.value), self.scene.num_frames - 1)
        with self._lock:
            self._clock = float(frame)
            if frame != self._frame:
                self._show(frame)

    def _frame_markdown(self, frame: int) -> str:
        scene = self.scene
        lines = [
            f"**Frame** {frame} / {scene.num_frames - 1} &nbsp; **t** = {frame / scene.fps:.2f} s ({scene.fps:g} fps)"
        ]
        for k, m in enumerate(scene.motions):
            f = scene.frame_of(k, frame)
            values = ", ".join(f"{key} {v[f]:.4g}" for key, v in m.frame_values.items())
            if values:
                lines.append(f"{m.name}: {values}")
        return "  \n".join(lines)

    def _legend_html(self) -> str:
        """Each motion's colour and note, then a colour bar per value label."""
        style, rows = self.style, []
        for k, m in enumerate(self.scene.motions):
            r, g, b = style.colors[k % len(style.colors)]
            swatch = f'<span style="display:inline-block;width:12px;height:12px;background:rgb({r},{g},{b});margin-right:6px"></span>'
            extra = f"{m.num_frames} frames, {m.num_joints} joints" + (
                f", {m.hypotheses.shape[1]} hypotheses" if m.hypotheses is not None else ""
            )
            note = (
                f"<br><small>{html.escape(extra)}; {html.escape(m.note)}</small>"
                if m.note
                else f"<br><small>{html.escape(extra)}</small>"
            )
            rows.append(f"<div>{swatch}<b>{html.escape(m.name)}</b>{note}</div>")
        for label, (lo, hi) in self._ranges.items():
            stops = value_colors_rgb(np.linspace(0.0, 1.0, 7), 0.0, 1.0, style.colormap)
            gradient = ", ".join(f"rgb({r},{g},{b})" for r, g, b in stops)
            rows.append(
                f'<div style="margin-top:6px">Joint colour: {html.escape(label)}'
                f'<div style="height:10px;background:linear-gradient(to right, {gradient})"></div>'
                f'<div style="display:flex;justify-content:space-between"><span>{lo:.4g}</span><span>{hi:.4g}</span></div></div>'
            )
        return '<div style="font-size:0.85em;padding:0 0.5em">' + "".join(rows) + "</div>"
