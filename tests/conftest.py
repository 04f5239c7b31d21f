import os

import pytest

# Tests share the machine with long background runs; keep JAX to one thread for stable timing.
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HYIRL_CACHE", str(tmp_path / "cache"))
