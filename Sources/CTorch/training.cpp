// Training: neural-network functions, autograd, libtorch's optimizers, seeding.
#include <torch/types.h>  // clip_grad.h is not self-contained
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/optim/serialize.h>
#include <torch/optim/sgd.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>
#include <torch/utils.h>
#include <torch/version.h>
#include <torch/csrc/autograd/profiler_legacy.h>
#include <ATen/Config.h>
#include <ATen/autocast_mode.h>
#include <ATen/core/dispatch/Dispatcher.h>

#include <atomic>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <sstream>

#include "common.h"
#include "winograd.h"

using namespace ctorch;
namespace optim = torch::optim;

struct ct_optimizer_opaque {
  int kind;
  std::unique_ptr<optim::Optimizer> impl;
};

static at::Tensor optional_tensor(ct_tensor t) { return t ? T(t) : at::Tensor(); }

// Whether a convolution is float32 inference on the CPU (or bfloat16 on a CPU with native bfloat16), which ct_conv2d
// sends to the fastest kernel for its shape: libtorch 1.13 sends single-image float convolutions with small inputs
// (C*H*W <= 20480), and every 1x1 one on one thread, to its native im2col kernel, several times slower here than
// oneDNN's (a 64-channel 3x3 conv at stride 32 took 6 ms instead of <1 ms); training batches already go to oneDNN.
static bool is_cpu_inference(const at::Tensor &x, const at::Tensor &w, const at::Tensor &b) {
  const bool recording = at::GradMode::is_enabled() && (x.requires_grad() || w.requires_grad() ||
                                                         (b.defined() && b.requires_grad()));
  const auto type = x.scalar_type();
  // Under CPU autocast, at::conv2d runs in the lower precision; the direct calls would not.
  return !recording && !autocast_enabled(at::kCPU) && x.device().is_cpu() && x.layout() == at::kStrided &&
         (type == at::kFloat || (type == at::kBFloat16 && cpu_has_avx512_bf16())) && w.scalar_type() == type &&
         x.dim() == 4 && (!b.defined() || b.scalar_type() == type);
}

// Options for one parameter group, from the CT_OPT_* indexed array.
static std::unique_ptr<optim::OptimizerOptions> make_options(int kind, const double *o) {
  switch (kind) {
    case CT_SGD:
      return std::make_unique<optim::SGDOptions>(optim::SGDOptions(o[CT_OPT_LR])
                                                     .momentum(o[CT_OPT_MOMENTUM])
                                                     .dampening(o[CT_OPT_DAMPENING])
                                                     .weight_decay(o[CT_OPT_WEIGHT_DECAY])
                                                     .nesterov(o[CT_OPT_NESTEROV] != 0));
    case CT_ADAMW:
      return std::make_unique<optim::AdamWOptions>(optim::AdamWOptions(o[CT_OPT_LR])
                                                       .betas(std::make_tuple(o[CT_OPT_BETA1], o[CT_OPT_BETA2]))
                                                       .eps(o[CT_OPT_EPS])
                                                       .weight_decay(o[CT_OPT_WEIGHT_DECAY]));
    case CT_ADAM:
      return std::make_unique<optim::AdamOptions>(optim::AdamOptions(o[CT_OPT_LR])
                                                      .betas(std::make_tuple(o[CT_OPT_BETA1], o[CT_OPT_BETA2]))
                                                      .eps(o[CT_OPT_EPS])
                                                      .weight_decay(o[CT_OPT_WEIGHT_DECAY]));
  }
  throw std::invalid_argument("unknown optimizer kind " + std::to_string(kind));
}

