// ctorch: a small C API over libtorch (ATen, autograd, optim, pickle serialization).
//
// Rules: handles are opaque and owned by the caller (Swift frees them in deinit). No entry point lets a C++
// exception cross the boundary: each one catches, stores the message in a thread-local last error, and returns
// NULL (handles) or a negative status (ints; yes/no questions answer 1 or 0). The few that cannot throw (frees, flags,
// constants) say so where they are defined. Only API present in both libtorch 1.13 and 2.x is used.
#ifndef CTORCH_H
#define CTORCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ct_tensor_opaque *ct_tensor;
typedef struct ct_optimizer_opaque *ct_optimizer;
typedef struct ct_value_opaque *ct_value;
typedef struct ct_buffer_opaque *ct_buffer;

// Element types, in the order of the Swift `DType` enum.
enum { CT_FLOAT32 = 0, CT_FLOAT16, CT_BFLOAT16, CT_FLOAT64, CT_INT64, CT_INT32, CT_UINT8, CT_INT8, CT_BOOL };
// Device kinds, in the order of the Swift `Device` cases.
enum { CT_CPU = 0, CT_CUDA, CT_MPS };

// ---- errors and global state -------------------------------------------------------------------------------
const char *ct_last_error(void);  // message of the last failed call on this thread
int ct_set_num_threads(int n);
int ct_get_num_threads(void);
// Records every libtorch operator call from now until stop, which writes them as a Chrome trace (JSON) to the path.
typedef struct ct_profile_opaque *ct_profile;
ct_profile ct_profile_start(const char *chrome_trace_path);
int ct_profile_stop(ct_profile p);  // writes the trace
int ct_manual_seed(uint64_t seed);
int ct_cuda_device_count(void);  // -1: the query failed
// Bytes the CUDA caching allocator holds on `device` (torch.cuda.memory_reserved; 0 without CUDA or before torch 2.9).
int64_t ct_cuda_memory_reserved(int device);
int ct_mps_is_available(void);
bool ct_set_grad_enabled(bool enabled);  // returns the previous state
bool ct_is_grad_enabled(void);
const char *ct_torch_version(void);

// ---- lifetime, metadata, data -------------------------------------------------------------------------------
void ct_free(ct_tensor t);
ct_tensor ct_shallow_copy(ct_tensor t);  // a second handle to the same tensor
int ct_ndim(ct_tensor t);
int ct_shape(ct_tensor t, int64_t *out);  // out: ct_ndim(t) entries
int64_t ct_numel(ct_tensor t);
int ct_dtype(ct_tensor t);  // a CT_* type code
int ct_device(ct_tensor t, int *kind, int *index);
int ct_is_contiguous(ct_tensor t);
// Copies `data` (C order, `shape`) into a new CPU tensor.
ct_tensor ct_from_data(const void *data, const int64_t *shape, int ndim, int dtype);
// Copies the tensor's elements (C order, converted to its dtype on the CPU) into `out` of `bytes` bytes.
int ct_copy_out(ct_tensor t, void *out, size_t bytes);
int ct_item(ct_tensor t, double *out);
ct_tensor ct_to(ct_tensor t, int dtype, int device_kind, int device_index, bool copy);
ct_tensor ct_contiguous(ct_tensor t);
// The tensor (4-D) with channels-last strides (NHWC in memory, NCHW in shape); itself when it already has them.
ct_tensor ct_contiguous_channels_last(ct_tensor t);

// ---- creation ----------------------------------------------------------------------------------------------
ct_tensor ct_full(const int64_t *shape, int ndim, double value, int dtype, int device_kind, int device_index);
ct_tensor ct_arange(double start, double end, double step, int dtype, int device_kind, int device_index);
ct_tensor ct_linspace(double start, double end, int64_t steps, int dtype, int device_kind, int device_index);
enum { CT_RAND = 0, CT_RANDN };
ct_tensor ct_random(int kind, const int64_t *shape, int ndim, int dtype, int device_kind, int device_index);
ct_tensor ct_randint(int64_t low, int64_t high, const int64_t *shape, int ndim, int dtype, int device_kind,
                     int device_index);
