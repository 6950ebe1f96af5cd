// copencv: the C API of copencv.h over OpenCV. Every entry point runs its body through `guard`, which turns any
// C++ exception into a stored message and a failure value, so nothing throws across the C boundary.
#include "copencv.h"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>
#include <opencv2/videoio/registry.hpp>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

struct cv_image_opaque {
    cv::Mat mat;
};
struct cv_capture_opaque {
    cv::VideoCapture cap;
};
struct cv_writer_opaque {
    cv::VideoWriter writer;
    cv::Size size;
};

namespace {

thread_local std::string last_error;

// OpenCV's message on one line: its multi-line "> ..." assertion text joined with single spaces.
std::string tidy(const std::string &err) {
    std::string out;
    for (char c : err) {
        if (c == '\n' || c == '>' || c == ' ' || c == '\t') {
            if (!out.empty() && out.back() != ' ') out += ' ';
        } else {
            out += c;
        }
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out;
}

// e.what() carries the build's source path; err and a short function name are what a user can act on.
std::string describe(const cv::Exception &e) {
    bool short_func = !e.func.empty() && e.func.size() < 60 && e.func.find('<') == std::string::npos;
    return "OpenCV: " + tidy(e.err) + (short_func ? " (in " + e.func + ")" : "");
}

template <class R, class F>
R guard(R failure, F &&body) {
    try {
        return body();
    } catch (const cv::Exception &e) {
        last_error = describe(e);
    } catch (const std::exception &e) {
        last_error = e.what();
    } catch (...) {
        last_error = "unknown C++ exception";
    }
    return failure;
}

[[noreturn]] void fail(const std::string &message) { throw std::runtime_error(message); }

cv::Mat &mat(cv_image image) {
    if (!image) fail("null image handle");
    return image->mat;
}

cv_image wrap(cv::Mat m) {
    // Every image handed out owns contiguous rows, so Swift can read it as one packed buffer.
    if (!m.isContinuous() || m.u == nullptr) m = m.clone();
    return new cv_image_opaque{std::move(m)};
}

std::string size_text(const cv::Mat &m) {
    return std::to_string(m.cols) + "x" + std::to_string(m.rows) + "x" + std::to_string(m.channels());
}

int read_flags(int mode) {
    switch (mode) {
    case CVS_READ_COLOR: return cv::IMREAD_COLOR;
    case CVS_READ_UNCHANGED: return cv::IMREAD_UNCHANGED;
    case CVS_READ_GRAYSCALE: return cv::IMREAD_GRAYSCALE;
    }
    fail("unknown read mode " + std::to_string(mode));
}

// Decoded images are always 8-bit: 16-bit PNG/TIFF are scaled down, float formats mapped from [0, 1].
cv::Mat to_8bit(cv::Mat m) {
    switch (m.depth()) {
    case CV_8U: return m;
    case CV_16U: m.convertTo(m, CV_8U, 1.0 / 257.0); return m;
    case CV_32F: case CV_64F: m.convertTo(m, CV_8U, 255.0); return m;
    default: m.convertTo(m, CV_8U); return m;
    }
}

cv::Mat decode(const uint8_t *data, size_t length, int mode) {
    if (!data || length == 0) fail("empty image data");
    if (length > size_t(INT32_MAX)) fail("image data over 2 GiB");
    cv::Mat buffer(1, static_cast<int>(length), CV_8U, const_cast<uint8_t *>(data));
    cv::Mat m = cv::imdecode(buffer, read_flags(mode));
    if (m.empty()) fail("not a supported image format, or corrupt image data (" + std::to_string(length) + " bytes)");
    return to_8bit(m);
}

std::vector<uint8_t> read_file(const char *path) {
    FILE *f = std::fopen(path, "rb");
    if (!f) fail(std::strerror(errno));
    std::vector<uint8_t> bytes;
    uint8_t chunk[1 << 16];
    size_t n;
    while ((n = std::fread(chunk, 1, sizeof chunk, f)) > 0) bytes.insert(bytes.end(), chunk, chunk + n);
    bool bad = std::ferror(f);
    std::fclose(f);
    if (bad) fail("read error");
    return bytes;
}

std::vector<uint8_t> encode(const cv::Mat &m, const std::string &ext, int quality) {
    std::vector<int> params;
    if (quality >= 0) params = {cv::IMWRITE_JPEG_QUALITY, quality, cv::IMWRITE_WEBP_QUALITY, quality};
    std::vector<uint8_t> out;
    if (!cv::imencode(ext, m, out, params)) fail("encoder for '" + ext + "' failed");
    return out;
}

int check_interpolation(int interpolation) {
    if (interpolation < CVS_INTER_NEAREST || interpolation > CVS_INTER_AREA)
        fail("unknown interpolation " + std::to_string(interpolation));
    return interpolation;  // the CVS_INTER_* values are OpenCV's own
}

void check_size(int width, int height, const char *what) {
    if (width <= 0 || height <= 0)
        fail(std::string(what) + ": size must be positive, got " + std::to_string(width) + "x" +
             std::to_string(height));
}

cv::Rect checked_rect(const cv::Mat &m, int x, int y, int width, int height, const char *what) {
    cv::Rect r(x, y, width, height);
    if (width <= 0 || height <= 0 || x < 0 || y < 0 || x + width > m.cols || y + height > m.rows)
        fail(std::string(what) + ": rectangle (x " + std::to_string(x) + ", y " + std::to_string(y) + ", " +
             std::to_string(width) + "x" + std::to_string(height) + ") is not inside the " + size_text(m) + " image");
    return r;
}

int line_type(int antialiased) { return antialiased ? cv::LINE_AA : cv::LINE_8; }

constexpr int kShift = 4;  // fractional bits: sub-pixel positions keep antialiased plot lines smooth

std::vector<cv::Point> fixed_points(const double *xy, int count, int minimum) {
    if (!xy || count < minimum)
        fail("need at least " + std::to_string(minimum) + " points, got " + std::to_string(count));
    std::vector<cv::Point> points(count);
    for (int i = 0; i < count; i++) {
        // Beyond +-2^26 px the fixed-point value overflows int; no drawing needs that.
        if (!(std::fabs(xy[2 * i]) < 67108864.0 && std::fabs(xy[2 * i + 1]) < 67108864.0))
            fail("point " + std::to_string(i) + " is not finite or too far from the image");
        points[i] = cv::Point(cvRound(xy[2 * i] * (1 << kShift)), cvRound(xy[2 * i + 1] * (1 << kShift)));
    }
    return points;
}

}  // namespace

extern "C" {

const char *cvs_last_error(void) { return last_error.c_str(); }  // nothrow: a thread-local string

// ---- Images: create, decode, encode ----

cv_image cvs_image_read(const char *path, int mode) {
    return guard<cv_image>(nullptr, [&] {
        std::string p = path ? path : "";
        try {
            std::vector<uint8_t> bytes = read_file(p.c_str());
            return wrap(decode(bytes.data(), bytes.size(), mode));
        } catch (const cv::Exception &e) {
            fail("cannot read image '" + p + "': " + describe(e));
        } catch (const std::exception &e) {
            fail("cannot read image '" + p + "': " + e.what());
        }
    });
}

cv_image cvs_image_decode(const uint8_t *data, size_t length, int mode) {
    return guard<cv_image>(nullptr, [&] { return wrap(decode(data, length, mode)); });
}

cv_image cvs_image_create(int width, int height, int channels, const uint8_t *fill) {
    return guard<cv_image>(nullptr, [&] {
        check_size(width, height, "create");
        if (channels < 1 || channels > 4) fail("create: channels must be 1...4, got " + std::to_string(channels));
        cv::Scalar value = cv::Scalar::all(0);
        for (int c = 0; fill && c < channels; c++) value[c] = fill[c];
        return wrap(cv::Mat(height, width, CV_8UC(channels), value));
    });
}

cv_image cvs_image_from_bytes(const uint8_t *data, int width, int height, int channels) {
    return guard<cv_image>(nullptr, [&] {
        check_size(width, height, "from bytes");
        if (channels < 1 || channels > 4) fail("from bytes: channels must be 1...4, got " + std::to_string(channels));
        if (!data) fail("from bytes: null data");
        return wrap(cv::Mat(height, width, CV_8UC(channels), const_cast<uint8_t *>(data)).clone());
    });
}

cv_image cvs_image_clone(cv_image image) {
    return guard<cv_image>(nullptr, [&] { return wrap(mat(image).clone()); });
}

void cvs_image_free(cv_image image) { delete image; }  // nothrow: a destructor

int cvs_image_width(cv_image image) { return image ? image->mat.cols : 0; }  // nothrow: a field
int cvs_image_height(cv_image image) { return image ? image->mat.rows : 0; }  // nothrow: a field
int cvs_image_channels(cv_image image) { return image ? image->mat.channels() : 0; }  // nothrow: a field
size_t cvs_image_step(cv_image image) { return image ? image->mat.step[0] : 0; }  // nothrow: a field
uint8_t *cvs_image_data(cv_image image) { return image ? image->mat.data : nullptr; }  // nothrow: a field

int cvs_image_encode(cv_image image, const char *ext, int quality, uint8_t **out, size_t *length) {
    return guard(-1, [&] {
        std::string e = ext ? ext : "";
        if (!e.empty() && e[0] != '.') e = "." + e;
        std::vector<uint8_t> bytes;
        try {
            bytes = encode(mat(image), e, quality);
        } catch (const cv::Exception &x) {
            fail("cannot encode image as '" + e + "': " + tidy(x.err));
        }
        auto *buffer = static_cast<uint8_t *>(std::malloc(bytes.empty() ? 1 : bytes.size()));
        if (!buffer) throw std::bad_alloc();
        std::memcpy(buffer, bytes.data(), bytes.size());
        *out = buffer;
        *length = bytes.size();
        return 0;
    });
}

void cvs_buffer_free(void *buffer) { std::free(buffer); }  // nothrow: free

// ---- Transforms ----

cv_image cvs_resize(cv_image image, int width, int height, int interpolation) {
    return guard<cv_image>(nullptr, [&] {
        check_size(width, height, "resize");
        cv::Mat out;
        cv::resize(mat(image), out, cv::Size(width, height), 0, 0, check_interpolation(interpolation));
        return wrap(out);
    });
}

cv_image cvs_pad(cv_image image, int top, int bottom, int left, int right, double b, double g, double r) {
    return guard<cv_image>(nullptr, [&] {
        if (top < 0 || bottom < 0 || left < 0 || right < 0) fail("pad: negative padding");
        cv::Mat out;
        cv::copyMakeBorder(mat(image), out, top, bottom, left, right, cv::BORDER_CONSTANT, cv::Scalar(b, g, r));
        return wrap(out);
    });
}

cv_image cvs_warp_affine(cv_image image, const double *matrix, int width, int height, int interpolation,
                         double b, double g, double r) {
    return guard<cv_image>(nullptr, [&] {
        check_size(width, height, "warpAffine");
        cv::Mat m(2, 3, CV_64F, const_cast<double *>(matrix)), out;
        cv::warpAffine(mat(image), out, m, cv::Size(width, height), check_interpolation(interpolation),
                       cv::BORDER_CONSTANT, cv::Scalar(b, g, r));
        return wrap(out);
    });
}

cv_image cvs_warp_perspective(cv_image image, const double *matrix, int width, int height, int interpolation,
                              double b, double g, double r) {
    return guard<cv_image>(nullptr, [&] {
        check_size(width, height, "warpPerspective");
        cv::Mat m(3, 3, CV_64F, const_cast<double *>(matrix)), out;
        cv::warpPerspective(mat(image), out, m, cv::Size(width, height), check_interpolation(interpolation),
                            cv::BORDER_CONSTANT, cv::Scalar(b, g, r));
        return wrap(out);
    });
}

cv_image cvs_cvt_color(cv_image image, int conversion) {
    return guard<cv_image>(nullptr, [&] {
        static const int codes[] = {cv::COLOR_BGR2RGB,  cv::COLOR_RGB2BGR,  cv::COLOR_BGR2HSV,  cv::COLOR_HSV2BGR,
                                    cv::COLOR_BGR2GRAY, cv::COLOR_GRAY2BGR, cv::COLOR_BGRA2BGR, cv::COLOR_BGR2BGRA};
        if (conversion < 0 || conversion >= int(sizeof codes / sizeof codes[0]))
            fail("unknown color conversion " + std::to_string(conversion));
        cv::Mat out;
        cv::cvtColor(mat(image), out, codes[conversion]);
        return wrap(out);
    });
}

cv_image cvs_lut(cv_image image, const uint8_t *tables, int count) {
    return guard<cv_image>(nullptr, [&] {
        const cv::Mat &m = mat(image);
        if (!tables || (count != 1 && count != m.channels()))
            fail("lut: need 1 or " + std::to_string(m.channels()) + " tables, got " + std::to_string(count));
        // A count-channel table maps channel i through table i: the same as split, LUT per channel, merge.
        cv::Mat table(1, 256, CV_8UC(count));
        uint8_t *t = table.ptr<uint8_t>();
        for (int i = 0; i < 256; i++)
            for (int c = 0; c < count; c++) t[i * count + c] = tables[c * 256 + i];
        cv::Mat out;
        cv::LUT(m, table, out);
        return wrap(out);
    });
}

cv_image cvs_flip(cv_image image, int code) {
    return guard<cv_image>(nullptr, [&] {
        cv::Mat out;
        cv::flip(mat(image), out, code);
        return wrap(out);
    });
}

cv_image cvs_crop(cv_image image, int x, int y, int width, int height) {
    return guard<cv_image>(nullptr, [&] {
        const cv::Mat &m = mat(image);
        return wrap(m(checked_rect(m, x, y, width, height, "crop")).clone());
    });
}

// ---- In place ----

int cvs_copy_region(cv_image dst, int dx, int dy, cv_image src, int sx, int sy, int width, int height) {
    return guard(-1, [&] {
        cv::Mat &d = mat(dst);
        const cv::Mat &s = mat(src);
        if (d.type() != s.type())
            fail("paste: channel counts differ (" + size_text(s) + " into " + size_text(d) + ")");
        cv::Mat from = s(checked_rect(s, sx, sy, width, height, "paste source"));
        cv::Mat to = d(checked_rect(d, dx, dy, width, height, "paste destination"));
        // Row-wise copies of overlapping regions of one image would read rows already overwritten.
        (dst == src ? from.clone() : from).copyTo(to);
        return 0;
    });
}

int cvs_draw_rectangle(cv_image image, int x1, int y1, int x2, int y2, double b, double g, double r,
                       int thickness, int antialiased) {
    return guard(-1, [&] {
        cv::rectangle(mat(image), cv::Point(x1, y1), cv::Point(x2, y2), cv::Scalar(b, g, r),
                      thickness < 0 ? cv::FILLED : thickness, line_type(antialiased));
        return 0;
    });
}

int cvs_put_text(cv_image image, const char *text, int x, int y, double scale, double b, double g, double r,
                 int thickness, int antialiased) {
    return guard(-1, [&] {
        cv::putText(mat(image), text ? text : "", cv::Point(x, y), cv::FONT_HERSHEY_SIMPLEX, scale,
                    cv::Scalar(b, g, r), thickness, line_type(antialiased));
        return 0;
    });
}

int cvs_text_size(const char *text, double scale, int thickness, int *width, int *height, int *baseline) {
    return guard(-1, [&] {
        int base = 0;
        cv::Size size = cv::getTextSize(text ? text : "", cv::FONT_HERSHEY_SIMPLEX, scale, thickness, &base);
        *width = size.width;
        *height = size.height;
        *baseline = base;
        return 0;
    });
}

// ---- Shapes ----

int cvs_draw_polyline(cv_image image, const double *xy, int count, int closed, double b, double g, double r,
                      int thickness, int antialiased) {
    return guard(-1, [&] {
        std::vector<cv::Point> points = fixed_points(xy, count, 2);
        cv::polylines(mat(image), points, closed != 0, cv::Scalar(b, g, r), std::max(thickness, 1),
                      line_type(antialiased), kShift);
        return 0;
    });
}

int cvs_fill_polygon(cv_image image, const double *xy, int count, double b, double g, double r, int antialiased) {
    return guard(-1, [&] {
        std::vector<std::vector<cv::Point>> polygons{fixed_points(xy, count, 3)};
        cv::fillPoly(mat(image), polygons, cv::Scalar(b, g, r), line_type(antialiased), kShift);
        return 0;
    });
}

int cvs_fill_polygons_int(cv_image image, const int32_t *xy, const int32_t *counts, int polygons, double b, double g,
                          double r) {
    return guard(-1, [&] {
        std::vector<std::vector<cv::Point>> shapes(polygons);
        for (int i = 0, k = 0; i < polygons; i++)
            for (int j = 0; j < counts[i]; j++, k++) shapes[i].emplace_back(xy[2 * k], xy[2 * k + 1]);
        cv::fillPoly(mat(image), shapes, cv::Scalar(b, g, r), cv::LINE_8, 0);
        return 0;
    });
}

int cvs_find_contours(cv_image image, int32_t **xy, int32_t **counts) {
    *xy = nullptr;
    *counts = nullptr;
    return guard(-1, [&] {
        std::vector<std::vector<cv::Point>> contours;
        cv::findContours(mat(image), contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_SIMPLE);
        size_t total = 0;
        for (const auto &c : contours) total += c.size();
        *xy = static_cast<int32_t *>(std::malloc(std::max<size_t>(total, 1) * 2 * sizeof(int32_t)));
        *counts = static_cast<int32_t *>(std::malloc(std::max<size_t>(contours.size(), 1) * sizeof(int32_t)));
        if (!*xy || !*counts) throw std::bad_alloc();
        size_t k = 0;
        for (size_t i = 0; i < contours.size(); i++) {
            (*counts)[i] = static_cast<int32_t>(contours[i].size());
            for (const auto &p : contours[i]) { (*xy)[k++] = p.x; (*xy)[k++] = p.y; }
        }
        return static_cast<int>(contours.size());
    });
}

int cvs_draw_ellipse(cv_image image, double cx, double cy, double ax, double ay, double angle, double b, double g,
                     double r, int thickness, int antialiased) {
    return guard(-1, [&] {
        const double limit = 67108864.0;  // as fixed_points: keeps the fixed-point values inside int
        if (!(ax >= 0 && ay >= 0 && ax < limit && ay < limit && std::fabs(cx) < limit && std::fabs(cy) < limit))
            fail("ellipse centre and half-axes must be finite and the half-axes not negative");
        const double scale = 1 << kShift;
        cv::ellipse(mat(image), cv::Point(cvRound(cx * scale), cvRound(cy * scale)),
                    cv::Size(cvRound(ax * scale), cvRound(ay * scale)), angle, 0, 360, cv::Scalar(b, g, r),
                    thickness < 0 ? cv::FILLED : thickness, line_type(antialiased), kShift);
        return 0;
    });
}

// ---- Video ----

namespace {

// The backends a local file is tried with, in OpenCV's order: what the reference's OpenCV has (FFmpeg, OpenCV's own
// readers, V4L2 for devices). Not GPHOTO2, a camera backend that spends ~200 ms and leaks ~160 KB on every file it
// is asked to open, nor GStreamer while FFmpeg is here (OpenCV 4.6's leaks on every file it cannot open).
std::vector<cv::VideoCaptureAPIs> file_backends() {
    bool ffmpeg = cv::videoio_registry::hasBackend(cv::CAP_FFMPEG);
    std::vector<cv::VideoCaptureAPIs> backends;
    for (auto api : cv::videoio_registry::getStreamBackends())
        if (api != cv::CAP_GPHOTO2 && !(ffmpeg && api == cv::CAP_GSTREAMER)) backends.push_back(api);
    return backends;
}

}  // namespace

cv_capture cvs_capture_open(const char *path) {
    return guard<cv_capture>(nullptr, [&] {
        std::string p = path ? path : "";
        // A local file gets a clear "No such file" message; URLs (rtsp://, http://) go straight to OpenCV.
        bool local = p.find("://") == std::string::npos;
        if (local) {
            if (FILE *f = std::fopen(p.c_str(), "rb")) std::fclose(f);
            else fail("cannot open video '" + p + "': " + std::strerror(errno));
        }
        // Owned until it opened: every way out before the release (false, any exception) frees it.
        auto capture = std::make_unique<cv_capture_opaque>();
        try {
            bool opened = false;
            if (local) {
                for (auto api : file_backends())
                    if ((opened = capture->cap.open(p, api))) break;
            } else {
                opened = capture->cap.open(p);
            }
            if (!opened) fail("no backend can decode it");
        } catch (const std::exception &e) {
            fail("cannot open video '" + p + "': " + e.what());
        }
        return capture.release();
    });
}

void cvs_capture_free(cv_capture capture) { delete capture; }  // nothrow: a destructor

// A property of an open capture; OpenCV answers 0 (or less) when the container does not know it.
static double property(cv_capture capture, int id) {
    if (!capture || !capture->cap.isOpened()) fail("video capture is not open");
    return std::max(capture->cap.get(id), 0.0);
}
double cvs_capture_fps(cv_capture capture) { return guard(-1.0, [&] { return property(capture, cv::CAP_PROP_FPS); }); }
int64_t cvs_capture_frame_count(cv_capture capture) {
    return guard<int64_t>(-1, [&] { return static_cast<int64_t>(property(capture, cv::CAP_PROP_FRAME_COUNT)); });
}
int cvs_capture_width(cv_capture capture) {
    return guard(-1, [&] { return static_cast<int>(property(capture, cv::CAP_PROP_FRAME_WIDTH)); });
}
int cvs_capture_height(cv_capture capture) {
    return guard(-1, [&] { return static_cast<int>(property(capture, cv::CAP_PROP_FRAME_HEIGHT)); });
}

int cvs_capture_read(cv_capture capture, cv_image *frame) {
    return guard(-1, [&] {
        *frame = nullptr;
        if (!capture || !capture->cap.isOpened()) fail("video capture is not open");
        cv::Mat m;
        if (!capture->cap.read(m) || m.empty()) return 0;  // OpenCV reports the end of the stream this way
        *frame = wrap(to_8bit(m));
        return 1;
    });
}

cv_writer cvs_writer_open(const char *path, const char *fourcc, double fps, int width, int height) {
    return guard<cv_writer>(nullptr, [&] {
        std::string p = path ? path : "", cc = fourcc ? fourcc : "";
        if (cc.size() != 4) fail("cannot open video writer '" + p + "': fourcc must be 4 characters, got '" + cc + "'");
        check_size(width, height, "video writer");
        if (!(fps > 0)) fail("cannot open video writer '" + p + "': fps must be positive");
        auto w = std::make_unique<cv_writer_opaque>();
        w->size = cv::Size(width, height);
        try {
            if (!w->writer.open(p, cv::VideoWriter::fourcc(cc[0], cc[1], cc[2], cc[3]), fps, w->size, true))
                fail("no backend can write fourcc '" + cc + "' to this path");
        } catch (const std::exception &e) {
            fail("cannot open video writer '" + p + "': " + e.what());
        }
        return w.release();
    });
}

int cvs_writer_write(cv_writer writer, cv_image frame) {
    return guard(-1, [&] {
        if (!writer || !writer->writer.isOpened()) fail("video writer is closed");
        const cv::Mat &m = mat(frame);
        // OpenCV drops a frame of the wrong size silently; say so instead.
        if (m.cols != writer->size.width || m.rows != writer->size.height || m.type() != CV_8UC3)
            fail("video writer expects " + std::to_string(writer->size.width) + "x" +
                 std::to_string(writer->size.height) + "x3 frames, got " + size_text(m));
        writer->writer.write(m);
        return 0;
    });
}

int cvs_writer_release(cv_writer writer) {
    return guard(-1, [&] {
        if (writer) writer->writer.release();
        return 0;
    });
}

void cvs_writer_free(cv_writer writer) {
    guard(0, [&] {
        delete writer;  // ~VideoWriter releases; a failing finish must not escape a destructor path
        return 0;
    });
}

}  // extern "C"
