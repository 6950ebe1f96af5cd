// The gradient of a 3x3, stride-1 convolution's weight by Winograd's F(4x4, 3x3), for training: winograd.h's
// convolution (pip's libtorch, NCHW maps) and conv_block.cpp's fused block (Debian's, oneDNN's channel-blocked maps).
// A header so that it adds no translation unit.
//
// Why: oneDNN's weight gradient makes 9 multiply-adds per input pixel, channel pair and image; the Winograd form
// makes 36 per 4x4 tile, 4x fewer, and sums over tiles as 36 matrix products. On AVX2 with 2 threads, yolov8n-seg's
// largest (Proto's 64 -> 64 channels at 80x80, batch 16): 156 ms through libtorch 2.15, 49 here.
//
// The forward convolution y = A^T [(G w G^T) . (B^T d B)] A of each input tile d is linear in w, so its adjoint
// gives dL/dw = G^T [(A dY A^T) . (B^T d B)] G, dY the tile's output gradient. Summed over the tiles t of all images:
// M[xi][o][c] = sum_t U[xi][o][t] V[xi][c][t] for the 36 points xi of the transformed tile, U = A dY A^T and V =
// B^T d B, then dW[o][c] = G^T M[.][o][c] G. The tiles are taken in chunks (rows of tiles of consecutive images)
// whose transforms stay in cache, each thread summing its chunks' products into its own M.
#pragma once
#include <ATen/ATen.h>

#include <algorithm>
#include <vector>

#include "common.h"

