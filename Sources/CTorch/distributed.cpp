// Distributed training: a c10d::TCPStore rendezvous and a c10d::ProcessGroupGloo, with coalesced collectives.
// Its own translation unit: the c10d headers are slow to compile. Built without Gloo's headers (libgloo-dev on
// Debian; pip wheels ship them), every entry point fails with a message saying so.
#include "common.h"
#include "ctorch_distributed.h"

#if __has_include(<gloo/algorithm.h>) && __has_include(<torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>)
#define CTORCH_HAS_GLOO 1
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif

#include <chrono>
#include <map>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

using namespace ctorch;

#ifdef CTORCH_HAS_GLOO

struct ct_process_group_opaque {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
  int rank;
  int size;
};

static ct_process_group_opaque &G(ct_process_group pg) {
  if (!pg) throw std::invalid_argument("null process group handle");
  return *pg;
}

// The tensors grouped by (dtype, device), in their order: each group travels as one flat buffer.
static std::vector<std::vector<at::Tensor>> buckets(const std::vector<at::Tensor> &ts) {
  std::map<std::tuple<int, int, int>, size_t> index;
  std::vector<std::vector<at::Tensor>> out;
  for (const auto &t : ts) {
    auto key = std::make_tuple(static_cast<int>(t.scalar_type()), static_cast<int>(t.device().type()),
                               static_cast<int>(t.device().index()));
    auto found = index.find(key);
    if (found == index.end()) {
      index[key] = out.size();
      out.push_back({t});
    } else {
      out[found->second].push_back(t);
    }
  }
  return out;
}

// Runs `collective` on one flat copy of each bucket, then copies the result back into the tensors.
template <typename F>
static void coalesced(const std::vector<at::Tensor> &ts, F &&collective) {
  at::NoGradGuard no_grad;
  for (auto &bucket : buckets(ts)) {
    std::vector<at::Tensor> flat_views;
    flat_views.reserve(bucket.size());
    for (auto &t : bucket) flat_views.push_back(t.reshape({-1}));
    std::vector<at::Tensor> flat = {at::cat(flat_views)};
    collective(flat);
    int64_t offset = 0;
    for (auto &t : bucket) {
      int64_t n = t.numel();
      t.copy_(flat[0].narrow(0, offset, n).view(t.sizes()));
      offset += n;
    }
  }
}

static void wait(const c10::intrusive_ptr<c10d::Work> &work, const char *what) {
  try {
    work->wait();
  } catch (const c10::Error &e) {
    throw std::runtime_error(std::string(what) + " failed: " + e.what_without_backtrace());
  } catch (const std::exception &e) {
    throw std::runtime_error(std::string(what) + " failed: " + e.what());
  }
}

static std::vector<at::Tensor> tensors(const ct_tensor *ts, int n) {
  std::vector<at::Tensor> out;
  out.reserve(n);
  for (int i = 0; i < n; i++) out.push_back(T(ts[i]));
  return out;
}

static void allreduce(ct_process_group_opaque &g, const std::vector<at::Tensor> &ts, double scale) {
  coalesced(ts, [&](std::vector<at::Tensor> &flat) {
    wait(g.group->allreduce(flat), "allreduce");
    if (scale != 1.0) flat[0].mul_(scale);
  });
}

