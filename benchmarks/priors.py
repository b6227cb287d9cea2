"""Prior comparison on bandai-v1 test (docs/benchmarks.md, "Priors compared"): flow, VAE, distance field, the
independent-joint baseline and no prior, through the one :class:`~poseprior.models.prior.PosePrior` interface.

For each prior:

- **realism**: for 5,000 samples, the mean over samples of the distance to the nearest test pose;
- **coverage**: for each test pose, the distance to the nearest of those 5,000 samples (mean over test poses);
  both in degrees per joint (the mean per-joint geodesic angle, :func:`~poseprior.geometry.nearest_poses`);
- **denoising by projection**: 1,000 test poses (evenly spaced over the split) with Gaussian noise on every
  joint (rotation vector ``N(0, sigma^2 I_3)``, ``sigma`` = 10, 20, 40 degrees per axis; 0: the clean poses,
  which says how much projection changes real poses, for the VAE its reconstruction error; the "no prior"
  row is the noisy input itself), projected with each prior's default ``project``; geodesic error to the clean
  pose (degrees per joint) and MPJPE (mm) of the pelvis-frame forward kinematics of the 21-joint skeleton;
- **speed** at batch 1000: ``energy`` alone and with its gradient (poses/s), ``sample`` (poses/s), ``project``
  (ms per pose);
- parameter counts.

The independent-joint baseline is fitted on train when the script runs; "no prior" is
:class:`~poseprior.models.baseline.UniformPrior`. Run from the repository root, with nothing else running:

    .venv/bin/python benchmarks/priors.py --model flow-bandai --model vae-bandai --model ndf-bandai [--threads 2]
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable

import torch

from poseprior.data import load_prepared
from poseprior.geometry import nearest_poses
from poseprior.metrics import mpjae, mpjpe
from poseprior.models.baseline import TangentGaussianPrior, UniformPrior
from poseprior.models.flow.condition import pelvis_keypoints
from poseprior.models.ndf_data import perturb
from poseprior.models.prior import PoseJoints, PosePrior
from poseprior.zoo import load

SAMPLES = 5000
DENOISE_POSES = 1000
NOISE_DEG = (0.0, 10.0, 20.0, 40.0)
BATCH = 1000


def rate(fn: Callable[[], object], items: int, seconds: float = 3.0) -> float:
    """Items per second of ``fn``, after a warm-up call, over at least ``seconds`` (and 2 calls)."""
    fn()
    calls, start = 0, time.perf_counter()
    while calls < 2 or time.perf_counter() - start < seconds:
        fn()
        calls += 1
    return items * calls / (time.perf_counter() - start)


def evaluate(prior: PosePrior, test: torch.Tensor, clean: torch.Tensor, joints: PoseJoints) -> dict[str, float]:
    """The module docstring's metrics of ``prior`` on test poses ``test (N, K, 3, 3)`` and the denoising subset ``clean``."""
    out: dict[str, float] = {}
    torch.manual_seed(0)
    samples = torch.cat([prior.sample(BATCH) for _ in range(SAMPLES // BATCH)])
    out["realism_deg"] = math.degrees(float(nearest_poses(samples, test)[0].mean()))
    out["coverage_deg"] = math.degrees(float(nearest_poses(test, samples)[0].mean()))
    skeleton = joints.skeleton
    truth_mm = pelvis_keypoints(skeleton, clean.double()) * joints.unit_mm
    for i, sigma in enumerate(NOISE_DEG):
        R = perturb(clean, sigma, torch.Generator().manual_seed(i))
        P = torch.cat([prior.project(r).detach() for r in R.split(BATCH)])
        out[f"geo_{sigma:g}"] = float(mpjae(P, clean))
        out[f"mpjpe_{sigma:g}"] = float(mpjpe(pelvis_keypoints(skeleton, P.double()) * joints.unit_mm, truth_mm))
    R = test[:BATCH]

    def energy() -> None:
        with torch.no_grad():
            prior.energy(R)

    def energy_grad() -> None:
        x = R.clone().requires_grad_(True)
        prior.energy(x).sum().backward()

    out["energy_per_s"] = rate(energy, BATCH)
    out["energy_grad_per_s"] = rate(energy_grad, BATCH)
    out["sample_per_s"] = rate(lambda: prior.sample(BATCH), BATCH)
    Rn = perturb(R, 20.0, torch.Generator().manual_seed(9))
    out["project_ms"] = 1000.0 / rate(lambda: prior.project(Rn), BATCH, seconds=2.0)
    out["params"] = float(sum(p.numel() for p in prior.parameters()) if isinstance(prior, torch.nn.Module) else 0)
    if isinstance(prior, TangentGaussianPrior):
        out["params"] = float(prior.num_parameters())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", action="append", default=[], help="zoo name or exported model (repeatable)")
    parser.add_argument("--data", default="prepared/bandai-v1")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-baselines", action="store_true", help="only the --model rows")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    data = load_prepared(args.data, ["train", "test"])
    joints = PoseJoints.from_skeleton(data.skeleton, data.unit)
    test = data["test"].rotations
    clean = test[torch.linspace(0, len(test) - 1, DENOISE_POSES).round().long()]
    priors: dict[str, PosePrior] = {spec: load(spec).eval() for spec in args.model}
    if not args.no_baselines:
        priors["independent (tangent Gaussians)"] = TangentGaussianPrior.fit(data["train"].rotations, "joint", joints)
        priors["no prior"] = UniformPrior(len(joints.names), joints)
    print(f"bandai-v1 test: {len(test)} poses; {SAMPLES} samples; denoising {DENOISE_POSES} poses; {args.threads} threads\n")
    sig = " | ".join(f"{s:g} deg: geo / MPJPE" for s in NOISE_DEG)
    print(f"| prior | realism (deg) | coverage (deg) | {sig} | energy /s | energy+grad /s | sample /s | project ms/pose | parameters |")
    print("|---" * (8 + len(NOISE_DEG)) + "|", flush=True)
    for name, prior in priors.items():
        r = evaluate(prior, test, clean, joints)
        den = " | ".join(f"{r[f'geo_{s:g}']:.1f} / {r[f'mpjpe_{s:g}']:.0f}" for s in NOISE_DEG)
        print(
            f"| {name} | {r['realism_deg']:.2f} | {r['coverage_deg']:.2f} | {den} | {r['energy_per_s']:,.0f} | "
            f"{r['energy_grad_per_s']:,.0f} | {r['sample_per_s']:,.0f} | {r['project_ms']:.3f} | {r['params']:,.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
