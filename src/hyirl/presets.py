"""Per-task settings of the model-free IRL family, as data (spec §6.1). CLI flags override them."""

from __future__ import annotations

import copy
import dataclasses
import json

from hyirl.errors import HyirlError

# Expert-fraction schedules for HyPE: segments (rho_start, rho_end, t_end) over sampled batches (spec §3.2).
FAST_DECAY = ((0.2, 0.1, 200_000), (0.1, 0.01, 1_000_000))
SLOW_DECAY = ((0.2, 0.2, 300_000), (0.2, 0.1, 1_000_000))

MODEL_FREE: dict[str, dict] = {
    "hopper": dict(train_every=5_000, bc_weight=1.0, expert_schedule=FAST_DECAY),
    "walker2d": dict(train_every=10_000, bc_weight=0.5, expert_schedule=SLOW_DECAY),
    # Ant and Humanoid observe what the reference's v3 tasks did: no external contact forces (envs.py).
    "ant": dict(train_every=10_000, bc_weight=1.0, expert_schedule=SLOW_DECAY, contact_forces=False),
    "humanoid": dict(train_every=10_000, bc_weight=0.5, expert_schedule=FAST_DECAY, contact_forces=False),
    # AntMaze (spec §6.1, §3.4): TD3-BC after 10k BC updates, every episode from a dataset state, hybrid
    # TD3 batches for hype-filter only (the reference's yaml), the discriminator's lr 8e-3.
    **{
        name: dict(
            steps=500_000,
            train_every=5_000,
            eval_every=25_000,
            eval_episodes=25,
            reset_prob=1.0,
            policy="td3bc",
            bc_init_steps=10_000,
            td3_hybrid_methods=("hype-filter",),
            reference_rounds=False,
            bc_weight=1.0,
            expert_schedule=FAST_DECAY,
            disc=dict(learning_rate=8e-3),
        )
        for name in ("antmaze-large-diverse", "antmaze-large-play")
    },
    # Cheap task for tests and quick checks (not from the paper).
    "pendulum": dict(train_every=1_000, bc_weight=1.0, expert_schedule=((0.2, 0.1, 20_000),), eval_every=2_000),
}

SHARED = dict(
    steps=1_000_000,
    eval_every=50_000,
    eval_episodes=10,
    reset_prob=0.5,
    disc_trajectories=4,
)


def model_free_preset(env: str) -> dict:
    """The paper's values for ``env`` (any other gymnasium id gets the Hopper values)."""
    return {**SHARED, **MODEL_FREE.get(env, MODEL_FREE["hopper"])}


# --- HyPER (spec §6.2) ---------------------------------------------------------------------------
# ``paper``: the reference values, a GPU configuration (30 updates per real step of a 2x512 SAC and a
# 7x(4x400) ensemble retrained to convergence every 125 steps). ``efficient``: the CPU default, chosen
# by measurement (docs/hyper.md): smaller SAC, fewer updates per step, a bounded warm-started model fit,
# steadier rollout start states and a deployed snapshot chosen on real episodes.
# Nested dicts (sac, model, disc) override fields of SACConfig, DynamicsConfig, DiscriminatorConfig.

# Entropy settings of the reference's pytorch_sac per task (spec §3.5, §10.10): the base of both presets
# (``efficient`` changes Hopper's target).
_ENTROPY = {
    "hopper": dict(init_alpha=1.0, learn_alpha=True, target_entropy=1.0),
    "walker2d": dict(init_alpha=0.2, learn_alpha=False),
    "ant": dict(init_alpha=0.2, learn_alpha=False),
    "humanoid": dict(init_alpha=1.0, learn_alpha=True),
}
# Discriminator and model options of the reference per task (clip ±40 and L2 on Walker and Ant).
_CLIPPED = dict(model=dict(clip_mean=40.0), disc=dict(clip_output=40.0, weight_decay=5e-5))

# AntMaze's HyPER (spec §5.3-§5.8, §6.2, the reference's latest configuration): TD3-BC with critic
# clipping and weight decay (critic's 1e-4 on diverse, 1e-5 on play), BC-initialised; a pretrained
# 7 x (4 x 200) model refitted every 2,000 steps with the cosine learning rate; every rollout starts
# from the dataset's sliding window; the discriminator (one member, lr 8e-3) every 100 real steps.
ANTMAZE_CRITIC_WD = {"antmaze-large-diverse": 1e-4, "antmaze-large-play": 1e-5}


