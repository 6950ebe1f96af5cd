// Internal helpers shared by the shim's translation units: handle conversion, the error guard, jobs on libtorch's OpenMP
// threads and a tiled transpose.
#pragma once
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <dlfcn.h>

#include <atomic>
#include <cstring>
#include <exception>
#include <functional>
#include <mutex>
#include <string>
#if defined(__x86_64__)
#include <immintrin.h>
#endif
#include <vector>

#include "ctorch.h"

namespace ctorch {

void set_error(const std::string &message);

// Runs `body`; on a C++ exception records its message and returns `fail`. Keeps exceptions inside the shim.
template <typename R, typename F>
inline R guard(R fail, F &&body) {
  try {
    return body();
  } catch (const c10::Error &e) {
    set_error(e.what_without_backtrace());
  } catch (const std::exception &e) {
    set_error(e.what());
  } catch (...) {
    set_error("unknown C++ exception in libtorch");
  }
  return fail;
}

inline at::Tensor &T(ct_tensor t) {
  if (!t) throw std::invalid_argument("null tensor handle");
  return *reinterpret_cast<at::Tensor *>(t);
}
int dtype_code(at::ScalarType t);
// Every handle the shim hands out holds a defined tensor of a type the Swift side knows: its metadata calls cannot
// then fail on a handle Swift owns.
inline ct_tensor wrap(at::Tensor t) {
  if (!t.defined()) throw std::runtime_error("libtorch returned an undefined tensor");
  if (dtype_code(t.scalar_type()) < 0)
    throw std::invalid_argument(std::string("tensors of type ") + c10::toString(t.scalar_type()) +
                                " are not supported (float32, float16, bfloat16, float64, int64, int32, uint8, int8, bool)");
  return reinterpret_cast<ct_tensor>(new at::Tensor(std::move(t)));
}
inline at::IntArrayRef dims(const int64_t *p, int n) { return at::IntArrayRef(p, static_cast<size_t>(n)); }

at::ScalarType scalar_type(int dtype);
at::Device device(int kind, int index);
// Whether autocast is on for `type` (CPU or CUDA), through the API of the libtorch at hand (training.cpp).
bool autocast_enabled(at::DeviceType type);
inline at::TensorOptions options(int dtype, int kind, int index) {
  return at::TensorOptions().dtype(scalar_type(dtype)).device(device(kind, index));
}

// Runs job(0..<count) on libtorch's OpenMP threads, each thread taking the next job (libgomp's entry for `#pragma omp
// parallel`, found at run time: libtorch has loaded it, and the shim is compiled without -fopenmp, which leaves
// at::parallel_for serial here); on the calling thread alone where it is absent or already inside a parallel region.
inline void parallel_jobs(int64_t count, const std::function<void(int64_t)> &job) {
  using Parallel = void (*)(void (*)(void *), void *, unsigned, unsigned);
  static const auto gomp_parallel = reinterpret_cast<Parallel>(dlsym(RTLD_DEFAULT, "GOMP_parallel"));
  struct Work {
    const std::function<void(int64_t)> &job;
    const int64_t count;
    std::atomic<int64_t> next{0};
    std::mutex lock;
    std::exception_ptr error;  // the first job's failure: exceptions must not leave an OpenMP thread
  } work{job, count};
  const auto run = [](void *data) {
    Work &w = *static_cast<Work *>(data);
    for (int64_t i = w.next++; i < w.count; i = w.next++) try {
        w.job(i);
      } catch (...) {
        std::lock_guard<std::mutex> hold(w.lock);
        if (!w.error) w.error = std::current_exception();
      }
  };
  const int64_t threads = std::min<int64_t>(at::get_num_threads(), count);
  if (threads > 1 && gomp_parallel && !at::in_parallel_region())
    gomp_parallel(run, &work, static_cast<unsigned>(threads), 0);
  else
    run(&work);
  if (work.error) std::rethrow_exception(work.error);
}

// Whether this CPU has AVX2 and FMA, which the shim's hand-vectorised training kernels are compiled for.
inline bool cpu_has_avx2_fma() {
#if defined(__x86_64__)
  static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return has;
#else
  return false;
#endif
}
// Whether oneDNN computes bfloat16 convolutions natively here (AVX-512 BF16; AMX CPUs have it too); elsewhere it
// refuses them or emulates them slower than float32.
inline bool cpu_has_avx512_bf16() {
#if defined(__x86_64__)
  static const bool has = __builtin_cpu_supports("avx512bf16");
  return has;
#else
  return false;
#endif
}

#if defined(__x86_64__)
// One 8x8 tile of `transpose` in AVX registers (8 loads, 24 shuffles, 8 stores), for CPUs that have AVX2.
__attribute__((target("avx2"))) inline void transpose_tile_avx2(const float *src, int64_t src_stride, float *dst,
                                                                int64_t dst_stride) {
  __m256 r[8], t[8];
  for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(src + i * src_stride);
  for (int i = 0; i < 8; i += 2) t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]), t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  for (int i = 0; i < 8; i += 4) {
    r[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int i = 0; i < 4; ++i) {
    _mm256_storeu_ps(dst + i * dst_stride, _mm256_permute2f128_ps(r[i], r[i + 4], 0x20));
    _mm256_storeu_ps(dst + (i + 4) * dst_stride, _mm256_permute2f128_ps(r[i], r[i + 4], 0x31));
  }
}
#endif

