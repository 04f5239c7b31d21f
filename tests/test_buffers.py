import jax
import jax.numpy as jnp
import numpy as np

from hyirl import buffers


def _chunk(values):
    v = jnp.asarray(values, jnp.float32)
    return dict(obs=v[:, None], action=v[:, None], next_obs=v[:, None], reward=v, terminal=jnp.zeros_like(v))


def test_masked_insert_keeps_only_marked_rows_in_order():
    buf = buffers.empty(5, 1, 1)
    buf = buffers.insert(buf, _chunk([1, 2, 3, 4]), jnp.array([True, False, True, True]))
    assert int(buf.size) == 3
    np.testing.assert_array_equal(np.asarray(buf.reward[:3]), [1, 3, 4])
    buf = buffers.insert(buf, _chunk([5, 6, 7, 8]), jnp.array([True, True, False, True]))  # 8 overwrites 1
    assert int(buf.size) == 5 and int(buf.ptr) == 1
    np.testing.assert_array_equal(np.asarray(buf.reward), [8, 3, 4, 5, 6])


def test_sampling_is_uniform_over_the_newest_rows():
    buf = buffers.insert(buffers.empty(4, 1, 1), _chunk(np.arange(6)))  # rows 2..5 survive
    idx = buffers.sample_indices(buf, jax.random.PRNGKey(0), 4000)
    values = np.asarray(buf.reward[idx])
    assert set(values.tolist()) == {2, 3, 4, 5}
    assert np.abs(np.bincount(values.astype(int))[2:] / 4000 - 0.25).max() < 0.03
    newest_two = np.asarray(buf.reward[buffers.sample_indices(buf, jax.random.PRNGKey(1), 400, newest=2)])
    assert set(newest_two.tolist()) == {4, 5}


def test_checkpoint_roundtrip_and_resize_sample_the_same_transitions():
    buf = buffers.insert(buffers.empty(6, 1, 1), _chunk(np.arange(9)))  # wrapped: rows 3..8
    key = jax.random.PRNGKey(1)
    sample = lambda b: np.asarray(b.reward[buffers.sample_indices(b, key, 50)])  # noqa: E731
    restored = buffers.from_numpy(buffers.to_numpy(buf))
    np.testing.assert_array_equal(sample(restored), sample(buf))
    grown = buffers.resize(buf, 10)
    assert grown.capacity == 10 and int(grown.size) == 6
    np.testing.assert_array_equal(sample(grown), sample(buf))
    shrunk = buffers.resize(buf, 2)
    assert sorted(np.asarray(shrunk.reward).tolist()) == [7, 8]
