// Training's Conv block (convolution, batch norm on the batch's statistics, SiLU) as one autograd node over oneDNN.
//
// Why: libtorch runs the three as separate nodes on NCHW tensors, so oneDNN reorders every convolution's input and
// output between NCHW and its channel-blocked layout (nChw8c on AVX2, nChw16c on AVX-512) in the forward pass, and
// diff_dst twice and the input once more in the backward one: 19% of oneDNN's time in a yolov8n training step; batch
// norm and SiLU then make five more passes over memory. Here the convolution's output stays blocked. Forward: one pass for the batch
// statistics, one that normalises, applies SiLU and writes the output (channel-blocked for the next block, or NCHW).
// Backward: one pass for SiLU's and batch norm's gradient sums that writes the blocked gradient, one that finishes it
// in place; both of oneDNN's backward convolutions take that gradient and the forward's blocked input as they are.
// The elementwise kernels are AVX2's, 8 channels at a time, on either layout.
//
// Where it does not apply (no oneDNN headers at build time, a CPU without AVX2, groups or dilation, a layout other
// than these, channels that do not fill its blocks) the block runs libtorch's three functions, with the same result.
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include <cmath>

#include "common.h"
#include "winograd.h"

using namespace ctorch;

// NCHW from a channel-blocked (N, C/8, H, W, 8) tensor; others as they are.
static at::Tensor channels_first(const at::Tensor &x) {
  if (x.dim() != 5) return x;
  return x.permute({0, 1, 4, 2, 3}).reshape({x.size(0), x.size(1) * x.size(4), x.size(2), x.size(3)});
}

static at::Tensor unfused(const at::Tensor &x, const at::Tensor &w, const at::Tensor &gamma, const at::Tensor &beta,
                          const at::Tensor &running_mean, const at::Tensor &running_var, at::IntArrayRef stride,
                          at::IntArrayRef padding, double momentum, double eps) {
  at::Tensor y = winograd::training_conv2d(x, w, stride, padding);  // NNPACK's where it applies
  return at::silu(at::batch_norm(y, gamma, beta, running_mean, running_var, true, momentum, eps, true));
}

// Written for oneDNN 2.x's API (3.0 removed the operation descriptors) and x86's AVX2: elsewhere, the fallback.
#if defined(CT_ONEDNN) && defined(__x86_64__) && __has_include(<oneapi/dnnl/dnnl_version.h>)
#include <oneapi/dnnl/dnnl_version.h>
#if DNNL_VERSION_MAJOR != 2
#undef CT_ONEDNN
#endif
#else
#undef CT_ONEDNN
#endif

#ifdef CT_ONEDNN
#include <immintrin.h>

#include <dnnl.hpp>

namespace {

using dnnl::memory;
using tag = memory::format_tag;
constexpr auto f32 = memory::data_type::f32;
// The kernels below take 8 channels at a time (one AVX2 register): a block of nChw8c, or half of one of nChw16c.
constexpr int64_t kLanes = 8;

dnnl::engine &cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// A libtorch-owned float buffer for a oneDNN memory descriptor.
at::Tensor buffer_for(const memory::desc &d) {
  return at::empty({static_cast<int64_t>(d.get_size() / sizeof(float))}, at::kFloat);
}
memory view(const memory::desc &d, const at::Tensor &t) { return memory(d, cpu_engine(), t.data_ptr()); }

// `t`, laid out as `from`, in layout `to` (t itself when they are the same).
at::Tensor relayout(const at::Tensor &t, const memory::desc &from, const memory::desc &to, dnnl::stream &stream) {
  if (from == to) return t;
  at::Tensor out = buffer_for(to);
  memory src = view(from, t), dst = view(to, out);
  dnnl::reorder(src, dst).execute(stream, src, dst);
  return out;
}

struct Geometry {
  memory::dims src, weights, dst, stride, padding;
  int64_t n, c, o, hw;  // batch, input and output channels, output pixels
  int64_t block = kLanes;  // channels per block of the output's blocked layout: 8 (nChw8c) or 16 (nChw16c)

