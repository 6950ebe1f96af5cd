/* copencv: a small C API over OpenCV (core, imgproc, imgcodecs, videoio) for the Swift `Vision` module.
 *
 * Rules: every handle is owned by the caller and freed with its `_free` function. No call throws: on failure a
 * call returns NULL or a negative status and `cvs_last_error()` says why (thread-local, valid until the next
 * failing call on the same thread). Images are 8-bit, 1, 3 or 4 channels, interleaved (HWC), BGR(A) order,
 * rows contiguous (step == width * channels) unless stated otherwise.
 */
#ifndef COPENCV_H
#define COPENCV_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cv_image_opaque *cv_image;
typedef struct cv_capture_opaque *cv_capture;
typedef struct cv_writer_opaque *cv_writer;

/* The message of the last failure on this thread ("" if none). */
const char *cvs_last_error(void);

/* ---- Images: create, decode, encode ---- */

enum { CVS_READ_COLOR = 0, CVS_READ_UNCHANGED = 1, CVS_READ_GRAYSCALE = 2 };

/* COLOR: always 3-channel BGR (grey and alpha images converted), EXIF orientation applied, as cv2.imread.
 * UNCHANGED: keeps 1/3/4 channels (16-bit samples scaled to 8-bit). GRAYSCALE: 1 channel. */
cv_image cvs_image_read(const char *path, int mode);
cv_image cvs_image_decode(const uint8_t *data, size_t length, int mode);
/* `fill`: `channels` bytes for every pixel, or NULL for zeros. */
cv_image cvs_image_create(int width, int height, int channels, const uint8_t *fill);
/* Copies `height * width * channels` packed bytes. */
cv_image cvs_image_from_bytes(const uint8_t *data, int width, int height, int channels);
cv_image cvs_image_clone(cv_image image);
void cvs_image_free(cv_image image);

int cvs_image_width(cv_image image);
int cvs_image_height(cv_image image);
int cvs_image_channels(cv_image image);
size_t cvs_image_step(cv_image image);
/* Pixel memory, `height * step` bytes, valid while the image lives. */
uint8_t *cvs_image_data(cv_image image);

/* Encodes with the codec of `ext` (".jpg", ".png", ".bmp", ".webp"); `quality` < 0 keeps OpenCV's default.
 * On success `*out` is a malloc'ed buffer of `*length` bytes to free with cvs_buffer_free. Returns 0 or -1. */
int cvs_image_encode(cv_image image, const char *ext, int quality, uint8_t **out, size_t *length);
void cvs_buffer_free(void *buffer);  /* any buffer this API allocated */

/* ---- Transforms: each returns a new image ---- */

enum { CVS_INTER_NEAREST = 0, CVS_INTER_LINEAR = 1, CVS_INTER_CUBIC = 2, CVS_INTER_AREA = 3 };

cv_image cvs_resize(cv_image image, int width, int height, int interpolation);
/* copyMakeBorder(BORDER_CONSTANT) with `value` = (b, g, r). */
cv_image cvs_pad(cv_image image, int top, int bottom, int left, int right, double b, double g, double r);
/* `matrix`: 2x3 row-major; constant border (b, g, r). */
cv_image cvs_warp_affine(cv_image image, const double *matrix, int width, int height, int interpolation,
                         double b, double g, double r);
/* `matrix`: 3x3 row-major; constant border (b, g, r). */
cv_image cvs_warp_perspective(cv_image image, const double *matrix, int width, int height, int interpolation,
                              double b, double g, double r);

enum {
    CVS_BGR2RGB = 0, CVS_RGB2BGR = 1, CVS_BGR2HSV = 2, CVS_HSV2BGR = 3,
    CVS_BGR2GRAY = 4, CVS_GRAY2BGR = 5, CVS_BGRA2BGR = 6, CVS_BGR2BGRA = 7
};
cv_image cvs_cvt_color(cv_image image, int conversion);
/* `tables`: `count` tables of 256 bytes; one table maps every channel, else table i maps channel i. */
cv_image cvs_lut(cv_image image, const uint8_t *tables, int count);
/* `code`: 1 horizontal (mirror left-right), 0 vertical, -1 both (cv::flip's codes). */
cv_image cvs_flip(cv_image image, int code);
/* A copy of the rectangle, which must lie inside the image. */
cv_image cvs_crop(cv_image image, int x, int y, int width, int height);

