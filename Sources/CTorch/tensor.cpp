// Tensors: lifetime, metadata, creation, elementwise math, reductions, views and indexing.
#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <torch/csrc/api/include/torch/version.h>
// Device-agnostic allocator statistics (no CUDA headers needed) arrived in torch 2.9; older ones report 0.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 9)
#include <c10/core/CachingDeviceAllocator.h>
#define CT_DEVICE_ALLOCATOR_STATS 1
#endif
#include <cstring>

#include "common.h"

using namespace ctorch;

namespace ctorch {

static thread_local std::string last_error;
void set_error(const std::string &message) { last_error = message; }

at::ScalarType scalar_type(int dtype) {
  switch (dtype) {
    case CT_FLOAT32: return at::kFloat;
    case CT_FLOAT16: return at::kHalf;
    case CT_BFLOAT16: return at::kBFloat16;
    case CT_FLOAT64: return at::kDouble;
    case CT_INT64: return at::kLong;
    case CT_INT32: return at::kInt;
    case CT_UINT8: return at::kByte;
    case CT_INT8: return at::kChar;
    case CT_BOOL: return at::kBool;
  }
  throw std::invalid_argument("unknown dtype code " + std::to_string(dtype));
}

int dtype_code(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return CT_FLOAT32;
    case at::kHalf: return CT_FLOAT16;
    case at::kBFloat16: return CT_BFLOAT16;
    case at::kDouble: return CT_FLOAT64;
    case at::kLong: return CT_INT64;
    case at::kInt: return CT_INT32;
    case at::kByte: return CT_UINT8;
    case at::kChar: return CT_INT8;
    case at::kBool: return CT_BOOL;
    default: return -1;
  }
}

at::Device device(int kind, int index) {
  switch (kind) {
    case CT_CPU: return at::Device(at::kCPU);
    case CT_CUDA: {
      int count = ct_cuda_device_count();
      if (index < 0 || index >= count)
        throw std::invalid_argument("CUDA device " + std::to_string(index) + " is not available (this libtorch sees " +
                                    std::to_string(count) + " CUDA devices)");
      return at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(index));
    }
    case CT_MPS:
      if (!ct_mps_is_available()) throw std::invalid_argument("MPS device is not available in this libtorch build");
      return at::Device(at::kMPS);
  }
  throw std::invalid_argument("unknown device kind " + std::to_string(kind));
}

// The dimensions a reduction runs over: the given ones, or every one when none are given.
static std::vector<int64_t> reduction_dims(const at::Tensor &t, const int64_t *d, int n) {
  if (n > 0) return std::vector<int64_t>(d, d + n);
  std::vector<int64_t> all(t.dim());
  for (int64_t i = 0; i < t.dim(); i++) all[i] = i;
  return all;
}

// A scalar that keeps integer tensors integral when the value is a whole number (as a Python int literal would).
static at::Scalar scalar_for(const at::Tensor &t, double s) {
  if (!at::isFloatingType(t.scalar_type()) && s == static_cast<double>(static_cast<int64_t>(s)))
    return at::Scalar(static_cast<int64_t>(s));
  return at::Scalar(s);
}

}  // namespace ctorch