  // `x`: NCHW sizes, or (N, C/B, H, W, B) for a channel-blocked input.
  Geometry(at::IntArrayRef x, at::IntArrayRef w, at::IntArrayRef s, at::IntArrayRef p)
      : src(x.size() == 5 ? memory::dims{x[0], x[1] * x[4], x[2], x[3]} : x.vec()),
        weights(w.vec()),
        stride(s.vec()),
        padding(p.vec()) {
    const int64_t oh = (src[2] + 2 * p[0] - weights[2]) / s[0] + 1, ow = (src[3] + 2 * p[1] - weights[3]) / s[1] + 1;
    dst = {src[0], weights[0], oh, ow};
    n = src[0], c = src[1], o = weights[0], hw = oh * ow;
  }
  static memory::desc any(const memory::dims &d) { return memory::desc(d, f32, tag::any); }
  static memory::desc plain(const memory::dims &d) { return memory::desc(d, f32, tag::abcd); }
  static memory::desc blocked(const memory::dims &d, int64_t block) {
    return memory::desc(d, f32, block == 16 ? tag::nChw16c : tag::nChw8c);
  }
  // The layout of an activation tensor: blocked when it is (N, C/B, H, W, B), else NCHW.
  static memory::desc layout_of(at::IntArrayRef shape, const memory::dims &d) {
    return shape.size() == 5 ? blocked(d, shape[4]) : plain(d);
  }
  std::vector<int64_t> blocked_shape(const memory::dims &d) const { return {d[0], d[1] / block, d[2], d[3], block}; }
  // Where channel c of image n starts: in the blocked output (its pixels `block` floats apart), or in NCHW.
  int64_t blocked_offset(int64_t image, int64_t channel) const {
    return (image * o + channel / block * block) * hw + channel % block;
  }
  int64_t plain_offset(int64_t image, int64_t channel) const { return (image * o + channel) * hw; }

  // The block of `d` if it is the channel-blocked layout of `dims` (8 or 16 channels per pixel), else 0.
  static int64_t block_of(const memory::desc &d, const memory::dims &dims) {
    for (int64_t block : {kLanes, 2 * kLanes})
      if (d == blocked(dims, block) && dims[1] % block == 0) return block;
    return 0;
  }

  dnnl::convolution_forward::primitive_desc forward() const {
    dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct,
                                      any(src), any(weights), any(dst), stride, padding, padding);
    return {d, cpu_engine()};
  }
};

// ---- AVX2 kernels over one (image, 8 channels): `hw` pixels, each pixel's 8 channels side by side and `ps` floats
// after the previous pixel's (8 in nChw8c, 16 in nChw16c) ----------------------------------------------------------
#define AVX2 __attribute__((target("avx2,fma")))

// Transposes 8 registers as an 8x8 matrix: pixel-major (lanes = channels) <-> channel-major (lanes = pixels).
AVX2 inline void transpose8(__m256 r[8]) {
  __m256 t[8], s[8];
  for (int i = 0; i < 4; ++i) {
    t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 2; ++i) {
    s[4 * i + 0] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    s[4 * i + 1] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    s[4 * i + 2] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    s[4 * i + 3] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int i = 0; i < 4; ++i) {
    r[i] = _mm256_permute2f128_ps(s[i], s[i + 4], 0x20);
    r[i + 4] = _mm256_permute2f128_ps(s[i], s[i + 4], 0x31);
  }
}

