"""Multi-GPU: the same entry point under ``torchrun --nproc_per_node=K`` with DDP.

``torchrun`` sets ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``; without them everything here is a
no-op and training runs exactly as a single process. With them:

- one process per GPU (``cuda:LOCAL_RANK``, NCCL), or per CPU process (gloo) for tests;
- the model is wrapped in ``DistributedDataParallel``; gradients are averaged across ranks at
  the last micro-batch of each optimizer step (``no_sync`` before it);
- data: each global micro-batch of ``batch_size x world`` samples (the same permutation a single
  process uses with that batch size) is built once and split by rank, so the effective batch is
  ``batch_size x grad_accum_steps x world`` and the data order does not depend on the rank count;
- losses, stop requests (SIGTERM, spot notice), the budget stop and the week-5 milestone are
  agreed on by all ranks every step (one small all-reduce), so they stop at the same step;
- rank 0 alone writes checkpoints, logs, metrics, TensorBoard, the cost state and alerts; each
  checkpoint carries every rank's RNG state, so a resume with the same world size is exact.
"""

from __future__ import annotations

import contextlib
import datetime
import os

import torch

# long enough for rank 0 to encode a large dataset or run the week-5 generation alone
TIMEOUT = datetime.timedelta(hours=3)


class DistContext:
    """The process's place in a ``torchrun`` job (world size 1 outside one)."""

    def __init__(self, environ=None):
        env = os.environ if environ is None else environ
        self.world = int(env.get("WORLD_SIZE", "1") or 1)
        self.rank = int(env.get("RANK", "0") or 0)
        self.local_rank = int(env.get("LOCAL_RANK", "0") or 0)
        self.enabled = self.world > 1
        self.backend = None
        self._comm_device = "cpu"

    @property
    def is_main(self):
        return self.rank == 0

    def setup(self, device):
        """Join the process group; returns the device this rank trains on."""
        if not self.enabled:
            return device
        import torch.distributed as dist

        if device.startswith("cuda"):
            device = f"cuda:{self.local_rank}"
            torch.cuda.set_device(device)
            self.backend, self._comm_device = "nccl", device
        else:
            self.backend = "gloo"
        if not dist.is_initialized():
            dist.init_process_group(self.backend, timeout=TIMEOUT)
        return device

    def close(self):
        if self.enabled:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.destroy_process_group()

    # ---- collectives (no-ops for a single process) ---------------------------------------
    def barrier(self):
        if self.enabled:
            import torch.distributed as dist

            dist.barrier()

    def _reduce(self, values, op):
        import torch.distributed as dist

        t = torch.tensor(values, dtype=torch.float64, device=self._comm_device)
        dist.all_reduce(t, op=op)
        return t.cpu().tolist()

    def any(self, *flags):
        """Each flag OR-ed over all ranks (one all-reduce); a bool, or a tuple for several."""
        if self.enabled:
            import torch.distributed as dist

            flags = [v > 0 for v in self._reduce([float(bool(f)) for f in flags],
                                                 dist.ReduceOp.MAX)]
        out = tuple(bool(f) for f in flags)
        return out[0] if len(out) == 1 else out

    def sum(self, values):
        """Element-wise sum of a list of floats over all ranks."""
        if not self.enabled:
            return list(values)
        import torch.distributed as dist

        return self._reduce([float(v) for v in values], dist.ReduceOp.SUM)

    def gather(self, obj):
        """Every rank's ``obj``, in rank order, on every rank."""
        if not self.enabled:
            return [obj]
        import torch.distributed as dist

        out = [None] * self.world
        dist.all_gather_object(out, obj)
        return out

    def broadcast(self, obj):
        """Rank 0's ``obj`` on every rank."""
        if not self.enabled:
            return obj
        import torch.distributed as dist

        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    # ---- model and data ----------------------------------------------------------------
    def wrap(self, model):
        """``DistributedDataParallel`` around ``model`` (the model itself for one process)."""
        if not self.enabled:
            return model
        from torch.nn.parallel import DistributedDataParallel

        ids = [torch.device(self._comm_device).index] if self.backend == "nccl" else None
        # the frozen encoders' buffers never change: no need to broadcast them every step
        return DistributedDataParallel(model, device_ids=ids, broadcast_buffers=False)

    def no_sync(self, module, last):
        """Skip the gradient all-reduce on every micro-batch but the last of a step."""
        if self.enabled and not last:
            return module.no_sync()
        return contextlib.nullcontext()

    def shard(self, batch):
        """This rank's rows of a global micro-batch, and whether it has any.

        A rank left without rows (a short last batch) gets the first row and must weight its
        loss by zero, so it still joins the gradient all-reduce.
        """
        if not self.enabled:
            return batch, True
        n = batch["labels"].shape[0]
        rows = torch.arange(self.rank, n, self.world)
        real = len(rows) > 0
        if not real:
            rows = torch.arange(0, 1)
        return {k: v[rows] for k, v in batch.items()}, real
