"""Make the first rows of a dataset (or a few expert demos) with whatever hyirl is on PYTHONPATH, and
compare two such files, or print a dataset file's pretraining key under the old row digest.

    python rows.py make OUT.npz [--rows 25000]      # AntMaze diverse, seed 0 (1000000: the whole set)
    python rows.py demos OUT.npz                    # 4 Hopper demos of the shipped expert
    python rows.py compare A.npz B.npz              # equal? first differing row, largest difference
    python rows.py key FILE.npz                     # the key 0.15-0.22 gave the diverse fit of its rows

Commands and findings: README.md beside this file (docs/antmaze.md, "The same rows on one machine").
"""

import argparse

import numpy as np


def make(out: str, rows: int) -> None:
    from hyirl import antmaze_data
    from hyirl.antmaze import GoalReacher
    from hyirl.experts import load_policy, shipped_policy_path

    policy, meta = load_policy(shipped_policy_path(antmaze_data.DATA_ANT, ""))
    spec = antmaze_data.dataset_spec("antmaze-large-diverse")
    data, info = antmaze_data.generate_dataset(spec, GoalReacher.of(policy, meta), rows, seed=0, progress=False)
    print(f"{info['goal_reached_fraction']:.1%} of the episodes reached their goal")
    np.savez(out, **{k: data[k] for k in ("observations", "actions", "next_observations")})


def demos(out: str) -> None:
    from hyirl.demos import generate_demos
    from hyirl.envs import make_env
    from hyirl.experts import load_policy, shipped_policy_path

    policy, meta = load_policy(shipped_policy_path("hopper", ""))
    data, _ = generate_demos(policy, meta, make_env("hopper", p_tremble=0.0), 4)
    np.savez(out, observations=data["observations"])


def compare(a: str, b: str) -> None:
    first, second = np.load(a), np.load(b)
    for name in first.files:
        x, y = first[name], second[name][: len(first[name])]
        differ = (x != y).any(axis=1)
        where = int(differ.argmax()) if differ.any() else None
        print(
            f"{name}: equal {not differ.any()}, first differing row {where}, "
            f"largest |difference| {np.abs(x - y).max():.3g}"
        )


def key(path: str) -> None:
    """The key 0.15-0.22 gave the diverse fit of these rows: the fit's settings and the rows' bytes."""
    from hyirl.demos import expert_buffer
    from hyirl.hyper import HyPERConfig
    from hyirl.presets import build_config, hyper_preset
    from hyirl.pretraining import fit_settings, model_key

    cfg = build_config(HyPERConfig, hyper_preset("antmaze-large-diverse", "paper"), {}, env="antmaze-large-diverse")
    data = dict(np.load(path))
    data.setdefault("terminals", np.zeros(len(data["actions"])))  # not hashed; files from `make` lack it
    rows = expert_buffer(data)
    columns = (np.asarray(c).tobytes() for c in (rows.obs, rows.action, rows.next_obs))
    print(model_key(fit_settings(cfg.model, cfg.pretrain_patience), *columns))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["make", "demos", "compare", "key"])
    parser.add_argument("files", nargs="+")
    parser.add_argument("--rows", type=int, default=25_000)
    args = parser.parse_args()
    if args.what == "make":
        make(args.files[0], args.rows)
    elif args.what == "demos":
        demos(args.files[0])
    elif args.what == "compare":
        compare(*args.files)
    else:
        key(args.files[0])


if __name__ == "__main__":
    main()