// e^x to about 1 ulp over float's range (Cephes' polynomial after reducing by powers of two).
AVX2 inline __m256 exp8(__m256 x) {
  x = _mm256_max_ps(_mm256_min_ps(x, _mm256_set1_ps(88.3762626647949f)), _mm256_set1_ps(-87.3365447504f));
  __m256 k = _mm256_floor_ps(_mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), _mm256_set1_ps(0.5f)));
  x = _mm256_fnmadd_ps(k, _mm256_set1_ps(0.693359375f), x);
  x = _mm256_fnmadd_ps(k, _mm256_set1_ps(-2.12194440e-4f), x);
  __m256 y = _mm256_set1_ps(1.9875691500E-4f);
  for (float c : {1.3981999507E-3f, 8.3334519073E-3f, 4.1665795894E-2f, 1.6666665459E-1f, 5.0000001201E-1f})
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(c));
  y = _mm256_fmadd_ps(y, _mm256_mul_ps(x, x), _mm256_add_ps(x, _mm256_set1_ps(1.0f)));
  __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(y, _mm256_castsi256_ps(e));
}
// 1 / (1 + e^-x): the reciprocal estimate refined by one Newton step (relative error ~1e-7, cheaper than a divide).
AVX2 inline __m256 sigmoid8(__m256 x) {
  const __m256 d = _mm256_add_ps(_mm256_set1_ps(1.0f), exp8(_mm256_sub_ps(_mm256_setzero_ps(), x)));
  const __m256 r = _mm256_rcp_ps(d);
  return _mm256_mul_ps(r, _mm256_fnmadd_ps(d, r, _mm256_set1_ps(2.0f)));
}
inline float sigmoid1(float x) { return 1.0f / (1.0f + std::exp(-x)); }

// Adds 8 floats to 8 double accumulators (two registers).
AVX2 inline void accumulate(__m256d acc[2], __m256 v) {
  acc[0] = _mm256_add_pd(acc[0], _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
  acc[1] = _mm256_add_pd(acc[1], _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
}
AVX2 inline void store(double *out, const __m256d acc[2]) {
  _mm256_storeu_pd(out, acc[0]);
  _mm256_storeu_pd(out + 4, acc[1]);
}

// Sum and sum of squares of each channel over the block's pixels.
AVX2 void block_moments(const float *y, int64_t hw, int64_t ps, double *sum, double *squares) {
  __m256d s[2] = {_mm256_setzero_pd(), _mm256_setzero_pd()}, q[2] = {_mm256_setzero_pd(), _mm256_setzero_pd()};
  for (int64_t i = 0; i < hw; ++i) {
    const __m256 v = _mm256_loadu_ps(y + i * ps);
    accumulate(s, v);
    accumulate(q, _mm256_mul_ps(v, v));
  }
  store(sum, s);
  store(squares, q);
}

// out = silu(y * scale + shift): blocked as y, or channel-major with rows `stride` apart when `stride` > 0.
AVX2 void block_normalize_silu(const float *y, int64_t hw, int64_t ps, const float *scale, const float *shift,
                               float *out, int64_t stride) {
  const __m256 a = _mm256_loadu_ps(scale), b = _mm256_loadu_ps(shift);
  if (stride == 0) {
    for (int64_t i = 0; i < hw * ps; i += ps) {
      const __m256 v = _mm256_fmadd_ps(_mm256_loadu_ps(y + i), a, b);
      _mm256_storeu_ps(out + i, _mm256_mul_ps(v, sigmoid8(v)));
    }
    return;
  }
  int64_t i = 0;
  for (; i + kLanes <= hw; i += kLanes) {
    __m256 r[8];
    for (int j = 0; j < 8; ++j) {
      const __m256 v = _mm256_fmadd_ps(_mm256_loadu_ps(y + (i + j) * ps), a, b);
      r[j] = _mm256_mul_ps(v, sigmoid8(v));
    }
    transpose8(r);
    for (int c = 0; c < 8; ++c) _mm256_storeu_ps(out + c * stride + i, r[c]);
  }
  for (; i < hw; ++i)
    for (int c = 0; c < 8; ++c) {
      const float v = y[i * ps + c] * scale[c] + shift[c];
      out[c * stride + i] = v * sigmoid1(v);
    }
}

// One pixel of block_silu_backward: its 8 channels' gradient `grad` at y.
AVX2 inline void silu_backward_pixel(__m256 grad, const float *y, __m256 mean, __m256 invstd, __m256 gamma,
                                     __m256 beta, float *d, __m256d sum_d[2], __m256d sum_dx[2]) {
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 xhat = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(y), mean), invstd);
  const __m256 v = _mm256_fmadd_ps(gamma, xhat, beta), s = sigmoid8(v);
  // silu'(v) = s * (1 + v * (1 - s))
  const __m256 dv = _mm256_mul_ps(grad, _mm256_mul_ps(s, _mm256_fmadd_ps(v, _mm256_sub_ps(one, s), one)));
  _mm256_storeu_ps(d, dv);
  accumulate(sum_d, dv);
  accumulate(sum_dx, _mm256_mul_ps(dv, xhat));
}

