// NNPACK's Winograd convolution, at inference (training.cpp's ct_conv2d) and in training's Conv block
// (conv_block.cpp's fallback); a header so that it adds no translation unit.
//
// F(6x6, 3x3) on 8x8 tiles: 2.25x fewer multiplications than a direct convolution. Builds of libtorch with NNPACK
// (pip's) never choose it on x86, where oneDNN comes first; at inference, 3x3 stride-1 convolutions of 32 or more
// channels take 0.5-0.6x oneDNN's time on AVX2 (yolov8n at 640x480, 2 threads: 42 instead of 71 ms over its 3x3
// stride-1 layers). With the weights' transforms computed once, maps down to 256 pixels gain too (zidane.jpg at
// 640x384, whose stride-16 maps have 960: 0.76-0.80 of the reference's latency instead of 0.86-0.90). NNPACK checks
// the CPU when it starts (AVX2 and FMA on x86) and reports itself unavailable elsewhere; Debian's libtorch 1.13 has
// no NNPACK at all.
#pragma once
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include <atomic>
#include <mutex>
#include <unordered_map>

#include "common.h"
#include "weight_gradient.h"

// NNPACK's header ships with the libtorch builds that include it (pip's); Debian's 1.13 has neither.
#if defined(__x86_64__) && __has_include(<nnpack.h>)
#include <nnpack.h>
#define CT_NNPACK 1
#endif

