"""The digits checkpoints of 02_gan_digits: the quality metric's classifier and the DCGAN.

    python3 course.py retrain digit-classifier gan-digits

"digit-classifier" must exist before "gan-digits" is measured (the study says so: after=...).
"""
import time

import torch

from .. import data, metrics, models, train
from . import as_json, study

CLASSIFIER_STEPS = 1000
CLASSIFIER_TRAIN = {"batch": 128, "lr": 3e-3}
GAN_STEPS = 6000
GAN_FD_EVERY = 500  # the recipe measures the FD before training and after every GAN_FD_EVERY steps
GAN = {
    "generator": {"width": 64, "latent": 32, "refine": 1},
    "discriminator": {"width": 32, "refine": 1},
    "train": {"loss": "nonsaturating", "batch": 64, "lr_g": 2e-4, "lr_d": 2e-4, "betas": (0.5, 0.999)},
}
EVAL_SAMPLES = 1000


def build_gan(config=GAN):
    """A fresh DCGAN generator and discriminator for 8x8 digits, as configured in `config`.

    Their initial weights come from torch's global generator: call torch.manual_seed first."""
    return (models.build("conv-generator", **config["generator"]),
            models.build("conv-discriminator", **config["discriminator"]))


def classifier_grid(fast, root=None):
    return [{"key": "classifier", "seed": 0, "config": {"steps": 20 if fast else CLASSIFIER_STEPS, **CLASSIFIER_TRAIN}}]


def train_digit_classifier(config, seed):
    """The quality metric's classifier, trained on the training split only; shipped as metrics.CLASSIFIER."""
    train_options = {k: config[k] for k in CLASSIFIER_TRAIN}
    model, history = train.train_classifier(steps=config["steps"], seed=seed, progress=False, **train_options)
    model = model.cpu()
    scores = {"test_accuracy": round(metrics.accuracy(model, "test"), 4),
              "train_accuracy": round(metrics.accuracy(model, "train"), 4), "seconds": round(history.seconds, 1)}
    return {"metrics": scores, "checkpoint": {
        "model": model, "name": metrics.CLASSIFIER, "steps": config["steps"], "metrics": scores,
        "config": {"trainer": "train.train_classifier", "data": "digits split=train", **train_options,
                   "augment": "random 1-pixel shifts"}}}


study("digit-classifier", doc="the digits metric's classifier, checkpoint \"digit-classifier\" (02)",
      grid=classifier_grid, summarize=None,
      budget="about 1 minute on 1 core")(train_digit_classifier)


def gan_grid(fast, root=None):
    steps, every = (40, 20) if fast else (GAN_STEPS, GAN_FD_EVERY)
    return [{"key": "gan", "seed": 0, "config": {**as_json(GAN), "steps": steps, "fd_every": every,
                                                 "eval_samples": EVAL_SAMPLES}}]


def train_gan_digits(config, seed):
    """The DCGAN of 02_gan_digits, trained longer than the notebook does, with its FD along the way."""
    steps, every = config["steps"], config["fd_every"]
    images, _ = data.digits(split="train")
    torch.manual_seed(seed)
    G, D = build_gan(config)
    curve = []

    def measure(done):
        q = metrics.digits_quality(models.sample(G, config["eval_samples"], seed=1))
        curve.append([done, round(q.fd, 2)])

    def after_step(i, history):
        """train_gan calls this after step i + 1 (i counts from 0)."""
        if (i + 1) % every == 0 or i + 1 == steps:
            measure(i + 1)

    measure(0)
    start = time.perf_counter()
    G, D, history = train.train_gan(images, steps=steps, seed=seed, G=G, D=D, callback=after_step, every=1,
                                    progress=False, **{**config["train"], "betas": tuple(config["train"]["betas"])})
    seconds = time.perf_counter() - start
    G = G.cpu()
    q = metrics.digits_quality(models.sample(G, config["eval_samples"], seed=1))
    scores = {"fd": round(q.fd, 2), "floor": round(q.floor, 2), "shares": q.shares,
              "confidence": round(q.confidence, 4), "classes_over_3pct": q.covered(),
              "eval": {"images": q.images, "sample": q.sample, "repeats": q.repeats, "sampling_seed": 1},
              "fd_by_step": curve, "d_loss_end": round(history.last("d_loss", 200), 4),
              "g_loss_end": round(history.last("g_loss", 200), 4), "seconds": round(seconds, 1)}
    return {"metrics": scores, "checkpoint": {
        "model": G, "name": "gan-digits", "steps": steps, "metrics": scores,
        "config": {**{k: config[k] for k in GAN}, "data": "digits split=train", "trainer": "train.train_gan"}}}


study("gan-digits", doc='the DCGAN on the 8x8 digits, checkpoint "gan-digits" (02)',
      grid=gan_grid, summarize=None, after=("digit-classifier",),
      budget="about 5 minutes on 1 core")(train_gan_digits)