def _antmaze_hyper(critic_wd: float) -> dict:
    return dict(
        policy="td3bc",
        bc_init_steps=10_000,
        exploration_steps=10_000,
        pretrain_model=True,
        expert_rows=100_000,
        model_every=2_000,
        retain_epochs=2,
        updates_per_step=20,
        disc_every=100,
        eval_episodes=25,
        expert_starts="sliding_window",
        expert_start_prob=1.0,
        # The reference's TD3 acts deterministically in the model: its act() ignores the rollout's sample=True.
        model_action_noise=0.0,
        td3=dict(critic_clip=1.0, actor_weight_decay=1e-4, critic_weight_decay=critic_wd),
        model=dict(hidden=(200,) * 4, cosine_lr_period=30_000),
        disc=dict(learning_rate=8e-3, ensemble_size=1),
    )


HYPER_PRESETS: dict[str, dict[str, dict]] = {
    "paper": {
        "shared": dict(
            steps=150_000,
            model_every=125,
            rollouts_per_step=400,
            act_chunk=25,
            disc_every=1_000,
            sac=dict(
                optimizer="oadam", gamma=0.99, tau=0.005, target_update_every=4, learning_rate=1e-4, init="xavier"
            ),
            model=dict(members=7, elites=5, hidden=(400,) * 4, patience=10),
            disc=dict(ensemble_size=7),
        ),
        "hopper": dict(updates_per_step=30, sac=dict(hidden=(512, 512), learning_rate=3e-4)),
        "walker2d": dict(
            updates_per_step=20,
            update_every=2,
            actor_lr_decay=10_000,
            sac=dict(hidden=(1024, 1024)),
            model=dict(hidden=(200,) * 4, cosine_lr_period=30_000, **_CLIPPED["model"]),
            disc=_CLIPPED["disc"],
        ),
        "ant": dict(updates_per_step=30, disc_every=200, sac=dict(hidden=(1024, 1024)), **_CLIPPED),
        "humanoid": dict(
            updates_per_step=20,
            update_every=2,
            actor_lr_decay=10_000,
            rollout_schedule=(20, 300, 1, 25),
            sac=dict(hidden=(1024, 1024)),
        ),
        **{name: _antmaze_hyper(critic_wd) for name, critic_wd in ANTMAZE_CRITIC_WD.items()},
    },
    "efficient": {
        "shared": dict(
            steps=50_000,
            # Since 0.9.0 (docs/hyper.md §16): model events every 500 real steps with 25 rollouts per
            # real step and a SAC batch of 128, half to a quarter of 0.2.0's work per real step (2.13x the
            # real steps/s) for the same Hopper return at 30k.
            model_every=500,
            rollouts_per_step=25,
            act_chunk=50,
            updates_per_step=10,
            disc_every=1_000,
            # 10-step model rollouts from the first event (the paper: 1 step until epoch 20). The model
            # is fitted on 64k expert transitions before any rollout, so it is accurate from the start,
            # and with 1-step rollouts the policy failed within ~100-250 steps even inside the model.
            rollout_schedule=(1, 2, 10, 10),
            sac=dict(
                hidden=(256, 256), batch_size=128, optimizer="oadam", gamma=0.99, tau=0.005, target_update_every=4
            ),
            # The first fit (64k expert rows, cold model) runs to early stopping; later fits are warm
            # starts with two epochs of at most 256 Adam steps each, so their cost stays at the first
            # fit's per-epoch level while the hybrid buffer grows (2 rows per real step).
            model=dict(
                members=5,
                elites=3,
                hidden=(200,) * 4,
                max_epochs=2,
                max_epoch_steps=256,
                first_fit_max_epochs=100,
                max_validation=4096,
            ),
            # LeCun's init, not the reference's orthogonal one: under sign-step updates f stays near its
            # start, and the reference's flatter start gives SAC rewards a quarter as large, with which
            # the policy learnt far more slowly on Hopper (docs/hyper.md §15).
            disc=dict(ensemble_size=7, init="lecun"),
            # Rollout starts: half expert, half learner states at every fit, the learner ones from the newest
            # 5,000 real steps, where the current policy fails (docs/hyper.md §6; the reference flips one
            # coin per fit and draws from the whole buffer).
            start_coin="state",
            learner_start_window=5_000,
            # Deploy the best of the last 10 per-epoch snapshots, judged by the learned return of its
            # real training episode: the latest weights swing by 1,000-2,000 (docs/hyper.md §10).
            select_epochs=10,
        ),
        # SAC's usual target -dim(A) instead of the reference's +1 nat, whose policy scored 500-1,800
        # stochastically while only its mean action was deployed (docs/hyper.md §5).
        "hopper": dict(sac=dict(target_entropy=None)),
        "walker2d": _CLIPPED,
        "ant": dict(disc_every=200, **_CLIPPED),
        "humanoid": {},
    },
}


