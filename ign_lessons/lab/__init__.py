"""The idempotence lab of 08_idempotence_lab: train IGN, split IGN or a GAN on 2D data, live, in the browser.

One room per job:
- `session`: the model being trained, its settings (checked), training, and the Play thread (`Player`);
- `views`: what to draw from a session, as data (`frame`), and the same views as a static matplotlib figure;
- `widget`: the anywidget `Lab` (controls, layout, messages) whose front end, `lab.js` and `lab.css`, ships
  in this folder and draws the frames on canvases in the browser.

Like studies/ and exercises/, this package sits apart from the core: it imports the core (presets for the
tuned settings), and nothing in the core imports it.
"""
from ..presets import EXPERIMENTS
from ..presets import lab_presets as presets
from .session import MODELS, LabError, Session, check_settings, default_settings
from .views import frame, png, static_views
from .widget import Lab

__all__ = ["EXPERIMENTS", "MODELS", "Lab", "LabError", "Session", "check_settings", "default_settings", "frame",
           "png", "presets", "static_views"]
