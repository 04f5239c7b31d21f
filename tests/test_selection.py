import jax.numpy as jnp
import numpy as np

from hyirl import buffers, selection

EPOCH = 10


def _real_buffer(terminal_at: dict[int, int], steps: int, capacity: int = 100) -> buffers.Buffer:
    """``steps`` real transitions in epochs of EPOCH rows; ``terminal_at[e] = i``: epoch e's row i ends an
    episode. The observation of row t is t, the action 1, so a reward of obs counts the rows' steps."""
    terminal = np.zeros(steps)
    for epoch, row in terminal_at.items():
        terminal[epoch * EPOCH + row] = 1.0
    rows = dict(
        obs=np.arange(steps, dtype=np.float32)[:, None],
        action=np.ones((steps, 1)),
        next_obs=np.zeros((steps, 1)),
        reward=np.full(steps, 1e6),  # the env's reward: must never count
        terminal=terminal,
    )
    return buffers.insert(buffers.empty(capacity, 1, 1), {k: jnp.asarray(v, jnp.float32) for k, v in rows.items()})


def _ring(starts: list[int], slots: int = 4) -> dict:
    ring = selection.empty({"w": jnp.zeros(2)}, slots)
    for epoch, start in enumerate(starts):
        ring = selection.store(ring, epoch, start, {"w": jnp.full(2, float(epoch))})
    return ring


def test_scores_are_first_episode_length_and_learned_return():
    ring = _ring([0, 10, 20, 30])
    real = _real_buffer({0: 3, 1: 9, 2: 5}, steps=35)  # epoch 3 is not over at step 35
    lengths, returns = selection.episode_scores(ring, real, 35, EPOCH, lambda batch: batch["obs"][:, 0])
    np.testing.assert_array_equal(lengths, [4, 10, 6, -1])
    np.testing.assert_allclose(returns[:3], [0 + 1 + 2 + 3, sum(range(10, 20)), sum(range(20, 26))])
    assert returns[3] == -np.inf
    # the highest learned return among the finished epochs, however long their episodes
    assert selection.best_slot(returns) == 1
    assert selection.best_slot(np.array([5.0, -np.inf, 7.0, 3.0])) == 2


def test_ring_keeps_the_last_epochs_and_drops_overwritten_rows():
    ring = _ring([0, 10, 20, 30, 40, 50], slots=4)  # epochs 0 and 1 were overwritten by 4 and 5
    assert sorted(np.asarray(ring["start"]).tolist()) == [20, 30, 40, 50]
    np.testing.assert_array_equal(selection.newest(ring)["w"], [5.0, 5.0])
    real = _real_buffer({}, steps=60, capacity=35)  # only the newest 35 real steps are kept
    lengths, _ = selection.episode_scores(ring, real, 60, EPOCH, lambda batch: batch["obs"][:, 0])
    by_start = dict(zip(np.asarray(ring["start"]).tolist(), lengths.tolist()))
    assert by_start == {20: -1, 30: 10, 40: 10, 50: 10}
    assert selection.newest(selection.empty({"w": jnp.zeros(2)}, 3)) is None
    assert selection.best_slot(np.full(3, -np.inf)) is None