ct_tensor ct_randperm(int64_t n, int device_kind, int device_index);
ct_tensor ct_eye(int64_t n, int64_t m, int dtype, int device_kind, int device_index);

// ---- elementwise and reductions ----------------------------------------------------------------------------
enum {
  CT_NEG = 0, CT_ABS, CT_EXP, CT_LOG, CT_SQRT, CT_RSQRT, CT_SIGMOID, CT_RELU, CT_SILU, CT_TANH, CT_ATAN, CT_SIN,
  CT_COS, CT_FLOOR, CT_CEIL, CT_ROUND, CT_SIGN, CT_RECIPROCAL, CT_SQUARE, CT_LOGICAL_NOT, CT_ISNAN, CT_ISFINITE,
  CT_LOG1P, CT_EXPM1
};
ct_tensor ct_unary(int op, ct_tensor t);
enum {
  CT_ADD = 0, CT_SUB, CT_MUL, CT_DIV, CT_POW, CT_MAXIMUM, CT_MINIMUM, CT_EQ, CT_NE, CT_LT, CT_LE, CT_GT, CT_GE,
  CT_LOGICAL_AND, CT_LOGICAL_OR, CT_LOGICAL_XOR, CT_ATAN2, CT_FLOOR_DIVIDE, CT_REMAINDER, CT_MATMUL,
  CT_RSUB, CT_RDIV  // scalar forms only: s - t, s / t
};
ct_tensor ct_binary(int op, ct_tensor a, ct_tensor b);
ct_tensor ct_binary_scalar(int op, ct_tensor a, double s);
// In place on `a` (add/sub/mul/div with `alpha` scaling b for add and sub), for EMA and optimizer-free updates.
int ct_inplace(int op, ct_tensor a, ct_tensor b, double alpha);
int ct_inplace_scalar(int op, ct_tensor a, double s);
// targets[i] = targets[i] * scale + sources[i] * alpha for each i, in place, in two libtorch _foreach calls (EMA).
int ct_scale_add_all_(ct_tensor *targets, const ct_tensor *sources, int n, double scale, double alpha);
// In place: CT_SILU.
int ct_unary_(int op, ct_tensor a);
int ct_copy_(ct_tensor dst, ct_tensor src);
int ct_fill_(ct_tensor t, double value);
enum { CT_SUM = 0, CT_MEAN, CT_PROD, CT_AMAX, CT_AMIN, CT_ANY, CT_ALL, CT_STD, CT_VAR, CT_NORM, CT_LOGSUMEXP };
// `ndims` 0 reduces over every dimension.
ct_tensor ct_reduce(int op, ct_tensor t, const int64_t *dims, int ndims, bool keepdim);
// Index of the max (or min) along `dim`; `dim` < -ndim means over the flattened tensor.
ct_tensor ct_argmax(ct_tensor t, int64_t dim, bool keepdim, bool is_min);
int ct_max_dim(ct_tensor t, int64_t dim, bool keepdim, bool is_min, ct_tensor *values, ct_tensor *indices);
int ct_sort(ct_tensor t, int64_t dim, bool descending, bool stable, ct_tensor *values, ct_tensor *indices);
int ct_topk(ct_tensor t, int64_t k, int64_t dim, bool largest, bool sorted, ct_tensor *values, ct_tensor *indices);
ct_tensor ct_clamp(ct_tensor t, bool has_min, double min, bool has_max, double max);
ct_tensor ct_softmax(ct_tensor t, int64_t dim, bool log);
ct_tensor ct_cumsum(ct_tensor t, int64_t dim);
ct_tensor ct_where(ct_tensor condition, ct_tensor a, ct_tensor b);
ct_tensor ct_masked_fill(ct_tensor t, ct_tensor mask, double value);
ct_tensor ct_masked_select(ct_tensor t, ct_tensor mask);
ct_tensor ct_nonzero(ct_tensor t);
int ct_equal(ct_tensor a, ct_tensor b);
int ct_allclose(ct_tensor a, ct_tensor b, double rtol, double atol);

