"""Data-parallel training over several processes or machines, through `keras.distribution`.

Keras 3's `fit` fails under TensorFlow's `MultiWorkerMirroredStrategy`, even for a plain
model (keras#20585, tensorflow#72388), so the zoo's route beyond one machine is the JAX
backend: every process runs the same `train(..., distributed=True)` with the standard
KERAS_DISTRIBUTION_* variables set, `keras.distribution.initialize` joins them into one
cluster, and `DataParallel` keeps a replica of the model on every device of every process.
Keras then shards the tf.data input between the processes (each reads its share of every
global batch) and averages the gradients. On TensorFlow, one machine's devices train
through `strategy=tf.distribute.MirroredStrategy()`.
"""

from __future__ import annotations

import dataclasses
import os

from . import backend
from .errors import InvalidOverrideError

ENV_VARS = ("KERAS_DISTRIBUTION_JOB_ADDRESSES", "KERAS_DISTRIBUTION_NUM_PROCESSES", "KERAS_DISTRIBUTION_PROCESS_ID")
UPSTREAM_ISSUES = "keras#20585, tensorflow#72388"
JAX_ROUTE = (
    "train on several machines with KERAS_BACKEND=jax and `rnn-zoo train NAME --distributed` "
    '(train(..., distributed=True); pip install ".[jax]"; see the backends page of the docs)'
)


@dataclasses.dataclass(frozen=True)
class Cluster:
    """The processes of one distributed run, as this process sees them."""

    distribution: object  # keras.distribution.DataParallel
    num_processes: int
    process_id: int
    num_devices: int

    @property
    def is_chief(self) -> bool:
        """Process 0 writes the outputs; the others only train."""
        return self.process_id == 0


def check_strategy(strategy) -> None:
    """A one-line InvalidOverrideError for a tf.distribute strategy the zoo cannot train
    under: any multi-worker strategy (upstream failure), or any strategy off TensorFlow."""
    if strategy is None:
        return
    if backend.name() != "tensorflow":
        raise InvalidOverrideError(
            f"strategy= takes a tf.distribute strategy, which needs the TensorFlow backend "
            f"(this is {backend.name()}); on JAX use distributed=True"
        )
    import tensorflow as tf

    multi_worker = (
        tf.distribute.MultiWorkerMirroredStrategy,
        tf.distribute.experimental.MultiWorkerMirroredStrategy,
        tf.distribute.experimental.ParameterServerStrategy,
    )
    if isinstance(strategy, multi_worker) or getattr(strategy.extended, "_in_multi_worker_mode", lambda: False)():
        # (its class is CollectiveAllReduceStrategy: the name users wrote is the clearer one)
        kind = "MultiWorkerMirroredStrategy" if isinstance(strategy, multi_worker[:2]) else type(strategy).__name__
        raise InvalidOverrideError(
            f"{kind}: Keras 3's fit fails under TensorFlow's multi-worker strategies "
            f"upstream ({UPSTREAM_ISSUES}); {JAX_ROUTE}"
        )


def _env_settings() -> dict[str, str]:
    missing = [name for name in ENV_VARS if not os.environ.get(name)]
    if missing:
        raise InvalidOverrideError(
            f"distributed training reads {', '.join(ENV_VARS)}; {', '.join(missing)} "
            "not set (e.g. KERAS_DISTRIBUTION_JOB_ADDRESSES=host0:1234,host1:1234 "
            "KERAS_DISTRIBUTION_NUM_PROCESSES=2 KERAS_DISTRIBUTION_PROCESS_ID=0 on host0)"
        )
    settings = {name: os.environ[name] for name in ENV_VARS}
    for name in ENV_VARS[1:]:
        if not settings[name].isdigit():
            raise InvalidOverrideError(f"{name} must be a whole number, got {settings[name]!r}")
    addresses = settings[ENV_VARS[0]].split(",")
    if len(addresses) > 1 and len(addresses) != int(settings[ENV_VARS[1]]):
        raise InvalidOverrideError(
            f"{ENV_VARS[0]} names {len(addresses)} processes, {ENV_VARS[1]} says {settings[ENV_VARS[1]]}"
        )
    if int(settings[ENV_VARS[2]]) >= int(settings[ENV_VARS[1]]):
        raise InvalidOverrideError(
            f"{ENV_VARS[2]}={settings[ENV_VARS[2]]} must be below {ENV_VARS[1]}={settings[ENV_VARS[1]]}"
        )
    return settings


def env_process_id() -> int | None:
    """This process's KERAS_DISTRIBUTION_PROCESS_ID, where it is a whole number."""
    value = os.environ.get(ENV_VARS[2], "")
    return int(value) if value.isdigit() else None


def start() -> Cluster:
    """Join (once per process) the cluster the KERAS_DISTRIBUTION_* variables describe and
    return a DataParallel distribution over all its devices. Call before any JAX work:
    CPU collectives are chosen when JAX first starts."""
    if backend.name() != "jax":
        raise InvalidOverrideError(
            f"distributed training needs the JAX backend (KERAS_BACKEND=jax; this is "
            f"{backend.name()}): Keras 3's fit fails under TensorFlow's "
            f"MultiWorkerMirroredStrategy upstream ({UPSTREAM_ISSUES}); one machine's "
            "devices train on TensorFlow with strategy=tf.distribute.MirroredStrategy()"
        )
    _env_settings()
    import jax
    import keras

    if not jax.distributed.is_initialized():
        # A CPU-only host has no collectives between processes unless one is chosen; gloo
        # ships with jaxlib. (GPUs use their own, NCCL, whatever this says.)
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
        try:
            keras.distribution.initialize()  # reads the KERAS_DISTRIBUTION_* variables
        except (ValueError, RuntimeError) as e:  # a busy port, JAX already started, a coordinator that never came
            reason = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
            raise InvalidOverrideError(
                f"could not join the cluster at {os.environ[ENV_VARS[0]].split(',')[0]} "
                f"(is process 0 running, its port free, and no JAX work done before?): "
                f"{reason}"
            ) from None
    devices = keras.distribution.list_devices()
    return Cluster(
        keras.distribution.DataParallel(devices=devices), jax.process_count(), jax.process_index(), len(devices)
    )
