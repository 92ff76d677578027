/*
 * libmnv2-image - JPEG / PNG image folders for mnv2: decoding, torchvision-style transforms and a
 * streaming batch loader with worker threads.
 * SPDX-License-Identifier: BSD-2-Clause
 */
/**
 * @file mnv2_image.h
 * @brief libmnv2-image: an optional library beside libmnv2 (own soname and pkg-config file
 *        `mnv2-image`) that decodes JPEG (libjpeg-turbo) and PNG (libpng) files and turns an
 *        image folder into NHWC float32 batches for mnv2_forward().
 *
 * It depends on libmnv2 through its public headers only and follows its conventions: functions
 * return #MNV2_OK or a negative `MNV2_ERR_*` code; a failing call leaves a message that
 * mnv2_image_last_error() returns (per thread; it names the file and what is wrong);
 * out-parameters are written only on success; handles are opaque, one handle is not used by two
 * threads at once, distinct handles are independent.
 *
 * Pixels are 8-bit, HWC, 1 (grey) or 3 (RGB) channels, as torchvision's ImageFolder sees them
 * after PIL's `convert("RGB")`: grey and grey+alpha stay grey (replicated to RGB where 3 channels
 * are wanted), alpha is dropped (not composited), 16-bit PNG samples are scaled to 8 bits
 * ((v * 255 + 32895) >> 16), palette PNGs are expanded, CMYK / YCCK JPEGs are converted to RGB
 * (Adobe's inverted CMYK: R = C * K / 255).
 */
#ifndef MNV2_IMAGE_H
#define MNV2_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "mnv2.h"
#include "mnv2_data.h"

/** @def MNV2_IMAGE_API
 *  Marks the symbols libmnv2-image exports (default visibility). */