// ---- shape, views, indexing --------------------------------------------------------------------------------
ct_tensor ct_reshape(ct_tensor t, const int64_t *shape, int ndim);
ct_tensor ct_view(ct_tensor t, const int64_t *shape, int ndim);
ct_tensor ct_expand(ct_tensor t, const int64_t *shape, int ndim);
ct_tensor ct_repeat(ct_tensor t, const int64_t *repeats, int ndim);
ct_tensor ct_permute(ct_tensor t, const int64_t *dims, int ndim);
ct_tensor ct_flip(ct_tensor t, const int64_t *dims, int ndim);
ct_tensor ct_transpose(ct_tensor t, int64_t dim0, int64_t dim1);
ct_tensor ct_slice(ct_tensor t, int64_t dim, int64_t start, int64_t end, int64_t step);
ct_tensor ct_select(ct_tensor t, int64_t dim, int64_t index);
ct_tensor ct_unsqueeze(ct_tensor t, int64_t dim);
ct_tensor ct_squeeze(ct_tensor t, int64_t dim);  // dim < -ndim squeezes every size-1 dimension
ct_tensor ct_flatten(ct_tensor t, int64_t start, int64_t end);
ct_tensor ct_index_select(ct_tensor t, int64_t dim, ct_tensor index);
ct_tensor ct_gather(ct_tensor t, int64_t dim, ct_tensor index);
ct_tensor ct_scatter(ct_tensor t, int64_t dim, ct_tensor index, ct_tensor src, bool add);
// t[indices[0], indices[1], ...] (advanced indexing; a NULL entry stands for a full slice)
ct_tensor ct_index(ct_tensor t, const ct_tensor *indices, int n);
ct_tensor ct_index_put(ct_tensor t, const ct_tensor *indices, int n, ct_tensor values, bool accumulate);
ct_tensor ct_cat(const ct_tensor *ts, int n, int64_t dim);
ct_tensor ct_stack(const ct_tensor *ts, int n, int64_t dim);
// Writes up to `capacity` handles to `out` and returns how many pieces there are.
int ct_split(ct_tensor t, const int64_t *sizes, int nsizes, int64_t dim, ct_tensor *out, int capacity);
int ct_chunk(ct_tensor t, int64_t chunks, int64_t dim, ct_tensor *out, int capacity);

// ---- neural-network functions ------------------------------------------------------------------------------
// conv2d, then SiLU when `silu`. Outside autograd on float CPU tensors it calls the fastest kernel the engine has
// for the shape (see ct_conv2d_kernel); elsewhere libtorch's conv2d (and silu).
ct_tensor ct_conv2d(ct_tensor x, ct_tensor w, ct_tensor bias /* nullable */, const int64_t stride[2],
                    const int64_t padding[2], const int64_t dilation[2], int64_t groups, bool silu);
// The kernel ct_conv2d takes for these arguments: 0 libtorch's conv2d (then silu), 1 oneDNN's convolution (then
// silu), 2 oneDNN's convolution with SiLU as its post-op (libtorch 2.x), 3 NNPACK's Winograd convolution (then silu;
// libtorch builds with NNPACK, 3x3 stride 1); -1 on error.
int ct_conv2d_kernel(ct_tensor x, ct_tensor w, ct_tensor bias /* nullable */, const int64_t stride[2],
                     const int64_t padding[2], const int64_t dilation[2], int64_t groups, bool silu);