extern "C" {

ct_process_group ct_dist_init(const char *master_addr, int master_port, int rank, int world_size,
                              int64_t connect_timeout_ms, int64_t timeout_ms) {
  return guard<ct_process_group>(nullptr, [&]() -> ct_process_group {
    std::string host = master_addr ? master_addr : "";
    if (host.empty()) throw std::invalid_argument("no master address given (MASTER_ADDR)");
    if (world_size < 1) throw std::invalid_argument("world size must be at least 1, got " + std::to_string(world_size));
    if (rank < 0 || rank >= world_size)
      throw std::invalid_argument("rank " + std::to_string(rank) + " is outside 0..<" + std::to_string(world_size) +
                                  " (RANK must be less than WORLD_SIZE)");
    if (master_port < 1 || master_port > 65535)
      throw std::invalid_argument("master port must be in 1...65535, got " + std::to_string(master_port));
    std::string where = host + ":" + std::to_string(master_port);
    auto fail = [&](const std::string &step, const std::string &why) {
      return std::runtime_error("rank " + std::to_string(rank) + " of " + std::to_string(world_size) + " could not " +
                                step + " at " + where + " within " + std::to_string(connect_timeout_ms / 1000.0) +
                                " s: " + why);
    };
    auto run = [&](const std::string &step, auto &&body) {
      try {
        return body();
      } catch (const c10::Error &e) {
        throw fail(step, e.what_without_backtrace());
      } catch (const std::exception &e) {
        throw fail(step, e.what());
      }
    };
    auto pg = std::make_unique<ct_process_group_opaque>();
    pg->rank = rank;
    pg->size = world_size;
    pg->store = run("join the TCPStore rendezvous", [&] {
      c10d::TCPStoreOptions options;
      options.port = static_cast<std::uint16_t>(master_port);
      options.isServer = rank == 0;
      options.numWorkers = static_cast<std::size_t>(world_size);
      options.waitWorkers = true;
      options.timeout = std::chrono::milliseconds(connect_timeout_ms);
      return c10::intrusive_ptr<c10d::Store>(c10::make_intrusive<c10d::TCPStore>(host, options));
    });
    pg->group = run("connect the Gloo process group", [&] {
      auto options = c10d::ProcessGroupGloo::Options::create(std::chrono::milliseconds(timeout_ms));
      // The address other ranks reach this one at: the interface that routes to the master (loopback for a
      // single machine), as torch.distributed does when GLOO_SOCKET_IFNAME is not set.
      if (const char *ifname = std::getenv("GLOO_SOCKET_IFNAME")) {
        options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
      } else if (host == "127.0.0.1" || host == "localhost") {
        options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
      } else {
        options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      }
      return c10::make_intrusive<c10d::ProcessGroupGloo>(pg->store, rank, world_size, options);
    });
    return pg.release();
  });
}

void ct_dist_free(ct_process_group pg) {
  guard<int>(-1, [&]() -> int {
    delete pg;
    return 0;
  });
}

int ct_dist_rank(ct_process_group pg) {
  return guard<int>(-1, [&]() -> int { return G(pg).rank; });
}
int ct_dist_world_size(ct_process_group pg) {
  return guard<int>(-1, [&]() -> int { return G(pg).size; });
}

int ct_dist_allreduce(ct_process_group pg, const ct_tensor *ts, int n, double scale) {
  CT_STATUS(allreduce(G(pg), tensors(ts, n), scale));
}

int ct_dist_allreduce_grads(ct_process_group pg, const ct_tensor *ps, int n, double scale) {
  CT_STATUS({
    std::vector<at::Tensor> grads;
    grads.reserve(n);
    for (int i = 0; i < n; i++) {
      at::Tensor &p = T(ps[i]);
      if (!p.grad().defined()) p.mutable_grad() = at::zeros_like(p);
      grads.push_back(p.grad());
    }
    allreduce(G(pg), grads, scale);
  });
}

int ct_dist_broadcast(ct_process_group pg, const ct_tensor *ts, int n, int root) {
  CT_STATUS({
    auto &g = G(pg);
    if (root < 0 || root >= g.size) throw std::invalid_argument("broadcast root " + std::to_string(root) + " is not a rank");
    coalesced(tensors(ts, n), [&](std::vector<at::Tensor> &flat) {
      c10d::BroadcastOptions options;
      options.rootRank = root;
      wait(g.group->broadcast(flat, options), "broadcast");
    });
  });
}

int ct_dist_barrier(ct_process_group pg) {
  CT_STATUS(wait(G(pg).group->barrier(), "barrier"));
}

}  // extern "C"

#else  // no Gloo headers at build time

struct ct_process_group_opaque {};
static const char *kNoGloo =
    "this build of the ctorch shim has no distributed support: Gloo's headers were missing when it was compiled "
    "(Debian/Ubuntu: apt install libgloo-dev, then rebuild)";

extern "C" {
ct_process_group ct_dist_init(const char *, int, int, int, int64_t, int64_t) {  // nothrow: a stub
  set_error(kNoGloo);
  return nullptr;
}
void ct_dist_free(ct_process_group) {}  // nothrow: a stub
int ct_dist_rank(ct_process_group) { set_error(kNoGloo); return -1; }  // nothrow: a stub
int ct_dist_world_size(ct_process_group) { set_error(kNoGloo); return -1; }  // nothrow: a stub
int ct_dist_allreduce(ct_process_group, const ct_tensor *, int, double) { set_error(kNoGloo); return -1; }  // nothrow: a stub
int ct_dist_allreduce_grads(ct_process_group, const ct_tensor *, int, double) { set_error(kNoGloo); return -1; }  // nothrow: a stub
int ct_dist_broadcast(ct_process_group, const ct_tensor *, int, int) { set_error(kNoGloo); return -1; }  // nothrow: a stub
int ct_dist_barrier(ct_process_group) { set_error(kNoGloo); return -1; }  // nothrow: a stub
}

#endif