// dst[c * dst_stride + p] = src[p * src_stride + c] for p < P, c < C: channels-last pixels to channel planes (or back,
// with the roles swapped), through 8x8 tiles that stay in cache, in AVX registers where the CPU has AVX2: 1.5-2.7x
// faster than libtorch's strided copy for yolov8n's bands with scalar tiles (64 channels x 80x42 pixels: 0.16
// instead of 0.44 ms). Used by winograd.h and the channel cats (tensor.cpp).
inline void transpose(const float *src, int64_t P, int64_t C, int64_t src_stride, float *dst, int64_t dst_stride) {
  constexpr int64_t B = 8;
#if defined(__x86_64__)
  static const bool avx2 = __builtin_cpu_supports("avx2");
#else
  constexpr bool avx2 = false;
#endif
  for (int64_t p0 = 0; p0 < P; p0 += B)
    for (int64_t c0 = 0; c0 < C; c0 += B) {
      const int64_t pe = std::min(P, p0 + B), ce = std::min(C, c0 + B);
      if (pe - p0 == B && ce - c0 == B) {
#if defined(__x86_64__)
        if (avx2) {
          transpose_tile_avx2(src + p0 * src_stride + c0, src_stride, dst + c0 * dst_stride + p0, dst_stride);
          continue;
        }
#endif
        float tile[B][B];
        for (int64_t p = 0; p < B; ++p)
          for (int64_t c = 0; c < B; ++c) tile[c][p] = src[(p0 + p) * src_stride + c0 + c];
        for (int64_t c = 0; c < B; ++c) std::memcpy(dst + (c0 + c) * dst_stride + p0, tile[c], sizeof(tile[c]));
      } else {
        for (int64_t p = p0; p < pe; ++p)
          for (int64_t c = c0; c < ce; ++c) dst[c * dst_stride + p] = src[p * src_stride + c];
      }
    }
}

}  // namespace ctorch

// Bytes handed to Swift (an optimizer's archive, a pickle file's contents).
struct ct_buffer_opaque {
  std::string bytes;
};
namespace ctorch {
inline ct_buffer make_buffer(std::string bytes) { return new ct_buffer_opaque{std::move(bytes)}; }
}  // namespace ctorch

// An entry point that does not go through `guard` says why it cannot throw with a `// nothrow: <reason>` comment on
// its definition's line; BoundaryTests fails on any other unguarded ct_* or cvs_* definition.

// A guarded entry point returning a handle (NULL on failure) or a status (-1 on failure).
#define CT_HANDLE(expr) return ctorch::guard<ct_tensor>(nullptr, [&]() -> ct_tensor { return expr; })
#define CT_STATUS(body) return ctorch::guard<int>(-1, [&]() -> int { body; return 0; })
// A guarded entry point returning a non-negative number (-1 on failure).
#define CT_COUNT(expr) return ctorch::guard<int>(-1, [&]() -> int { return expr; })
// A guarded yes/no: 1, 0, or -1 on failure.
#define CT_BOOL(expr) return ctorch::guard<int>(-1, [&]() -> int { return (expr) ? 1 : 0; })
