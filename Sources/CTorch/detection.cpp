// Detection kernels: greedy non-maximum suppression with torchvision's semantics, the reference's class offsets,
// a cap on candidates and an early stop once enough boxes are kept.
#include <ATen/ATen.h>

#include "common.h"

using namespace ctorch;

namespace {

// Indices of the `limit` highest scores in descending order, ties in index order: the prefix of a stable
// descending sort (torchvision's order), found by selection first so that 400,000 val candidates cost little.
// NaN ranks above everything, as in torch.sort.
std::vector<int64_t> rank_by_score(const at::Tensor &scores_in, int64_t limit) {
  const at::Tensor scores = scores_in.detach().to(at::kCPU, at::kDouble).contiguous();
  const double *s = scores.data_ptr<double>();
  const int64_t n = scores.numel();
  auto before = [s](int64_t a, int64_t b) {
    const bool nan_a = std::isnan(s[a]), nan_b = std::isnan(s[b]);
    if (nan_a != nan_b) return nan_a;
    if (!nan_a && s[a] != s[b]) return s[a] > s[b];
    return a < b;
  };
  std::vector<int64_t> order(n);
  for (int64_t i = 0; i < n; i++) order[i] = i;
  if (limit >= 0 && limit < n) {
    std::nth_element(order.begin(), order.begin() + limit, order.end(), before);
    order.resize(limit);
  }
  std::sort(order.begin(), order.end(), before);
  return order;
}

// The bucket of each candidate: one per class when the classes' offset x-extents are disjoint, so that no box can
// overlap a box of another class and comparing within a class changes nothing; otherwise a single bucket (boxes far
// outside the image, non-finite values, no classes).
std::vector<int32_t> class_buckets(const std::vector<float> &boxes, const std::vector<float> &classes,
                                   int32_t *count) {
  const size_t n = boxes.size() / 4;
  std::vector<int32_t> bucket(n, 0);
  *count = 1;
  if (classes.empty()) return bucket;
  struct Extent {
    float lo, hi;  // smallest x1 and largest x2 of a class's boxes
  };
  std::unordered_map<float, int32_t> id;
  std::vector<Extent> extents;
  for (size_t r = 0; r < n; r++) {
    if (std::isnan(classes[r])) return std::vector<int32_t>(n, 0);
    auto found = id.emplace(classes[r], (int32_t)extents.size());
    if (found.second) extents.push_back({boxes[4 * r], boxes[4 * r + 2]});
    Extent &e = extents[found.first->second];
    e.lo = std::min(e.lo, boxes[4 * r]);
    e.hi = std::max(e.hi, boxes[4 * r + 2]);
    bucket[r] = found.first->second;
  }
  std::vector<Extent> sorted = extents;
  std::sort(sorted.begin(), sorted.end(), [](const Extent &a, const Extent &b) { return a.lo < b.lo; });
  for (size_t k = 0; k + 1 < sorted.size(); k++)
    if (!(sorted[k].hi <= sorted[k + 1].lo)) return std::vector<int32_t>(n, 0);  // overlapping (or NaN) extents
  *count = (int32_t)extents.size();
  return bucket;
}

// Visits boxes by descending score and keeps a box unless its IoU with a box kept before it is > iou_threshold.
// Comparing each candidate with the kept boxes only (not every kept box with all later ones) selects the same boxes,
// and bounds the work by candidates × kept, which `max_keep` caps. The arithmetic is torchvision's on the
// reference's offset boxes, in float32: x + class * offset, inter / (area_kept + area - inter), compared with the
// threshold in double.
at::Tensor greedy_nms(const at::Tensor &boxes_in, const at::Tensor &scores, const at::Tensor *classes_in,
                      double iou_threshold, double class_offset, int64_t max_candidates, int64_t max_keep) {
  if (boxes_in.dim() != 2 || boxes_in.size(1) != 4)
    throw std::invalid_argument("nms: boxes must have shape (N, 4), got " + c10::str(boxes_in.sizes()));
  const int64_t total = boxes_in.size(0);
  if (scores.dim() != 1 || scores.size(0) != total)
    throw std::invalid_argument("nms: scores must have shape (" + std::to_string(total) + "), got " +
                                c10::str(scores.sizes()));
  if (classes_in && (classes_in->dim() != 1 || classes_in->size(0) != total))
    throw std::invalid_argument("nms: classes must have shape (" + std::to_string(total) + "), got " +
                                c10::str(classes_in->sizes()));

  const std::vector<int64_t> order = rank_by_score(scores, max_candidates);
  const size_t n = order.size();
  // The candidates' boxes (offset by class) and classes, in rank order; strided reads, no copy of the inputs.
  const at::Tensor boxes_cpu = boxes_in.detach().to(at::kCPU, at::kFloat);
  const auto in = boxes_cpu.accessor<float, 2>();
  std::vector<float> boxes(4 * n), classes;
  at::Tensor classes_cpu;
  if (classes_in) {
    classes_cpu = classes_in->detach().to(at::kCPU, at::kFloat);
    const auto c = classes_cpu.accessor<float, 1>();
    const float offset = static_cast<float>(class_offset);
    classes.resize(n);
    for (size_t r = 0; r < n; r++) classes[r] = c[order[r]];
    for (size_t r = 0; r < n; r++) {
      const float shift = classes[r] * offset;
      for (int k = 0; k < 4; k++) boxes[4 * r + k] = in[order[r]][k] + shift;
    }
  } else {
    for (size_t r = 0; r < n; r++)
      for (int k = 0; k < 4; k++) boxes[4 * r + k] = in[order[r]][k];
  }

  int32_t bucket_count = 1;
  const std::vector<int32_t> bucket = class_buckets(boxes, classes, &bucket_count);
  std::vector<std::vector<float>> kept(bucket_count);  // per bucket: x1, y1, x2, y2, area of each kept box
  std::vector<int64_t> keep;
  const size_t limit = max_keep >= 0 ? (size_t)max_keep : n;
  for (size_t r = 0; r < n && keep.size() < limit; r++) {
    const float x1 = boxes[4 * r], y1 = boxes[4 * r + 1], x2 = boxes[4 * r + 2], y2 = boxes[4 * r + 3];
    const float area = (x2 - x1) * (y2 - y1);
    std::vector<float> &others = kept[bucket[r]];
    bool suppressed = false;
    for (size_t k = 0; k < others.size() && !suppressed; k += 5) {
      const float *o = &others[k];
      const float w = std::max(0.0f, std::min(o[2], x2) - std::max(o[0], x1));
      const float h = std::max(0.0f, std::min(o[3], y2) - std::max(o[1], y1));
      const float inter = w * h;
      if (inter == 0.0f) continue;  // IoU 0 (or 0/0) never suppresses
      const float iou = inter / (o[4] + area - inter);
      suppressed = iou > iou_threshold;
    }
    if (suppressed) continue;
    keep.push_back(order[r]);
    others.insert(others.end(), {x1, y1, x2, y2, area});
  }
  at::Tensor result = at::empty({(int64_t)keep.size()}, at::TensorOptions().dtype(at::kLong));
  std::copy(keep.begin(), keep.end(), result.data_ptr<int64_t>());
  return result.to(boxes_in.device());
}

}  // namespace

extern "C" {

ct_tensor ct_nms(ct_tensor boxes, ct_tensor scores, double iou_threshold) {
  CT_HANDLE(wrap(greedy_nms(T(boxes), T(scores), nullptr, iou_threshold, 0, -1, -1)));
}

ct_tensor ct_batched_nms(ct_tensor boxes, ct_tensor scores, ct_tensor classes, double iou_threshold,
                         double class_offset, int64_t max_candidates, int64_t max_keep) {
  CT_HANDLE(wrap([&] {
    at::Tensor c;
    if (classes) c = T(classes);
    return greedy_nms(T(boxes), T(scores), classes ? &c : nullptr, iou_threshold, class_offset, max_candidates,
                      max_keep);
  }()));
}

}  // extern "C"
