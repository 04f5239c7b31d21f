"""The learned reward's level in a model-free run's last checkpoint: -f on the expert's pairs, on the
learner's newest replay rows and, with ``disc.absorbing``, on the absorbing state; and how the newest
replay rows' episodes ended. Living pays while -f on the learner's rows exceeds the absorbing state's
-f (without absorbing states: exceeds 0, the value of an ended episode).

    python results/tried/ant-absorbing/levels.py RUN_DIR [RUN_DIR ...]
"""

import json
import sys
from pathlib import Path

import jax
import numpy as np

from hyirl import buffers, checkpoint
from hyirl.demos import expert_buffer, load_expert_data
from hyirl.discriminator import Discriminator
from hyirl.envs import get_task, make_env
from hyirl.irl import IRLConfig
from hyirl.presets import build_config, from_json

NEWEST = 20_000  # replay rows: about the last 20 rounds of policy steps


def levels(run: Path) -> dict:
    cfg = build_config(IRLConfig, from_json(json.loads((run / "config.json").read_text())), {})
    env = make_env(get_task(cfg.env), p_tremble=cfg.p_tremble)
    expert = expert_buffer(load_expert_data(cfg, env))
    disc = Discriminator(env.observation_space.shape[0], env.action_space.shape[0], cfg.disc)
    arrays, meta = checkpoint.load_npz(run / "checkpoints" / "learner.npz", "checkpoint")
    params = checkpoint.unflatten(disc.init(jax.random.PRNGKey(0)), checkpoint.part(arrays, "disc/")).params
    replay = buffers.from_numpy(checkpoint.part(arrays, "buffer/"))
    newest = buffers.recent_indices(replay, min(NEWEST, int(replay.size)))
    out = dict(
        run=str(run),
        policy_env_steps=meta["env_steps"],  # the learner's own steps, without the discriminator's samples
        expert_reward=float(disc.reward(params, dict(obs=expert.obs, action=expert.action)).mean()),
        learner_reward=float(disc.reward(params, dict(obs=replay.obs[newest], action=replay.action[newest])).mean()),
        terminal_steps_per_1000=1000 * float(np.asarray(replay.terminal[newest]).mean()),
    )
    if cfg.disc.absorbing:
        out["absorbing_reward"] = -float(disc._f(params, disc.absorbing_row()[None])[0])
    return out


if __name__ == "__main__":
    for run in sys.argv[1:]:
        print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in levels(Path(run)).items()}))
