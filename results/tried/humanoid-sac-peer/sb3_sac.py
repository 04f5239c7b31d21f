"""Experiment: a peer's SAC (Stable-Baselines3, PyTorch) on the task hyirl's Humanoid expert learned from.

docs/hyper.md §34 found HyPER and HyPE on Humanoid slower than the paper's even with the task's reward,
and hyirl's own SAC slow there too: the shipped expert's training was at 413 at 50k and 431 at 100k.
This asks whether another SAC on the same task does better: Humanoid-v5 with the truncated observation
(qpos[2:] + qvel, 45 entries), no trembling, and the expert run's settings
(`results/expert-runs/humanoid-s0/config.json`: 256 x 256, batch 256, Adam 3e-4, gamma 0.99, tau 0.005,
entropy coefficient learned from 1.0 towards -dim(A), 10,000 random steps first, then 64 updates after
every 64 steps). Evaluation as the expert run's: every 10,000 steps, 5 deterministic episodes.

Needs the bench extra (`pip install -e ".[bench]"`). Run from the repository root:
    python results/tried/humanoid-sac-peer/sb3_sac.py --seed 0 --steps 100000 --out runs/sb3-sac-humanoid-s0
It writes metrics.jsonl (env_steps, eval_return_mean, eval_length_mean) into --out.
"""

import argparse
import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import SAC
from stable_baselines3.common.callbacks import BaseCallback

from hyirl.envs import get_task


def humanoid_env() -> gym.Env:
    """hyirl's Humanoid task with its truncated observation, as plain gymnasium: SB3 scales its actions to
    the env's bounds itself, where hyirl's TaskEnv expects them in [-1, 1]."""
    task = get_task("humanoid")
    return gym.make(task.gym_id, **task.gym_kwargs, **task.truncated_obs_kwargs)


def evaluate(model: SAC, env: gym.Env, episodes: int, seed: int) -> tuple[float, float]:
    returns, lengths = [], []
    for i in range(episodes):
        obs, _ = env.reset(seed=seed + i)
        total, steps, done = 0.0, 0, False
        while not done:
            action, _ = model.predict(obs, deterministic=True)
            obs, reward, terminated, truncated, _ = env.step(action)
            total, steps, done = total + reward, steps + 1, terminated or truncated
        returns.append(total), lengths.append(steps)
    return float(np.mean(returns)), float(np.mean(lengths))


class Evaluation(BaseCallback):
    def __init__(self, env: gym.Env, every: int, episodes: int, path: Path):
        super().__init__()
        self.env, self.every, self.episodes, self.path = env, every, episodes, path

    def _on_step(self) -> bool:
        if self.num_timesteps % self.every == 0:
            mean, length = evaluate(self.model, self.env, self.episodes, 1_000_000)
            record = dict(env_steps=self.num_timesteps, eval_return_mean=mean, eval_length_mean=length)
            with self.path.open("a") as f:
                f.write(json.dumps(record) + "\n")
            print(record, flush=True)
        return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=False)
    torch.set_num_threads(1)
    model = SAC(
        "MlpPolicy",
        humanoid_env(),
        learning_rate=3e-4,
        buffer_size=1_000_000,
        learning_starts=10_000,
        batch_size=256,
        tau=0.005,
        gamma=0.99,
        train_freq=64,
        gradient_steps=64,
        ent_coef="auto_1.0",
        seed=args.seed,
        device="cpu",
    )
    callback = Evaluation(humanoid_env(), 10_000, 5, args.out / "metrics.jsonl")
    model.learn(args.steps, callback=callback)


if __name__ == "__main__":
    main()