// d (blocked) = dL/d(batch norm's output) from the output's gradient g (blocked, or channel-major with rows `stride`
// apart when `stride` > 0), and the sums of d and d * x̂ per channel (x̂ = (y - mean) * invstd).
AVX2 void block_silu_backward(const float *y, const float *g, int64_t stride, int64_t hw, int64_t ps,
                              const float *mean, const float *invstd, const float *gamma, const float *beta, float *d,
                              double *sum_d, double *sum_dx) {
  const __m256 m = _mm256_loadu_ps(mean), is = _mm256_loadu_ps(invstd), ga = _mm256_loadu_ps(gamma),
               be = _mm256_loadu_ps(beta);
  __m256d sd[2] = {_mm256_setzero_pd(), _mm256_setzero_pd()}, sx[2] = {_mm256_setzero_pd(), _mm256_setzero_pd()};
  int64_t i = 0;
  if (stride == 0) {
    for (; i < hw; ++i)
      silu_backward_pixel(_mm256_loadu_ps(g + i * ps), y + i * ps, m, is, ga, be, d + i * ps, sd, sx);
  }
  for (; stride > 0 && i + kLanes <= hw; i += kLanes) {
    __m256 r[8];
    for (int c = 0; c < 8; ++c) r[c] = _mm256_loadu_ps(g + c * stride + i);
    transpose8(r);
    for (int j = 0; j < 8; ++j)
      silu_backward_pixel(r[j], y + (i + j) * ps, m, is, ga, be, d + (i + j) * ps, sd, sx);
  }
  for (; i < hw; ++i) {
    alignas(32) float column[8];
    for (int c = 0; c < 8; ++c) column[c] = g[c * stride + i];
    silu_backward_pixel(_mm256_load_ps(column), y + i * ps, m, is, ga, be, d + i * ps, sd, sx);
  }
  store(sum_d, sd);
  store(sum_dx, sx);
}

// d = k * d + p * y + q in place: batch norm's input gradient from d = dL/d(its output).
AVX2 void block_batch_norm_backward(const float *y, int64_t hw, int64_t ps, const float *k, const float *p,
                                    const float *q, float *d) {
  const __m256 kv = _mm256_loadu_ps(k), pv = _mm256_loadu_ps(p), qv = _mm256_loadu_ps(q);
  for (int64_t i = 0; i < hw * ps; i += ps) {
    const __m256 v = _mm256_fmadd_ps(pv, _mm256_loadu_ps(y + i), qv);
    _mm256_storeu_ps(d + i, _mm256_fmadd_ps(kv, _mm256_loadu_ps(d + i), v));
  }
}

}  // namespace

// libgomp's entry for `#pragma omp parallel`, as GCC emits it. ATen's parallel_for is a header template whose pragma
// this clang-compiled file cannot use (no -fopenmp, whose runtime would be LLVM's, not the libgomp libtorch runs on),
// so the kernels join libtorch's OpenMP threads through it directly.
extern "C" {
void GOMP_parallel(void (*fn)(void *), void *data, unsigned num_threads, unsigned flags);
int omp_get_thread_num(void);
int omp_get_num_threads(void);
}

namespace {

// Runs body(image, first channel) over every image and 8 output channels, split evenly over libtorch's threads.
template <typename F>
void each_block(const Geometry &g, F body) {
  const int64_t blocks = g.o / kLanes, count = g.n * blocks;
  struct Job {
    F *body;
    int64_t blocks, count;
    void run(int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) (*body)(i / blocks, i % blocks * kLanes);
    }
  } job{&body, blocks, count};
  const int64_t threads = std::min<int64_t>(at::get_num_threads(), count);
  if (threads <= 1 || at::in_parallel_region()) return job.run(0, count);
  GOMP_parallel(
      [](void *data) {
        Job &j = *static_cast<Job *>(data);
        const int64_t t = omp_get_thread_num(), n = omp_get_num_threads(), chunk = (j.count + n - 1) / n;
        j.run(std::min(j.count, t * chunk), std::min(j.count, (t + 1) * chunk));
      },
      &job, static_cast<unsigned>(threads), 0);
}

