import json

import pytest
import torch

from ign_lessons import data, losses, models, results, runtime, studies, train
from ign_lessons.losses import IGNWeights
from ign_lessons.studies import discriminator_choices, map_runs, merged_vs_split


def test_parameter_counts_are_exact():
    assert merged_vs_split.parameters("merged") == models.count_parameters(models.build("mlp-ign", hidden=128)) == 33666
    assert merged_vs_split.parameters("split") == 2 * merged_vs_split.parameters("merged")
    assert abs(merged_vs_split.parameters("split-matched") - merged_vs_split.parameters("merged")) <= 2


def test_forward_cost_counts_four_network_evaluations():
    merged, split, matched = (merged_vs_split.forward_cost(v) for v in ("merged", "split", "split-matched"))
    assert merged["evaluations"] == split["evaluations"] == matched["evaluations"] == 4
    assert merged["macs"] == split["macs"] == 4 * (2 * 128 + 2 * 128 * 128 + 128 * 2)
    assert matched["macs"] < 0.55 * merged["macs"]


def test_run_returns_rows_and_samples_for_every_variant():
    settings = merged_vs_split.settings_with(steps=3, n_data=64, n_eval=50)
    out = merged_vs_split.run(seeds=[0], datasets=("ring",), settings=settings, keep=5)
    assert [r["variant"] for r in out["rows"]] == list(merged_vs_split.VARIANTS)
    assert set(out["samples"]) == {f"ring/{v}/0" for v in merged_vs_split.VARIANTS}
    assert all(results.decode_points(text).shape == (5, 2) for text in out["samples"].values())
    assert all(0 <= r["accepted_area"] <= 1 for r in out["rows"])
    table = merged_vs_split.summarize(out["rows"])
    assert [t["variant"] for t in table] == list(merged_vs_split.VARIANTS)
    per_step = {r["variant"]: r["seconds_per_step"] for r in out["rows"]}
    assert all(t["time_ratio"] == pytest.approx(per_step[t["variant"]] / per_step["merged"], rel=0.01) for t in table)
    assert "split-matched" in merged_vs_split.format_table(table)


def test_runs_are_reproducible_from_their_seed():
    settings = merged_vs_split.settings_with(steps=20, n_data=256, n_eval=100)
    first = merged_vs_split.run(seeds=[1], variants=("merged", "split"), settings=settings)["rows"]
    again = merged_vs_split.run(seeds=[1], variants=("merged", "split"), settings=settings)["rows"]
    strip = lambda rows: [{k: v for k, v in r.items() if k != "seconds_per_step"} for r in rows]
    assert strip(first) == strip(again)


def test_points_survive_encoding_to_two_decimals_and_infinities_are_clipped():
    points = torch.tensor([[0.123, -1.987], [float("nan"), float("inf")], [1e9, -3.0]])
    back = results.decode_points(results.encode_points(points))
    assert torch.allclose(back, torch.tensor([[0.12, -1.99], [99.0, 99.0], [99.0, -3.0]]))


def test_accepted_area_is_small_for_a_sharp_energy_and_everything_for_a_flat_one():
    real = data.toy2d("ring", 500)
    modes = data.toy2d_modes("ring")
    sharp = lambda y: torch.cdist(y, modes).min(1).values
    assert merged_vs_split.accepted_area(sharp, real) < 0.05
    assert merged_vs_split.accepted_area(lambda y: torch.zeros(len(y)), real) == 1.0


def test_success_needs_all_modes_and_most_samples_near_them():
    ring = data.toy2d("ring", 2000)
    assert merged_vs_split.evaluate(ring, "ring")["success"]
    one_mode = ring[torch.cdist(ring, data.toy2d_modes("ring")).argmin(1) == 0]
    assert not merged_vs_split.evaluate(one_mode, "ring")["success"]
    assert not merged_vs_split.evaluate(ring + torch.randn_like(ring), "ring")["success"]


def test_bad_settings_and_variants_are_refused():
    import pytest
    with pytest.raises(ValueError, match="unknown setting"):
        merged_vs_split.settings_with(step=10)
    with pytest.raises(ValueError, match="unknown variant"):
        merged_vs_split.build("fused")


def test_self_gan_with_l1_distance_has_igns_gradient():
    torch.manual_seed(0)
    f = models.build("mlp-ign", hidden=16).double()
    x, z = torch.randn(8, 2, dtype=torch.float64), torch.randn(8, 2, dtype=torch.float64)
    grad = lambda loss: torch.cat([g.flatten() for g in torch.autograd.grad(loss, list(f.parameters()))])
    ours = grad(losses.self_gan_loss(f, x, z, discriminator_choices.ENERGIES["L1 distance (IGN)"], (20, 20, 2.5)))
    ign = grad(losses.ign_loss(f, x, z, IGNWeights(20, 20, 2.5), "l1")[0])
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
        assert torch.allclose(grad(gan), grad(losses.ign_loss(f, x, z, IGNWeights(1, 1, 1), distance)[0]), atol=1e-12)
        split = losses.one_loss_frozen(f, losses.EnergyDiscriminator(A, distance), x, z)
        assert torch.allclose(grad(split), grad(sum(losses.split_ign_terms(f, A, x, z, distance))), atol=1e-12)


