// ctorch detection kernels (NMS and friends), same rules as ctorch.h.
#ifndef CTORCH_DETECTION_H
#define CTORCH_DETECTION_H

#include "ctorch.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif
#endif