// Per-channel sums of `partial` ([n][o] values), added image by image in order: the same result on any thread count.
std::vector<double> channel_totals(const std::vector<double> &partial, const Geometry &g) {
  std::vector<double> total(g.o, 0.0);
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t c = 0; c < g.o; ++c) total[c] += partial[n * g.o + c];
  return total;
}

// Whether the weight's gradient takes weight_gradient.h's Winograd form: a 3x3 stride-1 convolution of 16 or more
// channels each way over 256 or more pixels (at yolov8's shapes, where it is faster than oneDNN's), with the output's
// gradient channel-blocked and the input blocked or NCHW, on a CPU with AVX2 and FMA, Winograd convolutions on.
bool winograd_gradient_applies(const Geometry &g, const memory::desc &src, const memory::desc &dst) {
  return g.weights[2] == 3 && g.weights[3] == 3 && g.stride[0] == 1 && g.stride[1] == 1 && g.padding[0] <= 2 &&
         g.padding[1] <= 2 && g.c >= 16 && g.o >= 16 && g.src[2] * g.src[3] >= 256 && winograd::enabled &&
         winograd_gradient::available() && dst == Geometry::blocked(g.dst, g.block) &&
         (src == Geometry::blocked(g.src, g.block) || src == Geometry::plain(g.src));
}