def test_every_energy_runs():
    settings = merged_vs_split.settings_with(steps=5, n_data=64, n_eval=50)
    out = discriminator_choices.run(seeds=[0], settings=settings, keep=3)
    assert [r["variant"] for r in out["rows"]] == list(discriminator_choices.ENERGIES)
    assert all(results.decode_points(text).shape == (3, 2) for text in out["samples"].values())


def test_threads_restores_the_thread_count():
    before = torch.get_num_threads()
    with runtime.threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_studies_are_found_in_order_and_write_where_they_are_told(tmp_path):
    shipped = {p.name: p.stat().st_mtime_ns for p in results.path("x").parent.glob("*.json")}
    found = list(studies.discover())
    assert {"merged-vs-split", "discriminator-choices", "gan-2d-updates", "ign-2d", "ign-2d-study",
            "digit-classifier", "gan-digits"} <= set(found)
    for name in found:  # each after the studies whose files it reads
        assert all(found.index(earlier) < found.index(name) for earlier in studies.STUDIES[name].after)
    target = studies.run_study("merged-vs-split", fast=True, jobs=1, root=tmp_path, log=lambda *a, **k: None)
    record = json.loads(target.read_text())
    payload = record["results"]
    assert target == tmp_path / "merged-vs-split-fast.json"
    assert len(payload["rows"]) == len(payload["tuned"]["rows"]) == len(merged_vs_split.VARIANTS)
    assert len(payload["robustness"]) == 2 * len(merged_vs_split.ROBUSTNESS)
    assert payload["settings"]["steps"] == payload["tuned"]["settings"]["steps"] == merged_vs_split.FAST_STEPS
    assert payload["settings"]["source"] == "standard" and payload["tuned"]["settings"]["source"] == "matched"
    assert payload["tuned"]["settings"]["weights"] == [20, 20, 1] and payload["settings"]["weights"] == [20, 20, 2.5]
    assert set(payload["time_per_step"]) == set(merged_vs_split.VARIANTS)
    assert set(payload["samples"]) == {f"ring/{v}/0" for v in merged_vs_split.VARIANTS}
    assert set(payload["time_per_step"]) == set(merged_vs_split.VARIANTS)
    target = studies.run_study("discriminator-choices", fast=True, root=tmp_path, log=lambda *a, **k: None)
    record = json.loads(target.read_text())
    assert [r["variant"] for r in record["results"]["rows"]] == list(discriminator_choices.ENERGIES)
    assert record["config"]["steps"] == 30 and record["config"]["seeds"] == [0]
    assert set(record["results"]["samples"]) == {f"ring/{e}/0" for e in discriminator_choices.ENERGIES}
    assert {p.name: p.stat().st_mtime_ns for p in results.path("x").parent.glob("*.json")} == shipped


def test_map_runs_leaves_the_thread_count_alone():
    before = torch.get_num_threads()
    assert map_runs(pow, [(2, 3), (3, 2)]) == [8, 9]
    assert torch.get_num_threads() == before


def test_the_tuned_settings_are_04s_defaults_and_give_the_generator_a_matched_source():
    assert merged_vs_split.TUNED["steps"] == train.IGN_DEFAULTS["points"]["steps"]
    assert tuple(merged_vs_split.TUNED["weights"]) == tuple(train.IGN_DEFAULTS["points"]["weights"])
    assert merged_vs_split.TUNED["lr"] == train.IGN_DEFAULTS["points"]["lr"]
    assert tuple(merged_vs_split.SETTINGS["weights"]) == (20, 20, 2.5)
    assert merged_vs_split.SETTINGS["source"] == "standard"
    points = data.toy2d("ring", 256)
    for variant in merged_vs_split.VARIANTS:
        nets = merged_vs_split.build(variant, 0, data.gaussian_source(points))
        assert merged_vs_split.generator(nets).source == data.gaussian_source(points)
        assert merged_vs_split.build(variant, 0)[next(iter(nets))].source is None


def test_split_ign_draws_z_from_the_generators_source():
    points = data.toy2d("ring", 256) + 10  # far from the origin: N(0, I) noise would be far from the data
    G = models.build("mlp-ign", source={"mean": [10.0, 10.0], "std": [1.0, 1.0]})
    seen = []
    G.register_forward_pre_hook(lambda module, inputs: seen.append(inputs[0].detach().clone()))
    train.train_split_ign(points, steps=2, batch=64, G=G, progress=False)
    assert seen and all(abs(float(z.mean()) - 10) < 1 for z in seen)


def test_parallel_workers_give_the_same_numbers():
    settings = merged_vs_split.settings_with(steps=5, n_data=128, n_eval=100)
    strip = lambda rows: [{k: v for k, v in r.items() if k != "seconds_per_step"} for r in rows]
    serial = merged_vs_split.run(seeds=[0, 1], variants=("merged", "split"), settings=settings, keep=4)
    parallel = merged_vs_split.run(seeds=[0, 1], variants=("merged", "split"), settings=settings, keep=4, workers=2)
    assert strip(serial["rows"]) == strip(parallel["rows"]) and serial["samples"] == parallel["samples"]
