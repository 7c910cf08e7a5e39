"""Tests of the scaling scripts' own arithmetic and machine reading (fast: no timing).

Run with ``pytest bench/test_bench_scaling.py`` (pytest puts ``bench/`` on
``sys.path``, as for the rest of ``bench/``).
"""

import pytest
from compare import VECTOR_EXTENSIONS, header_lines, vector_extensions
from runners import cgroup_cpu_limit
from scaling import THREAD_VARIABLES, child_environment, core_counts, format_table
from scaling_model import aggregate_bandwidth, amdahl_seconds, second_core_was_busy


@pytest.mark.parametrize("n_cores, expected", [
    (1, [1]),
    (2, [1, 2]),
    (6, [1, 2, 4, 6]),
    (32, [1, 2, 4, 8, 16, 32]),
    (48, [1, 2, 4, 8, 16, 32, 48]),
])
def test_core_counts_are_powers_of_two_and_the_core_count(n_cores, expected):
    assert core_counts(n_cores) == expected


def test_child_environment_sets_every_thread_pool(monkeypatch):
    monkeypatch.setenv("MLPFAST_NUM_THREADS", "7")
    env = child_environment(3)
    assert all(env[name] == "3" for name in THREAD_VARIABLES)
    assert "MLPFAST_NUM_THREADS" in THREAD_VARIABLES


@pytest.mark.parametrize("text, expected", [
    ("max 100000\n", None),
    ("150000 100000\n", 2),
    ("400000 100000\n", 4),
    ("50000 100000\n", 1),
])
def test_cgroup_cpu_limit_rounds_a_quota_up(tmp_path, text, expected):
    path = tmp_path / "cpu.max"
    path.write_text(text)
    assert cgroup_cpu_limit(str(path)) == expected


def test_cgroup_cpu_limit_without_the_file(tmp_path):
    assert cgroup_cpu_limit(str(tmp_path / "missing")) is None


def test_vector_extensions_are_known_names():
    names = [name for _, name in VECTOR_EXTENSIONS]
    assert set(vector_extensions()) <= set(names)


def test_amdahl_through_two_points():
    seconds, fraction = amdahl_seconds(10.0, 6.0, 2)
    assert seconds == pytest.approx(6.0) and fraction == pytest.approx(0.8)
    assert amdahl_seconds(10.0, 6.0, 4)[0] == pytest.approx(10 * (0.2 + 0.8 / 4))
    # Slower on two threads: no parallel part, flat.
    assert amdahl_seconds(10.0, 11.0, 8) == (10.0, 0.0)


def test_aggregate_bandwidth_caps_only_outside_the_caches():
    measured = {1: 20e9, 2: 30e9}
    assert aggregate_bandwidth(2, 1e9, measured, 1 << 20, 50e9) == 30e9
    # 8 cores at the two-core per-core rate: 120 GB/s; in cache, no cap.
    assert aggregate_bandwidth(8, 1e6, measured, 1 << 20, 50e9) == pytest.approx(120e9)
    assert aggregate_bandwidth(8, 1e9, measured, 1 << 20, 50e9) == 50e9


def test_scaling_table_shows_speed_ups_over_one_core():
    timings = {"digits": {
        "mlpfast": {1: {"status": "ok", "note": "", "s_per_epoch": 2.0},
                    2: {"status": "ok", "note": "", "s_per_epoch": 1.0}},
        "torch": {1: {"status": "n/a", "note": "x", "s_per_epoch": None},
                  2: {"status": "n/a", "note": "x", "s_per_epoch": None}},
    }}
    table = format_table(timings, [1, 2])
    assert "2 (1.00x)" in table and "1 (2.00x)" in table and "n/a" in table


def test_compare_header_states_the_floor_share_and_the_machine():
    machine = {
        "cpu_model": "Some CPU", "usable_cores": 2, "nproc": 4,
        "load_average_at_start": (0.0, 0.0, 0.0), "vector_extensions": ["AVX2", "FMA"],
        "mlpfast_simd_path": "avx2", "threads": {"mlpfast": 2, "sklearn": 2},
        "environment": {}, "implementations": {}, "threadpoolctl": [
            {"user_api": "blas", "internal_api": "openblas", "version": "0.3.30",
             "architecture": "Haswell", "num_threads": 2, "filepath": "/x/libopenblas.so"}],
    }
    text = "\n".join(header_lines(machine, {"float32": 1.0, "float64": 1.0}, "quick"))
    for expected in ("Some CPU", "AVX2 FMA", "SIMD path: avx2", "kernel=Haswell",
                     "0.3.30", "2 usable cores of 4", "GEMM-only floor time / epoch time"):
        assert expected in text


@pytest.mark.parametrize("floor_2, busy", [(0.6, False), (1.1, False), (1.5, True), (None, True)])
def test_a_two_core_floor_much_slower_than_one_core_means_a_busy_core(floor_2, busy):
    assert second_core_was_busy({"gemm floor": {1: 1.0, 2: floor_2}}) is busy
