"""06's headline and restoration studies: the validation split, the corruptions, the held-out distance, the
denoising baseline, and the fast studies' structure."""
import pytest
import torch

from ign_lessons import data, metrics, models, train
from ign_lessons.runtime import CourseError
from ign_lessons.studies import digits_headline, digits_restoration, run_study


def _rows(images):
    return {tuple(row.tolist()) for row in images.flatten(1)}


def test_val_and_fit_split_the_training_digits_a_fifth_of_each_class_held_out():
    train_x, train_y = data.digits(split="train")
    (val_x, val_y), (fit_x, _) = data.digits(split="val"), data.digits(split="fit")
    assert len(val_x) + len(fit_x) == len(train_x)
    assert _rows(val_x) | _rows(fit_x) == _rows(train_x) and not _rows(val_x) & _rows(fit_x)
    assert not _rows(val_x) & _rows(data.digits(split="test")[0])
    for k in range(10):
        assert (val_y == k).sum() == (train_y == k).sum() // 5
    with pytest.raises(CourseError, match="'val'.*'fit'"):
        data.digits(split="validation")


@pytest.mark.parametrize("kind", data.CORRUPTIONS)
def test_every_corruption_keeps_shape_and_range_changes_the_digit_and_is_seeded(kind):
    x = data.digits(split="test")[0][:50]
    a, b, c = data.corrupt(x, kind, seed=0), data.corrupt(x, kind, seed=0), data.corrupt(x, kind, seed=1)
    assert a.shape == x.shape and a.min() >= -1 and a.max() <= 1
    assert torch.equal(a, b) and (a - x).abs().mean() > 0.05
    random = kind in ("noise", "occlusion", "missing pixels")
    assert torch.equal(a, c) != random


def test_corruptions_do_what_they_say():
    x = data.digits(split="test")[0][:50]
    assert torch.equal(data.corrupt(x, "shift")[..., 1:, 1:], x[..., :-1, :-1])
    assert (data.corrupt(x, "shift")[..., 0, :] == -1).all()
    background = -torch.ones(1, 1, 8, 8)
    assert torch.equal(data.corrupt(background, "blur"), background)
    assert torch.allclose(data.corrupt(x, "faint").max(), torch.tensor(-0.2))
    missing = data.corrupt(x, "missing pixels")
    assert ((missing != x) & (missing != -1)).sum() == 0
    with pytest.raises(CourseError, match="corruption"):
        data.corrupt(x, "rotate")


def test_kernel_distance_is_near_zero_for_one_distribution_and_positive_for_another():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(1000, 16, generator=g, dtype=torch.float64), torch.randn(400, 16, generator=g,
                                                                              dtype=torch.float64)
    same, se = metrics.kernel_distance(a, b)
    moved, moved_se = metrics.kernel_distance(a + 0.5, b)
    assert abs(same) < 3 * se and moved > 10 * moved_se


def test_held_out_distance_of_real_training_digits_is_its_own_floor_and_noise_is_far():
    real = data.digits(split="train")[0]
    picked = real[torch.randperm(len(real), generator=torch.Generator().manual_seed(0))[:500]]
    q = metrics.distance_to_held_out(picked)
    assert q.fd == pytest.approx(q.floor) and q.excess == pytest.approx(0, abs=1e-9) and q.held_out == 360
    noise = torch.rand(500, 1, 8, 8) * 2 - 1
    far = metrics.distance_to_held_out(noise)
    assert far.excess > 20 * far.floor and far.kid > 10 * far.kid_se
    val = metrics.distance_to_held_out(picked, split="val")
    assert val.held_out == 284
    with pytest.raises(CourseError, match="at most 1437"):
        metrics.distance_to_held_out(torch.rand(1500, 1, 8, 8) * 2 - 1)
    with pytest.raises(CourseError, match="'test'.*'val'"):
        metrics.distance_to_held_out(picked, split="train")