struct ConvBatchNormSiLU : torch::autograd::Function<ConvBatchNormSiLU> {
  // x: NCHW or channel-blocked; the output is channel-blocked when `blocked_output`, else NCHW. Returns the output,
  // the batch's mean and its unbiased variance (not differentiable): the caller updates the running statistics, so
  // that this node modifies none of its inputs.
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext *ctx, const at::Tensor &x,
                                                const at::Tensor &w, const at::Tensor &gamma, const at::Tensor &beta,
                                                at::IntArrayRef stride, at::IntArrayRef padding, double eps,
                                                bool blocked_output) {
    Geometry g(x.sizes(), w.sizes(), stride, padding);
    const auto pd = g.forward();
    g.block = Geometry::block_of(pd.dst_desc(), g.dst);  // fusable() made sure it is one
    dnnl::stream stream(cpu_engine());
    const at::Tensor src = relayout(x, Geometry::layout_of(x.sizes(), g.src), pd.src_desc(), stream);
    const at::Tensor weights = relayout(w, Geometry::plain(g.weights), pd.weights_desc(), stream);
    at::Tensor y = buffer_for(pd.dst_desc());
    memory src_m = view(pd.src_desc(), src), w_m = view(pd.weights_desc(), weights), y_m = view(pd.dst_desc(), y);
    dnnl::convolution_forward(pd).execute(
        stream, {{DNNL_ARG_SRC, src_m}, {DNNL_ARG_WEIGHTS, w_m}, {DNNL_ARG_DST, y_m}});
    stream.wait();

    // The batch's statistics (the running ones take the unbiased variance, as batch norm does).
    const float *yp = y.data_ptr<float>();
    std::vector<double> sums(g.n * g.o), squares(g.n * g.o);
    each_block(g, [&](int64_t n, int64_t c) {
      block_moments(yp + g.blocked_offset(n, c), g.hw, g.block, &sums[n * g.o + c], &squares[n * g.o + c]);
    });
    const std::vector<double> sum = channel_totals(sums, g), square = channel_totals(squares, g);
    const double count = static_cast<double>(g.n * g.hw);
    at::Tensor mean = at::empty({g.o}, at::kFloat), invstd = at::empty({g.o}, at::kFloat);
    at::Tensor batch_var = at::empty({g.o}, at::kFloat);
    for (int64_t c = 0; c < g.o; ++c) {
      const double mu = sum[c] / count, var = std::max(square[c] / count - mu * mu, 0.0);
      mean.data_ptr<float>()[c] = static_cast<float>(mu);
      invstd.data_ptr<float>()[c] = static_cast<float>(1.0 / std::sqrt(var + eps));
      batch_var.data_ptr<float>()[c] = static_cast<float>(var * count / (count - 1));
    }

    const at::Tensor scale = (gamma * invstd).contiguous(), shift = (beta - mean * scale).contiguous();
    at::Tensor out = at::empty(blocked_output ? g.blocked_shape(g.dst) : g.dst, x.options());
    float *op = out.data_ptr<float>();
    each_block(g, [&](int64_t n, int64_t c) {
      const int64_t at = g.blocked_offset(n, c);
      block_normalize_silu(yp + at, g.hw, g.block, scale.data_ptr<float>() + c, shift.data_ptr<float>() + c,
                           op + (blocked_output ? at : g.plain_offset(n, c)), blocked_output ? 0 : g.hw);
    });

    ctx->save_for_backward({src, w, y, gamma, beta, mean, invstd});
    ctx->saved_data["shape"] = x.sizes().vec();
    ctx->saved_data["stride"] = stride.vec();
    ctx->saved_data["padding"] = padding.vec();
    ctx->saved_data["blocked_output"] = blocked_output;
    ctx->mark_non_differentiable({mean, batch_var});
    return {out, mean, batch_var};
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext *ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor &src = saved[0], &w = saved[1], &y = saved[2], &gamma = saved[3], &beta = saved[4],
                     &mean = saved[5], &invstd = saved[6];
    const std::vector<int64_t> x_shape = ctx->saved_data["shape"].toIntVector();
    Geometry g(x_shape, w.sizes(), ctx->saved_data["stride"].toIntVector(), ctx->saved_data["padding"].toIntVector());
    const auto fpd = g.forward();
    g.block = Geometry::block_of(fpd.dst_desc(), g.dst);
    const bool blocked_output = ctx->saved_data["blocked_output"].toBool();
    // Autograd materialises a missing gradient as zeros and checks its shape against the output's; the kernels
    // below read float32 in that shape's standard layout.
    const std::vector<int64_t> shape = blocked_output ? g.blocked_shape(g.dst) : g.dst;
    TORCH_CHECK(grads[0].defined() && grads[0].sizes() == at::IntArrayRef(shape),
                "conv_bn_silu backward: a gradient of shape ", grads[0].defined() ? grads[0].sizes() : at::IntArrayRef{},
                " for an output of shape ", at::IntArrayRef(shape));
    const at::Tensor grad = grads[0].to(at::kFloat).contiguous();

    // SiLU's and batch norm's gradients, written blocked into `d`.
    at::Tensor d = at::empty_like(y);
    const float *yp = y.data_ptr<float>(), *gp = grad.data_ptr<float>();
    float *dp = d.data_ptr<float>();
    std::vector<double> sums_d(g.n * g.o), sums_dx(g.n * g.o);
    each_block(g, [&](int64_t n, int64_t c) {
      const int64_t offset = g.blocked_offset(n, c);
      block_silu_backward(yp + offset, gp + (blocked_output ? offset : g.plain_offset(n, c)), blocked_output ? 0 : g.hw,
                          g.hw, g.block, mean.data_ptr<float>() + c, invstd.data_ptr<float>() + c,
                          gamma.data_ptr<float>() + c, beta.data_ptr<float>() + c, dp + offset, &sums_d[n * g.o + c],
                          &sums_dx[n * g.o + c]);
    });
    const std::vector<double> sum_d = channel_totals(sums_d, g), sum_dx = channel_totals(sums_dx, g);
    const double count = static_cast<double>(g.n * g.hw);
    at::Tensor grad_gamma = at::empty({g.o}, at::kFloat), grad_beta = at::empty({g.o}, at::kFloat);
    std::vector<float> k(g.o), p(g.o), q(g.o);
    for (int64_t c = 0; c < g.o; ++c) {
      grad_gamma.data_ptr<float>()[c] = static_cast<float>(sum_dx[c]);
      grad_beta.data_ptr<float>()[c] = static_cast<float>(sum_d[c]);
      // dy = k * (d - sum_d / count - x̂ * sum_dx / count), with k = gamma * invstd and x̂ = (y - mean) * invstd.
      const double is = invstd.data_ptr<float>()[c], kc = gamma.data_ptr<float>()[c] * is;
      const double pc = -kc * is * sum_dx[c] / count;
      k[c] = static_cast<float>(kc);
      p[c] = static_cast<float>(pc);
      q[c] = static_cast<float>(-kc * sum_d[c] / count - pc * mean.data_ptr<float>()[c]);
    }
    each_block(g, [&](int64_t n, int64_t c) {
      const int64_t offset = g.blocked_offset(n, c);
      block_batch_norm_backward(yp + offset, g.hw, g.block, &k[c], &p[c], &q[c], dp + offset);
    });

    // The convolution's gradients from the blocked `d` and the forward's input as oneDNN took it.
    dnnl::stream stream(cpu_engine());
    const memory::desc d_desc = fpd.dst_desc();
    at::Tensor grad_x, grad_w;
    if (ctx->needs_input_grad(0)) {
      dnnl::convolution_backward_data::desc bd(dnnl::algorithm::convolution_direct, Geometry::any(g.src),
                                               Geometry::any(g.weights), Geometry::any(g.dst), g.stride, g.padding,
                                               g.padding);
      dnnl::convolution_backward_data::primitive_desc bpd(bd, cpu_engine(), fpd);
      const at::Tensor dd = relayout(d, d_desc, bpd.diff_dst_desc(), stream);
      const at::Tensor weights = relayout(w, Geometry::plain(g.weights), bpd.weights_desc(), stream);
      at::Tensor dx = buffer_for(bpd.diff_src_desc());
      memory dd_m = view(bpd.diff_dst_desc(), dd), w_m = view(bpd.weights_desc(), weights),
             dx_m = view(bpd.diff_src_desc(), dx);
      dnnl::convolution_backward_data(bpd).execute(
          stream, {{DNNL_ARG_DIFF_DST, dd_m}, {DNNL_ARG_WEIGHTS, w_m}, {DNNL_ARG_DIFF_SRC, dx_m}});
      // In the input's own layout.
      grad_x = relayout(dx, bpd.diff_src_desc(), Geometry::layout_of(x_shape, g.src), stream).view(x_shape);
    }
    if (ctx->needs_input_grad(1) && winograd_gradient_applies(g, fpd.src_desc(), d_desc)) {
      // 3x3 at stride 1: weight_gradient.h's Winograd form reads the blocked gradient and input in place.
      const int64_t src_block = fpd.src_desc() == Geometry::plain(g.src) ? 0 : g.block;
      const int64_t h = g.src[2], width = g.src[3], oh = g.dst[2], ow = g.dst[3];
      const winograd_gradient::Side input{src.data_ptr<float>(), g.c, h, width, g.c * h * width,
                                          h * width * std::max<int64_t>(src_block, 1), g.padding[0], g.padding[1],
                                          src_block};
      const winograd_gradient::Side gradient{d.data_ptr<float>(), g.o, oh, ow, g.o * oh * ow, oh * ow * g.block, 0, 0,
                                             g.block};
      grad_w = winograd_gradient::weight_gradient(input, gradient, g.n);
    } else if (ctx->needs_input_grad(1)) {
      dnnl::convolution_backward_weights::desc wd(dnnl::algorithm::convolution_direct, Geometry::any(g.src),
                                                  Geometry::any(g.weights), Geometry::any(g.dst), g.stride,
                                                  g.padding, g.padding);
      dnnl::convolution_backward_weights::primitive_desc wpd(wd, cpu_engine(), fpd);
      const at::Tensor dd = relayout(d, d_desc, wpd.diff_dst_desc(), stream);
      const at::Tensor s = relayout(src, fpd.src_desc(), wpd.src_desc(), stream);
      at::Tensor dw = buffer_for(wpd.diff_weights_desc());
      memory dd_m = view(wpd.diff_dst_desc(), dd), s_m = view(wpd.src_desc(), s),
             dw_m = view(wpd.diff_weights_desc(), dw);
      dnnl::convolution_backward_weights(wpd).execute(
          stream, {{DNNL_ARG_DIFF_DST, dd_m}, {DNNL_ARG_SRC, s_m}, {DNNL_ARG_DIFF_WEIGHTS, dw_m}});
      grad_w = relayout(dw, wpd.diff_weights_desc(), Geometry::plain(g.weights), stream).view(g.weights);
    }
    stream.wait();
    return {grad_x, grad_w, grad_gamma, grad_beta, {}, {}, {}, {}};
  }
};

