/*
 * mnv2 - MobileNetV2 training and inference on CPUs.
 * SPDX-License-Identifier: BSD-2-Clause
 */
/**
 * @file mnv2_data.h
 * @brief Datasets, the batch iterator, evaluation and the model file format of libmnv2.
 *
 * The conventions of mnv2.h hold here too: every function that can fail returns an `int32_t`
 * status (#MNV2_OK or a negative `MNV2_ERR_*` code) and sets the detail message that
 * mnv2_last_error() returns (it names the file and what is wrong with it); out-parameters are
 * written only on success; handles are opaque and must not be used by two threads at once,
 * distinct handles are independent. Nothing here needs anything beyond libc: compressed files
 * (.gz) are not read by the library (decompress them first, or decompress into memory and use
 * the `_mem` readers, as the examples do).
 */
#ifndef MNV2_DATA_H
#define MNV2_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "mnv2.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @defgroup dataset Datasets
 *  In-memory labelled images: `count` images of `height` x `width` x `channels` uint8 pixels in
 *  HWC order (row-major, channels interleaved), one int32 label (0 .. classes - 1) per image, and
 *  one name per class.
 *
 *  Readers check every claim a file makes against its actual size before allocating anything:
 *  a truncated or malformed file gives #MNV2_ERR_FORMAT, an unreadable one #MNV2_ERR_IO, and no
 *  reader allocates more than #MNV2_DATASET_MAX_BYTES bytes of pixels.
 *  @{ */

/** Opaque dataset. Create with a reader or mnv2_dataset_create(), free with mnv2_dataset_destroy(). */
typedef struct mnv2_dataset mnv2_dataset;

#define MNV2_SPLIT_TRAIN 0 /**< The training split of a dataset directory. */
#define MNV2_SPLIT_TEST 1  /**< The test split of a dataset directory. */

/** Most pixel bytes (count * height * width * channels) a dataset may hold: 2^31. */
#define MNV2_DATASET_MAX_BYTES 2147483648u
/** Largest image height or width a dataset may hold (as #MNV2_KEY_INPUT_HEIGHT). */
#define MNV2_DATASET_MAX_SIDE 4096u
/** Most channels an image may have (as #MNV2_KEY_INPUT_CHANNELS). */
#define MNV2_DATASET_MAX_CHANNELS 64u
/** Most classes a dataset may have (as #MNV2_KEY_CLASSES). */
#define MNV2_DATASET_MAX_CLASSES 65536u

/** @brief Create a dataset by copying caller arrays.
 *  @param count, height, width, channels  image count (1 ..) and shape (1 .. #MNV2_DATASET_MAX_SIDE,
 *         1 .. #MNV2_DATASET_MAX_CHANNELS); the pixel bytes may not exceed #MNV2_DATASET_MAX_BYTES.
 *  @param classes number of classes, 1 .. #MNV2_DATASET_MAX_CLASSES; the classes are named "0", "1", ...
 *         until mnv2_dataset_set_class_names() is called.
 *  @param images  count * height * width * channels bytes, HWC per image; copied.
 *  @param labels  count labels, each in 0 .. classes - 1; copied.
 *  @param[out] out receives the dataset, owned by the caller.
 *  @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT (NULL pointer, size or label out of range),
 *          #MNV2_ERR_OUT_OF_MEMORY. Thread-safe. */
MNV2_API int32_t mnv2_dataset_create(uint32_t count, uint32_t height, uint32_t width, uint32_t channels,
                                     uint32_t classes, const uint8_t *images, const int32_t *labels,
                                     mnv2_dataset **out);
/** @brief Free a dataset. NULL is accepted and ignored. The dataset must not be in use by a
 *  batch iterator any more. */
MNV2_API void mnv2_dataset_destroy(mnv2_dataset *ds);

/** @brief Read CIFAR-10 binary batches (`data_batch_1.bin` ... or `test_batch.bin`): records of one
 *  label byte (0..9) and 3072 bytes of 32x32 R, G and B planes, converted to HWC. The files are
 *  concatenated in the order given. Classes get the built-in CIFAR-10 names ("airplane" ...).
 *  @param paths   @p n_paths file names (1 .. 64).
 *  @param[out] out receives the dataset, owned by the caller.
 *  @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT, #MNV2_ERR_IO (a file cannot be opened or read),
 *          #MNV2_ERR_FORMAT (empty, not a whole number of 3073-byte records, a label above 9),
 *          #MNV2_ERR_OUT_OF_MEMORY. Thread-safe. */
MNV2_API int32_t mnv2_dataset_read_cifar10(const char *const *paths, uint32_t n_paths, mnv2_dataset **out);
/** @brief As mnv2_dataset_read_cifar10() from one memory buffer holding whole records (several
 *  batch files may simply be concatenated). The buffer is only read, not kept.
 *  @return as mnv2_dataset_read_cifar10(), without #MNV2_ERR_IO. Thread-safe. */
MNV2_API int32_t mnv2_dataset_read_cifar10_mem(const void *data, size_t size, mnv2_dataset **out);
/** @brief Read a CIFAR-100 binary file (`train.bin` or `test.bin`): records of a coarse label byte
 *  (0..19), a fine label byte (0..99) and 3072 bytes of R, G, B planes. The fine label is used
 *  (100 classes, with the built-in CIFAR-100 fine names).
 *  @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT, #MNV2_ERR_IO, #MNV2_ERR_FORMAT, #MNV2_ERR_OUT_OF_MEMORY.
 *  Thread-safe. */
MNV2_API int32_t mnv2_dataset_read_cifar100(const char *path, mnv2_dataset **out);
/** @brief As mnv2_dataset_read_cifar100() from a memory buffer. Thread-safe. */
MNV2_API int32_t mnv2_dataset_read_cifar100_mem(const void *data, size_t size, mnv2_dataset **out);
/** @brief Read an IDX pair (MNIST, Fashion-MNIST): an unsigned-byte image file (magic 0x00000803,
 *  dims N, H, W as big-endian uint32; or 0x00000804 with N, H, W, C) and an unsigned-byte label
 *  file (magic 0x00000801, dim N). The image and label counts must match. The class count is the
 *  largest label + 1; with 10 classes the classes get the Fashion-MNIST names ("T-shirt/top",
 *  "Trouser", ...), otherwise "0", "1", ... (mnv2_dataset_set_class_names() overrides them).
 *  Files must be uncompressed.
 *  @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT, #MNV2_ERR_IO, #MNV2_ERR_FORMAT (bad magic, truncated,
 *          trailing bytes, dimensions out of range, count mismatch), #MNV2_ERR_OUT_OF_MEMORY. Thread-safe. */
MNV2_API int32_t mnv2_dataset_read_idx(const char *images_path, const char *labels_path, mnv2_dataset **out);
/** @brief As mnv2_dataset_read_idx() from memory buffers (for example decompressed .gz files).
 *  Thread-safe. */
MNV2_API int32_t mnv2_dataset_read_idx_mem(const void *images, size_t images_size, const void *labels,
                                           size_t labels_size, mnv2_dataset **out);
/** @brief Open one split of a dataset directory, recognising the layout by its file names:
 *  - CIFAR-10 (`data_batch_1.bin`): train = `data_batch_1.bin` .. `data_batch_5.bin`, test =
 *    `test_batch.bin`; class names from `batches.meta.txt` if present (one per line).
 *  - CIFAR-100 (`train.bin` with `test.bin`, `meta` or `fine_label_names.txt`): `train.bin` /
 *    `test.bin`; class names from `fine_label_names.txt` if present.
 *  - IDX (`train-images-idx3-ubyte`): `train-images-idx3-ubyte` + `train-labels-idx1-ubyte`, test
 *    `t10k-images-idx3-ubyte` + `t10k-labels-idx1-ubyte`. Only gzip-compressed files (`.gz`) give
 *    #MNV2_ERR_UNSUPPORTED: decompress them, or read them into memory and use mnv2_dataset_read_idx_mem().
 *  @param split #MNV2_SPLIT_TRAIN or #MNV2_SPLIT_TEST.
 *  @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT, #MNV2_ERR_NOT_FOUND (no known layout in @p dir),
 *          #MNV2_ERR_UNSUPPORTED, #MNV2_ERR_IO, #MNV2_ERR_FORMAT, #MNV2_ERR_OUT_OF_MEMORY. Thread-safe. */
MNV2_API int32_t mnv2_dataset_open_dir(const char *dir, int32_t split, mnv2_dataset **out);

/** @brief The dataset's size and shape. Any out-pointer may be NULL.
 *  @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT (NULL dataset). */
MNV2_API int32_t mnv2_dataset_info(const mnv2_dataset *ds, uint32_t *count, uint32_t *height, uint32_t *width,
                                   uint32_t *channels, uint32_t *classes);
/** @brief Pointer to image @p index (height * width * channels bytes, HWC), owned by the dataset
 *  and valid while it lives. Images are contiguous: image i + 1 follows image i.
 *  @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT (NULL, index out of range). */
MNV2_API int32_t mnv2_dataset_image(const mnv2_dataset *ds, uint32_t index, const uint8_t **pixels);
/** @brief Label of image @p index. @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT. */
MNV2_API int32_t mnv2_dataset_label(const mnv2_dataset *ds, uint32_t index, int32_t *label);
/** @brief Name of class @p cls, owned by the dataset (valid until it is destroyed or its names
 *  are replaced). @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT. */
MNV2_API int32_t mnv2_dataset_class_name(const mnv2_dataset *ds, uint32_t cls, const char **name);
/** @brief Replace the class names with copies of @p names (exactly `classes` strings, each at most
 *  255 bytes). @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT, #MNV2_ERR_SIZE_MISMATCH (@p n is
 *  not the class count), #MNV2_ERR_OUT_OF_MEMORY; on failure the old names stay. */
MNV2_API int32_t mnv2_dataset_set_class_names(mnv2_dataset *ds, const char *const *names, uint32_t n);
/** @brief A new dataset holding copies of the images @p indices[0 .. n - 1] (repeats allowed), with
 *  the same shape, classes and class names.
 *  @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT (NULL, n 0, index out of range), #MNV2_ERR_OUT_OF_MEMORY. */
MNV2_API int32_t mnv2_dataset_subset(const mnv2_dataset *ds, const uint32_t *indices, uint32_t n,
                                     mnv2_dataset **out);
/** @brief Keep only the first @p n images (all of them when @p n is at least the count), in place.
 *  Not while a batch iterator uses the dataset.
 *  @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT (NULL, n 0). */
MNV2_API int32_t mnv2_dataset_limit(mnv2_dataset *ds, uint32_t n);

#define MNV2_NORM_NONE 0    /**< No standardisation: values are pixel / 255 in [0, 1]. */
#define MNV2_NORM_CHANNEL 1 /**< (pixel / 255 - mean[c]) / std[c], one mean / std per output channel. */
#define MNV2_NORM_GLOBAL 2  /**< (pixel / 255 - mean) / std with one mean / std over all channels
                                 (as the Fashion-MNIST reference does). */

/** @brief Mean and population standard deviation of the dataset's pixels / 255, after conversion
 *  to @p channels output channels (see mnv2_fit_image(): grey replicated, RGB to luma), per
 *  channel (#MNV2_NORM_CHANNEL) or over all channels (#MNV2_NORM_GLOBAL; every entry gets the
 *  same value). A standard deviation below 1e-6 is reported as 1. Exact for uint8 sources
 *  (computed from per-channel histograms, in double precision).
 *  @param channels output channels (0 = the dataset's own); @p mean and @p std receive that many values.
 *  @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT (NULL, unknown mode, #MNV2_NORM_NONE),
 *          #MNV2_ERR_UNSUPPORTED (a channel conversion mnv2_fit_image() does not do). */
MNV2_API int32_t mnv2_dataset_stats(const mnv2_dataset *ds, int32_t norm, uint32_t channels, float *mean,
                                    float *std);
/** @} */

/** @defgroup batches Batches, augmentation and fitting to the model input
 *  The iterator turns a dataset into NHWC float32 batches for mnv2_forward(). Per image, in order:
 *  1. channel conversion on pixel / 255: the same count copies; 1 channel is replicated to any
 *     count; 3 or 4 channels (RGB, RGBA) to 1 take the luma (0.299 R + 0.587 G + 0.114 B);
 *     4 channels to 3 drop alpha; anything else is #MNV2_ERR_UNSUPPORTED;
 *  2. standardisation (see #MNV2_NORM_CHANNEL, computed in float32 as (x / 255 - mean) / std);
 *  3. fitting to the output size: unchanged when equal; zero padding centred (top = (H - h) / 2,
 *     left = (W - w) / 2, rounded down) when the image is no larger in either dimension (28x28 to
 *     32x32 pads 2 pixels each side); otherwise bilinear resizing with half-pixel centres
 *     (PyTorch `align_corners=False`, no antialiasing). Padding is 0 after standardisation, as the
 *     Fashion-MNIST reference does;
 *  4. augmentation (training only): random crop after zero padding by P pixels (offsets dy, dx
 *     uniform in 0 .. 2P), then random horizontal flip with probability 1/2.
 *
 *  Randomness is a function of (seed, epoch, position) only, identical on every platform:
 *  `mix(x)` is the splitmix64 finaliser (x ^= x >> 30; x *= 0xBF58476D1CE4E5B9; x ^= x >> 27;
 *  x *= 0x94D049BB133111EB; x ^= x >> 31), `next(s)` is splitmix64 (s += 0x9E3779B97F4A7C15;
 *  return mix(s)), `uniform(s, n)` is Lemire's multiply-shift with rejection on the top 32 bits of
 *  next(s). Epoch key k = mix(seed + 0x9E3779B97F4A7C15 * (epoch + 1)). The order of an epoch is
 *  a Fisher-Yates shuffle of 0 .. count - 1 with state s = k (for i = count - 1 down to 1: swap
 *  i with uniform(s, i + 1)). The image at position p of the epoch draws from state
 *  s = mix(k ^ ((p + 1) * 0xD1B54A32D192ED03)): with padding P, dy = uniform(s, 2P + 1) then
 *  dx = uniform(s, 2P + 1); with flipping, it flips when the top bit of next(s) is set.
 *  @{ */

/** Opaque batch iterator. */
typedef struct mnv2_batch_iter mnv2_batch_iter;

/** Settings of a batch iterator (and of mnv2_evaluate()). A size-prefixed struct: fill it with
 *  mnv2_batch_options_default(), then change fields; later versions only append fields. */
typedef struct mnv2_batch_options {
    uint32_t struct_size; /**< sizeof(mnv2_batch_options) as the caller compiled it. */
    uint32_t batch;       /**< Images per batch, >= 1. Default 32. */
    uint32_t height;      /**< Output height; 0 = the dataset's. Default 0. */
    uint32_t width;       /**< Output width; 0 = the dataset's. Default 0. */
    uint32_t channels;    /**< Output channels; 0 = the dataset's. Default 0. */
    uint32_t shuffle;     /**< 1 = a new deterministic order every epoch; 0 = dataset order. Default 1. */
    uint32_t drop_last;   /**< 1 = skip the last partial batch of an epoch. Default 0. */
    uint32_t flip;        /**< 1 = random horizontal flip with probability 1/2. Default 0. */
    uint32_t pad_crop;    /**< P > 0: random crop after zero padding by P pixels (0 .. 64). Default 0. */
    int32_t norm;         /**< #MNV2_NORM_NONE, #MNV2_NORM_CHANNEL or #MNV2_NORM_GLOBAL. Default #MNV2_NORM_CHANNEL. */
    uint64_t seed;        /**< Seed of the shuffle and augmentation streams. Default 0. */
    const float *mean;    /**< With a norm mode: the output channels' means (one value for global),
                               copied at creation; NULL = computed from the dataset (mnv2_dataset_stats()). */
    const float *std;     /**< As @ref mean, the standard deviations (each > 0); NULL exactly when mean is. */
} mnv2_batch_options;

/** @brief Fill @p opts with the defaults listed in #mnv2_batch_options and set its struct_size.
 *  @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT (NULL). Thread-safe. */
MNV2_API int32_t mnv2_batch_options_default(mnv2_batch_options *opts);

/** @brief Create a batch iterator over @p ds at epoch 0, position 0. The dataset is borrowed: it
 *  must outlive the iterator and not change while it is used. The options are copied (mean and
 *  std included). Allocates the epoch order and scratch space; mnv2_batch_next() does not allocate.
 *  @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT (NULL, struct_size too small, batch 0, a size out of
 *          range, std not positive, drop_last with batch above the count), #MNV2_ERR_UNSUPPORTED
 *          (channel conversion), #MNV2_ERR_OUT_OF_MEMORY. */
MNV2_API int32_t mnv2_batch_iter_create(const mnv2_dataset *ds, const mnv2_batch_options *opts,
                                        mnv2_batch_iter **out);
/** @brief Free an iterator. NULL is accepted and ignored. */
MNV2_API void mnv2_batch_iter_destroy(mnv2_batch_iter *it);
/** @brief Produce the next batch of the current epoch.
 *  @param images receives batch * height * width * channels floats, NHWC; @p n_images is its
 *         capacity and must hold a full batch (options.batch images).
 *  @param labels receives one label per image; @p n_labels (capacity) >= options.batch.
 *  @param[out] batch receives the number of images produced: options.batch, fewer for the last
 *         partial batch, or 0 when the epoch is over; a 0 also moves the iterator to the start
 *         of the next epoch (reshuffled), so `while (next(...) == MNV2_OK && b > 0)` is one epoch.
 *  @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT, #MNV2_ERR_SIZE_MISMATCH (a capacity too small). */
MNV2_API int32_t mnv2_batch_next(mnv2_batch_iter *it, float *images, size_t n_images, int32_t *labels,
                                 uint32_t n_labels, uint32_t *batch);
/** @brief The iterator's position: seed, epoch and position (images of the epoch already produced).
 *  Together they determine every later batch, so restoring them with mnv2_batch_iter_set_state()
 *  resumes bit-identically. Any out-pointer may be NULL. @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT. */
MNV2_API int32_t mnv2_batch_iter_get_state(const mnv2_batch_iter *it, uint64_t *seed, uint64_t *epoch,
                                           uint64_t *position);
/** @brief Restore a state read by mnv2_batch_iter_get_state() (on an iterator over the same dataset).
 *  @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT (NULL, position above the image count). */
MNV2_API int32_t mnv2_batch_iter_set_state(mnv2_batch_iter *it, uint64_t seed, uint64_t epoch, uint64_t position);
/** @brief Batches per epoch (with drop_last, full batches only) and the output image shape.
 *  Any out-pointer may be NULL. @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT. */
MNV2_API int32_t mnv2_batch_iter_info(const mnv2_batch_iter *it, uint64_t *batches_per_epoch, uint32_t *height,
                                      uint32_t *width, uint32_t *channels);
/** @brief Fit one image to a model input, without augmentation: steps 1 to 3 above.
 *  @param pixels  @p height * @p width * @p channels bytes, HWC.
 *  @param mean, std  @p n_stats values: 0 (no standardisation, values pixel / 255; both may be NULL),
 *         1 (global) or @p out_channels (per channel); each std > 0.
 *  @param out     receives out_height * out_width * out_channels floats (HWC); @p n_out is its length.
 *  Allocates a temporary buffer when resizing.
 *  @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT, #MNV2_ERR_SIZE_MISMATCH (n_out), #MNV2_ERR_UNSUPPORTED
 *          (channel conversion), #MNV2_ERR_OUT_OF_MEMORY. Thread-safe. */
MNV2_API int32_t mnv2_fit_image(const uint8_t *pixels, uint32_t height, uint32_t width, uint32_t channels,
                                uint32_t out_height, uint32_t out_width, uint32_t out_channels, const float *mean,
                                const float *std, uint32_t n_stats, float *out, size_t n_out);
/** @} */

/** @defgroup evaluate Evaluation
 *  @{ */

/** @brief Evaluate @p model on every image of @p ds in inference mode (mnv2_forward() with
 *  #MNV2_MODE_INFER; the last partial batch included), fitting the images to the model's input
 *  shape. Of @p opts only batch (0 or above the model's max batch = the max batch), norm, mean and
 *  std are used (pass
 *  the training set's statistics; NULL mean / std compute them from @p ds); NULL opts = defaults.
 *  @param[out] loss  mean softmax cross-entropy (no label smoothing); may be NULL.
 *  @param[out] top1  fraction of images whose label has the highest logit (ties go to the lower
 *                    class index, as argmax); may be NULL.
 *  @param[out] top5  fraction whose label is among the 5 highest (all of them with fewer classes); may be NULL.
 *  Allocates one batch of inputs and logits for the call.
 *  @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT (NULL, a label not below the model's classes),
 *          #MNV2_ERR_UNSUPPORTED, #MNV2_ERR_OUT_OF_MEMORY,
 *          #MNV2_ERR_NOT_FINITE (a logit is NaN or infinite), any error of mnv2_forward(). */
MNV2_API int32_t mnv2_evaluate(mnv2_model *model, const mnv2_dataset *ds, const mnv2_batch_options *opts,
                               double *loss, double *top1, double *top5);
/** @} */

/** @defgroup files Model and checkpoint files
 *  The format (docs/file-format.md): little-endian, a 16-byte header ("MNV2", format version,
 *  flags), then sections (4-byte tag, uint64 length, payload, CRC-32) ending with "END ".
 *  A model file holds the configuration (CONF), every named tensor (TENS), the class names
 *  (CLAS) and, when the model has one, the input standardisation of mnv2_model_set_normalization()
 *  (NORM); a checkpoint adds the optimizer state, step and dropout stream (OPTS) and the training
 *  state (TRST: batch iterator state and an opaque caller blob). Loading builds the model from the
 *  stored configuration and only checks the stored tensors against it; nothing is allocated from a
 *  size the file claims before it is bounded by the file's real size. Saving to a path is atomic:
 *  a temporary file in the same directory is written, flushed, synced and renamed over the target,
 *  so the old file stays intact if anything fails.
 *  @{ */

/** Current (and highest readable) format version. */
#define MNV2_FILE_VERSION 1

/** Default of mnv2_load_options::batch_cap. */
#define MNV2_LOAD_BATCH_CAP 256
/** Default of mnv2_load_options::memory_cap: 16 GiB (standard 224 training at batch 256 takes 8.4 GiB). */
#define MNV2_LOAD_MEMORY_CAP ((uint64_t)16 << 30)

/** Settings of mnv2_model_load() and mnv2_checkpoint_load(). Size-prefixed: fill with
 *  mnv2_load_options_default(); later versions only append fields (a caller compiled against an
 *  older, shorter version gets the defaults of the fields it lacks).
 *
 *  A file is data: the runtime resources a loaded model takes (threads, batch size, memory) come
 *  from these options, never from the file alone. The values a file stores for them are hints,
 *  used only where an option says "as saved", and then bounded: threads by the CPUs the process may
 *  use, the batch by `batch_cap`, the memory by `memory_cap`, which is checked (with
 *  mnv2_config_stat()) before anything is allocated. */
typedef struct mnv2_load_options {
    uint32_t struct_size; /**< sizeof(mnv2_load_options) as the caller compiled it. */
    uint32_t max_batch;   /**< #MNV2_KEY_MAX_BATCH for the loaded model; 0 = as saved, at most
                           *   `batch_cap`. Default 0. */
    int32_t threads;      /**< #MNV2_KEY_THREADS (0 = the CPUs the process may use); -1 = as saved,
                           *   at most the CPUs the process may use. Default 1 (before 0.2: -1). */
    int32_t trainable;    /**< #MNV2_KEY_TRAINABLE (0 or 1); -1 = as saved. Default -1. */
    int32_t isa_max;      /**< #MNV2_KEY_ISA_MAX (-1 = no limit); -2 = as saved. Default -2. */
    /** Since 0.2. With `max_batch` 0: the file's maximum batch is lowered to this. 0 = the
     *  default, #MNV2_LOAD_BATCH_CAP. */
    uint32_t batch_cap;
    /** Since 0.2. Most bytes the loaded model may allocate (#MNV2_STAT_TRAIN_BYTES, or
     *  #MNV2_STAT_INFER_BYTES for an inference-only model, at its maximum batch): a file whose
     *  model needs more is refused with #MNV2_ERR_OUT_OF_MEMORY before anything is allocated.
     *  0 = the default, #MNV2_LOAD_MEMORY_CAP; UINT64_MAX = no cap. */
    uint64_t memory_cap;
} mnv2_load_options;

/** @brief Fill @p opts with the defaults (1 thread, the file's batch up to #MNV2_LOAD_BATCH_CAP,
 *  at most #MNV2_LOAD_MEMORY_CAP bytes, trainability and ISA limit as saved) and set its
 *  struct_size. Passing NULL options to a loader means these defaults.
 *  @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT. Thread-safe. */
MNV2_API int32_t mnv2_load_options_default(mnv2_load_options *opts);

/** Opaque extra content of a loaded file: class names and, for a checkpoint, the training state. */
typedef struct mnv2_file_info mnv2_file_info;

/** @brief Save a model (configuration, every tensor, class names, input standardisation) to @p path,
 *  atomically.
 *  @param class_names @p n_names names: 0 (none stored) or exactly the model's class count; each at
 *         most 65535 bytes. May be NULL when @p n_names is 0.
 *  The temporary file is unnamed (O_TMPFILE) where the system has it, so a process killed while
 *  saving leaves nothing behind; each save also removes the temporaries `PATH.mnv2-tmp-XXXXXX`
 *  an earlier killed save of the same path left.
 *  @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT, #MNV2_ERR_SIZE_MISMATCH (n_names),
 *          #MNV2_ERR_OUT_OF_MEMORY, #MNV2_ERR_IO (the old file, if any, is then unchanged),
 *          #MNV2_ERR_NOT_FINITE (a value is NaN or infinite; nothing is written). */
MNV2_API int32_t mnv2_model_save(const mnv2_model *model, const char *const *class_names, uint32_t n_names,
                                 const char *path);
/** @brief As mnv2_model_save() into a new memory buffer (@p data, @p size), owned by the caller and
 *  freed with mnv2_buffer_free(). */
MNV2_API int32_t mnv2_model_save_mem(const mnv2_model *model, const char *const *class_names, uint32_t n_names,
                                     void **data, size_t *size);
/** @brief Save a checkpoint: everything mnv2_model_save() stores plus the optimizer state,
 *  #MNV2_KEY_STEP, #MNV2_KEY_RNG_STATE, the state of @p iter (may be NULL: stored as zeros) and
 *  @p blob_size bytes of @p blob (any caller data, e.g. metrics; NULL when blob_size is 0).
 *  @return as mnv2_model_save(); #MNV2_ERR_BAD_STATE for an inference-only model. */
MNV2_API int32_t mnv2_checkpoint_save(mnv2_model *model, const mnv2_batch_iter *iter, const void *blob,
                                      uint64_t blob_size, const char *const *class_names, uint32_t n_names,
                                      const char *path);
/** @brief As mnv2_checkpoint_save() into a new memory buffer, freed with mnv2_buffer_free(). */
MNV2_API int32_t mnv2_checkpoint_save_mem(mnv2_model *model, const mnv2_batch_iter *iter, const void *blob,
                                          uint64_t blob_size, const char *const *class_names, uint32_t n_names,
                                          void **data, size_t *size);
/** @brief As mnv2_checkpoint_save(), with the iterator state given as values (@p seed, @p epoch,
 *  @p position, read back by mnv2_file_info_iter_state()) instead of read from a #mnv2_batch_iter:
 *  for input pipelines outside the library (the image-folder loader of libmnv2-image) that keep
 *  the same (seed, epoch, position) state.
 *  @return as mnv2_checkpoint_save(). Thread-safe for distinct models. */
MNV2_API int32_t mnv2_checkpoint_save_state(mnv2_model *model, uint64_t seed, uint64_t epoch, uint64_t position,
                                            const void *blob, uint64_t blob_size, const char *const *class_names,
                                            uint32_t n_names, const char *path);
/** @brief Free a buffer returned by the `_save_mem` functions. NULL is accepted. */
MNV2_API void mnv2_buffer_free(void *data);

/** @brief Load a model file (or the model part of a checkpoint) from @p path: builds the
 *  configuration from the file (with @p opts' overrides; NULL = none), creates the model with
 *  mnv2_model_create() and fills every tensor and the input standardisation (none when the file
 *  stores none; read it with mnv2_model_get_normalization()).
 *  @param[out] model receives the model, owned by the caller.
 *  @param[out] info  receives the class names etc. (free with mnv2_file_info_destroy()); may be NULL.
 *  @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT, #MNV2_ERR_IO, #MNV2_ERR_FORMAT (bad magic, truncated,
 *          malformed section, tensors that do not match the configuration), #MNV2_ERR_CHECKSUM,
 *          #MNV2_ERR_VERSION (newer format version or a required key this library does not know),
 *          #MNV2_ERR_OUT_OF_MEMORY (also: the model would need more than the options'
 *          memory_cap), any error of mnv2_model_create(), #MNV2_ERR_NOT_FINITE (a stored value is
 *          NaN or infinite; a negative running variance is #MNV2_ERR_FORMAT). Thread-safe. */
MNV2_API int32_t mnv2_model_load(const char *path, const mnv2_load_options *opts, mnv2_model **model,
                                 mnv2_file_info **info);
/** @brief As mnv2_model_load() from a memory buffer (only read, not kept). Thread-safe. */
MNV2_API int32_t mnv2_model_load_mem(const void *data, size_t size, const mnv2_load_options *opts,
                                     mnv2_model **model, mnv2_file_info **info);
/** @brief Load a checkpoint: as mnv2_model_load(), then restores the optimizer state,
 *  #MNV2_KEY_STEP and #MNV2_KEY_RNG_STATE. The iterator state and blob are in @p info (restore
 *  the iterator with mnv2_file_info_iter_state() and mnv2_batch_iter_set_state()).
 *  @return as mnv2_model_load(); #MNV2_ERR_FORMAT for a file that is not a checkpoint,
 *          #MNV2_ERR_INVALID_ARGUMENT for opts.trainable 0. */
MNV2_API int32_t mnv2_checkpoint_load(const char *path, const mnv2_load_options *opts, mnv2_model **model,
                                      mnv2_file_info **info);
/** @brief As mnv2_checkpoint_load() from a memory buffer. Thread-safe. */
MNV2_API int32_t mnv2_checkpoint_load_mem(const void *data, size_t size, const mnv2_load_options *opts,
                                          mnv2_model **model, mnv2_file_info **info);
/** @brief Free a file info. NULL is accepted and ignored. */
MNV2_API void mnv2_file_info_destroy(mnv2_file_info *info);
/** @brief The stored class names: @p names receives an array of @p n strings owned by @p info
 *  (0 and NULL when the file stores none). @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT. */
MNV2_API int32_t mnv2_file_info_class_names(const mnv2_file_info *info, const char *const **names, uint32_t *n);
/** @brief A checkpoint's batch iterator state (see mnv2_batch_iter_get_state()). Any out-pointer may be NULL.
 *  @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT, #MNV2_ERR_NOT_FOUND (not a checkpoint). */
MNV2_API int32_t mnv2_file_info_iter_state(const mnv2_file_info *info, uint64_t *seed, uint64_t *epoch,
                                           uint64_t *position);
/** @brief A checkpoint's caller blob: @p data (owned by @p info; NULL when empty) and @p size.
 *  @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT, #MNV2_ERR_NOT_FOUND (not a checkpoint). */
MNV2_API int32_t mnv2_file_info_blob(const mnv2_file_info *info, const void **data, uint64_t *size);
/** @} */

/** @defgroup onnx ONNX export and import
 *  The inference network as an ONNX model (docs/design.md, section "ONNX"), written and read in
 *  plain C: the protobuf wire format is produced and parsed by hand, with no protobuf library.
 *
 *  Export writes opset 13 (IR version 7): one input `input` (NCHW float32 `[batch, C, H, W]`,
 *  the batch dimension symbolic, named `batch`; or NHWC with #MNV2_ONNX_NHWC), one output
 *  `logits` (`[batch, classes]`), the convolutions with batch norm folded in (or kept as
 *  BatchNormalization nodes with #MNV2_ONNX_BN_NODES), ReLU6 as Clip(0, 6), residual Add,
 *  GlobalAveragePool, Flatten and a Gemm classifier. The configuration (width multiplier, block
 *  table, stem and head channels, dropout) and the standardisation, when not folded in, go into
 *  the model's metadata, so that an import restores them.
 *
 *  Import reads MobileNetV2-shaped graphs: those written by mnv2_model_export_onnx() and those of
 *  `torch.onnx.export(torchvision.models.mobilenet_v2(...))` at opsets 11 to 18, with batch norm
 *  folded into the convolutions (a convolution bias) or as BatchNormalization nodes, ReLU6 as
 *  Clip with attributes or constant inputs, the pooling as GlobalAveragePool or ReduceMean, then
 *  Flatten or Reshape, Dropout or Identity (skipped), and a Gemm or MatMul + Add classifier. The
 *  graph is mapped to a configuration (input size, classes, stem, block table, head; the width
 *  multiplier when the metadata or torchvision's rounding gives it, else 1 with the channels
 *  as found) and weights; anything else is refused with #MNV2_ERR_UNSUPPORTED and a message
 *  naming the first node that cannot be mapped. A convolution bias becomes the batch norm's
 *  beta (gamma 1, mean 0, variance 1 - eps), which mnv2's inference folding reproduces. The
 *  reader is bounded: every length and count is checked against the bytes present before use,
 *  and message nesting is limited.
 *  @{ */
#define MNV2_ONNX_BN_NODES 1u    /**< Export flag: BatchNormalization nodes instead of folding batch norm into the convolutions. */
#define MNV2_ONNX_NHWC 2u        /**< Export flag: input NHWC `[batch, H, W, C]` (a Transpose to NCHW first) instead of NCHW. */
#define MNV2_ONNX_STANDARDIZE 4u /**< Export flag: the model's recorded standardisation (mnv2_model_set_normalization()) as the first nodes, (input - mean) / std, so the graph takes pixel / 255. */

/** @brief Write the inference network of @p model as an ONNX model file at @p path, atomically
 *  (as mnv2_model_save()). Uses the parameters and running statistics as they are now; the
 *  model is only read.
 *  @param flags 0 or any of #MNV2_ONNX_BN_NODES, #MNV2_ONNX_NHWC, #MNV2_ONNX_STANDARDIZE.
 *  @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT (NULL, unknown flag), #MNV2_ERR_BAD_STATE
 *          (#MNV2_ONNX_STANDARDIZE on a model with no standardisation), #MNV2_ERR_OUT_OF_MEMORY,
 *          #MNV2_ERR_IO (the old file, if any, is then unchanged). Not to be called while another
 *          thread uses the same model; distinct models are independent. */
MNV2_API int32_t mnv2_model_export_onnx(const mnv2_model *model, uint32_t flags, const char *path);
/** @brief As mnv2_model_export_onnx() into a new memory buffer (@p data, @p size), owned by the
 *  caller and freed with mnv2_buffer_free(). Out-parameters are written only on success. */
MNV2_API int32_t mnv2_model_export_onnx_mem(const mnv2_model *model, uint32_t flags, void **data, size_t *size);
/** @brief Read an ONNX model file and build an mnv2 model from it (see the group's description
 *  for what is accepted).
 *  @param opts load options (max batch, threads, trainable, ISA limit; NULL or "as saved" = the
 *         defaults of a new configuration: max batch 32, 1 thread, trainable).
 *  @param[out] model receives the model, owned by the caller.
 *  @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT, #MNV2_ERR_IO, #MNV2_ERR_FORMAT (not a valid protobuf
 *          or ONNX message, truncated, a tensor's data size wrong), #MNV2_ERR_UNSUPPORTED (a valid
 *          ONNX graph that is not a MobileNetV2 mnv2 can represent; the message names the node),
 *          #MNV2_ERR_OUT_OF_MEMORY, any error of mnv2_model_create(). Thread-safe. */
MNV2_API int32_t mnv2_model_import_onnx(const char *path, const mnv2_load_options *opts, mnv2_model **model);
/** @brief As mnv2_model_import_onnx() from a memory buffer (only read, not kept). Thread-safe. */
MNV2_API int32_t mnv2_model_import_onnx_mem(const void *data, size_t size, const mnv2_load_options *opts,
                                            mnv2_model **model);
/** @} */

#ifdef __cplusplus
}
#endif
#endif /* MNV2_DATA_H */