namespace winograd {

inline std::atomic<bool> enabled{true};

inline bool available() {
#ifdef CT_NNPACK
  return at::_nnpack_available();  // starts NNPACK, once
#else
  return false;
#endif
}

// Whether conv2d(x, w) with these parameters runs here (x and w are float32 CPU tensors outside autograd).
inline bool applies(const at::Tensor &x, const at::Tensor &w, const int64_t stride[2], const int64_t padding[2],
                    const int64_t dilation[2], int64_t groups) {
  return w.dim() == 4 && w.size(2) == 3 && w.size(3) == 3 && stride[0] == 1 && stride[1] == 1 && dilation[0] == 1 &&
         dilation[1] == 1 && groups == 1 && padding[0] >= 0 && padding[0] < 3 && padding[1] >= 0 && padding[1] < 3 &&
         x.size(1) >= 32 && w.size(0) >= 32 && x.size(2) * x.size(3) >= 256 && enabled && available();
}

#ifdef CT_NNPACK
inline void check(nnp_status status) {
  TORCH_CHECK(status == nnp_status_success, "NNPACK's convolution failed (status ", static_cast<int>(status), ")");
}

// 64-byte aligned scratch memory of at least `size` bytes, kept per thread: allocated by NNPACK on every call, its
// pages would be faulted in anew each time.
inline void *scratch(size_t size) {
  thread_local at::Tensor memory;
  if (!memory.defined() || static_cast<size_t>(memory.numel()) < size + 64)
    memory = at::empty({static_cast<int64_t>(size + 64)}, at::kByte);
  return reinterpret_cast<void *>((reinterpret_cast<uintptr_t>(memory.data_ptr()) + 63) & ~uintptr_t(63));
}

// Rows first..<end of image `image` of x as NCHW planes [C, rows, W], which NNPACK reads: a view where x is NCHW and
// whole images are asked for, else a copy, transposed without libtorch's slower strided copy where the channels of
// a pixel are adjacent: channels-last maps, and channel slices of them (C2f's chunks).
inline at::Tensor channel_planes(const at::Tensor &x, int64_t image, int64_t first, int64_t end) {
  const at::Tensor rows = x[image].slice(1, first, end);
  if (rows.is_contiguous()) return rows;
  const int64_t pixel_stride = x.stride(3);
  if (x.stride(1) != 1 || x.stride(2) != pixel_stride * x.size(3)) return rows.contiguous();
  const int64_t c = x.size(1), pixels = (end - first) * x.size(3);
  at::Tensor planes = at::empty({c, end - first, x.size(3)}, x.options());
  ctorch::transpose(rows.data_ptr<float>(), pixels, c, pixel_stride, planes.data_ptr<float>(), pixels);
  return planes;
}

// Writes planes [O, rows, W] into `target`, the same rows of the output (channels-last, or NCHW when not contiguous).
inline void write_planes(const at::Tensor &planes, const at::Tensor &target, bool channels_last) {
  if (!channels_last) return (void)target.copy_(planes);
  const int64_t o = planes.size(0), pixels = planes.size(1) * planes.size(2);
  ctorch::transpose(planes.data_ptr<float>(), o, pixels, pixels, target.data_ptr<float>(), o);
}

// The Winograd transform of a weight [O, C, 3, 3] (NNPACK's precompute strategy: 64 floats per kernel).
inline at::Tensor compute_transform(const at::Tensor &weight) {
  const at::Tensor w = weight.contiguous();
  const auto transform_into = [&](void *buffer, size_t *size) {
    nnp_size input_size, kernel_size, subsampling;
    input_size.width = input_size.height = 8;  // any: the kernel's transform does not depend on it
    kernel_size.width = kernel_size.height = 3;
    subsampling.width = subsampling.height = 1;
    nnp_padding pad{};
    return nnp_convolution_inference(nnp_convolution_algorithm_wt8x8, nnp_convolution_transform_strategy_precompute,
                                     w.size(1), w.size(0), input_size, pad, kernel_size, subsampling, nullptr,
                                     w.data_ptr<float>(), nullptr, nullptr, buffer, size, nnp_activation_identity,
                                     nullptr, nullptr, nullptr);
  };
  size_t size = 0;
  check(transform_into(nullptr, &size));
  at::Tensor transform = at::empty({static_cast<int64_t>(size / sizeof(float) + 16)}, at::kFloat);
  const auto address = reinterpret_cast<uintptr_t>(transform.data_ptr());
  const auto aligned = (address + 63) & ~uintptr_t(63);  // NNPACK's alignment
  check(transform_into(reinterpret_cast<void *>(aligned), &size));
  return transform.narrow(0, static_cast<int64_t>((aligned - address) / sizeof(float)),
                          static_cast<int64_t>(size / sizeof(float)));
}

// compute_transform(weight), kept per weight and version (a call transforms the weight otherwise). Only for weights
// that do not require gradients (a fused model's): libtorch's optimizers update parameters through `.data()`, which
// leaves their version unchanged. Entries hold their weight weakly; those of weights that are gone are dropped at the
// next insertion. The transforms take 7x their weights' memory: past 256 MB of them (yolov8n needs about 45 MB)
// further weights are transformed at each call.
inline at::Tensor kernel_transform(const at::Tensor &weight) {
  if (weight.requires_grad()) return compute_transform(weight);
  struct Entry {
    c10::weak_intrusive_ptr<c10::TensorImpl, c10::UndefinedTensorImpl> weight;
    const void *data;
    int64_t version;
    at::Tensor transform;
  };
  static std::mutex lock;
  static std::unordered_map<const c10::TensorImpl *, Entry> entries;
  const int64_t version = weight.is_inference() ? 0 : weight._version();
  std::lock_guard<std::mutex> hold(lock);
  const auto found = entries.find(weight.unsafeGetTensorImpl());
  if (found != entries.end() && !found->second.weight.expired() && found->second.data == weight.data_ptr() &&
      found->second.version == version)
    return found->second.transform;
  if (found != entries.end()) entries.erase(found);
  int64_t bytes = 0;
  for (auto e = entries.begin(); e != entries.end();)
    if (e->second.weight.expired()) {
      e = entries.erase(e);
    } else {
      bytes += e->second.transform.nbytes();
      ++e;
    }
  const at::Tensor transform = compute_transform(weight);
  if (bytes + static_cast<int64_t>(transform.nbytes()) > (int64_t(256) << 20)) return transform;
  entries.insert_or_assign(weight.unsafeGetTensorImpl(),
                           Entry{c10::weak_intrusive_ptr<c10::TensorImpl, c10::UndefinedTensorImpl>(
                                     weight.getIntrusivePtr()),
                                 weight.data_ptr(), version, transform});
  return transform;
}

// conv2d(x, w, b) (then SiLU), 3x3 at stride 1, by NNPACK's Winograd kernel on libtorch's OpenMP threads: each job
// is a band of output rows of one image (one image per job once there are as many images as threads). A job copies
// its input rows (with their halo) to NCHW, which NNPACK reads, convolves them on its own thread with the weight's
// transform, applies SiLU and writes the rows into the output in the input's layout: one copy in and one
// out, whatever the layout. Not through NNPACK's own thread pool: its workers and OpenMP's spin while they wait, and
// on 2 cores each pool then ran on one core after the other's turn (twice the time inside yolov8n as alone).
inline at::Tensor convolve(const at::Tensor &x, const at::Tensor &w, const at::Tensor &b, const int64_t padding[2],
                           bool silu, const at::Tensor &transform) {
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), width = x.size(3), o = w.size(0);
  const int64_t oh = h + 2 * padding[0] - 2, ow = width + 2 * padding[1] - 2;
  const auto layout = x.suggest_memory_format();  // the next layers expect the input's
  at::Tensor y = at::empty({n, o, oh, ow}, x.options().memory_format(layout));
  const at::Tensor bias = b.defined() ? b.contiguous() : at::zeros({o}, w.options());
  // Images split into bands until every thread has one (each band at least one 6-row tile high).
  const int64_t bands = std::max<int64_t>(1, std::min<int64_t>((at::get_num_threads() + n - 1) / n, oh / 6));
  ctorch::parallel_jobs(n * bands, [&](int64_t job) {
    const int64_t image = job / bands, band = job % bands;
    const int64_t r0 = oh * band / bands, r1 = oh * (band + 1) / bands;
    // Output rows r0..<r1 read input rows top..<bottom; those outside the image are NNPACK's zero padding.
    const int64_t top = r0 - padding[0], bottom = r1 + 2 - padding[0];
    const int64_t first = std::max<int64_t>(top, 0), end = std::min<int64_t>(bottom, h);
    const at::Tensor input = channel_planes(x, image, first, end);
    const at::Tensor target = y[image].slice(1, r0, r1);
    at::Tensor out = target.is_contiguous() ? target : at::empty({o, r1 - r0, ow}, x.options());
    nnp_size input_size, kernel_size, subsampling;
    input_size.width = width, input_size.height = end - first;
    kernel_size.width = kernel_size.height = 3;
    subsampling.width = subsampling.height = 1;
    nnp_padding pad;
    pad.top = first - top, pad.bottom = bottom - end, pad.left = pad.right = padding[1];
    const auto convolve_into = [&](void *buffer, size_t *size) {
      return nnp_convolution_inference(nnp_convolution_algorithm_wt8x8, nnp_convolution_transform_strategy_reuse, c,
                                       o, input_size, pad, kernel_size, subsampling, input.data_ptr<float>(),
                                       transform.data_ptr<float>(), bias.data_ptr<float>(), out.data_ptr<float>(),
                                       buffer, size, nnp_activation_identity, nullptr, nullptr, nullptr);
    };
    size_t size = 0;
    check(convolve_into(nullptr, &size));  // the scratch size this convolution needs
    check(convolve_into(scratch(size), &size));
    if (silu) at::silu_(out);
    if (!out.is_same(target)) write_planes(out, target, layout == at::MemoryFormat::ChannelsLast);
  });
  return y;
}

