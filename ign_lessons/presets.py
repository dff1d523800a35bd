"""The tuned settings that the studies and the lab share, written once.

Each dict below is one model's tuned setting on 2D data; the studies (ign_lessons/studies/) copy them
into their configs, the trainers' defaults read IGN_2D, and the lab (ign_lessons/lab/) starts each model
from them. Changing a value here changes every study that uses it: rerun those studies.

- IGN_2D: IGN on 2D points, tuned on the ring over seeds in 04_ign_2d (its study "ign-2d-study"):
  one MLP of width 128, weights (20, 20, 1), L1, Adam lr 1e-3, batch 128, a source matched to the data.
- PAPER_2D: the weights reimplementations attribute to the paper's CelebA runs, (20, 20, 2.5), with
  z ~ N(0, I): the "paper" arm of 05's merged-vs-split study, and the lab's split IGN.
- GAN_2D: the non-saturating GAN of 01_gan_2d, its "healthy" setting (study "gan-2d-updates", 3 seeds):
  MLPs of width 64, latent 2, Adam lr 1e-3 for both, R1 penalty 0.1.
- EBGAN_2D: EBGAN as set by hand on the ring in 03_one_loss_gan.

Also here, because both read them: `build_gan_2d` (the GAN's fresh networks from a seed), and the lab's
list of presets (`lab_presets`) and guided experiments (EXPERIMENTS).
"""
import torch

from . import checkpoints, data, models
from .losses import IGNWeights

IGN_2D = {"weights": IGNWeights(20, 20, 1), "lr": 1e-3, "batch": 128, "betas": (0.5, 0.999), "distance": "l1",
          "clamp": None, "source": "matched", "hidden": 128}
PAPER_2D = {"weights": IGNWeights(20, 20, 2.5), "lr": 1e-3, "batch": 128, "betas": (0.5, 0.999), "distance": "l1",
            "clamp": None, "source": "standard", "hidden": 128}
GAN_2D = {"loss": "nonsaturating", "lr_g": 1e-3, "lr_d": 1e-3, "d_steps": 1, "r1": 0.1, "batch": 128,
          "betas": (0.5, 0.999), "hidden": 64, "latent": 2}
EBGAN_2D = {"hidden": 128, "latent": 2, "margin": 0.5, "distance": "l2sq", "lr_g": 1e-4, "lr_d": 4e-4, "batch": 128,
            "betas": (0.5, 0.999)}


def build_gan_2d(seed=0, hidden=GAN_2D["hidden"], latent=GAN_2D["latent"]):
    """A fresh 2D GAN generator and discriminator (MLPs with 3 hidden layers), initialised from `seed`."""
    torch.manual_seed(seed)
    return (models.build("mlp-generator", latent=latent, hidden=hidden),
            models.build("mlp-discriminator", hidden=hidden))


# --- the lab's presets and experiments ------------------------------------------------------------------

def lab_presets():
    """Preset name -> {"model", "dataset", "checkpoint" (or None)}: the shipped 2D IGN checkpoints (trained
    weights, loaded), and the split IGN and the GAN with their settings above, trained live from scratch."""
    found = {}
    for name in data.TOY2D:
        if f"ign-2d-{name}" in checkpoints.names():
            found[f"IGN on {name} (shipped checkpoint)"] = {"model": "IGN", "dataset": name,
                                                            "checkpoint": f"ign-2d-{name}"}
    found["split IGN on ring (trains live)"] = {"model": "split IGN", "dataset": "ring", "checkpoint": None}
    found["GAN on ring (tuned, trains live)"] = {"model": "GAN", "dataset": "ring", "checkpoint": None}
    return found


# The five guided experiments of 08_idempotence_lab: the lab's "Set up" puts it in the state each one starts
# from. "what" says what to do, "expect" what to look for (the notebook measures it); "layers" are the views
# switched on for it.
EXPERIMENTS = {
    "1. apply f again": {
        "preset": "IGN on ring (shipped checkpoint)", "n": 1, "probe": (2.6, -2.4),
        "layers": ["data", "samples", "orbits"],
        "what": "Move the n slider from 1 to 5.",
        "expect": "f(z) lands on the ring in one step; each later application moves points far less on average "
                  "(the 2nd to 5th under a tenth of the first), though about one point in six creeps along the "
                  "ring and hops to a neighbouring mode within eight applications."},
    "2. the energy's wells": {
        "preset": "IGN on ring (shipped checkpoint)", "n": 3, "probe": (2.0, 0.0),
        "layers": ["data", "heatmap", "fixed"],
        "what": "Click on a mode of the ring, then on empty space, and read delta.",
        "expect": "delta is a landscape with one dark well per mode: low on the data, high elsewhere."},
    "3. no tightness": {
        "preset": None, "settings": {"model": "IGN", "dataset": "ring", "weights": (20, 20, 0)}, "play": True,
        "layers": ["data", "samples", "heatmap", "fixed"],
        "what": "A fresh IGN (not the shipped one) trains from scratch with lambda_tight = 0; watch the fixed "
                "points (orange), the energy and the coverage; then set lambda_tight to 1, press Reset and compare.",
        "expect": "after a few hundred steps more of the plane stays fixed without tightness (about twice the "
                  "orange area at 600 steps, on average over 8 seeds; close at 150; a single run can differ) and "
                  "fewer samples have reached the ring; both fixed areas shrink as training goes on, faster with "
                  "tightness, and after 5,000 steps (04's study) hardly any stray fixed point is left in either."},
    "4. standard source": {
        "preset": None, "settings": {"model": "IGN", "dataset": "ring", "source": "standard"}, "play": True,
        "layers": ["data", "samples", "orbits"],
        "what": "Train from scratch with z ~ N(0, I) instead of the matched source; compare coverage.",
        "expect": "z ~ N(0, I) puts two thirds of z within radius 1.5, inside the ring of radius 2 (the matched "
                  "source under half); in 04's study it covered the ring less reliably (fewer runs with all 8 "
                  "modes, the rarest mode starved)."},
    "5. the GAN's two players": {
        "preset": None, "settings": {"model": "GAN", "dataset": "ring"}, "d_steps": 20,
        "layers": ["data", "samples", "heatmap", "field"],
        "what": "Press G step a few times; then D step; watch D's heatmap and the arrows.",
        "expect": "D-only steps lower D's score on the fakes; G-only steps then move the fakes up D's slope."},
}
