import torch

from ign_lessons import data, losses, models, recipes, results, study


def test_parameter_counts_are_exact():
    assert study.parameters("merged") == models.count_parameters(models.build("mlp-ign", hidden=128)) == 33666
    assert study.parameters("split") == 2 * study.parameters("merged")
    assert abs(study.parameters("split-matched") - study.parameters("merged")) <= 2


def test_forward_cost_counts_four_network_evaluations():
    merged, split, matched = (study.forward_cost(v) for v in ("merged", "split", "split-matched"))
    assert merged["evaluations"] == split["evaluations"] == matched["evaluations"] == 4
    assert merged["macs"] == split["macs"] == 4 * (2 * 128 + 2 * 128 * 128 + 128 * 2)
    assert matched["macs"] < 0.55 * merged["macs"]


def test_run_returns_rows_and_samples_for_every_variant():
    settings = study.settings_with(steps=3, n_data=64, n_eval=50)
    out = study.run(seeds=[0], datasets=("ring",), settings=settings, keep=5)
    assert [r["variant"] for r in out["rows"]] == list(study.VARIANTS)
    assert set(out["samples"]) == {f"ring/{v}/0" for v in study.VARIANTS}
    assert all(study.decode_points(text).shape == (5, 2) for text in out["samples"].values())
    assert all(0 <= r["accepted_area"] <= 1 for r in out["rows"])
    table = study.summarize(out["rows"])
    assert [t["variant"] for t in table] == list(study.VARIANTS)
    assert table[0]["time_ratio"] == 1.0
    assert "split-matched" in study.format_table(table)


def test_runs_are_reproducible_from_their_seed():
    settings = study.settings_with(steps=20, n_data=256, n_eval=100)
    first = study.run(seeds=[1], variants=("merged", "split"), settings=settings)["rows"]
    again = study.run(seeds=[1], variants=("merged", "split"), settings=settings)["rows"]
    strip = lambda rows: [{k: v for k, v in r.items() if k != "seconds_per_step"} for r in rows]
    assert strip(first) == strip(again)


def test_points_survive_encoding_to_two_decimals_and_infinities_are_clipped():
    points = torch.tensor([[0.123, -1.987], [float("nan"), float("inf")], [1e9, -3.0]])
    back = study.decode_points(study.encode_points(points))
    assert torch.allclose(back, torch.tensor([[0.12, -1.99], [99.0, 99.0], [99.0, -3.0]]))


def test_accepted_area_is_small_for_a_sharp_energy_and_everything_for_a_flat_one():
    real = data.toy2d("ring", 500)
    modes = data.toy2d_modes("ring")
    sharp = lambda y: torch.cdist(y, modes).min(1).values
    assert study.accepted_area(sharp, real) < 0.05
    assert study.accepted_area(lambda y: torch.zeros(len(y)), real) == 1.0


def test_success_needs_all_modes_and_most_samples_near_them():
    ring = data.toy2d("ring", 2000)
    assert study.evaluate(ring, "ring")["success"]
    one_mode = ring[torch.cdist(ring, data.toy2d_modes("ring")).argmin(1) == 0]
    assert not study.evaluate(one_mode, "ring")["success"]
    assert not study.evaluate(ring + torch.randn_like(ring), "ring")["success"]


def test_bad_settings_and_variants_are_refused():
    import pytest
    with pytest.raises(ValueError, match="unknown setting"):
        study.settings_with(step=10)
    with pytest.raises(ValueError, match="unknown variant"):
        study.build("fused")


def test_self_gan_with_l1_distance_has_igns_gradient():
    torch.manual_seed(0)
    f = models.build("mlp-ign", hidden=16).double()
    x, z = torch.randn(8, 2, dtype=torch.float64), torch.randn(8, 2, dtype=torch.float64)
    grad = lambda loss: torch.cat([g.flatten() for g in torch.autograd.grad(loss, list(f.parameters()))])
    ours = grad(study.self_gan_loss(f, x, z, study.ENERGIES["L1 distance (IGN)"], (20, 20, 2.5)))
    ign = grad(losses.ign_loss(f, x, z, (20, 20, 2.5), "l1")[0])
    assert torch.allclose(ours, ign, atol=1e-12)


def test_energy_discriminator_turns_one_loss_gan_into_ign_and_split_ign():
    torch.manual_seed(0)
    f, A = (models.build("mlp-ign", hidden=16).double() for _ in range(2))
    x, z = torch.randn(8, 2, dtype=torch.float64), torch.randn(8, 2, dtype=torch.float64)
    params = list(f.parameters()) + list(A.parameters())
    grad = lambda loss: torch.cat([(g if g is not None else torch.zeros_like(p)).flatten() for g, p in
                                   zip(torch.autograd.grad(loss, params, allow_unused=True), params)])
    for distance in losses.DISTANCES:
        gan = losses.one_loss_frozen(f, losses.EnergyDiscriminator(f, distance), x, z)
        assert torch.allclose(grad(gan), grad(losses.ign_loss(f, x, z, (1, 1, 1), distance)[0]), atol=1e-12)
        split = losses.one_loss_frozen(f, losses.EnergyDiscriminator(A, distance), x, z)
        assert torch.allclose(grad(split), grad(sum(losses.split_ign_terms(f, A, x, z, distance))), atol=1e-12)


def test_every_energy_runs():
    settings = study.settings_with(steps=5, n_data=64, n_eval=50)
    out = study.run_energies(seeds=[0], settings=settings, keep=3)
    assert [r["variant"] for r in out["rows"]] == list(study.ENERGIES)
    assert all(study.decode_points(text).shape == (3, 2) for text in out["samples"].values())


def test_one_thread_restores_the_thread_count():
    before = torch.get_num_threads()
    with study.one_thread():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_recipes_write_their_results(tmp_path, monkeypatch):
    monkeypatch.setattr(results, "FOLDER", tmp_path)
    assert {"merged-vs-split", "discriminator-choices"} <= set(recipes.RECIPES)
    study.make_merged_vs_split(steps_scale=0.001, seeds={"ring": [0]}, robustness_seeds=[0], workers=1)
    record = results.load("merged-vs-split")
    assert len(record["results"]["rows"]) == len(study.VARIANTS)
    assert len(record["results"]["robustness"]) == 2 * len(study.ROBUSTNESS)
    assert record["config"]["steps"] == 3
    assert set(record["results"]["time_per_step"]) == set(study.VARIANTS)
    study.make_discriminator_choices(steps_scale=0.001, seeds=[0], workers=1)
    assert len(results.load("discriminator-choices")["results"]["rows"]) == len(study.ENERGIES)


def test_parallel_workers_give_the_same_numbers():
    settings = study.settings_with(steps=5, n_data=128, n_eval=100)
    strip = lambda rows: [{k: v for k, v in r.items() if k != "seconds_per_step"} for r in rows]
    serial = study.run(seeds=[0, 1], variants=("merged", "split"), settings=settings, keep=4)
    parallel = study.run(seeds=[0, 1], variants=("merged", "split"), settings=settings, keep=4, workers=2)
    assert strip(serial["rows"]) == strip(parallel["rows"]) and serial["samples"] == parallel["samples"]