#if defined(_WIN32)
#define MNV2_IMAGE_API
#elif defined(__GNUC__)
#define MNV2_IMAGE_API __attribute__((visibility("default")))
#else
#define MNV2_IMAGE_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/** @defgroup image Image decoding and transforms (libmnv2-image)
 *  @{ */

/** Largest image side a decoder accepts. */
#define MNV2_IMAGE_MAX_SIDE 32768u
/** Most pixels (height * width) a decoder accepts: 2^28. */
#define MNV2_IMAGE_MAX_PIXELS 268435456u
/** Most working memory the JPEG decoder may take besides the pixels it returns: 512 MiB. A
 *  progressive JPEG keeps every DCT coefficient of the image until its last scan (2 bytes per
 *  sample: about 3 bytes per pixel for 4:2:0 colour, 6 for 4:4:4), so this bounds such files to
 *  roughly 170 or 85 megapixels. Checked from the header, before anything is allocated. */
#define MNV2_IMAGE_MAX_DECODER_MEMORY 536870912u

/** @brief The detail message of the calling thread's last failing call of this library ("" if none).
 *  Owned by the library, valid until the thread's next call. Thread-safe. */
MNV2_IMAGE_API const char *mnv2_image_last_error(void);

/** @brief Decode a JPEG or PNG file held in memory (recognised by its signature, not its name).
 *  @param data, size  the file's bytes; only read.
 *  @param[out] pixels receives height * width * channels bytes (HWC), freed with mnv2_image_free().
 *  @param[out] height, width, channels  the image's shape; channels is 1 (grey) or 3 (RGB).
 *  @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT (NULL), #MNV2_ERR_FORMAT (not a JPEG or PNG, corrupt
 *          or truncated data, larger than #MNV2_IMAGE_MAX_SIDE / #MNV2_IMAGE_MAX_PIXELS /
 *          #MNV2_IMAGE_MAX_DECODER_MEMORY; a JPEG whose compressed data ends before its last block
 *          is truncated even when an end marker follows),
 *          #MNV2_ERR_OUT_OF_MEMORY. Thread-safe. */
MNV2_IMAGE_API int32_t mnv2_image_decode(const void *data, size_t size, uint8_t **pixels, uint32_t *height,
                                         uint32_t *width, uint32_t *channels);
/** @brief As mnv2_image_decode() from a file (at most 1 GiB). @return as mnv2_image_decode(), and
 *  #MNV2_ERR_IO when the file cannot be read. Thread-safe. */
MNV2_IMAGE_API int32_t mnv2_image_read(const char *path, uint8_t **pixels, uint32_t *height, uint32_t *width,
                                       uint32_t *channels);
/** @brief Free pixels returned by the decoders. NULL is accepted. */
MNV2_IMAGE_API void mnv2_image_free(uint8_t *pixels);

/** @brief Resample the box (@p top, @p left, @p box_h, @p box_w) of an image to @p out_h x @p out_w
 *  pixels with antialiased bilinear filtering (the triangle filter widened by the scale factor when
 *  shrinking: PIL's `BILINEAR` and torchvision's `antialias=True`), rounding to 8 bits, and write
 *  the window (@p win_top, @p win_left, @p win_h, @p win_w) of that result to @p out
 *  (win_h * win_w * channels bytes). torchvision's `F.resized_crop(img, top, left, box_h, box_w,
 *  [out_h, out_w], antialias=True)` is the whole window; `CenterCrop(F.resize(img, size))` is the
 *  whole image as box and the centre window.
 *  @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT (NULL, a zero size, a box or window outside its
 *          image), #MNV2_ERR_OUT_OF_MEMORY. Thread-safe. */
MNV2_IMAGE_API int32_t mnv2_image_resized_crop(const uint8_t *pixels, uint32_t height, uint32_t width,
                                               uint32_t channels, uint32_t top, uint32_t left, uint32_t box_h,
                                               uint32_t box_w, uint32_t out_h, uint32_t out_w, uint32_t win_top,
                                               uint32_t win_left, uint32_t win_h, uint32_t win_w, uint8_t *out);

/** @brief torchvision's `RandomResizedCrop.get_params` (scale @p scale_min .. @p scale_max, ratio
 *  @p ratio_min .. @p ratio_max; 10 attempts, then the centre crop clamped to the ratio range) for
 *  an image of @p height x @p width, drawing from the 64-bit random state @p *rng (splitmix64; see
 *  mnv2_data.h), which it advances. Uniform reals are (next(s) >> 11) * 2^-53; an integer in
 *  0 .. n - 1 is uniform(s, n) as in mnv2_data.h.
 *  @param[out] top, left, box_h, box_w the crop box.
 *  @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT (NULL, zero size, 0 < scale_min <= scale_max <= 1
 *          and 0 < ratio_min <= ratio_max violated). Thread-safe. */
MNV2_IMAGE_API int32_t mnv2_image_random_crop_box(uint64_t *rng, uint32_t height, uint32_t width, float scale_min,
                                                  float scale_max, float ratio_min, float ratio_max, uint32_t *top,
                                                  uint32_t *left, uint32_t *box_h, uint32_t *box_w);

/** @brief The evaluation transform's geometry (torchvision `Resize(resize)` then
 *  `CenterCrop([out_h, out_w])`): the shorter side becomes @p resize, the longer
 *  `floor(resize * long / short)`; the window starts at `round((H - out_h) / 2)` (ties to even, as
 *  Python's round) and likewise for the width. Any out-pointer may be NULL.
 *  @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT (zero size, a window larger than the resized image). */
MNV2_IMAGE_API int32_t mnv2_image_eval_geometry(uint32_t height, uint32_t width, uint32_t resize, uint32_t out_h,
                                                uint32_t out_w, uint32_t *resized_h, uint32_t *resized_w,
                                                uint32_t *win_top, uint32_t *win_left);
/** @} */

/** @defgroup imagefolder Image folders (libmnv2-image)
 *  A folder with one sub-directory per class, as torchvision's ImageFolder: class names are the
 *  sub-directory names sorted by byte value, class i is the i-th; each class's files are found
 *  recursively (directories in sorted order of their paths, files sorted by name) and kept when
 *  their name ends in .jpg, .jpeg, .jpe or .png (any case). Other files are ignored; a class
 *  directory without images keeps its class index and holds no images. Only the paths are kept in
 *  memory (about 40 bytes per image); pixels are decoded when used.
 *  @{ */

/** Opaque image folder. */
typedef struct mnv2_image_folder mnv2_image_folder;

/** @brief Scan @p dir.
 *  @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT, #MNV2_ERR_IO (unreadable directory),
 *          #MNV2_ERR_NOT_FOUND (no class directory, or no image in any of them),
 *          #MNV2_ERR_FORMAT (more than #MNV2_DATASET_MAX_CLASSES classes or 2^32 - 1 images),
 *          #MNV2_ERR_OUT_OF_MEMORY. Thread-safe. */
MNV2_IMAGE_API int32_t mnv2_image_folder_open(const char *dir, mnv2_image_folder **out);
/** @brief Free a folder. NULL is accepted. No loader may use it any more. */
MNV2_IMAGE_API void mnv2_image_folder_destroy(mnv2_image_folder *f);
/** @brief Image and class counts; either pointer may be NULL. @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT. */
MNV2_IMAGE_API int32_t mnv2_image_folder_info(const mnv2_image_folder *f, uint32_t *count, uint32_t *classes);
/** @brief Name of class @p cls (owned by the folder). @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT. */
MNV2_IMAGE_API int32_t mnv2_image_folder_class_name(const mnv2_image_folder *f, uint32_t cls, const char **name);
/** @brief Path of image @p index into @p buf (@p size bytes, NUL-terminated) and its label; @p label
 *  may be NULL. @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT, #MNV2_ERR_SIZE_MISMATCH (buf too small). */
MNV2_IMAGE_API int32_t mnv2_image_folder_path(const mnv2_image_folder *f, uint32_t index, char *buf, size_t size,
                                              int32_t *label);
/** @brief Keep only @p n images, evenly spread over the folder's order (image floor(i * count / n)
 *  for i = 0 .. n - 1; all of them when n >= count), in place. Not while a loader uses the folder.
 *  @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT (NULL, n 0). */
MNV2_IMAGE_API int32_t mnv2_image_folder_limit(mnv2_image_folder *f, uint32_t n);
/** @} */

/** @defgroup imageloader Streaming batch loader (libmnv2-image)
 *  Batches of an image folder, decoded on the fly by worker threads into a bounded ring of batch
 *  buffers: memory is `prefetch` batches plus one decoded image per worker, whatever the folder's
 *  size. Per image: decode, the training transform (random crop box of
 *  mnv2_image_random_crop_box(), resized to the output size, then a horizontal flip with
 *  probability 1/2) or the evaluation transform (mnv2_image_eval_geometry()), channel conversion
 *  as mnv2_fit_image() (grey replicated, RGB to luma), then (pixel / 255 - mean[c]) / std[c].
 *  The order and randomness follow mnv2_data.h's batch iterator exactly (epoch key, Fisher-Yates
 *  shuffle, per-position state s = mix(k ^ ((p + 1) * 0xD1B54A32D192ED03)); the crop box draws
 *  from s, then the flip takes the top bit of next(s)), so a run is a function of (seed, epoch,
 *  position) whatever the worker count, and resumes from mnv2_image_loader_get_state().
 *  @{ */

#define MNV2_IMAGE_TRANSFORM_EVAL 0  /**< Resize of the shorter side, centre crop. */
#define MNV2_IMAGE_TRANSFORM_TRAIN 1 /**< RandomResizedCrop + random horizontal flip. */

#define MNV2_IMAGE_ON_ERROR_FAIL 0 /**< A file that fails to decode makes mnv2_image_loader_next() fail. */
#define MNV2_IMAGE_ON_ERROR_SKIP 1 /**< It is reported (callback) and left out of its batch. */

/** Called (from the thread calling mnv2_image_loader_next()) for every file that fails to decode. */
typedef void (*mnv2_image_error_fn)(void *user, const char *path, const char *message);

/** Loader settings: size-prefixed, fill with mnv2_image_loader_options_default(). */
typedef struct mnv2_image_loader_options {
    uint32_t struct_size; /**< sizeof(mnv2_image_loader_options) as the caller compiled it. */
    uint32_t batch;       /**< Images per batch (1 .. 65536). Default 32. */
    uint32_t height;      /**< Output height (1 .. 4096). Default 224. */
    uint32_t width;       /**< Output width (1 .. 4096). Default 224. */
    uint32_t channels;    /**< Output channels: 1 or 3. Default 3. */
    int32_t transform;    /**< #MNV2_IMAGE_TRANSFORM_TRAIN or #MNV2_IMAGE_TRANSFORM_EVAL. Default train. */
    uint32_t resize;      /**< Evaluation: the shorter side before the centre crop; 0 = round(height * 256 / 224). */
    float scale_min;      /**< Training crop: smallest fraction of the image's area. Default 0.08. */
    float scale_max;      /**< Training crop: largest fraction of the image's area. Default 1. */
    float ratio_min;      /**< Training crop: smallest aspect ratio (width / height). Default 3/4. */
    float ratio_max;      /**< Training crop: largest aspect ratio. Default 4/3. */
    uint32_t flip;        /**< Training: random horizontal flip. Default 1. */
    uint32_t shuffle;     /**< A new order every epoch (else folder order). Default 1. */
    uint32_t drop_last;   /**< Leave out the last partial batch. Default 0. */
    uint32_t workers;     /**< Decoding threads, 1 .. 256. Default 2. */
    uint32_t prefetch;    /**< Batch buffers in the ring, 2 .. 64. Default 4. */
    int32_t on_error;     /**< #MNV2_IMAGE_ON_ERROR_FAIL (default) or #MNV2_IMAGE_ON_ERROR_SKIP. */
    uint64_t seed;        /**< Seed of the order and the augmentation. Default 0. */
    const float *mean;    /**< @p channels means (copied); NULL = 0. */
    const float *std;     /**< @p channels standard deviations, each > 0 (copied); NULL = 1. */
    mnv2_image_error_fn on_error_fn; /**< Reports failed files; NULL = none. */
    void *user;           /**< Passed to on_error_fn. */
} mnv2_image_loader_options;

/** Opaque loader. */
typedef struct mnv2_image_loader mnv2_image_loader;

/** @brief Fill @p o with the defaults. @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT. Thread-safe. */
MNV2_IMAGE_API int32_t mnv2_image_loader_options_default(mnv2_image_loader_options *o);
/** @brief Create a loader over @p f (borrowed: it must outlive the loader) at epoch 0, position 0,
 *  and start its workers. Allocates the ring and the epoch order.
 *  @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT (NULL, a setting out of range, drop_last with
 *          fewer images than a batch), #MNV2_ERR_OUT_OF_MEMORY, #MNV2_ERR_BAD_STATE (threads). */
MNV2_IMAGE_API int32_t mnv2_image_loader_create(const mnv2_image_folder *f, const mnv2_image_loader_options *o,
                                                mnv2_image_loader **out);
/** @brief Stop the workers and free the loader. NULL is accepted. */
MNV2_IMAGE_API void mnv2_image_loader_destroy(mnv2_image_loader *l);
/** @brief The next batch, as mnv2_batch_next(): @p images (capacity @p n_images floats, a full
 *  batch) receives *batch images NHWC, @p labels their labels; *batch is 0 at the end of an epoch,
 *  which moves the loader to the next one. With #MNV2_IMAGE_ON_ERROR_SKIP a batch holds fewer images
 *  when files failed (possibly 0 images but not the epoch's end: then *batch is 0 and
 *  *position of mnv2_image_loader_get_state() is not 0).
 *  @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT, #MNV2_ERR_SIZE_MISMATCH (a capacity too small),
 *          the decoder's error for a failed file with #MNV2_IMAGE_ON_ERROR_FAIL (the message names
 *          it; the loader then stays at the failing batch). */
MNV2_IMAGE_API int32_t mnv2_image_loader_next(mnv2_image_loader *l, float *images, size_t n_images, int32_t *labels,
                                              uint32_t n_labels, uint32_t *batch);
/** @brief Seed, epoch and position (images of the epoch already delivered). Any pointer may be NULL.
 *  @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT. */
MNV2_IMAGE_API int32_t mnv2_image_loader_get_state(const mnv2_image_loader *l, uint64_t *seed, uint64_t *epoch,
                                                   uint64_t *position);
/** @brief Move to a state read by mnv2_image_loader_get_state() (prefetched batches are discarded).
 *  @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT (NULL, position above the image count). */
MNV2_IMAGE_API int32_t mnv2_image_loader_set_state(mnv2_image_loader *l, uint64_t seed, uint64_t epoch,
                                                   uint64_t position);
/** @brief Batches per epoch (with drop_last, full batches only). @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT. */
MNV2_IMAGE_API int32_t mnv2_image_loader_batches(const mnv2_image_loader *l, uint64_t *batches_per_epoch);
/** @brief Seconds mnv2_image_loader_next() has spent waiting for workers since the last call of this
 *  function (which resets the count), and files that failed in that time; either may be NULL.
 *  @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT. */
MNV2_IMAGE_API int32_t mnv2_image_loader_take_stats(mnv2_image_loader *l, double *wait_seconds, uint64_t *failed);

/** @brief Per-channel mean and population standard deviation of pixel / 255 over the evaluation
 *  transform (output @p size x @p size, resize as the loader's default) of up to @p max_images
 *  images spread evenly over @p f, converted to @p channels (1 or 3). Files that fail to decode are
 *  left out. @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT, #MNV2_ERR_NOT_FOUND (no image decoded),
 *  #MNV2_ERR_OUT_OF_MEMORY. Thread-safe for distinct output arrays. */
MNV2_IMAGE_API int32_t mnv2_image_folder_stats(const mnv2_image_folder *f, uint32_t size, uint32_t channels,
                                               uint32_t max_images, float *mean, float *std);
/** @} */

#ifdef __cplusplus
}
#endif
#endif /* MNV2_IMAGE_H */
