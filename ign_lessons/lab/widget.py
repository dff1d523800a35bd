"""The lab's widget: an anywidget (lab.js draws on canvases in the browser) around a Session.

The kernel sends data, never pictures: each frame (views.frame) goes to the browser as the `frame` trait,
its arrays as binary buffers; lab.js draws it. The browser sends actions (Play, Step, a changed setting, a
click on the plane) as messages, handled by `handle`. Play trains in a Player thread, so the lab draws and
answers while later cells run; frames go out at most every FRAME_SECONDS.

Every control has a method, so a test drives the lab without a browser: `lab.step()`, `lab.set("lr", 0.01)`,
`lab.load_preset(name)`, `lab.experiment(name)`, `lab.add_points(points)`, `lab.save(path)`; `lab.message`
says what happened, `lab.errors` which box refused which value.
"""
import threading
from pathlib import Path

import anywidget
import traitlets

from .. import presets
from ..losses import DISTANCES
from ..runtime import CourseError
from . import views
from .session import (
    DATASETS,
    GAN_LOSSES,
    MODELS,
    OPTIMISERS,
    SOURCES,
    Player,
    Session,
    check_settings,
    default_settings,
    saved_models_folder,
)

HERE = Path(__file__).parent
FRAME_SECONDS = 0.045  # Play sends at most one frame per 45 ms (about 20 frames a second, sending included)
LAYERS = ("data", "samples", "heatmap", "field", "warp", "fixed", "orbits")
DEFAULT_LAYERS = ["data", "samples", "heatmap", "fixed", "orbits"]


_warmed = threading.Event()


def _warm_up_optimisers():
    """Make the process's first optimiser in a background thread, once: it imports torch._dynamo (about a
    second), which would otherwise delay the lab's first Step."""
    if _warmed.is_set():
        return
    _warmed.set()

    def warm():
        import torch
        torch.optim.Adam([torch.zeros(1, requires_grad=True)])

    threading.Thread(target=warm, name="ign-lab-warm-up", daemon=True).start()


def _jsonable(settings):
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in settings.items()}


