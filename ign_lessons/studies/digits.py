"""The digits checkpoints of 02_gan_digits: the quality metric's classifier and the DCGAN.

    python -m ign_lessons retrain digit-classifier gan-digits

"digit-classifier" must exist before "gan-digits" is measured (studies.RECIPE_ORDER runs it first).
"""
import time

import torch

from .. import checkpoints, data, metrics, models, train
from . import recipe

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


@recipe("digit-classifier")
def digit_classifier(folder=None):
    """The quality metric's classifier, trained on the training split only."""
    steps = CLASSIFIER_STEPS
    model, history = train.train_classifier(steps=steps, seed=0, **CLASSIFIER_TRAIN)
    model = model.cpu()
    test, train_acc = metrics.accuracy(model, "test"), metrics.accuracy(model, "train")
    print(f"digit classifier: test accuracy {test:.4f}, train accuracy {train_acc:.4f}")
    checkpoints.save(model, (folder or checkpoints.folder()) / f"{metrics.CLASSIFIER}.safetensors", seed=0, steps=steps,
                     config={"trainer": "train.train_classifier", "data": "digits split=train",
                             **CLASSIFIER_TRAIN, "augment": "random 1-pixel shifts"},
                     metrics={"test_accuracy": round(test, 4), "train_accuracy": round(train_acc, 4),
                              "seconds": round(history.seconds, 1)})
    metrics.classifier.cache_clear()
    metrics._reference_features.cache_clear()


@recipe("gan-digits")
def gan_digits(folder=None):
    """The DCGAN of 02_gan_digits, trained longer than the notebook does, with its FD along the way."""
    steps = GAN_STEPS
    images, _ = data.digits(split="train")
    torch.manual_seed(0)
    G, D = build_gan()
    curve = []

    def measure(done):
        q = metrics.digits_quality(models.sample(G, EVAL_SAMPLES, seed=1))
        curve.append([done, round(q.fd, 2)])

    def after_step(i, history):
        """train_gan calls this after step i + 1 (i counts from 0)."""
        if (i + 1) % GAN_FD_EVERY == 0 or i + 1 == steps:
            measure(i + 1)

    measure(0)
    start = time.perf_counter()
    G, D, history = train.train_gan(images, steps=steps, seed=0, G=G, D=D, callback=after_step,
                                    every=1, **GAN["train"])
    seconds = time.perf_counter() - start
    q = metrics.digits_quality(models.sample(G.cpu(), EVAL_SAMPLES, seed=1))
    print(f"gan-digits: {q}")
    checkpoints.save(G, (folder or checkpoints.folder()) / "gan-digits.safetensors", seed=0, steps=steps,
                     config={**GAN, "data": "digits split=train", "trainer": "train.train_gan"},
                     metrics={"fd": round(q.fd, 2), "floor": round(q.floor, 2), "shares": q.shares,
                              "confidence": round(q.confidence, 4), "classes_over_3pct": q.covered(),
                              "eval": {"images": q.images, "sample": q.sample, "repeats": q.repeats,
                                       "sampling_seed": 1},
                              "fd_by_step": curve, "d_loss_end": round(history.last("d_loss", 200), 4),
                              "g_loss_end": round(history.last("g_loss", 200), 4),
                              "seconds": round(seconds, 1)})
