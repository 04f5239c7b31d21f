"""An expert run's evaluations per 100k steps: the mean share of its 5 screening episodes that
reach step 1000, the mean screening return, and the 20-episode confirmations made there.

    python results/tried/humanoid-expert/full_length_by_100k.py RUN_DIR/metrics.jsonl
"""

import collections
import json
import sys

buckets = collections.defaultdict(list)
for line in open(sys.argv[1]):
    record = json.loads(line)
    buckets[record["env_steps"] // 100_000].append(record)
for k, records in sorted(buckets.items()):
    full = sum(r["eval_full_length"] for r in records) / len(records)
    ret = sum(r["eval_return_mean"] for r in records) / len(records)
    confirms = [
        (r["confirm_full_length"], round(r["confirm_return_mean"])) for r in records if "confirm_full_length" in r
    ]
    steps = f"{100 * k}k-{100 * (k + 1)}k"
    print(f"{steps}: {len(records)} evaluations, full-length share {full:.2f}, return {ret:.0f}, confirmed {confirms}")