// NNPACK's Winograd convolution: whether this libtorch has NNPACK and this CPU runs it (1, 0; -1 on error), and
// whether ct_conv2d may use it (on unless set off).
int ct_winograd_available(void);
int ct_winograd_enabled(void);
void ct_set_winograd_enabled(bool enabled);
ct_tensor ct_batch_norm(ct_tensor x, ct_tensor weight, ct_tensor bias, ct_tensor running_mean,
                        ct_tensor running_var, bool training, double momentum, double eps);
// Training's Conv block: silu(batch_norm(conv2d(x, w, stride, padding), the batch's statistics)), updating the
// running statistics (either may be NULL). One oneDNN-backed autograd node where that applies (conv_block.cpp),
// which takes x as NCHW or channel-blocked (N, C/8, H, W, 8) and, with `blocked_output`, returns the latter; where
// it does not apply, libtorch's three functions return NCHW.
ct_tensor ct_conv_bn_silu(ct_tensor x, ct_tensor w, ct_tensor gamma, ct_tensor beta, ct_tensor running_mean,
                          ct_tensor running_var, const int64_t stride[2], const int64_t padding[2], double momentum,
                          double eps, bool blocked_output);
// Whether ct_conv_bn_silu runs its fused node for these shapes here (else libtorch's three functions).
int ct_conv_bn_silu_fused(ct_tensor x, ct_tensor w, const int64_t stride[2], const int64_t padding[2]);
// 0: built without the fused node (no oneDNN 2.x headers, or another libtorch); 1: built with it, but this CPU or
// oneDNN's layout choice (nChw16c on AVX-512) rules it out; 2: it runs here.
int ct_conv_bn_silu_support(void);
ct_tensor ct_max_pool2d(ct_tensor x, const int64_t kernel[2], const int64_t stride[2], const int64_t padding[2],
                        bool ceil_mode);
ct_tensor ct_upsample_nearest2d(ct_tensor x, int64_t out_h, int64_t out_w);
ct_tensor ct_upsample_bilinear2d(ct_tensor x, int64_t out_h, int64_t out_w, bool align_corners);
// Transposed convolution, as nn.ConvTranspose2d (weight (in, out / groups, kh, kw)).
ct_tensor ct_conv_transpose2d(ct_tensor x, ct_tensor w, ct_tensor bias /* nullable */, const int64_t stride[2],
                              const int64_t padding[2], const int64_t output_padding[2], int64_t groups,
                              const int64_t dilation[2]);
enum { CT_REDUCTION_NONE = 0, CT_REDUCTION_MEAN, CT_REDUCTION_SUM };
ct_tensor ct_bce_with_logits(ct_tensor x, ct_tensor target, ct_tensor weight /* nullable */,
                             ct_tensor pos_weight /* nullable */, int reduction);
ct_tensor ct_linear(ct_tensor x, ct_tensor w, ct_tensor bias /* nullable */);

// ---- autograd ----------------------------------------------------------------------------------------------
int ct_requires_grad(ct_tensor t);
int ct_set_requires_grad(ct_tensor t, bool on);
int ct_backward(ct_tensor t, ct_tensor grad /* nullable */, bool retain_graph);
// NULL without an error when the tensor has no gradient.
ct_tensor ct_grad(ct_tensor t);
int ct_zero_grad(ct_tensor t, bool set_to_none);
ct_tensor ct_detach(ct_tensor t);
// Scales the gradients so that their joint norm is at most max_norm; returns the norm before clipping (< 0: error).
double ct_clip_grad_norm(const ct_tensor *ts, int n, double max_norm, double norm_type);

// ---- mixed precision ------------------------------------------------------------------------------------------
// Autocast on `device_kind` (CT_CPU or CT_CUDA) to `dtype` until the matching exit (regions nest; the outermost
// exit clears the cache of cast weights).
int ct_autocast_enter(int device_kind, int dtype);
int ct_autocast_exit(int device_kind);
int ct_autocast_enabled(int device_kind);
// GradScaler's kernels (CUDA on every libtorch, CPU from 2.x): each defined gradient of `params` *= inv_scale in
// place, found_inf set to 1 where any is inf or NaN; then the scale's update (backoff on inf, growth after
// `interval` clean steps).
int ct_amp_unscale(const ct_tensor *params, int n, ct_tensor found_inf, ct_tensor inv_scale);
int ct_amp_update_scale(ct_tensor scale, ct_tensor growth_tracker, ct_tensor found_inf, double growth, double backoff,
                        int64_t interval);

