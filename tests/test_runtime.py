"""The runtime: environment variables parsed strictly, the thread policy, the data folder."""
import pytest
import torch

from ign_lessons import runtime


@pytest.mark.parametrize("value, on", [("1", True), ("yes", True), ("ON", True), ("0", False), ("", False),
                                       ("false", False), ("off", False)])
def test_fast_mode_flag_reads_on_and_off(monkeypatch, value, on):
    monkeypatch.setenv("IGN_LESSONS_FAST", value)
    assert runtime._flag("IGN_LESSONS_FAST") is on


@pytest.mark.parametrize("value", ["2", "fast", "nein"])
def test_a_fast_mode_flag_it_cannot_read_names_the_variable(monkeypatch, value):
    monkeypatch.setenv("IGN_LESSONS_FAST", value)
    with pytest.raises(runtime.CourseError, match="IGN_LESSONS_FAST"):
        runtime._flag("IGN_LESSONS_FAST")


def test_a_bad_device_names_the_variable(monkeypatch):
    monkeypatch.setenv("IGN_LESSONS_DEVICE", "gpu0")
    with pytest.raises(runtime.CourseError, match="IGN_LESSONS_DEVICE='gpu0'"):
        runtime.device()
    monkeypatch.setenv("IGN_LESSONS_DEVICE", "cpu")
    assert runtime.device() == torch.device("cpu")


def test_thread_policy(monkeypatch):
    monkeypatch.delenv("IGN_LESSONS_THREADS", raising=False)
    with runtime.threads(runtime.CORES):
        assert runtime.use_threads() == 1 == torch.get_num_threads()
        monkeypatch.setenv("IGN_LESSONS_THREADS", "2")
        assert runtime.use_threads() == 2 == torch.get_num_threads()
        for bad in ("0", "two", "-1"):
            monkeypatch.setenv("IGN_LESSONS_THREADS", bad)
            with pytest.raises(runtime.CourseError, match="IGN_LESSONS_THREADS"):
                runtime.use_threads()
        monkeypatch.delenv("IGN_LESSONS_THREADS")
        for bad in (0, 1.5, "some", "all", True):
            with pytest.raises(runtime.CourseError, match="threads"):
                runtime.use_threads(bad)


def test_the_data_folder_is_found_and_a_wrong_one_is_named(monkeypatch, tmp_path):
    assert (runtime.data_folder() / runtime.DIGITS_FILE).exists()
    runtime.data_folder.cache_clear()
    monkeypatch.setenv("IGN_LESSONS_DATA", str(tmp_path))
    try:
        with pytest.raises(runtime.CourseError, match=str(tmp_path)):
            runtime.data_folder()
    finally:
        monkeypatch.delenv("IGN_LESSONS_DATA")
        runtime.data_folder.cache_clear()
    assert (runtime.data_folder() / runtime.DIGITS_FILE).exists()


def test_the_seed_offset_is_read_strictly_and_seeds_start(monkeypatch):
    """IGN_LESSONS_SEED (read at import as runtime.SEED) is what start() seeds with by default."""
    monkeypatch.setenv("IGN_LESSONS_SEED", "3")
    assert runtime._whole_number("IGN_LESSONS_SEED", 0) == 3
    for bad in ("-1", "1.5", "three"):
        monkeypatch.setenv("IGN_LESSONS_SEED", bad)
        with pytest.raises(runtime.CourseError, match="IGN_LESSONS_SEED"):
            runtime._whole_number("IGN_LESSONS_SEED", 0)
    monkeypatch.setattr(runtime, "SEED", 3)
    runtime.start(report=False)
    first = torch.rand(3)
    runtime.start(seed=3, report=False)
    assert torch.equal(first, torch.rand(3))
    runtime.start(seed=0, report=False)
    assert not torch.equal(first, torch.rand(3))
