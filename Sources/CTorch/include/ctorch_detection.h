// ctorch detection kernels (NMS and friends), same rules as ctorch.h.
#ifndef CTORCH_DETECTION_H
#define CTORCH_DETECTION_H

#include "ctorch.h"

#ifdef __cplusplus
extern "C" {
#endif

// Greedy non-maximum suppression, as torchvision.ops.nms: `boxes` (N, 4) x1, y1, x2, y2 and `scores` (N,), any
// float dtype and device. Boxes are visited by descending score (ties in input order); a box is dropped when its
// IoU with a box already kept is > `iou_threshold`. Returns the kept indices, int64, in descending score order, on
// the boxes' device.
ct_tensor ct_nms(ct_tensor boxes, ct_tensor scores, double iou_threshold);

// The class-aware form the reference's non_max_suppression uses: each box is shifted by class × `class_offset`
// (in float32, as the reference does) so that boxes of different classes never overlap; `classes` (N,) may be
// NULL (class-agnostic). Only the `max_candidates` highest scores take part (< 0: all), and suppression stops once
// `max_keep` boxes are kept (< 0: no limit), which gives the same first `max_keep` indices as running it to the end.
ct_tensor ct_batched_nms(ct_tensor boxes, ct_tensor scores, ct_tensor classes, double iou_threshold,
                         double class_offset, int64_t max_candidates, int64_t max_keep);

#ifdef __cplusplus
}
#endif
#endif