namespace winograd_gradient {

#if defined(__x86_64__)
#define CT_AVX2_FMA __attribute__((target("avx2,fma")))
#else
#define CT_AVX2_FMA
#endif

constexpr int kAlpha = 6;  // the transformed tile's side: 4 outputs + 3 taps - 1
constexpr int kTile = 4;   // output pixels per tile side
constexpr int kLanes = 8;  // channels transformed at once, one per lane of an AVX register
typedef float Lanes __attribute__((vector_size(32), aligned(4), may_alias));

// B^T d (6 values of the input along a row or column of a tile, 6 transformed).
inline void input_transform(const Lanes d[kAlpha], Lanes o[kAlpha]) {
  const Lanes a = d[1], b = d[2], c = d[3], e = d[4];
  o[0] = 4 * d[0] - 5 * b + e;
  o[1] = e + c - 4 * (a + b);
  o[2] = e - c + 4 * (a - b);
  o[3] = e - b + 2 * (c - a);
  o[4] = e - b - 2 * (c - a);
  o[5] = 4 * a - 5 * c + d[5];
}

// A g (4 values of the output's gradient, 6 transformed; A is the forward's output transform, transposed).
inline void gradient_transform(const Lanes g[kTile], Lanes o[kAlpha]) {
  const Lanes even = g[0] + g[2], odd = g[1] + g[3], even4 = g[0] + 4 * g[2], odd4 = 2 * g[1] + 8 * g[3];
  o[0] = g[0];
  o[1] = even + odd;
  o[2] = even - odd;
  o[3] = even4 + odd4;
  o[4] = even4 - odd4;
  o[5] = g[3];
}

// One map's side of the computation: the input with its padding (B^T, 6 rows of the map per tile row) or the output's
// gradient (A, 4 rows).
struct Side {
  const float *data;  // [N, channels, height, width] with rows contiguous, or channel-blocked (below)
  int64_t channels, height, width, image_stride;
  int64_t channel_stride;  // between channels; between blocks of channels where `block` > 0
  int64_t top, left;       // rows and columns of zeros before the map (the convolution's padding; 0 for the gradient)
  // 0: rows of one channel; 8 or 16: channel-blocked (N, C/block, H, W, block), oneDNN's nChw8c (AVX2) or nChw16c
  // (AVX-512), each pixel's `block` channels side by side.
  int64_t block;
};

// The 36 transforms of the tiles of tile row `tile_row` of image `image`, for channels first..<first + 8 (zeros for
// those past the map's): lane q of out[xi * point_stride + tx * tile_stride] is channel first + q's point xi of tile
// tx. `scratch` holds (rows + 6) * 8 * (4 * tiles_wide + rows - 4) floats.
template <int kRows>
CT_AVX2_FMA void transform_tile_row(const Side &side, int64_t image, int64_t first, int64_t tile_row,
                                    int64_t tiles_wide, float *out, int64_t point_stride, int64_t tile_stride,
                                    float *scratch) {
  const int64_t padded_width = kTile * tiles_wide + kRows - kTile, row_floats = padded_width * kLanes;
  const int64_t lanes = std::min<int64_t>(kLanes, side.channels - first);
  const int64_t columns = std::max<int64_t>(0, std::min(side.width, padded_width - side.left));
  float *rows = scratch, *vertical = scratch + kRows * row_floats;
  // The tile row's input rows, pixel by pixel with the 8 channels side by side, zeros where they lie outside the map.
  for (int r = 0; r < kRows; ++r) {
    float *row = rows + r * row_floats;
    const int64_t y = kTile * tile_row + r - side.top;
    if (y < 0 || y >= side.height || lanes < kLanes) std::fill(row, row + row_floats, 0.0f);
    if (y < 0 || y >= side.height) continue;
    std::fill(row, row + side.left * kLanes, 0.0f);
    std::fill(row + (side.left + columns) * kLanes, row + row_floats, 0.0f);
    if (side.block == kLanes) {
      const float *source = side.data + image * side.image_stride + first / kLanes * side.channel_stride +
                            y * side.width * kLanes;
      std::copy(source, source + columns * kLanes, row + side.left * kLanes);
    } else if (side.block > 0) {  // 8 of each pixel's 16 channels
      const float *source = side.data + image * side.image_stride + first / side.block * side.channel_stride +
                            first % side.block + y * side.width * side.block;
      for (int64_t x = 0; x < columns; ++x)
        std::copy(source + x * side.block, source + x * side.block + kLanes, row + (side.left + x) * kLanes);
    } else {
      const float *source = side.data + image * side.image_stride + first * side.channel_stride + y * side.width;
      ctorch::transpose(source, lanes, columns, side.channel_stride, row + side.left * kLanes, kLanes);
    }
  }
  // Down the columns, then along each transformed row (tile tx's values lie at 4 * tx + j).
  Lanes in[kAlpha], transformed[kAlpha];
  const auto transform = [&] {
    if constexpr (kRows == kAlpha) input_transform(in, transformed);
    else gradient_transform(in, transformed);
  };
  for (int64_t x = 0; x < padded_width; ++x) {
    for (int r = 0; r < kRows; ++r) in[r] = *reinterpret_cast<const Lanes *>(rows + r * row_floats + x * kLanes);
    transform();
    for (int k = 0; k < kAlpha; ++k) *reinterpret_cast<Lanes *>(vertical + k * row_floats + x * kLanes) = transformed[k];
  }
  for (int k = 0; k < kAlpha; ++k)
    for (int64_t tx = 0; tx < tiles_wide; ++tx) {
      const float *values = vertical + k * row_floats + kTile * tx * kLanes;
      for (int j = 0; j < kRows; ++j) in[j] = *reinterpret_cast<const Lanes *>(values + j * kLanes);
      transform();
      for (int l = 0; l < kAlpha; ++l)
        *reinterpret_cast<Lanes *>(out + (k * kAlpha + l) * point_stride + tx * tile_stride) = transformed[l];
    }
}

// Whether this CPU runs the transforms (compiled for AVX2 and FMA) and the channels' transposes.
inline bool available() { return ctorch::cpu_has_avx2_fma(); }

// The gradient of a 3x3, stride-1 convolution's weight [O, C, 3, 3] over n images of `input` (C channels, with the
// convolution's padding), for `gradient` its output's gradient (O channels, 0 padding): float32 on the CPU.
inline at::Tensor weight_gradient(const Side &input, const Side &gradient, int64_t n) {
  const int64_t c = input.channels, o = gradient.channels, out_h = gradient.height, out_w = gradient.width;
  const int64_t tiles_high = (out_h + kTile - 1) / kTile, tiles_wide = (out_w + kTile - 1) / kTile;
  const auto floats = at::TensorOptions().dtype(at::kFloat);
  // Chunks of whole tile rows, about 2 MB of transforms and at most 256 tiles each; every thread takes an equal run
  // of them. Transforms are stored tile by tile with the channels side by side (rounded up to whole registers).
  const int64_t c_lanes = (c + kLanes - 1) / kLanes * kLanes, o_lanes = (o + kLanes - 1) / kLanes * kLanes;
  const int64_t target = std::clamp<int64_t>((int64_t(2) << 20) / (kAlpha * kAlpha * 4 * (c + o)), 32, 256);
  const int64_t rows_per_chunk = std::max<int64_t>(1, target / tiles_wide), tile_rows = n * tiles_high;
  const int64_t chunk_tiles = rows_per_chunk * tiles_wide, chunks = (tile_rows + rows_per_chunk - 1) / rows_per_chunk;
  const int64_t jobs = std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), chunks));
  std::vector<at::Tensor> sums(jobs);
  ctorch::parallel_jobs(jobs, [&](int64_t job) {
    at::Tensor sum = at::zeros({kAlpha * kAlpha, o, c}, floats);
    at::Tensor v = at::empty({kAlpha * kAlpha, chunk_tiles, c_lanes}, floats);
    at::Tensor u = at::empty({kAlpha * kAlpha, chunk_tiles, o_lanes}, floats);
    std::vector<float> scratch(2 * kAlpha * kLanes * (kTile * tiles_wide + kAlpha - kTile));
    for (int64_t chunk = chunks * job / jobs; chunk < chunks * (job + 1) / jobs; ++chunk) {
      const int64_t first_row = chunk * rows_per_chunk, end_row = std::min(tile_rows, first_row + rows_per_chunk);
      for (int64_t row = first_row; row < end_row; ++row) {
        const int64_t image = row / tiles_high, tile_row = row % tiles_high, tile = (row - first_row) * tiles_wide;
        for (int64_t first = 0; first < c; first += kLanes)
          transform_tile_row<kAlpha>(input, image, first, tile_row, tiles_wide,
                                     v.data_ptr<float>() + tile * c_lanes + first, chunk_tiles * c_lanes, c_lanes,
                                     scratch.data());
        for (int64_t first = 0; first < o; first += kLanes)
          transform_tile_row<kTile>(gradient, image, first, tile_row, tiles_wide,
                                    u.data_ptr<float>() + tile * o_lanes + first, chunk_tiles * o_lanes, o_lanes,
                                    scratch.data());
      }
      const int64_t tiles = (end_row - first_row) * tiles_wide;
      sum.baddbmm_(u.narrow(1, 0, tiles).narrow(2, 0, o).transpose(1, 2), v.narrow(1, 0, tiles).narrow(2, 0, c));
    }
    sums[job] = sum;
  });
  at::Tensor m = sums[0];
  for (int64_t job = 1; job < jobs; ++job) m.add_(sums[job]);
  // dW[o][c] = G^T M[.][.][o][c] G, G^T the forward's kernel transform transposed (3x6).
  static const float g_transposed[3][kAlpha] = {{1.f / 4, -1.f / 6, -1.f / 6, 1.f / 24, 1.f / 24, 0},
                                                {0, -1.f / 6, 1.f / 6, 1.f / 12, -1.f / 12, 0},
                                                {0, -1.f / 6, -1.f / 6, 1.f / 6, 1.f / 6, 1}};
  const at::Tensor gt = at::from_blob(const_cast<float *>(&g_transposed[0][0]), {3, kAlpha}, floats);
  const at::Tensor per_pair = m.view({kAlpha, kAlpha, o * c}).permute({2, 0, 1});  // [o*c, 6, 6]
  return at::matmul(at::matmul(gt, per_pair), gt.t()).view({o, c, 3, 3});
}

// The gradient of conv2d(x, w, padding) (3x3, stride 1, no groups) with respect to w, for dy the output's gradient:
// float32 CPU tensors, read in place where their rows are contiguous (NCHW maps and channel slices of them, as C2f's
// chunks), else copied.
inline at::Tensor weight_gradient(const at::Tensor &x_in, const at::Tensor &dy_in, int64_t pad_h, int64_t pad_w) {
  const auto rows_contiguous = [](const at::Tensor &t) { return t.stride(3) == 1 && t.stride(2) == t.size(3); };
  const at::Tensor x = rows_contiguous(x_in) ? x_in : x_in.contiguous();
  const at::Tensor dy = rows_contiguous(dy_in) ? dy_in : dy_in.contiguous();
  const Side input{x.data_ptr<float>(), x.size(1), x.size(2), x.size(3), x.stride(0), x.stride(1), pad_h, pad_w, 0};
  const Side gradient{dy.data_ptr<float>(), dy.size(1), dy.size(2), dy.size(3), dy.stride(0), dy.stride(1), 0, 0, 0};
  return weight_gradient(input, gradient, x.size(0));
}

}  // namespace winograd_gradient
