// ctorch distributed: libtorch's c10d process groups (a TCPStore rendezvous and the Gloo backend), same rules as
// ctorch.h. Gloo runs collectives on CPU and CUDA tensors alike; NCCL is not used.
#ifndef CTORCH_DISTRIBUTED_H
#define CTORCH_DISTRIBUTED_H

#include "ctorch.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ct_process_group_opaque *ct_process_group;

// Joins a group of `world_size` processes: rank 0 hosts a c10d::TCPStore on `master_port` and waits for the
// others; every rank connects to it at `master_addr`, then a c10d::ProcessGroupGloo connects all ranks to each
// other. `connect_timeout_ms` bounds the rendezvous (a wrong address or port, or a missing rank, fails after it);
// `timeout_ms` bounds each collective. NULL on failure (rank outside 0..<world_size, timeout, no Gloo in this
// libtorch), with the reason in ct_last_error().
ct_process_group ct_dist_init(const char *master_addr, int master_port, int rank, int world_size,
                              int64_t connect_timeout_ms, int64_t timeout_ms);
void ct_dist_free(ct_process_group pg);
int ct_dist_rank(ct_process_group pg);
int ct_dist_world_size(ct_process_group pg);

// Sums `ts` across ranks in place and multiplies them by `scale` (1/world_size averages): one allreduce of a
// flattened buffer for each (dtype, device) among them, so a model's gradients cost one collective.
int ct_dist_allreduce(ct_process_group pg, const ct_tensor *ts, int n, double scale);
// The same for the gradients of the parameters `ps`, as DistributedDataParallel does; a parameter without a
// gradient (unused on this rank) takes part with zeros, so every rank sends the same layout.
int ct_dist_allreduce_grads(ct_process_group pg, const ct_tensor *ps, int n, double scale);
// Overwrites `ts` with rank `root`'s values (one flattened broadcast for each dtype and device).
int ct_dist_broadcast(ct_process_group pg, const ct_tensor *ts, int n, int root);
// Waits until every rank has called it.
int ct_dist_barrier(ct_process_group pg);

#ifdef __cplusplus
}
#endif
#endif