/* ---- In place ---- */

/* Copies the `width` x `height` region of `src` at (sx, sy) into `dst` at (dx, dy); both regions must lie inside
 * their images and the channel counts must match. Returns 0 or -1. */
int cvs_copy_region(cv_image dst, int dx, int dy, cv_image src, int sx, int sy, int width, int height);
/* Corners (x1, y1) and (x2, y2) inclusive; `thickness` < 0 fills. `antialiased`: LINE_AA, else LINE_8. */
int cvs_draw_rectangle(cv_image image, int x1, int y1, int x2, int y2, double b, double g, double r,
                       int thickness, int antialiased);
/* FONT_HERSHEY_SIMPLEX; (x, y) is the bottom-left corner of the text's baseline. */
int cvs_put_text(cv_image image, const char *text, int x, int y, double scale, double b, double g, double r,
                 int thickness, int antialiased);
int cvs_text_size(const char *text, double scale, int thickness, int *width, int *height, int *baseline);

/* ---- Shapes, in place (points as doubles, drawn with 4 fractional bits) ---- */

/* `xy`: `count` (x, y) pairs. Straight segments through them, back to the first when `closed`. */
int cvs_draw_polyline(cv_image image, const double *xy, int count, int closed, double b, double g, double r,
                      int thickness, int antialiased);
/* The polygon `xy` (`count` (x, y) pairs, convex or not) filled, as cv::fillPoly. */
int cvs_fill_polygon(cv_image image, const double *xy, int count, double b, double g, double r, int antialiased);
/* The ellipse centred on (cx, cy) with half-axes (ax, ay), rotated `angle` degrees clockwise (image axes);
 * `thickness` < 0 fills. Equal half-axes draw a circle. */
int cvs_draw_ellipse(cv_image image, double cx, double cy, double ax, double ay, double angle, double b, double g,
                     double r, int thickness, int antialiased);

/* Polygons with whole-pixel corners (`xy`: int32 (x, y) pairs, `counts[i]` points for polygon i), filled in one
 * cv::fillPoly call (LINE_8, no fractional bits), as the reference rasterises label polygons into masks. */
int cvs_fill_polygons_int(cv_image image, const int32_t *xy, const int32_t *counts, int polygons, double b, double g,
                          double r);
/* The outer contours of the non-zero pixels of a 1-channel image (cv::findContours, RETR_EXTERNAL,
 * CHAIN_APPROX_SIMPLE): `*xy` int32 (x, y) pairs and `*counts` points per contour, both allocated here and freed
 * with cvs_buffer_free; returns the number of contours (< 0: error). */
int cvs_find_contours(cv_image image, int32_t **xy, int32_t **counts);

/* ---- Video ---- */

cv_capture cvs_capture_open(const char *path);
void cvs_capture_free(cv_capture capture);
/* The capture's properties: 0 when the container does not say, -1 on failure. */
double cvs_capture_fps(cv_capture capture);
/* The container's frame count (an estimate for some formats), or 0 if unknown. */
int64_t cvs_capture_frame_count(cv_capture capture);
int cvs_capture_width(cv_capture capture);
int cvs_capture_height(cv_capture capture);
/* 1: a frame was stored in `*frame`; 0: end of stream (`*frame` = NULL, no error); -1: error. */
int cvs_capture_read(cv_capture capture, cv_image *frame);

/* `fourcc`: four characters ("mp4v", "MJPG", "avc1"); frames are 3-channel BGR of exactly width x height. */
cv_writer cvs_writer_open(const char *path, const char *fourcc, double fps, int width, int height);
int cvs_writer_write(cv_writer writer, cv_image frame);
/* Finishes the file; later writes fail. Freeing an open writer releases it too. */
int cvs_writer_release(cv_writer writer);
void cvs_writer_free(cv_writer writer);

#ifdef __cplusplus
}
#endif

#endif /* COPENCV_H */