# Tasks a preset was measured not to learn, said when such a run starts (docs/hyper.md).
HYPER_PRESET_CAVEATS = {
    ("efficient", "ant"): "the efficient HyPER preset has not learned Ant (3 seeds near a return of 0 for 50k real "
    "steps, docs/hyper.md §19); --preset paper holds the reference's values",
}

# The paper's HyPER acts on the truncated qpos[2:] + qvel there (spec §7, §10.12), whatever the preset.
HYPER_TRUNCATED_OBS = ("ant", "humanoid")


def hyper_preset(env: str, preset: str) -> dict:
    """HyPER settings for ``env`` under ``preset`` (other tasks get the Hopper values)."""
    if preset not in HYPER_PRESETS:
        raise ValueError(f"unknown HyPER preset {preset!r}: use one of {', '.join(HYPER_PRESETS)}")
    table = HYPER_PRESETS[preset]
    if env in ANTMAZE_CRITIC_WD and env not in table:
        raise HyirlError(f"the {preset!r} HyPER preset covers the MuJoCo tasks; use --preset paper on {env}")
    name = env if env in table else "hopper"
    merged = {"truncated_obs": name in HYPER_TRUNCATED_OBS, **table["shared"]}
    merged.update({k: v for k, v in table[name].items() if not isinstance(v, dict)})
    base = {"sac": _ENTROPY.get(name, {})}  # the reference's entropy settings, unless the preset says otherwise
    for part in ("sac", "model", "disc", "td3"):
        merged[part] = {**base.get(part, {}), **table["shared"].get(part, {}), **table[name].get(part, {})}
    return merged


def build_config(cls, defaults: dict, overrides: dict, **fixed):
    """``cls`` from preset ``defaults`` (nested dicts become the nested config dataclasses) and non-None overrides."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    values = {}
    for name, value in {**defaults, **{k: v for k, v in overrides.items() if v is not None}}.items():
        if name not in fields:
            continue
        if isinstance(value, dict):  # a nested config: its dataclass is the field's default's type
            value = type(fields[name].default)(**value)
        values[name] = value
    return cls(**values, **fixed)


def apply_settings(cls, defaults: dict, settings: list[str]) -> dict:
    """``defaults`` with ``KEY=VALUE`` settings on top (``--set``): VALUE is JSON (lists become tuples)
    or a bare string; a dotted KEY such as ``sac.hidden`` reaches into a nested config."""
    merged = copy.deepcopy(defaults)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for item in settings:
        key, sep, text = item.partition("=")
        if not sep:
            raise HyirlError(f"--set {item!r}: use KEY=VALUE, e.g. updates_per_step=20 or sac.hidden=[512,512]")
        try:
            value = _tuples(json.loads(text))
        except json.JSONDecodeError:
            value = text
        head, _, rest = key.partition(".")
        if head not in fields or (rest and not dataclasses.is_dataclass(fields[head].default)):
            raise HyirlError(f"--set {key}: {cls.__name__} has no setting {key!r} (see the run's config.json)")
        if not rest:
            _check_type(key, merged.get(head, getattr(cls, head, None)), value)
            merged[head] = value
            continue
        nested = fields[head].default
        if rest not in {f.name for f in dataclasses.fields(nested)}:
            raise HyirlError(f"--set {key}: {type(nested).__name__} has no setting {rest!r}")
        _check_type(key, merged.get(head, {}).get(rest, getattr(nested, rest)), value)
        merged[head] = {**merged.get(head, {}), rest: value}
    return merged


def _tuples(value):
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def from_json(config: dict) -> dict:
    """A saved config.json as config values: lists become tuples, also inside the nested configs."""
    return {k: from_json(v) if isinstance(v, dict) else _tuples(v) for k, v in config.items()}


def _check_type(key: str, default, value) -> None:
    number = (int, float)
    if value is None:  # null: the setting's "unset" meaning, e.g. sac.target_entropy=null -> -dim(A)
        return
    if (
        isinstance(default, bool) != isinstance(value, bool)
        or (isinstance(default, number) and not isinstance(value, number))
        or (isinstance(default, int) and not isinstance(default, bool) and isinstance(value, float))
        or isinstance(default, (tuple, list)) != isinstance(value, tuple)
        or (isinstance(default, str) and not isinstance(value, str))
    ):
        raise HyirlError(f"--set {key}={value!r}: expected a value like {default!r}")