// Reads or writes one option of a group; `value` is written when `set`.
static void access_option(int kind, optim::OptimizerOptions &base, int option, double *value, bool set) {
  auto betas = [&](auto &opts) {
    auto b = opts.betas();
    double &slot = option == CT_OPT_BETA1 ? std::get<0>(b) : std::get<1>(b);
    if (set) {
      slot = *value;
      opts.betas(b);
    } else {
      *value = slot;
    }
  };
  auto adam_like = [&](auto &opts) {
    switch (option) {
      case CT_OPT_LR: set ? (void)opts.lr(*value) : (void)(*value = opts.lr()); return;
      case CT_OPT_WEIGHT_DECAY: set ? (void)opts.weight_decay(*value) : (void)(*value = opts.weight_decay()); return;
      case CT_OPT_EPS: set ? (void)opts.eps(*value) : (void)(*value = opts.eps()); return;
      case CT_OPT_BETA1:
      case CT_OPT_BETA2: betas(opts); return;
    }
    throw std::invalid_argument("option " + std::to_string(option) + " does not apply to Adam/AdamW");
  };
  switch (kind) {
    case CT_SGD: {
      auto &opts = dynamic_cast<optim::SGDOptions &>(base);
      switch (option) {
        case CT_OPT_LR: set ? (void)opts.lr(*value) : (void)(*value = opts.lr()); return;
        case CT_OPT_MOMENTUM: set ? (void)opts.momentum(*value) : (void)(*value = opts.momentum()); return;
        case CT_OPT_DAMPENING: set ? (void)opts.dampening(*value) : (void)(*value = opts.dampening()); return;
        case CT_OPT_WEIGHT_DECAY:
          set ? (void)opts.weight_decay(*value) : (void)(*value = opts.weight_decay());
          return;
        case CT_OPT_NESTEROV: set ? (void)opts.nesterov(*value != 0) : (void)(*value = opts.nesterov()); return;
      }
      throw std::invalid_argument("option " + std::to_string(option) + " does not apply to SGD");
    }
    case CT_ADAMW: adam_like(dynamic_cast<optim::AdamWOptions &>(base)); return;
    case CT_ADAM: adam_like(dynamic_cast<optim::AdamOptions &>(base)); return;
  }
}

// libtorch's load restores the per-parameter state but not the groups' options (lr, momentum, ...); PyTorch's
// load_state_dict restores both, so do the rest here.
static void restore_group_options(ct_optimizer o, torch::serialize::InputArchive &archive) {
  torch::serialize::InputArchive groups_archive;
  archive.read("param_groups", groups_archive);
  std::vector<std::pair<std::vector<std::string>, std::unique_ptr<optim::OptimizerOptions>>> saved;
  switch (o->kind) {
    case CT_SGD: optim::detail::serialize<optim::SGDOptions>(groups_archive, saved); break;
    case CT_ADAMW: optim::detail::serialize<optim::AdamWOptions>(groups_archive, saved); break;
    case CT_ADAM: optim::detail::serialize<optim::AdamOptions>(groups_archive, saved); break;
  }
  auto &groups = o->impl->param_groups();
  for (size_t i = 0; i < saved.size() && i < groups.size(); i++) groups[i].set_options(std::move(saved[i].second));
}

// Clears one parameter's gradient: drops it, or zeroes it detached from any graph (as Optimizer.zero_grad).
static void zero_grad(at::Tensor &param, bool set_to_none) {
  at::Tensor &g = param.mutable_grad();
  if (!g.defined()) return;
  if (set_to_none) {
    g.reset();
  } else {
    g = g.detach();
    g.zero_();
  }
}

static optim::Optimizer &O(ct_optimizer o) {
  if (!o) throw std::invalid_argument("null optimizer handle");
  return *o->impl;
}

static optim::OptimizerParamGroup &group_at(ct_optimizer o, int group) {
  auto &groups = O(o).param_groups();
  if (group < 0 || group >= (int)groups.size())
    throw std::out_of_range("parameter group " + std::to_string(group) + " does not exist (" +
                            std::to_string(groups.size()) + " groups)");
  return groups[group];
}