class Lab(anywidget.AnyWidget):
    """The idempotence lab. `Lab()` (or `Lab(preset=...)`) as a cell's value shows it."""

    _esm = HERE / "lab.js"
    _css = HERE / "lab.css"

    frame = traitlets.Dict().tag(sync=True)
    settings = traitlets.Dict().tag(sync=True)       # what the model uses, as the boxes show it
    errors = traitlets.Dict().tag(sync=True)         # box -> why its value was refused
    message = traitlets.Unicode("").tag(sync=True)
    message_kind = traitlets.Unicode("info").tag(sync=True)  # info, error, alarm
    playing = traitlets.Bool(False).tag(sync=True)
    n = traitlets.Int(3).tag(sync=True)
    layers = traitlets.List(DEFAULT_LAYERS).tag(sync=True)
    preset = traitlets.Unicode("").tag(sync=True)
    experiment_info = traitlets.Dict().tag(sync=True)
    save_path = traitlets.Unicode("lab-model.safetensors").tag(sync=True)
    choices = traitlets.Dict().tag(sync=True)
    explain = traitlets.Bool(False).tag(sync=True)   # show what each view means, where it is shown (explore)
    frames_sent = traitlets.Int(0)

    def __init__(self, settings=None, preset=None, explain=False, **changes):
        super().__init__()
        self.session = Session(settings, **changes)
        self._send_lock = threading.Lock()
        self.probe_point = None
        self.player = Player(self.session, self._push, self._player_failed, FRAME_SECONDS)
        self.choices = {"models": list(MODELS), "datasets": list(DATASETS), "distances": list(DISTANCES),
                        "sources": list(SOURCES), "gan_losses": list(GAN_LOSSES), "optimisers": list(OPTIMISERS),
                        "presets": list(presets.lab_presets()), "experiments": list(presets.EXPERIMENTS),
                        "layers": list(LAYERS), "saved_models": str(saved_models_folder())}
        self.explain = explain
        self.on_msg(self._on_msg)
        self.observe(lambda _: self._push(), names="n")
        self.observe(self._on_layers, names="layers")
        _warm_up_optimisers()
        if preset:
            self.load_preset(preset)
        else:
            self._show_settings()
            self._push()

    # --- frames --------------------------------------------------------------------------------------
    def _push(self):
        """Compute a frame of the session as it is and send it to the browser (from any thread)."""
        with self._send_lock:
            try:
                frame = views.frame(self.session, self.n, self.probe_point, self.layers)
            except CourseError as error:  # a divergence found while drawing
                self.player.stop(wait=False)
                frame = views.frame(self.session, self.n, None, self.layers)
                self._say(str(error), "alarm")
            frame["playing"] = self.player.playing
            self.frame = frame
            self.frames_sent += 1
            self.playing = self.player.playing

    def _on_layers(self, change):
        """A view switched on that the last frame did not compute: send a frame with it (Play sends its own)."""
        computed = {"field", "warp", "orbits"}
        if set(change["new"]) & computed - set(change["old"]) and not self.player.playing:
            self._push()

    def _player_failed(self, error):
        self.playing = False
        self._say(str(error), "alarm" if self.session.alarm else "error")
        self._push()

    def _say(self, text, kind="info"):
        self.message_kind = kind
        self.message = text

    def _show_settings(self):
        self.settings = _jsonable(self.session.settings)

    # --- messages from the browser ---------------------------------------------------------------------
    def _on_msg(self, _widget, content, buffers):
        self.handle(content)

    def handle(self, content):
        """One action from the browser: {"action": name, ...}."""
        action = content.get("action")
        table = {"play": self.play, "pause": self.pause, "step": self.step, "d_step": self.d_step,
                 "g_step": self.g_step, "reset": self.reset, "clear_drawing": self.clear_drawing,
                 "save": lambda: self.save(content.get("path", self.save_path)),
                 "preset": lambda: self.load_preset(content.get("name", "")),
                 "experiment": lambda: self.experiment(content.get("name", "")),
                 "probe": lambda: self.probe(content.get("x"), content.get("y")),
                 "draw": lambda: self.add_points(content.get("points", [])),
                 "set": lambda: self.set(content.get("key"), content.get("value")),
                 "close_experiment": lambda: setattr(self, "experiment_info", {})}
        if action in table:
            table[action]()

    # --- actions ---------------------------------------------------------------------------------------
    def _guarded(self, action, *args, say=None):
        """Run an action on the session; a CourseError becomes the message line, not a traceback."""
        try:
            action(*args)
        except CourseError as error:
            self.pause()
            self._say(str(error), "alarm" if self.session.alarm else "error")
            self._push()
            return False
        if say is not None:
            self._say(say)
        self._push()
        return True

    def play(self, say=True):
        if self.session.alarm:
            self._say(self.session.alarm, "alarm")
            return
        if say:  # said before the thread starts: a divergence at its first step then has the last word
            self._say(f"playing: {self.session.kind} trains off the main thread; Pause stops it")
        self.playing = True
        self.player.start()

    def pause(self):
        was = self.player.playing
        self.player.stop()
        self.playing = False
        if was:
            self._say(f"paused at step {self.session.steps}")

    @property
    def is_playing(self):
        return self.player.playing

    def step(self):
        self._guarded(self.session.step, say="Step: one update (the step count is above the plane)")

    def d_step(self):
        self._guarded(self.session.d_step, say="one discriminator update (G unchanged)")

    def g_step(self):
        self._guarded(self.session.g_step, say="one generator update against the current D")

    def reset(self):
        """Back to where the model started: its preset's checkpoint, or fresh weights from the seed."""
        playing = self.player.playing
        self.pause()
        origin = self.session.checkpoint
        if self._guarded(self.session.reset):
            self._say(f"reset: back to the checkpoint {origin} (step {self.session.steps})" if origin else
                      f"reset: fresh {self.session.kind} weights from seed {self.session.settings['seed']}, step 0")
            if playing:
                self.message += "; still playing"
                self.play(say=False)

    def set(self, key, value):
        """Change one setting (a box of the lab). A refused value leaves the model, and every other box, as
        they were; `errors[key]` says why. Returns True when applied."""
        names = {"lambda_rec": 0, "lambda_idem": 1, "lambda_tight": 2}
        current = self.session.settings
        if key in names:
            if "weights" not in current:
                return self._refuse(key, f"the {current['model']} has no lambda weights")
            weights = list(current["weights"])
            weights[names[key]] = value
            changes = {"weights": tuple(weights)}
        elif key == "clamp_on":
            changes = {"clamp": (current.get("clamp") or 1.5) if value else None}
        else:
            changes = {key: value}
        before = (current["model"], current["dataset"])
        returning = key == "model" and value in self.session.kept  # a model the lab had before keeps its settings
        playing = self.player.playing
        if key in ("model", "dataset", "seed", "source", "batch", "latent", "optimiser"):
            self.pause()
        try:
            restarted = self.session.update(**changes)
        except CourseError as error:
            return self._refuse(key, str(error))
        # a fresh model: no refusal of the last one stays; else only this box's own is cleared
        self.errors = {} if restarted else {k: v for k, v in self.errors.items() if k != key}
        self._show_settings()
        if restarted:
            self.preset = ""
            self.probe_point = None
            s = self.session.settings
            if key == "model":
                how = "its own settings" + (" (as you left them)" if returning else " (tuned)")
                self._say(f"switched {before[0]} -> {s['model']} on {s['dataset']}: a fresh model from seed "
                          f"{s['seed']}, step 0, with {how}")
            else:
                self._say(f"{key} changed: started again from step 0 ({s['model']} on {s['dataset']}, seed "
                          f"{s['seed']})")
            if playing:
                self.message += "; still playing"
                self.play(say=False)
        else:
            self._say(f"{key} = {value}: applied, it acts from the next step")
        self._push()
        return True

    def _refuse(self, key, text):
        self.errors = {**self.errors, key: text}
        self._say(f"refused {key}: {text}", "error")
        self._show_settings()  # the boxes show what the model uses
        return False

    def load_preset(self, name):
        """A shipped IGN checkpoint (its weights and training settings), or tuned settings to train live.
        Choosing it again reloads it; Reset goes back to it."""
        table = presets.lab_presets()
        if name not in table:
            self._say(f"unknown preset {name!r}; choose one of: {', '.join(table)}", "error")
            return False
        self.pause()
        spec = table[name]
        self.probe_point = None
        self.errors = {}
        try:
            if spec["checkpoint"]:
                self.session.load(spec["checkpoint"])
            else:
                settings = default_settings(spec["model"], spec["dataset"], self.session.settings["seed"])
                self.session.kept[self.session.kind] = self.session.settings
                with self.session.lock:
                    self.session.settings = check_settings(settings)
                    self.session.reset(checkpoint=None)
        except CourseError as error:
            self._say(str(error), "error")
            self._show_settings()
            self._push()
            return False
        self.preset = name
        self._show_settings()
        if spec["checkpoint"]:
            self._say(f"loaded the preset {name}: checkpoint {spec['checkpoint']}, {self.session.steps} steps; "
                      f"this model {self.session.verdict()}. Play trains it further; Reset comes back here.")
            self._push()
        else:
            self._say(f"preset {name}: {spec['model']} with its tuned settings, from scratch: playing")
            self._push()
            self.play()
        return True

    def experiment(self, name):
        """Set up one of presets.EXPERIMENTS: its preset or settings, n, layers, a probe; then play or take
        D steps. Its instructions stay shown (experiment_info) until another one is set up."""
        if name not in presets.EXPERIMENTS:
            self._say(f"unknown experiment {name!r}", "error")
            return
        spec = presets.EXPERIMENTS[name]
        self.pause()
        self.probe_point = None
        if spec["preset"]:
            self.load_preset(spec["preset"])
        else:
            settings = default_settings(spec["settings"]["model"], spec["settings"]["dataset"],
                                        self.session.settings["seed"])
            settings.update(spec["settings"])
            with self.session.lock:
                self.session.settings = check_settings(settings)
                self.session.reset(checkpoint=None)
            self.preset = ""
            self._show_settings()
        self.layers = list(spec.get("layers", DEFAULT_LAYERS))
        with self.hold_trait_notifications():
            self.n = spec.get("n", self.n)
        for _ in range(spec.get("d_steps", 0)):
            self.session.d_step()
        if spec.get("probe"):
            self.probe_point = spec["probe"]
        self.experiment_info = {"name": name, "what": spec["what"], "expect": spec["expect"]}
        self._say(f"experiment {name} set up: {spec['what']}")
        self._push()
        if spec.get("play"):
            self.play()

    def probe(self, x, y):
        """Show a point's orbit under repeated f (n applications) and its energy."""
        try:
            result = self.session.probe(x, y, self.n)
        except CourseError as error:
            self._say(str(error), "error")
            return None
        self.probe_point = (float(x), float(y))
        self._say(result["text"])
        self._push()
        return result

    def add_points(self, points):
        """Points drawn on the plane: the model starts again, training on every point drawn so far."""
        self.pause()
        if self._guarded(self.session.add_points, points):
            self.preset = ""
            self.probe_point = None
            self._show_settings()
            self._say(f"your drawing: {len(self.session.points)} points; {self.session.kind} starts again from "
                      "step 0 on them (press Play)")

    def clear_drawing(self):
        self.pause()
        if self._guarded(self.session.clear_points):
            self._show_settings()
            self._say("drawing cleared")

    def save(self, path=None):
        """Save the model (Session.save); every failure, OSError included, shows in the message line."""
        path = self.save_path if path is None else path
        try:
            written = self.session.save(path)
        except CourseError as error:
            self._say(str(error), "error")
            return None
        except OSError as error:
            self._say(f"could not save to {path}: {error}", "error")
            return None
        self._say("saved " + ", ".join(str(p) for p in written) + " (load with checkpoints.load(path))")
        return written

    def close(self):
        self.player.stop()
        super().close()