extern "C" {

const char *ct_last_error(void) { return last_error.c_str(); }  // nothrow: a thread-local string
int ct_set_num_threads(int n) { CT_STATUS(at::set_num_threads(n)); }
int ct_get_num_threads(void) { CT_COUNT(at::get_num_threads()); }
int ct_cuda_device_count(void) {
  CT_COUNT(at::globalContext().hasCUDA() ? (int)at::detail::getCUDAHooks().getNumGPUs() : 0);
}
int64_t ct_cuda_memory_reserved(int device) {
#ifdef CT_DEVICE_ALLOCATOR_STATS
  return guard<int64_t>(-1, [&]() -> int64_t {
    if (device < 0 || device >= ct_cuda_device_count()) return 0;
    return c10::getDeviceAllocator(c10::DeviceType::CUDA)->getDeviceStats(device).reserved_bytes[0].current;
  });
#else
  return 0;
#endif
}
int ct_mps_is_available(void) { CT_BOOL(at::globalContext().hasMPS()); }
bool ct_set_grad_enabled(bool enabled) {  // nothrow: a thread-local flag
  bool previous = at::GradMode::is_enabled();
  at::GradMode::set_enabled(enabled);
  return previous;
}
bool ct_is_grad_enabled(void) { return at::GradMode::is_enabled(); }  // nothrow: a thread-local flag

// ---- lifetime, metadata, data ----
void ct_free(ct_tensor t) { delete reinterpret_cast<at::Tensor *>(t); }  // nothrow: a destructor
ct_tensor ct_shallow_copy(ct_tensor t) { CT_HANDLE(wrap(T(t))); }
int ct_ndim(ct_tensor t) { CT_COUNT((int)T(t).dim()); }
int ct_shape(ct_tensor t, int64_t *out) {
  CT_STATUS({
    auto s = T(t).sizes();
    std::copy(s.begin(), s.end(), out);
  });
}
int64_t ct_numel(ct_tensor t) { return guard<int64_t>(-1, [&] { return T(t).numel(); }); }
int ct_dtype(ct_tensor t) {
  CT_COUNT([&] {
    const int code = dtype_code(T(t).scalar_type());
    if (code < 0) throw std::invalid_argument(std::string("unsupported tensor type ") + c10::toString(T(t).scalar_type()));
    return code;
  }());
}
int ct_device(ct_tensor t, int *kind, int *index) {
  CT_STATUS({
    auto d = T(t).device();
    *kind = d.is_cuda() ? CT_CUDA : d.is_mps() ? CT_MPS : CT_CPU;
    *index = d.has_index() ? d.index() : 0;
  });
}
int ct_is_contiguous(ct_tensor t) { CT_BOOL(T(t).is_contiguous()); }

ct_tensor ct_from_data(const void *data, const int64_t *shape, int ndim, int dtype) {
  CT_HANDLE(wrap(at::from_blob(const_cast<void *>(data), dims(shape, ndim), options(dtype, CT_CPU, 0)).clone()));
}

int ct_copy_out(ct_tensor t, void *out, size_t bytes) {
  CT_STATUS({
    at::Tensor c = T(t).detach().to(at::kCPU).contiguous();
    if (c.nbytes() != bytes)
      throw std::invalid_argument("copy_out: tensor holds " + std::to_string(c.nbytes()) + " bytes, buffer has " +
                                  std::to_string(bytes));
    if (bytes) std::memcpy(out, c.data_ptr(), bytes);
  });
}

int ct_item(ct_tensor t, double *out) { CT_STATUS(*out = T(t).item().toDouble()); }

ct_tensor ct_to(ct_tensor t, int dtype, int kind, int index, bool copy) {
  CT_HANDLE(wrap(T(t).to(options(dtype, kind, index), /*non_blocking=*/false, copy)));
}
ct_tensor ct_contiguous(ct_tensor t) { CT_HANDLE(wrap(T(t).contiguous())); }
ct_tensor ct_contiguous_channels_last(ct_tensor t) { CT_HANDLE(wrap(T(t).contiguous(at::MemoryFormat::ChannelsLast))); }

// ---- creation ----
ct_tensor ct_full(const int64_t *shape, int ndim, double value, int dtype, int kind, int index) {
  CT_HANDLE(wrap(at::full(dims(shape, ndim), value, options(dtype, kind, index))));
}
ct_tensor ct_arange(double start, double end, double step, int dtype, int kind, int index) {
  CT_HANDLE(wrap(at::arange(start, end, step, options(dtype, kind, index))));
}
ct_tensor ct_linspace(double start, double end, int64_t steps, int dtype, int kind, int index) {
  CT_HANDLE(wrap(at::linspace(start, end, steps, options(dtype, kind, index))));
}
ct_tensor ct_random(int k, const int64_t *shape, int ndim, int dtype, int kind, int index) {
  CT_HANDLE(wrap(k == CT_RANDN ? at::randn(dims(shape, ndim), options(dtype, kind, index))
                               : at::rand(dims(shape, ndim), options(dtype, kind, index))));
}
ct_tensor ct_randint(int64_t low, int64_t high, const int64_t *shape, int ndim, int dtype, int kind, int index) {
  CT_HANDLE(wrap(at::randint(low, high, dims(shape, ndim), options(dtype, kind, index))));
}
ct_tensor ct_randperm(int64_t n, int kind, int index) {
  CT_HANDLE(wrap(at::randperm(n, options(CT_INT64, kind, index))));
}
ct_tensor ct_eye(int64_t n, int64_t m, int dtype, int kind, int index) {
  CT_HANDLE(wrap(at::eye(n, m, options(dtype, kind, index))));
}

// ---- elementwise ----
ct_tensor ct_unary(int op, ct_tensor tp) {
  CT_HANDLE(wrap([&]() -> at::Tensor {
    const at::Tensor &t = T(tp);
    switch (op) {
      case CT_NEG: return at::neg(t);
      case CT_ABS: return at::abs(t);
      case CT_EXP: return at::exp(t);
      case CT_LOG: return at::log(t);
      case CT_SQRT: return at::sqrt(t);
      case CT_RSQRT: return at::rsqrt(t);
      case CT_SIGMOID: return at::sigmoid(t);
      case CT_RELU: return at::relu(t);
      case CT_SILU: return at::silu(t);
      case CT_TANH: return at::tanh(t);
      case CT_ATAN: return at::atan(t);
      case CT_SIN: return at::sin(t);
      case CT_COS: return at::cos(t);
      case CT_FLOOR: return at::floor(t);
      case CT_CEIL: return at::ceil(t);
      case CT_ROUND: return at::round(t);
      case CT_SIGN: return at::sign(t);
      case CT_RECIPROCAL: return at::reciprocal(t);
      case CT_SQUARE: return at::square(t);
      case CT_LOGICAL_NOT: return at::logical_not(t);
      case CT_ISNAN: return at::isnan(t);
      case CT_ISFINITE: return at::isfinite(t);
      case CT_LOG1P: return at::log1p(t);
      case CT_EXPM1: return at::expm1(t);
    }
    throw std::invalid_argument("unknown unary op " + std::to_string(op));
  }()));
}

ct_tensor ct_binary(int op, ct_tensor ap, ct_tensor bp) {
  CT_HANDLE(wrap([&]() -> at::Tensor {
    const at::Tensor &a = T(ap), &b = T(bp);
    switch (op) {
      case CT_ADD: return at::add(a, b);
      case CT_SUB: return at::sub(a, b);
      case CT_MUL: return at::mul(a, b);
      case CT_DIV: return at::div(a, b);
      case CT_POW: return at::pow(a, b);
      case CT_MAXIMUM: return at::maximum(a, b);
      case CT_MINIMUM: return at::minimum(a, b);
      case CT_EQ: return at::eq(a, b);
      case CT_NE: return at::ne(a, b);
      case CT_LT: return at::lt(a, b);
      case CT_LE: return at::le(a, b);
      case CT_GT: return at::gt(a, b);
      case CT_GE: return at::ge(a, b);
      case CT_LOGICAL_AND: return at::logical_and(a, b);
      case CT_LOGICAL_OR: return at::logical_or(a, b);
      case CT_LOGICAL_XOR: return at::logical_xor(a, b);
      case CT_ATAN2: return at::atan2(a, b);
      case CT_FLOOR_DIVIDE: return at::div(a, b, "floor");
      case CT_REMAINDER: return at::remainder(a, b);
      case CT_MATMUL: return at::matmul(a, b);
    }
    throw std::invalid_argument("unknown binary op " + std::to_string(op));
  }()));
}

ct_tensor ct_binary_scalar(int op, ct_tensor ap, double v) {
  CT_HANDLE(wrap([&]() -> at::Tensor {
    const at::Tensor &a = T(ap);
    at::Scalar s = scalar_for(a, v);
    switch (op) {
      case CT_ADD: return at::add(a, s);
      case CT_SUB: return at::sub(a, s);
      case CT_MUL: return at::mul(a, s);
      case CT_DIV: return at::div(a, s);
      case CT_POW: return at::pow(a, s);
      case CT_MAXIMUM: return at::clamp_min(a, s);
      case CT_MINIMUM: return at::clamp_max(a, s);
      case CT_EQ: return at::eq(a, s);
      case CT_NE: return at::ne(a, s);
      case CT_LT: return at::lt(a, s);
      case CT_LE: return at::le(a, s);
      case CT_GT: return at::gt(a, s);
      case CT_GE: return at::ge(a, s);
      case CT_FLOOR_DIVIDE: return at::div(a, s, "floor");
      case CT_REMAINDER: return at::remainder(a, s);
      case CT_RSUB: return at::rsub(a, s);
      case CT_RDIV: return at::div(at::scalar_tensor(s, a.options()), a);
    }
    throw std::invalid_argument("op " + std::to_string(op) + " has no scalar form");
  }()));
}

int ct_inplace(int op, ct_tensor ap, ct_tensor bp, double alpha) {
  CT_STATUS({
    at::Tensor &a = T(ap);
    const at::Tensor &b = T(bp);
    switch (op) {
      case CT_ADD: a.add_(b, alpha); break;
      case CT_SUB: a.sub_(b, alpha); break;
      case CT_MUL: a.mul_(b); break;
      case CT_DIV: a.div_(b); break;
      default: throw std::invalid_argument("op " + std::to_string(op) + " has no in-place form");
    }
  });
}

int ct_scale_add_all_(ct_tensor *targets, const ct_tensor *sources, int n, double scale, double alpha) {
  CT_STATUS({
    std::vector<at::Tensor> t;
    std::vector<at::Tensor> s;
    for (int i = 0; i < n; ++i) {
      t.push_back(T(targets[i]));
      s.push_back(T(sources[i]));
    }
    at::_foreach_mul_(t, scale);
    at::_foreach_add_(t, s, alpha);
  });
}

int ct_unary_(int op, ct_tensor ap) {
  CT_STATUS({
    at::Tensor &a = T(ap);
    switch (op) {
      case CT_SILU: at::silu_(a); break;
      default: throw std::invalid_argument("op " + std::to_string(op) + " has no in-place form");
    }
  });
}

int ct_inplace_scalar(int op, ct_tensor ap, double v) {
  CT_STATUS({
    at::Tensor &a = T(ap);
    at::Scalar s = scalar_for(a, v);
    switch (op) {
      case CT_ADD: a.add_(s); break;
      case CT_SUB: a.sub_(s); break;
      case CT_MUL: a.mul_(s); break;
      case CT_DIV: a.div_(s); break;
      default: throw std::invalid_argument("op " + std::to_string(op) + " has no in-place scalar form");
    }
  });
}
int ct_copy_(ct_tensor dst, ct_tensor src) { CT_STATUS(T(dst).copy_(T(src))); }
int ct_fill_(ct_tensor t, double value) { CT_STATUS(T(t).fill_(value)); }

// ---- reductions ----
ct_tensor ct_reduce(int op, ct_tensor tp, const int64_t *d, int nd, bool keepdim) {
  CT_HANDLE(wrap([&]() -> at::Tensor {
    const at::Tensor &t = T(tp);
    auto ds = reduction_dims(t, d, nd);
    auto each = [&](auto fn) {  // ops that take one dimension at a time
      std::sort(ds.begin(), ds.end(), [&](int64_t x, int64_t y) {
        return at::maybe_wrap_dim(x, t.dim()) > at::maybe_wrap_dim(y, t.dim());
      });
      at::Tensor r = t;
      for (int64_t dim : ds) r = fn(r, at::maybe_wrap_dim(dim, t.dim()));
      return r;
    };
    switch (op) {
      case CT_SUM: return at::sum(t, ds, keepdim);
      case CT_MEAN: return at::mean(t, ds, keepdim);
      case CT_PROD: return each([&](const at::Tensor &r, int64_t dim) { return at::prod(r, dim, keepdim); });
      case CT_AMAX: return at::amax(t, ds, keepdim);
      case CT_AMIN: return at::amin(t, ds, keepdim);
      case CT_ANY: return each([&](const at::Tensor &r, int64_t dim) { return at::any(r, dim, keepdim); });
      case CT_ALL: return each([&](const at::Tensor &r, int64_t dim) { return at::all(r, dim, keepdim); });
      case CT_STD: return at::std(t, at::IntArrayRef(ds), /*unbiased=*/true, keepdim);
      case CT_VAR: return at::var(t, at::IntArrayRef(ds), /*unbiased=*/true, keepdim);
      case CT_NORM: return at::norm(t, 2, ds, keepdim);
      case CT_LOGSUMEXP: return at::logsumexp(t, ds, keepdim);
    }
    throw std::invalid_argument("unknown reduction " + std::to_string(op));
  }()));
}

ct_tensor ct_argmax(ct_tensor t, int64_t dim, bool keepdim, bool is_min) {
  CT_HANDLE(wrap([&]() -> at::Tensor {
    c10::optional<int64_t> d;
    if (dim >= -T(t).dim()) d = dim;
    return is_min ? at::argmin(T(t), d, keepdim) : at::argmax(T(t), d, keepdim);
  }()));
}

int ct_max_dim(ct_tensor t, int64_t dim, bool keepdim, bool is_min, ct_tensor *values, ct_tensor *indices) {
  CT_STATUS({
    auto r = is_min ? at::min(T(t), dim, keepdim) : at::max(T(t), dim, keepdim);
    *values = wrap(std::get<0>(r));
    *indices = wrap(std::get<1>(r));
  });
}
int ct_sort(ct_tensor t, int64_t dim, bool descending, bool stable, ct_tensor *values, ct_tensor *indices) {
  CT_STATUS({
    auto r = at::sort(T(t), c10::optional<bool>(stable), dim, descending);
    *values = wrap(std::get<0>(r));
    *indices = wrap(std::get<1>(r));
  });
}
int ct_topk(ct_tensor t, int64_t k, int64_t dim, bool largest, bool sorted, ct_tensor *values, ct_tensor *indices) {
  CT_STATUS({
    auto r = at::topk(T(t), k, dim, largest, sorted);
    *values = wrap(std::get<0>(r));
    *indices = wrap(std::get<1>(r));
  });
}
ct_tensor ct_clamp(ct_tensor t, bool has_min, double min, bool has_max, double max) {
  CT_HANDLE(wrap([&] {
    c10::optional<at::Scalar> lo, hi;
    if (has_min) lo = scalar_for(T(t), min);
    if (has_max) hi = scalar_for(T(t), max);
    return at::clamp(T(t), lo, hi);
  }()));
}
ct_tensor ct_softmax(ct_tensor t, int64_t dim, bool log) {
  CT_HANDLE(wrap(log ? at::log_softmax(T(t), dim) : at::softmax(T(t), dim)));
}
ct_tensor ct_cumsum(ct_tensor t, int64_t dim) { CT_HANDLE(wrap(at::cumsum(T(t), dim))); }
ct_tensor ct_where(ct_tensor c, ct_tensor a, ct_tensor b) { CT_HANDLE(wrap(at::where(T(c), T(a), T(b)))); }
ct_tensor ct_masked_fill(ct_tensor t, ct_tensor mask, double value) {
  CT_HANDLE(wrap(at::masked_fill(T(t), T(mask), value)));
}
ct_tensor ct_masked_select(ct_tensor t, ct_tensor mask) { CT_HANDLE(wrap(at::masked_select(T(t), T(mask)))); }
ct_tensor ct_nonzero(ct_tensor t) { CT_HANDLE(wrap(at::nonzero(T(t)))); }
int ct_equal(ct_tensor a, ct_tensor b) { CT_BOOL(at::equal(T(a), T(b))); }
int ct_allclose(ct_tensor a, ct_tensor b, double rtol, double atol) { CT_BOOL(at::allclose(T(a), T(b), rtol, atol)); }

// ---- shape, views, indexing ----
ct_tensor ct_reshape(ct_tensor t, const int64_t *s, int n) { CT_HANDLE(wrap(T(t).reshape(dims(s, n)))); }
ct_tensor ct_view(ct_tensor t, const int64_t *s, int n) { CT_HANDLE(wrap(T(t).view(dims(s, n)))); }
ct_tensor ct_expand(ct_tensor t, const int64_t *s, int n) { CT_HANDLE(wrap(T(t).expand(dims(s, n)))); }
ct_tensor ct_repeat(ct_tensor t, const int64_t *s, int n) { CT_HANDLE(wrap(T(t).repeat(dims(s, n)))); }
ct_tensor ct_permute(ct_tensor t, const int64_t *s, int n) { CT_HANDLE(wrap(T(t).permute(dims(s, n)))); }
ct_tensor ct_flip(ct_tensor t, const int64_t *s, int n) { CT_HANDLE(wrap(at::flip(T(t), dims(s, n)))); }
ct_tensor ct_transpose(ct_tensor t, int64_t d0, int64_t d1) { CT_HANDLE(wrap(T(t).transpose(d0, d1))); }
ct_tensor ct_slice(ct_tensor t, int64_t dim, int64_t start, int64_t end, int64_t step) {
  CT_HANDLE(wrap(T(t).slice(dim, start, end, step)));
}
ct_tensor ct_select(ct_tensor t, int64_t dim, int64_t index) { CT_HANDLE(wrap(T(t).select(dim, index))); }
ct_tensor ct_unsqueeze(ct_tensor t, int64_t dim) { CT_HANDLE(wrap(T(t).unsqueeze(dim))); }
ct_tensor ct_squeeze(ct_tensor t, int64_t dim) {
  CT_HANDLE(wrap(dim < -T(t).dim() ? T(t).squeeze() : T(t).squeeze(dim)));
}
ct_tensor ct_flatten(ct_tensor t, int64_t start, int64_t end) { CT_HANDLE(wrap(T(t).flatten(start, end))); }
ct_tensor ct_index_select(ct_tensor t, int64_t dim, ct_tensor index) {
  CT_HANDLE(wrap(at::index_select(T(t), dim, T(index))));
}
ct_tensor ct_gather(ct_tensor t, int64_t dim, ct_tensor index) { CT_HANDLE(wrap(at::gather(T(t), dim, T(index)))); }
ct_tensor ct_scatter(ct_tensor t, int64_t dim, ct_tensor index, ct_tensor src, bool add) {
  CT_HANDLE(wrap(add ? at::scatter_add(T(t), dim, T(index), T(src)) : at::scatter(T(t), dim, T(index), T(src))));
}

static c10::List<c10::optional<at::Tensor>> index_list(const ct_tensor *indices, int n) {
  c10::List<c10::optional<at::Tensor>> list;
  for (int i = 0; i < n; i++)
    list.push_back(indices[i] ? c10::optional<at::Tensor>(T(indices[i])) : c10::optional<at::Tensor>());
  return list;
}
ct_tensor ct_index(ct_tensor t, const ct_tensor *indices, int n) {
  CT_HANDLE(wrap(at::index(T(t), index_list(indices, n))));
}
ct_tensor ct_index_put(ct_tensor t, const ct_tensor *indices, int n, ct_tensor values, bool accumulate) {
  CT_HANDLE(wrap(at::index_put(T(t), index_list(indices, n), T(values), accumulate)));
}

static std::vector<at::Tensor> tensor_list(const ct_tensor *ts, int n) {
  std::vector<at::Tensor> v;
  v.reserve(n);
  for (int i = 0; i < n; i++) v.push_back(T(ts[i]));
  return v;
}
// at::cat(ts, 1) of float32 maps whose channels lie side by side in memory (channels-last maps, and channel slices of
// them such as C2f's chunks), copied as runs of whole pixels' channels: libtorch copies each input through a strided
// iterator, about twice a plain copy of the result. Undefined where this does not apply (other layouts, dims,
// dtypes or devices, inputs that need gradients, maps one pixel wide).
static at::Tensor cat_channels_last(const std::vector<at::Tensor> &ts, int64_t dim) {
  if (ts.empty() || ts[0].dim() != 4 || (dim != 1 && dim != -3)) return {};
  const int64_t n = ts[0].size(0), h = ts[0].size(2), w = ts[0].size(3);
  if (w < 2) return {};
  struct Run {
    const float *data;
    int64_t pixel_stride, channels;
  };
  std::vector<Run> runs;
  int64_t total = 0;
  for (const at::Tensor &t : ts) {
    if (t.dim() != 4 || !t.device().is_cpu() || t.scalar_type() != at::kFloat || t.requires_grad() ||
        t.size(0) != n || t.size(2) != h || t.size(3) != w)
      return {};
    const int64_t c = t.size(1), pixel_stride = t.stride(3);
    if (c == 0) continue;
    if ((c > 1 && t.stride(1) != 1) || t.stride(2) != pixel_stride * w || (n > 1 && t.stride(0) != t.stride(2) * h))
      return {};
    const float *data = t.data_ptr<float>();
    if (!runs.empty() && runs.back().pixel_stride == pixel_stride && runs.back().data + runs.back().channels == data)
      runs.back().channels += c;  // the next channels of the same map (C2f's two chunks): one run
    else
      runs.push_back({data, pixel_stride, c});
    total += c;
  }
  at::Tensor out = at::empty({n, total, h, w}, ts[0].options().memory_format(at::MemoryFormat::ChannelsLast));
  const int64_t pixels = n * h * w, jobs = pixels * total >= (1 << 16) ? at::get_num_threads() : 1;
  parallel_jobs(jobs, [&](int64_t job) {  // a range of pixels each
    float *dst = out.data_ptr<float>() + pixels * job / jobs * total;
    for (int64_t p = pixels * job / jobs, end = pixels * (job + 1) / jobs; p < end; ++p)
      for (const Run &run : runs) {
        std::memcpy(dst, run.data + p * run.pixel_stride, run.channels * sizeof(float));
        dst += run.channels;
      }
  });
  return out;
}

// at::cat(ts, 2) of (b, c, n) float32 views of channels-last maps flattened over their pixels (a head's levels: each
// pixel's c values adjacent), into a contiguous (b, c, total n): one tiled transpose per input instead of libtorch's
// strided copy. Undefined where this does not apply.
static at::Tensor cat_flattened_maps(const std::vector<at::Tensor> &ts, int64_t dim) {
  if (ts.empty() || ts[0].dim() != 3 || (dim != 2 && dim != -1)) return {};
  const int64_t b = ts[0].size(0), c = ts[0].size(1);
  int64_t total = 0;
  for (const at::Tensor &t : ts) {
    if (t.dim() != 3 || !t.device().is_cpu() || t.scalar_type() != at::kFloat || t.requires_grad() ||
        t.size(0) != b || t.size(1) != c || c < 2 || t.stride(1) != 1 || t.stride(2) != c ||
        (b > 1 && t.stride(0) != t.size(2) * c))
      return {};
    total += t.size(2);
  }
  at::Tensor out = at::empty({b, c, total}, ts[0].options());
  // Jobs: ranges of 8 channels (whole tiles) of each image.
  const int64_t blocks = (c + 7) / 8, parts = std::min<int64_t>(blocks, b * c * total >= (1 << 16) ? at::get_num_threads() : 1);
  parallel_jobs(b * parts, [&](int64_t job) {
    const int64_t i = job / parts, part = job % parts;
    const int64_t first = std::min(c, blocks * part / parts * 8), end = std::min(c, blocks * (part + 1) / parts * 8);
    float *dst = out.data_ptr<float>() + i * c * total + first * total;
    for (const at::Tensor &t : ts) {
      ctorch::transpose(t.data_ptr<float>() + i * t.stride(0) + first, t.size(2), end - first, c, dst, total);
      dst += t.size(2);
    }
  });
  return out;
}

ct_tensor ct_cat(const ct_tensor *ts, int n, int64_t dim) {
  return guard<ct_tensor>(nullptr, [&] {
    const std::vector<at::Tensor> list = tensor_list(ts, n);
    at::Tensor fast = cat_channels_last(list, dim);
    if (!fast.defined()) fast = cat_flattened_maps(list, dim);
    return wrap(fast.defined() ? fast : at::cat(list, dim));
  });
}
ct_tensor ct_stack(const ct_tensor *ts, int n, int64_t dim) { CT_HANDLE(wrap(at::stack(tensor_list(ts, n), dim))); }

static int write_pieces(const std::vector<at::Tensor> &pieces, ct_tensor *out, int capacity) {
  for (size_t i = 0; i < pieces.size() && (int)i < capacity; i++) out[i] = wrap(pieces[i]);
  return (int)pieces.size();
}
int ct_split(ct_tensor t, const int64_t *sizes, int nsizes, int64_t dim, ct_tensor *out, int capacity) {
  return guard<int>(-1, [&] { return write_pieces(at::split_with_sizes(T(t), dims(sizes, nsizes), dim), out, capacity); });
}
int ct_chunk(ct_tensor t, int64_t chunks, int64_t dim, ct_tensor *out, int capacity) {
  return guard<int>(-1, [&] { return write_pieces(at::chunk(T(t), chunks, dim), out, capacity); });
}

}  // extern "C"