extern "C" {

int ct_manual_seed(uint64_t seed) { CT_STATUS(torch::manual_seed(seed)); }
const char *ct_torch_version(void) { return TORCH_VERSION; }  // nothrow: a constant

// ---- profiling ----
struct ct_profile_opaque {
  torch::autograd::profiler::RecordProfile record;
  explicit ct_profile_opaque(const std::string &path) : record(path) {}
};
ct_profile ct_profile_start(const char *chrome_trace_path) {
  return ctorch::guard<ct_profile>(nullptr, [&] { return new ct_profile_opaque(chrome_trace_path); });
}
int ct_profile_stop(ct_profile p) { CT_STATUS(delete p); }

// ---- neural-network functions ----
// oneDNN's convolution with an elementwise post-op, registered by libtorch 2.x (its Inductor's CPU path); absent
// from 1.13. Found once, by name, so that one source builds against both.
static const c10::OperatorHandle *pointwise_convolution() {
  static const c10::optional<c10::OperatorHandle> op =
      c10::Dispatcher::singleton().findSchema({"mkldnn::_convolution_pointwise", ""});
  return op ? &*op : nullptr;
}

// Which kernel an inference convolution takes (the values of ct_conv2d_kernel).
enum class ConvKernel { aten = 0, onednn = 1, onednn_silu = 2, winograd = 3 };
static ConvKernel conv_kernel(const at::Tensor &x, const at::Tensor &w, const at::Tensor &b, const int64_t stride[2],
                              const int64_t padding[2], const int64_t dilation[2], int64_t groups, bool silu) {
  if (!is_cpu_inference(x, w, b)) return ConvKernel::aten;
  if (x.scalar_type() == at::kFloat && winograd::applies(x, w, stride, padding, dilation, groups))
    return ConvKernel::winograd;
  if (!AT_MKLDNN_ENABLED() || !at::globalContext().userEnabledMkldnn()) return ConvKernel::aten;
  return silu && pointwise_convolution() ? ConvKernel::onednn_silu : ConvKernel::onednn;
}

// conv2d, then SiLU when `silu`, by the kernel conv_kernel chooses. Channels-last inputs give channels-last outputs.
static at::Tensor convolve(const at::Tensor &x, const at::Tensor &w, const at::Tensor &b, const int64_t stride[2],
                           const int64_t padding[2], const int64_t dilation[2], int64_t groups, bool silu) {
  const auto list = [](const int64_t v[2]) { return std::vector<int64_t>{v[0], v[1]}; };
  const auto layout = x.suggest_memory_format();
  at::Tensor y;
  switch (conv_kernel(x, w, b, stride, padding, dilation, groups, silu)) {
    case ConvKernel::winograd:
#ifdef CT_NNPACK
      return winograd::convolve(x, w, b, padding, silu);
#endif
      [[fallthrough]];
    case ConvKernel::aten:
      y = at::conv2d(x, w, b, list(stride), list(padding), list(dilation), groups);
      break;
    case ConvKernel::onednn:
      // Channels-last inputs stay so (oneDNN then writes its output in the same layout, without converting).
      y = at::mkldnn_convolution(x.contiguous(layout), w.contiguous(w.suggest_memory_format()), b, list(padding),
                                 list(stride), list(dilation), groups);
      break;
    case ConvKernel::onednn_silu: {
      // (X, W, B?, padding, stride, dilation, groups, attr, scalars, algorithm?) -> Y, as its schema declares.
      std::vector<c10::IValue> stack{x.contiguous(layout), w.contiguous(w.suggest_memory_format()),
                                     b.defined() ? c10::IValue(b) : c10::IValue(), list(padding), list(stride),
                                     list(dilation), c10::IValue(groups), c10::IValue(std::string("swish")),
                                     c10::IValue(c10::List<c10::optional<at::Scalar>>()), c10::IValue()};
      pointwise_convolution()->callBoxed(&stack);
      return stack.at(0).toTensor();
    }
  }
  if (!silu) return y;
  return at::GradMode::is_enabled() ? at::silu(y) : at::silu_(y);  // in place unless autograd needs y
}
ct_tensor ct_conv2d(ct_tensor x, ct_tensor w, ct_tensor bias, const int64_t stride[2], const int64_t padding[2],
                    const int64_t dilation[2], int64_t groups, bool silu) {
  CT_HANDLE(wrap(convolve(T(x), T(w), optional_tensor(bias), stride, padding, dilation, groups, silu)));
}
int ct_conv2d_kernel(ct_tensor x, ct_tensor w, ct_tensor bias, const int64_t stride[2], const int64_t padding[2],
                     const int64_t dilation[2], int64_t groups, bool silu) {
  CT_COUNT(static_cast<int>(conv_kernel(T(x), T(w), optional_tensor(bias), stride, padding, dilation, groups, silu)));
}
int ct_winograd_available(void) { CT_BOOL(winograd::available()); }
int ct_winograd_enabled(void) { CT_BOOL(winograd::enabled.load()); }
void ct_set_winograd_enabled(bool enabled) { winograd::enabled = enabled; }  // nothrow: an atomic store
ct_tensor ct_batch_norm(ct_tensor x, ct_tensor weight, ct_tensor bias, ct_tensor running_mean, ct_tensor running_var,
                        bool training, double momentum, double eps) {
  CT_HANDLE(wrap(at::batch_norm(T(x), optional_tensor(weight), optional_tensor(bias), optional_tensor(running_mean),
                                optional_tensor(running_var), training, momentum, eps, /*cudnn_enabled=*/true)));
}
ct_tensor ct_max_pool2d(ct_tensor x, const int64_t kernel[2], const int64_t stride[2], const int64_t padding[2],
                        bool ceil_mode) {
  const int64_t dilation[2] = {1, 1};
  CT_HANDLE([&] {
    const at::Tensor &input = T(x);
    // libtorch 1.13's CPU max pooling over contiguous NCHW is 4-7x slower than over channels-last (SPPF's 5x5 pools
    // on 16x128x20x20: 36 ms vs 5.6 ms, forward and backward alike); the result is the same, so pool channels-last.
    const bool channels_last = input.device().is_cpu() && input.dim() == 4 && input.is_contiguous();
    at::Tensor y = at::max_pool2d(channels_last ? input.contiguous(at::MemoryFormat::ChannelsLast) : input,
                                  dims(kernel, 2), dims(stride, 2), dims(padding, 2), dims(dilation, 2), ceil_mode);
    return wrap(channels_last ? y.contiguous() : y);
  }());
}
ct_tensor ct_upsample_nearest2d(ct_tensor x, int64_t out_h, int64_t out_w) {
  const int64_t size[2] = {out_h, out_w};
  CT_HANDLE(wrap(at::upsample_nearest2d(T(x), dims(size, 2))));
}
ct_tensor ct_upsample_bilinear2d(ct_tensor x, int64_t out_h, int64_t out_w, bool align_corners) {
  const int64_t size[2] = {out_h, out_w};
  CT_HANDLE(wrap(at::upsample_bilinear2d(T(x), dims(size, 2), align_corners)));
}
ct_tensor ct_conv_transpose2d(ct_tensor x, ct_tensor w, ct_tensor bias, const int64_t stride[2],
                              const int64_t padding[2], const int64_t output_padding[2], int64_t groups,
                              const int64_t dilation[2]) {
  CT_HANDLE(wrap(at::conv_transpose2d(T(x), T(w), optional_tensor(bias), dims(stride, 2), dims(padding, 2),
                                      dims(output_padding, 2), groups, dims(dilation, 2))));
}
ct_tensor ct_bce_with_logits(ct_tensor x, ct_tensor target, ct_tensor weight, ct_tensor pos_weight, int reduction) {
  CT_HANDLE(wrap(at::binary_cross_entropy_with_logits(T(x), T(target), optional_tensor(weight),
                                                      optional_tensor(pos_weight), reduction)));
}
ct_tensor ct_linear(ct_tensor x, ct_tensor w, ct_tensor bias) {
  CT_HANDLE(wrap(at::linear(T(x), T(w), optional_tensor(bias))));
}

// ---- autograd ----
int ct_requires_grad(ct_tensor t) { CT_BOOL(T(t).requires_grad()); }
int ct_set_requires_grad(ct_tensor t, bool on) { CT_STATUS(T(t).set_requires_grad(on)); }
int ct_backward(ct_tensor t, ct_tensor grad, bool retain_graph) {
  CT_STATUS(T(t).backward(optional_tensor(grad), retain_graph));
}
ct_tensor ct_grad(ct_tensor t) {
  return guard<ct_tensor>(nullptr, [&]() -> ct_tensor {
    const at::Tensor &g = T(t).grad();
    return g.defined() ? wrap(g) : nullptr;
  });
}
int ct_zero_grad(ct_tensor t, bool set_to_none) { CT_STATUS(zero_grad(T(t), set_to_none)); }
ct_tensor ct_detach(ct_tensor t) { CT_HANDLE(wrap(T(t).detach())); }
double ct_clip_grad_norm(const ct_tensor *ts, int n, double max_norm, double norm_type) {
  return guard<double>(-1, [&] {
    std::vector<at::Tensor> params;
    for (int i = 0; i < n; i++) params.push_back(T(ts[i]));
    return torch::nn::utils::clip_grad_norm_(params, max_norm, norm_type);
  });
}

// ---- optimizers ----
ct_optimizer ct_optimizer_new(int kind, const double options[8]) {
  return guard<ct_optimizer>(nullptr, [&] {
    auto o = std::make_unique<ct_optimizer_opaque>();
    o->kind = kind;
    std::vector<optim::OptimizerParamGroup> none;
    auto defaults = make_options(kind, options);
    switch (kind) {
      case CT_SGD: o->impl = std::make_unique<optim::SGD>(none, dynamic_cast<optim::SGDOptions &>(*defaults)); break;
      case CT_ADAMW:
        o->impl = std::make_unique<optim::AdamW>(none, dynamic_cast<optim::AdamWOptions &>(*defaults));
        break;
      case CT_ADAM: o->impl = std::make_unique<optim::Adam>(none, dynamic_cast<optim::AdamOptions &>(*defaults)); break;
    }
    return o.release();
  });
}
void ct_optimizer_free(ct_optimizer o) { delete o; }  // nothrow: a destructor
int ct_optimizer_add_group(ct_optimizer o, const ct_tensor *params, int n, const double options[8]) {
  CT_STATUS({
    std::vector<at::Tensor> ps;
    for (int i = 0; i < n; i++) ps.push_back(T(params[i]));
    O(o).add_param_group(optim::OptimizerParamGroup(ps, make_options(o->kind, options)));
  });
}
int ct_optimizer_group_count(ct_optimizer o) { CT_COUNT((int)O(o).param_groups().size()); }
int ct_optimizer_set(ct_optimizer o, int group, int option, double value) {
  CT_STATUS(access_option(o->kind, group_at(o, group).options(), option, &value, true));
}
int ct_optimizer_get(ct_optimizer o, int group, int option, double *value) {
  CT_STATUS(access_option(o->kind, group_at(o, group).options(), option, value, false));
}
int ct_optimizer_step(ct_optimizer o) { CT_STATUS(O(o).step()); }
int ct_optimizer_zero_grad(ct_optimizer o, bool set_to_none) {
  CT_STATUS({
    for (auto &group : O(o).param_groups())
      for (auto &p : group.params()) zero_grad(p, set_to_none);
  });
}
ct_buffer ct_optimizer_save(ct_optimizer o) {
  return guard<ct_buffer>(nullptr, [&] {
    torch::serialize::OutputArchive archive;
    O(o).save(archive);
    std::ostringstream stream;
    archive.save_to(stream);
    return make_buffer(stream.str());
  });
}
int ct_optimizer_load(ct_optimizer o, const void *data, size_t size) {
  CT_STATUS({
    std::istringstream stream(std::string(static_cast<const char *>(data), size));
    torch::serialize::InputArchive archive;
    archive.load_from(stream);
    O(o).load(archive);
    restore_group_options(o, archive);
  });
}

// ---- byte buffers ----
const void *ct_buffer_data(ct_buffer b) { return b ? b->bytes.data() : nullptr; }  // nothrow: a pointer
size_t ct_buffer_size(ct_buffer b) { return b ? b->bytes.size() : 0; }  // nothrow: a number
void ct_buffer_free(ct_buffer b) { delete b; }  // nothrow: a destructor


// ---- mixed precision: autocast and GradScaler's kernels ----------------------------------------------------
}  // extern "C"