// conv2d(x, w) at inference, with the weight's transform kept between calls.
inline at::Tensor convolve(const at::Tensor &x, const at::Tensor &w, const at::Tensor &b, const int64_t padding[2],
                           bool silu) {
  return convolve(x, w, b, padding, silu, kernel_transform(w));
}

// conv2d(x, w) (3x3, stride 1, no bias) for training, as one autograd node: the forward and the input's gradient (a
// convolution of the output's gradient with the flipped, transposed weight) by NNPACK's Winograd kernel, the weight's
// gradient by weight_gradient.h's (libtorch's on CPUs without AVX2 and FMA).
struct TrainingConvolution : public torch::autograd::Function<TrainingConvolution> {
  static at::Tensor forward(torch::autograd::AutogradContext *ctx, const at::Tensor &x, const at::Tensor &w,
                            int64_t pad_h, int64_t pad_w) {
    ctx->save_for_backward({x, w});
    ctx->saved_data["pad_h"] = pad_h;
    ctx->saved_data["pad_w"] = pad_w;
    const int64_t padding[2] = {pad_h, pad_w};
    return convolve(x.contiguous(), w, at::Tensor(), padding, false, compute_transform(w));  // w changes every step
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext *ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor &x = saved[0], &w = saved[1];
    const int64_t pad_h = ctx->saved_data["pad_h"].toInt(), pad_w = ctx->saved_data["pad_w"].toInt();
    const at::Tensor dy = grads[0].contiguous();
    at::Tensor dx, dw;
    if (ctx->needs_input_grad(0)) {
      const at::Tensor flipped = w.flip({2, 3}).transpose(0, 1).contiguous();
      const int64_t padding[2] = {2 - pad_h, 2 - pad_w};
      dx = convolve(dy, flipped, at::Tensor(), padding, false, compute_transform(flipped));
    }
    if (ctx->needs_input_grad(1) && winograd_gradient::available())
      dw = winograd_gradient::weight_gradient(x, dy, pad_h, pad_w);
    else if (ctx->needs_input_grad(1))
      dw = std::get<1>(at::convolution_backward(dy, x, w, c10::nullopt, {1, 1}, {pad_h, pad_w}, {1, 1}, false,
                                                {0, 0}, 1, {false, true, false}));
    return {dx, dw, at::Tensor(), at::Tensor()};
  }
};

// Whether conv2d(x, w) of training's Conv block (no bias, groups 1) takes TrainingConvolution.
inline bool applies_in_training(const at::Tensor &x, const at::Tensor &w, at::IntArrayRef stride,
                                at::IntArrayRef padding) {
  const int64_t ones[2] = {1, 1}, pad[2] = {padding[0], padding[1]}, step[2] = {stride[0], stride[1]};
  return !ctorch::autocast_enabled(at::kCPU) && x.device().is_cpu() && !x.is_mkldnn() && x.dim() == 4 &&
         x.scalar_type() == at::kFloat && w.scalar_type() == at::kFloat && applies(x, w, step, pad, ones, 1);
}
#endif

// conv2d(x, w, stride, padding) for training's Conv block: TrainingConvolution where it applies, else libtorch's.
inline at::Tensor training_conv2d(const at::Tensor &x, const at::Tensor &w, at::IntArrayRef stride,
                                  at::IntArrayRef padding) {
#ifdef CT_NNPACK
  if (stride.size() == 2 && padding.size() == 2 && applies_in_training(x, w, stride, padding))
    return TrainingConvolution::apply(x, w, padding[0], padding[1]);
#endif
  return at::conv2d(x, w, {}, stride, padding);
}

}  // namespace winograd
