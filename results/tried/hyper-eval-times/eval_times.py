"""Wall-clock time of each evaluation of a run, read from its TensorBoard event files.

The speed figures for HyPER in docs/hyper.md and docs/benchmarks.md are the differences between
consecutive evaluation times printed here (metrics.jsonl records no time).

Run from the repository root (output.txt holds this command's output):
    python results/tried/hyper-eval-times/eval_times.py runs/hyper-L10-s0 runs/hyper-L10-s1 runs/hyper-L10-s2 \
        runs/hyper-L10-s3 runs/hyper-L10-s4
and, for the runs with the bounded model fit (output-cap256.txt):
    python results/tried/hyper-eval-times/eval_times.py runs/hyper-cap256-s0 runs/hyper-cap256-s1
"""

import datetime
import struct
import sys
from pathlib import Path

from tensorboardX.proto import event_pb2


def eval_times(event_file: Path) -> dict[int, float]:
    """First wall time at which each step logged an evaluation return (TFRecord framing: length, crc, data, crc)."""
    data, offset, times = event_file.read_bytes(), 0, {}
    while offset < len(data):
        (length,) = struct.unpack("<Q", data[offset : offset + 8])
        event = event_pb2.Event.FromString(data[offset + 12 : offset + 12 + length])
        offset += 16 + length
        if any("eval_return" in value.tag for value in event.summary.value):
            times.setdefault(event.step, event.wall_time)
    return times


if __name__ == "__main__":
    for run_dir in map(Path, sys.argv[1:]):
        times = {}
        for event_file in sorted((run_dir / "tb").glob("events.out.tfevents.*")):
            times.update(eval_times(event_file))
        previous = None
        for step, wall in sorted(times.items()):
            gap = "" if previous is None else f"  (+{(wall - previous) / 60:.1f} min)"
            stamp = datetime.datetime.fromtimestamp(wall, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S")
            print(f"{run_dir.name} {step:>6} {stamp}{gap}")
            previous = wall