// Autocast's switches: per device type from torch 2.4 (where the 1.13 names warn on every call), 1.13's before.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
bool ctorch::autocast_enabled(at::DeviceType type) { return at::autocast::is_autocast_enabled(type); }
static void set_autocast(at::DeviceType type, bool on, at::ScalarType dtype) {
  at::autocast::set_autocast_enabled(type, on);
  if (on) at::autocast::set_autocast_dtype(type, dtype);
}
#else
bool ctorch::autocast_enabled(at::DeviceType type) {
  return type == at::kCUDA ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
}
static void set_autocast(at::DeviceType type, bool on, at::ScalarType dtype) {
  if (type == at::kCUDA) {
    at::autocast::set_enabled(on);
    if (on) at::autocast::set_autocast_gpu_dtype(dtype);
  } else {
    at::autocast::set_cpu_enabled(on);
    if (on) at::autocast::set_autocast_cpu_dtype(dtype);
  }
}
#endif

static at::DeviceType autocast_device(int device_kind) {
  if (device_kind == CT_CUDA) return at::kCUDA;
  if (device_kind == CT_CPU) return at::kCPU;
  throw std::invalid_argument("autocast: only CPU and CUDA devices");
}

extern "C" {

int ct_autocast_enter(int device_kind, int dtype) {
  CT_STATUS({
    set_autocast(autocast_device(device_kind), true, scalar_type(dtype));
    at::autocast::increment_nesting();
  });
}
int ct_autocast_exit(int device_kind) {
  CT_STATUS({
    set_autocast(autocast_device(device_kind), false, at::kFloat);
    // Casts of the weights are cached while autocast is on; they go with its outermost region.
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  });
}
int ct_autocast_enabled(int device_kind) { CT_BOOL(autocast_enabled(autocast_device(device_kind))); }
int ct_amp_unscale(const ct_tensor *params, int n, ct_tensor found_inf, ct_tensor inv_scale) {
  CT_STATUS({
    std::vector<at::Tensor> grads;
    for (int i = 0; i < n; i++)
      if (T(params[i]).grad().defined()) grads.push_back(T(params[i]).grad());
    if (!grads.empty()) at::_amp_foreach_non_finite_check_and_unscale_(grads, T(found_inf), T(inv_scale));
  });
}
int ct_amp_update_scale(ct_tensor scale, ct_tensor growth_tracker, ct_tensor found_inf, double growth, double backoff,
                        int64_t interval) {
  CT_STATUS(at::_amp_update_scale_(T(scale), T(growth_tracker), T(found_inf), growth, backoff, interval));
}

}  // extern "C"