// Whether the fused node applies: float NCHW or channel-blocked input on a CPU with AVX2 (autocast off), a plain
// convolution (no groups or dilation), and oneDNN choosing a channel-blocked output whose blocks the channels fill:
// nChw8c on AVX2, nChw16c on AVX-512 (channel counts that are not a multiple of 16 take the composition there).
bool fusable(const at::Tensor &x, const at::Tensor &w, at::IntArrayRef stride, at::IntArrayRef padding) {
  const bool avx2 = cpu_has_avx2_fma();
  const auto cpu_float = [](const at::Tensor &t) {
    return t.defined() && t.device().is_cpu() && t.layout() == at::kStrided && t.scalar_type() == at::kFloat;
  };
  const bool blocked = x.dim() == 5 && (x.size(4) == kLanes || x.size(4) == 2 * kLanes);
  // Under CPU autocast the composition runs in its lower precision; this node is float32 only.
  if (!avx2 || autocast_enabled(at::kCPU) || !at::globalContext().userEnabledMkldnn() || !cpu_float(x) || !cpu_float(w) ||
      !(x.dim() == 4 || blocked) || w.dim() != 4 || w.size(0) % kLanes != 0 || stride.size() != 2 ||
      padding.size() != 2)
    return false;
  const Geometry g(x.sizes(), w.sizes(), stride, padding);
  if (g.c != w.size(1) || g.dst[2] < 1 || g.dst[3] < 1 || g.n * g.hw < 2) return false;
  return Geometry::block_of(g.forward().dst_desc(), g.dst) != 0;
}

}  // namespace
#endif