def test_the_denoiser_learns_to_undo_noise_and_updates_only_itself():
    x = data.digits(split="train")[0]
    noisy = data.corrupt(x[:200], "noise", seed=3)
    errors = {}
    for sigma_max in (0.6, 0.0):  # the denoiser, and the same network trained on clean digits only
        torch.manual_seed(0)
        A = models.build("conv-ign", width=16, latent=16)
        step = train.DenoisingStep(A, x, torch.Generator().manual_seed(0), sigma_max=sigma_max, lr=2e-3)
        history = train.run(step, 300, step.nets, "denoiser", progress=False)
        with torch.no_grad():
            errors[sigma_max] = float((A(noisy) - x[:200]).abs().mean())
        assert history.steps == 300 and step.nets == (A,) and len(step.optimizers) == 1
    assert errors[0.6] < 0.97 * errors[0.0], errors  # 0.161 vs 0.172 when written


def test_equal_budgets_match_real_samples_and_time():
    recipe = "coverage, data source, lt 10"
    match = digits_headline.matching_gan_steps(recipe, 3000)
    assert match["equal samples"] == 6000
    ratio = digits_headline.step_cost(recipe) / digits_headline.MS_PER_STEP["gan"]
    assert abs(match["equal time"] - 3000 * ratio) <= 5 and match["equal time"] % 10 == 0
    assert set(digits_headline.gan_points(recipe, (3000,))) == set(match.values())


def test_the_selection_rule_prefers_full_coverage_then_the_lowest_excess():
    rows = [{"recipe": "a", "classes": 10, "excess": 9}, {"recipe": "a", "classes": 9, "excess": 11},
            {"recipe": "b", "classes": 10, "excess": 4}, {"recipe": "b", "classes": 8, "excess": 4},
            {"recipe": "c", "classes": 10, "excess": 12}, {"recipe": "c", "classes": 10, "excess": 12}]
    assert digits_headline.choose(rows) == "a"
    assert digits_headline.choose([r for r in rows if r["recipe"] == "b"]) == "b"


@pytest.fixture(scope="module")
def fast_studies(tmp_path_factory):
    root = tmp_path_factory.mktemp("headline")
    quiet = {"fast": True, "jobs": 1, "root": root, "log": lambda *a, **k: None}
    for name in ("digits-select", "digits-headline", "digits-restoration"):
        run_study(name, **quiet)
    import json
    return {name: json.loads((root / f"{name}-fast.json").read_text())["results"]
            for name in ("digits-select", "digits-headline", "digits-restoration")}


def test_the_headline_trains_the_recipe_chosen_on_val_and_compares_at_both_budgets(fast_studies):
    select, headline = fast_studies["digits-select"], fast_studies["digits-headline"]
    assert select["split"] == "val" and select["choice"] == digits_headline.choose(select["rows"])
    assert headline["recipes"]["ign"] == select["choice"] and headline["eval"]["split"] == "test"
    if select["choice"] != digits_headline.SHIPPED_RECIPE:
        assert headline["recipes"]["shipped"] == digits_headline.SHIPPED_RECIPE
    budgets = {(row["role"], row["ign_steps"], row["budget"]) for row in headline["table"]}
    assert budgets == {(role, p, b) for role in headline["recipes"] for p in digits_headline.FAST["points"]
                       for b in ("equal samples", "equal time")}
    for row in headline["table"]:
        assert row["gan_steps"] == digits_headline.matching_gan_steps(row["recipe"], row["ign_steps"])[row["budget"]]
        assert row["gan"]["step"] == row["gan_steps"] and row["ign"]["step"] == row["ign_steps"]
        assert row["excess_ratio"] == pytest.approx(row["ign"]["excess"] / row["gan"]["excess"], rel=1e-2)


def test_restoration_judges_every_model_on_the_same_corrupted_digits(fast_studies):
    found = fast_studies["digits-restoration"]["models"]
    assert set(found) == set(digits_restoration.RECIPES)
    kinds = {"clean", *data.CORRUPTIONS}
    for entry in found.values():
        assert set(entry["mean"]) == kinds
        assert entry["mean"] and entry["mean"]["clean"]["before"]["dist"] == 0
        for kind in kinds:
            assert entry["mean"][kind]["before"] == found["nearest"]["mean"][kind]["before"]
    nearest = found["nearest"]["mean"]
    assert all(nearest[k]["once"] == nearest[k]["twice"] for k in kinds)  # the nearest digit is its own nearest
