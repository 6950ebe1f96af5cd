// Internal helpers shared by the shim's translation units: handle conversion and the error guard.
#pragma once
#include <ATen/ATen.h>
#include <cstring>
#include <string>
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

// dst[c * dst_stride + p] = src[p * src_stride + c] for p < P, c < C: channels-last pixels to channel planes (or back,
// with the roles swapped), through 8x8 tiles that stay in cache; 1.5-2.7x faster than libtorch's strided copy for
// yolov8n's bands (64 channels x 80x42 pixels: 0.16 instead of 0.44 ms). Used by winograd.h and channel cats.
inline void transpose(const float *src, int64_t P, int64_t C, int64_t src_stride, float *dst, int64_t dst_stride) {
  constexpr int64_t B = 8;
  for (int64_t p0 = 0; p0 < P; p0 += B)
    for (int64_t c0 = 0; c0 < C; c0 += B) {
      const int64_t pe = std::min(P, p0 + B), ce = std::min(C, c0 + B);
      if (pe - p0 == B && ce - c0 == B) {
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