ct_tensor ct_conv_bn_silu(ct_tensor x, ct_tensor w, ct_tensor gamma, ct_tensor beta, ct_tensor running_mean,
                          ct_tensor running_var, const int64_t stride[2], const int64_t padding[2], double momentum,
                          double eps, bool blocked_output) {
  CT_HANDLE([&] {
    const at::Tensor rm = running_mean ? T(running_mean) : at::Tensor();
    const at::Tensor rv = running_var ? T(running_var) : at::Tensor();
#ifdef CT_ONEDNN
    if (fusable(T(x), T(w), dims(stride, 2), dims(padding, 2)) && T(gamma).scalar_type() == at::kFloat &&
        T(beta).scalar_type() == at::kFloat) {
      auto outputs = ConvBatchNormSiLU::apply(T(x).contiguous(), T(w).contiguous(), T(gamma).contiguous(),
                                              T(beta).contiguous(), dims(stride, 2), dims(padding, 2), eps,
                                              blocked_output);
      at::NoGradGuard no_grad;
      if (rm.defined()) at::Tensor(rm).mul_(1 - momentum).add_(outputs[1], momentum);
      if (rv.defined()) at::Tensor(rv).mul_(1 - momentum).add_(outputs[2], momentum);
      return wrap(outputs[0]);
    }
#endif
    return wrap(unfused(channels_first(T(x)), T(w), T(gamma), T(beta), rm, rv, dims(stride, 2), dims(padding, 2), momentum, eps));
  }());
}

int ct_conv_bn_silu_fused(ct_tensor x, ct_tensor w, const int64_t stride[2], const int64_t padding[2]) {
#ifdef CT_ONEDNN
  CT_BOOL(fusable(T(x), T(w), dims(stride, 2), dims(padding, 2)));
#else
  CT_BOOL(((void)T(x), (void)T(w), false));  // (the handles checked all the same)
#endif
}

int ct_conv_bn_silu_support(void) {
#ifdef CT_ONEDNN
  // A 16 -> 16 channel 3x3 convolution: fused wherever this CPU and oneDNN take any.
  return ctorch::guard<int>(-1, [] {
    const at::Tensor x = at::zeros({2, 16, 8, 8}), w = at::zeros({16, 16, 3, 3});
    return fusable(x, w, {1, 1}, {1, 1}) ? 2 : 1;
  });
#else
  return 0;  // nothrow: a constant
#endif
}
