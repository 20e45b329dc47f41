"""Data-parallel training over several processes or machines, through `keras.distribution`.

Keras 3's `fit` fails under TensorFlow's `MultiWorkerMirroredStrategy`, even for a plain
model (keras#20585, tensorflow#72388), so the zoo's route beyond one machine is the JAX
backend: every process runs the same `train(..., distributed=True)` with the standard
KERAS_DISTRIBUTION_* variables set, `keras.distribution.initialize` joins them into one
cluster, and `DataParallel` keeps a replica of the model on every device of every process.
Keras then shards the tf.data input between the processes (each reads its share of every
global batch) and averages the gradients. On TensorFlow, one machine's devices train
through `strategy=tf.distribute.MirroredStrategy()`.

Before JAX starts, the processes meet at process 0's address (`rendezvous`, a plain TCP
barrier on the coordinator's port): a run whose processes do not all arrive within its
timeout (120 s by default) fails in one line naming the missing ones, instead of JAX's own
silent wait and abort.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import os
import socket
import time

from . import backend
from .errors import ClusterTimeoutError, InvalidOverrideError

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
    for address in addresses:
        host, colon, port = address.strip().rpartition(":")
        if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise InvalidOverrideError(
                f"{ENV_VARS[0]}: {address!r} is not HOST:PORT (e.g. 10.0.0.1:1234; the port of process 0's "
                "coordinator, 1-65535)"
            )
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


# How long a distributed run waits for all its processes, by default (train's distributed_timeout).
DEFAULT_TIMEOUT_S = 120.0


def check_timeout(timeout_s) -> float:
    """`timeout_s` as seconds, if it is a positive finite number; else a one-line error."""
    if isinstance(timeout_s, bool) or not isinstance(timeout_s, numbers.Real) or not 0 < timeout_s < math.inf:
        raise InvalidOverrideError(f"distributed_timeout must be a positive number of seconds, got {timeout_s!r}")
    return float(timeout_s)


def _names(ids) -> str:
    ids = sorted(ids)
    return ("process " if len(ids) == 1 else "processes ") + ", ".join(map(str, ids))


def _missing_error(missing, n: int, address: str, timeout_s: float) -> ClusterTimeoutError:
    return ClusterTimeoutError(
        f"{_names(missing)} of {n} did not join the cluster at {address} within {timeout_s:g} s "
        f"(start each with its {ENV_VARS[2]}, or wait longer with --distributed-timeout / distributed_timeout=)"
    )


def _gather(server: socket.socket, n: int, address: str, timeout_s: float) -> None:
    """Process 0's side of `rendezvous`: accept processes 1..n-1 until the deadline, then tell
    each to go on (or which processes are missing), and wait for each to hang up first."""
    deadline, peers = time.monotonic() + timeout_s, {}
    while len(peers) < n - 1 and (left := deadline - time.monotonic()) > 0:
        server.settimeout(left)
        try:
            conn, _ = server.accept()
        except TimeoutError:
            break
        conn.settimeout(max(1.0, deadline - time.monotonic()))
        try:
            said = conn.recv(64).decode("ascii", "replace").strip()
        except OSError:
            said = ""
        if said.isdigit() and 0 < int(said) < n:
            peers.setdefault(int(said), conn)
        else:
            conn.close()
    missing = set(range(1, n)) - set(peers)
    reply = b"go\n" if not missing else f"missing {','.join(map(str, sorted(missing)))}\n".encode()
    for conn in peers.values():
        try:
            conn.sendall(reply)
            conn.settimeout(10)
            conn.recv(1)  # their hang-up: the port is left free of our connections for JAX
        except OSError:
            pass
        conn.close()
    if missing:
        raise _missing_error(missing, n, address, timeout_s)


def _join(host: str, port: int, process_id: int, n: int, timeout_s: float) -> None:
    """A process other than 0's side of `rendezvous`: reach process 0 (retrying until the
    deadline: it may start later) and wait for its word."""
    address, deadline = f"{host}:{port}", time.monotonic() + timeout_s
    while True:
        try:
            conn = socket.create_connection((host, port), timeout=max(0.1, min(2.0, deadline - time.monotonic())))
            break
        except OSError:
            if time.monotonic() >= deadline:
                raise ClusterTimeoutError(
                    f"process 0 (the coordinator at {address}) did not answer within {timeout_s:g} s "
                    "(start it, or wait longer with --distributed-timeout / distributed_timeout=)"
                ) from None
            time.sleep(0.2)
    with conn:
        conn.settimeout(timeout_s + 30)  # process 0 answers by its own deadline
        try:
            conn.sendall(f"{process_id}\n".encode())
            word = conn.makefile("r", encoding="ascii", errors="replace").readline().strip()
        except OSError:
            word = ""
    if word == "go":
        return
    if word.startswith("missing "):
        raise _missing_error([int(i) for i in word.split()[1].split(",") if i.isdigit()], n, address, timeout_s)
    raise ClusterTimeoutError(f"process 0 (the coordinator at {address}) hung up before every process had joined")


def rendezvous(address: str, num_processes: int, process_id: int, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
    """Return once all `num_processes` processes have reached process 0 at `address`
    (HOST:PORT, the coordinator's); a ClusterTimeoutError naming the missing processes
    after `timeout_s`. Process 0 listens on the port, then frees it for JAX's coordinator."""
    host, _, port = address.rpartition(":")
    host = host.strip("[]")
    if num_processes < 2:
        return
    if process_id != 0:
        _join(host, int(port), process_id, num_processes, timeout_s)
        return
    dualstack = socket.has_dualstack_ipv6()
    try:
        family = socket.AF_INET6 if dualstack else socket.AF_INET
        server = socket.create_server(("", int(port)), family=family, dualstack_ipv6=dualstack)
    except OSError as e:
        raise InvalidOverrideError(f"process 0 cannot listen on port {port} of {address}: {e.strerror or e}") from None
    with server:
        _gather(server, num_processes, address, timeout_s)


def start(timeout_s: float = DEFAULT_TIMEOUT_S) -> Cluster:
    """Join (once per process) the cluster the KERAS_DISTRIBUTION_* variables describe and
    return a DataParallel distribution over all its devices. Call before any JAX work:
    CPU collectives are chosen when JAX first starts. Processes that have not all arrived
    within `timeout_s` seconds: a ClusterTimeoutError naming the missing ones."""
    timeout_s = check_timeout(timeout_s)
    if backend.name() != "jax":
        raise InvalidOverrideError(
            f"distributed training needs the JAX backend (KERAS_BACKEND=jax; this is "
            f"{backend.name()}): Keras 3's fit fails under TensorFlow's "
            f"MultiWorkerMirroredStrategy upstream ({UPSTREAM_ISSUES}); one machine's "
            "devices train on TensorFlow with strategy=tf.distribute.MirroredStrategy()"
        )
    settings = _env_settings()
    import jax
    import keras

    if not jax.distributed.is_initialized():
        # A CPU-only host has no collectives between processes unless one is chosen; gloo
        # ships with jaxlib. (GPUs use their own, NCCL, whatever this says.)
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
        rendezvous(
            settings[ENV_VARS[0]].split(",")[0].strip(),
            int(settings[ENV_VARS[1]]),
            int(settings[ENV_VARS[2]]),
            timeout_s,
        )
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
