"""Planning metrics on random scenes: how long ``planning_metrics`` takes for a large split.

python -c "from benchmarks.evaluation import benchmark_planning; print(benchmark_planning(1000))"
"""

from __future__ import annotations

import time

import numpy as np
import shapely

from onedrive.evaluation.planning import NUM_STEPS, STEPS_PER_SECOND, PlanningGroundTruth, planning_metrics


def random_planning_scenes(num_samples: int, num_agents: int, seed: int = 0) -> tuple[np.ndarray, PlanningGroundTruth]:
    """Random but plausible scenes for benchmarking: a straight road, agents around the ego, noisy predictions.

    Returns (pred_traj (S, 6, 2), ground truth).
    """
    rng = np.random.default_rng(seed)
    speed = rng.uniform(0.0, 15.0, size=(num_samples, 1))  # m/s
    curvature = rng.uniform(-0.02, 0.02, size=(num_samples, 1))
    arc = speed * (np.arange(1, NUM_STEPS + 1) / STEPS_PER_SECOND)  # (S, T)
    ego = np.stack([arc, curvature * arc**2 / 2], axis=-1)  # (S, T, 2)
    pred = ego + rng.normal(0.0, 0.5, size=ego.shape)
    count = num_samples * num_agents
    start = rng.uniform(-40.0, 40.0, size=(count, 1, 2))
    velocity = rng.normal(0.0, 5.0, size=(count, 1, 2))
    fut_xy = start + velocity * (np.arange(1, NUM_STEPS + 1)[None, :, None] / STEPS_PER_SECOND)  # (A, T, 2)
    road = shapely.box(-50.0, -7.0, 50.0, 7.0)
    return pred, PlanningGroundTruth(
        tokens=[f"sample-{i:06d}" for i in range(num_samples)],
        ego_fut_traj=ego,
        fut_valid=np.ones(num_samples, dtype=bool),
        agent_sample=np.repeat(np.arange(num_samples), num_agents),
        agent_size=np.column_stack([rng.uniform(3.5, 6.0, count), rng.uniform(1.6, 2.5, count)]),
        agent_fut_xy=fut_xy,
        agent_fut_yaw=np.repeat(np.arctan2(velocity[..., 1], velocity[..., 0]), NUM_STEPS, axis=1),
        agent_fut_mask=rng.uniform(size=(count, NUM_STEPS)) > 0.1,
        drivable=np.array([road] * num_samples, dtype=object),
    )


def benchmark_planning(num_samples: int = 6000, num_agents: int = 30, seed: int = 0) -> dict[str, float]:
    """Time ``planning_metrics`` on random scenes (``num_agents`` obstacles per sample, all vehicles)."""
    pred, gt = random_planning_scenes(num_samples, num_agents, seed)
    start = time.perf_counter()
    metrics = planning_metrics(pred, gt)
    seconds = time.perf_counter() - start
    return {
        "num_samples": num_samples,
        "num_agents": num_agents,
        "seconds": seconds,
        "samples_per_second": num_samples / seconds,
        "plan/collision_avg": metrics["plan/collision_avg"],
    }