// ---- optimizers (libtorch's own) ---------------------------------------------------------------------------
enum { CT_SGD = 0, CT_ADAMW, CT_ADAM };
enum { CT_OPT_LR = 0, CT_OPT_MOMENTUM, CT_OPT_DAMPENING, CT_OPT_WEIGHT_DECAY, CT_OPT_NESTEROV, CT_OPT_BETA1,
       CT_OPT_BETA2, CT_OPT_EPS };
// An optimizer with no parameters; add groups with ct_optimizer_add_group. `options` is indexed by CT_OPT_*.
ct_optimizer ct_optimizer_new(int kind, const double options[8]);
void ct_optimizer_free(ct_optimizer o);
int ct_optimizer_add_group(ct_optimizer o, const ct_tensor *params, int n, const double options[8]);
int ct_optimizer_group_count(ct_optimizer o);
int ct_optimizer_set(ct_optimizer o, int group, int option, double value);
int ct_optimizer_get(ct_optimizer o, int group, int option, double *value);
int ct_optimizer_step(ct_optimizer o);
int ct_optimizer_zero_grad(ct_optimizer o, bool set_to_none);
// The optimizer's state (momentum buffers, moments, step counts, group options) as bytes, and back.
ct_buffer ct_optimizer_save(ct_optimizer o);
int ct_optimizer_load(ct_optimizer o, const void *data, size_t size);

// ---- byte buffers ------------------------------------------------------------------------------------------
const void *ct_buffer_data(ct_buffer b);
size_t ct_buffer_size(ct_buffer b);
void ct_buffer_free(ct_buffer b);

// ---- values and pickle files (torch.save / torch.load compatible) ------------------------------------------
enum { CT_VALUE_NONE = 0, CT_VALUE_BOOL, CT_VALUE_INT, CT_VALUE_DOUBLE, CT_VALUE_STRING, CT_VALUE_TENSOR,
       CT_VALUE_LIST, CT_VALUE_DICT, CT_VALUE_OTHER };
ct_value ct_value_none(void);  // the constructors return NULL on failure
ct_value ct_value_bool(bool v);
ct_value ct_value_int(int64_t v);
ct_value ct_value_double(double v);
ct_value ct_value_string(const char *v);
ct_value ct_value_tensor(ct_tensor t);
ct_value ct_value_list(const ct_value *items, int n);
ct_value ct_value_dict(const char *const *keys, const ct_value *values, int n);  // string keys, insertion order
void ct_value_free(ct_value v);
int ct_value_kind(ct_value v);  // a CT_VALUE_* kind
// The readers fail (-1, NULL) on a value of another kind.
int ct_value_to_bool(ct_value v, bool *out);
int ct_value_to_int(ct_value v, int64_t *out);
int ct_value_to_double(ct_value v, double *out);
const char *ct_value_to_string(ct_value v);  // valid while v lives (the same pointer on every call)
ct_tensor ct_value_to_tensor(ct_value v);
int ct_value_count(ct_value v);  // items of a list or a dict
ct_value ct_value_item(ct_value v, int i);  // list item, or dict value
const char *ct_value_key(ct_value v, int i);  // dict key (string keys only), valid while v lives (the same pointer every call)
// The bytes torch.save writes for `v` (a zip with data.pkl); a tensor-only or primitive tree loads in plain PyTorch.
// Files are written by the Swift side (DurableFile), which syncs them to disk before they replace anything.
ct_buffer ct_pickle_dump(ct_value v);
ct_value ct_pickle_load(const char *path);

#ifdef __cplusplus
}
#endif
#endif
