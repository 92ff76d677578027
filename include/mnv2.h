/*
 * mnv2 - MobileNetV2 training and inference on CPUs.
 * SPDX-License-Identifier: BSD-2-Clause
 */
/**
 * @file mnv2.h
 * @brief The public API of libmnv2: configuration, model, training and parameter access.
 *
 * Conventions that hold for every function in this header:
 * - Every function that can fail returns an `int32_t` status: #MNV2_OK (0) or a negative
 *   `MNV2_ERR_*` code. Codes are pinned and never reused. mnv2_status_string() names every
 *   code; mnv2_last_error() gives a detail message for the last failure on the calling thread.
 * - Out-parameters are written only on success.
 * - Handles are opaque. A handle must not be used by two threads at the same time; distinct
 *   handles are fully independent. The only global state is the CPU features, detected once.
 * - Images are NHWC float32 (batch, height, width, channels), batch-major and contiguous.
 * - Memory is allocated by mnv2_model_create() only: mnv2_forward(), mnv2_backward() and
 *   mnv2_step() never allocate.
 */
#ifndef MNV2_H
#define MNV2_H

#include <stddef.h>
#include <stdint.h>

#if defined(MNV2_STATIC_DEFINE)
#define MNV2_API
#elif defined(_WIN32)
#if defined(MNV2_BUILDING)
#define MNV2_API __declspec(dllexport)
#else
#define MNV2_API __declspec(dllimport)
#endif
#elif defined(__GNUC__)
#define MNV2_API __attribute__((visibility("default")))
#else
#define MNV2_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/** @defgroup version Version
 *  @{ */
#define MNV2_VERSION_MAJOR 0 /**< Major version; also the ABI major (soname libmnv2.so.0). */
#define MNV2_VERSION_MINOR 1 /**< Minor version. */
#define MNV2_VERSION_PATCH 0 /**< Patch version. */
/** The version as one number: major * 10000 + minor * 100 + patch. */
#define MNV2_VERSION_NUMBER (MNV2_VERSION_MAJOR * 10000 + MNV2_VERSION_MINOR * 100 + MNV2_VERSION_PATCH)
#define MNV2_VERSION_STRING "0.1.0" /**< The version as text. */

/** @brief Version of the library actually loaded, as #MNV2_VERSION_NUMBER encodes it.
 *  Compare with #MNV2_VERSION_NUMBER to detect a header / library mismatch. Thread-safe. */
MNV2_API uint32_t mnv2_version(void);
/** @brief Version of the library actually loaded, as text ("0.1.0"). Static storage; thread-safe. */
MNV2_API const char *mnv2_version_string(void);
/** @} */

/** @defgroup status Status codes
 *  Negative, pinned, never reused.
 *  @{ */
#define MNV2_OK 0                      /**< Success. */
#define MNV2_ERR_INVALID_ARGUMENT (-1) /**< A NULL pointer or a value out of its documented range. */
#define MNV2_ERR_OUT_OF_MEMORY (-2)    /**< An allocation failed (or the plan's size overflowed). */
#define MNV2_ERR_BATCH_SIZE (-3)       /**< Batch is zero or above the model's maximum batch. */
#define MNV2_ERR_SIZE_MISMATCH (-4)    /**< A buffer's element count does not match what the call needs. */
#define MNV2_ERR_BAD_STATE (-5)        /**< Call out of order (backward before a training forward, step before backward, training on an inference-only model). */
#define MNV2_ERR_UNKNOWN_KEY (-6)      /**< Unknown option key, or the wrong setter type for the key. */
#define MNV2_ERR_READ_ONLY (-7)        /**< The option cannot be changed on a created model. */
#define MNV2_ERR_IO (-8)               /**< A file could not be opened, read, written or renamed. */
#define MNV2_ERR_FORMAT (-9)           /**< A file or buffer is malformed (bad magic, truncated, inconsistent). */
#define MNV2_ERR_CHECKSUM (-10)        /**< A section of a file failed its CRC-32 check. */
#define MNV2_ERR_VERSION (-11)         /**< A file was written by a newer, incompatible format version. */
#define MNV2_ERR_UNSUPPORTED (-12)     /**< Valid request that this build or CPU cannot serve. */
#define MNV2_ERR_THREAD (-13)          /**< A worker thread could not be started. */
#define MNV2_ERR_NOT_FOUND (-14)       /**< A named item (tensor, file entry) does not exist. */
#define MNV2_ERR_NOT_FINITE (-15)      /**< The loss or an input is NaN or infinite. */
#define MNV2_ERR_HOOK (-16)            /**< A caller's callback (mnv2_model_set_bn_stats_hook()) reported a failure or returned invalid values. */

/** @brief A short English description of a status code. Unknown codes give
 *  "unknown status code". Never returns NULL; static storage; thread-safe. */
MNV2_API const char *mnv2_status_string(int32_t status);

/** @brief Detail message of the most recent failing mnv2 call on the calling thread
 *  (for example "model.mnv2: section 'weights': CRC mismatch"). Empty string if none.
 *  The pointer is valid until the next mnv2 call on this thread. Never returns NULL. */
MNV2_API const char *mnv2_last_error(void);
/** @} */

/** @defgroup isa Instruction-set levels
 *  Pinned values. The level in use may only be lowered from what the CPU supports, by the
 *  environment variable `MNV2_ISA` (scalar | sse41 | avx2 | avx512 | neon), read once, and by
 *  the #MNV2_KEY_ISA_MAX option.
 *  @{ */
#define MNV2_ISA_SCALAR 0  /**< Portable C reference kernels. */
#define MNV2_ISA_SSE41 1   /**< x86 SSE4.1. */
#define MNV2_ISA_AVX2 2    /**< x86 AVX2 + FMA. */
#define MNV2_ISA_AVX512 3  /**< x86 AVX-512 F/BW/DQ/VL. */
#define MNV2_ISA_NEON 16   /**< AArch64 Advanced SIMD. */

/** @brief Name of an ISA level ("scalar", "sse41", "avx2", "avx512", "neon"; "unknown" otherwise).
 *  Static storage; thread-safe. */
MNV2_API const char *mnv2_isa_name(int32_t isa);
/** @brief Highest ISA level this process will use: what the CPU supports, lowered by `MNV2_ISA`
 *  if set. Detection runs once per process; thread-safe. */
MNV2_API int32_t mnv2_cpu_isa(void);
/** @} */

/** @defgroup config Model configuration
 *  An opaque, growable set of options, from which mnv2_model_create() builds a model.
 *  Options are addressed by pinned integer keys; each key has a type (integer or float) and
 *  must be set with the matching setter.
 *  @{ */

/** Opaque model configuration. Create with mnv2_config_create(), free with mnv2_config_destroy(). */
typedef struct mnv2_config mnv2_config;

#define MNV2_PRESET_STANDARD 1 /**< Canonical MobileNetV2 (Sandler et al. 2018, torchvision's mobilenet_v2): 224x224x3, 17 blocks, head 1280, dropout 0.2, 1000 classes. */
#define MNV2_PRESET_REDUCED 2  /**< The seed paper's Table 3 variant for 32x32x3: stem 32 stride 2, blocks (6,64,4,1) (6,96,3,2) (6,160,3,1), head 256, no dropout, 10 classes. */

/** @name Structural keys (fixed once the model is created; readable from the model)
 *  @{ */
#define MNV2_KEY_CLASSES 1           /**< int: number of classes, 1..65536. */
#define MNV2_KEY_INPUT_HEIGHT 2      /**< int: input height, 1..4096. */
#define MNV2_KEY_INPUT_WIDTH 3       /**< int: input width, 1..4096. */
#define MNV2_KEY_INPUT_CHANNELS 4    /**< int: input channels, 1..64 (1 = grey, 3 = RGB). */
#define MNV2_KEY_STEM_CHANNELS 5     /**< int: stem conv output channels before the width multiplier (32). */
#define MNV2_KEY_HEAD_CHANNELS 6     /**< int: head 1x1 conv channels (standard 1280, scaled only when the multiplier exceeds 1, as torchvision; reduced 256). */
#define MNV2_KEY_WIDTH_MULT 7        /**< float: width multiplier, 0.05..4; channels rounded to multiples of 8 as torchvision's _make_divisible. */
#define MNV2_KEY_EXPANSION 8         /**< int: 0 = the block table's t; otherwise replaces every t other than 1 (the paper tunes t=4). */
#define MNV2_KEY_BN_MOMENTUM 9       /**< float: batch-norm momentum, Keras convention: running = m * running + (1 - m) * batch. Default 0.99. */
#define MNV2_KEY_BN_EPS 10           /**< float: batch-norm epsilon. Default 1e-3. */
#define MNV2_KEY_DROPOUT 11          /**< float: dropout probability before the classifier, 0..<1. */
#define MNV2_KEY_MAX_BATCH 12        /**< int: largest batch the model accepts; memory is sized for it. Default 32. */
#define MNV2_KEY_SEED 13             /**< int: seed for initialization and dropout. Default 0. */
#define MNV2_KEY_THREADS 14          /**< int: threads a model computes with, the calling thread included (it owns threads - 1 workers); 0 = all online CPUs. Default 1. Results are bit-identical whatever the count. The workers spin for up to 1 ms after each parallel loop before they sleep, so they keep their cores busy that long after a call returns. */
#define MNV2_KEY_ISA_MAX 15          /**< int: highest ISA level the model may use (an MNV2_ISA_* value); can only lower the detected level. Default: no limit. */
#define MNV2_KEY_TRAINABLE 16        /**< int: 1 = allocate gradients, optimizer state and training activations (default); 0 = inference only. */
#define MNV2_KEY_BN_MOMENTUM_TORCH 17 /**< float, alias: PyTorch's convention, running = (1 - m) * running + m * batch; sets #MNV2_KEY_BN_MOMENTUM to 1 - m. */
#define MNV2_KEY_INIT 18             /**< int: weight initialization scheme, an MNV2_INIT_* value. Default #MNV2_INIT_TORCHVISION. Used by mnv2_model_create() only. */
/** @} */

/** @name Training keys (settable on the config and on a created model)
 *  @{ */
#define MNV2_KEY_OPTIMIZER 32        /**< int: an MNV2_OPTIMIZER_* value. Default Adam. */
#define MNV2_KEY_LR 33               /**< float: learning rate; with a schedule, its maximum. Default 1e-3. */
#define MNV2_KEY_BETA1 34            /**< float: Adam beta1. Default 0.9. */
#define MNV2_KEY_BETA2 35            /**< float: Adam beta2. Default 0.999. */
#define MNV2_KEY_ADAM_EPS 36         /**< float: Adam epsilon. Default 1e-7 (Keras, the paper's framework; PyTorch uses 1e-8). */
#define MNV2_KEY_WEIGHT_DECAY 37     /**< float: weight decay (L2 added to the gradient for Adam and SGD; decoupled for AdamW). Default 0. */
#define MNV2_KEY_MOMENTUM 38         /**< float: SGD momentum. Default 0.9. */
#define MNV2_KEY_NESTEROV 39         /**< int: 1 = Nesterov momentum for SGD. Default 0. */
#define MNV2_KEY_LR_SCHEDULE 40      /**< int: an MNV2_SCHEDULE_* value. Default #MNV2_SCHEDULE_CONSTANT. */
#define MNV2_KEY_WARMUP_SCALE 41     /**< float: warm-up starts at LR * scale. Default 0.01. */
#define MNV2_KEY_WARMUP_STEPS 42     /**< int: linear warm-up length in optimizer steps. Default 0. */
#define MNV2_KEY_TOTAL_STEPS 43      /**< int: total optimizer steps; cosine decay reaches 0 there. 0 = no decay. */
#define MNV2_KEY_LABEL_SMOOTHING 44  /**< float: label smoothing for mnv2_backward(), 0..<1. Default 0. */
#define MNV2_KEY_STEP 45             /**< int: optimizer steps taken so far (drives bias correction and the schedule); settable to resume. */
#define MNV2_KEY_DECAY_ALL 46        /**< int: 1 = apply weight decay to batch-norm parameters and biases too. Default 0 (conv and classifier weights only). */
#define MNV2_KEY_RNG_STATE 47        /**< int, model only: dropout random stream position; save and restore it to resume bit-identically. */
#define MNV2_KEY_THREAD_PROFILE 48   /**< int, model only: 1 = measure how the model's threads spend its parallel loops (the read-only MNV2_KEY_THREAD_* figures; two clock reads per loop and thread), 0 = stop. Setting it resets the figures. Default 0. Since 0.2. */
/** @} */

/** @name Read-only model keys
 *  @{ */
#define MNV2_KEY_ISA 64              /**< int: ISA level the model's kernels use. */
#define MNV2_KEY_THREAD_LOOPS 65     /**< int: parallel loops run since #MNV2_KEY_THREAD_PROFILE was set to 1. Since 0.2. */
#define MNV2_KEY_THREAD_LOOP_NS 66   /**< int: wall-clock nanoseconds the calling thread spent in those loops (the rest of a call is serial work). Since 0.2. */
#define MNV2_KEY_THREAD_IDLE 67      /**< float: fraction of the threads' time in those loops spent waiting rather than running work items (0 = none; with T threads, a loop of one item counts (T - 1) / T). Since 0.2. */
#define MNV2_KEY_THREAD_BALANCE 68   /**< float: planned work balance of those loops, weighted by their time: the largest per-thread share of items over the mean share (1 = even; a loop of n < T items counts T / n). Since 0.2. */
/** @} */

#define MNV2_OPTIMIZER_ADAM 1   /**< Adam, bias-corrected (Kingma & Ba); weight decay as L2. */
#define MNV2_OPTIMIZER_ADAMW 2  /**< AdamW: decoupled weight decay. */
#define MNV2_OPTIMIZER_SGD 3    /**< SGD with momentum (optionally Nesterov); weight decay as L2. */

#define MNV2_INIT_TORCHVISION 0 /**< torchvision's MobileNetV2: convolutions Kaiming normal (fan out), classifier N(0, 0.01), biases 0. */
#define MNV2_INIT_KERAS 1       /**< Keras defaults (the paper's framework): Glorot uniform for every convolution and the classifier, biases 0. */
#define MNV2_INIT_TORCH 2       /**< PyTorch module defaults (torch.nn.Conv2d / Linear): U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and the classifier bias. */

#define MNV2_SCHEDULE_CONSTANT 0      /**< Learning rate #MNV2_KEY_LR at every step. */
#define MNV2_SCHEDULE_WARMUP_COSINE 1 /**< Linear warm-up from LR * warm-up scale to LR over the warm-up steps, then cosine decay to 0 at the total steps (the paper's recipe). */

/** @brief Create a configuration holding a preset's defaults.
 *  @param preset #MNV2_PRESET_STANDARD or #MNV2_PRESET_REDUCED.
 *  @param[out] out receives the new configuration, owned by the caller.
 *  @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT (unknown preset, NULL out), #MNV2_ERR_OUT_OF_MEMORY. */
MNV2_API int32_t mnv2_config_create(int32_t preset, mnv2_config **out);
/** @brief Copy a configuration. @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT, #MNV2_ERR_OUT_OF_MEMORY. */
MNV2_API int32_t mnv2_config_clone(const mnv2_config *cfg, mnv2_config **out);
/** @brief Free a configuration. NULL is accepted and ignored. */
MNV2_API void mnv2_config_destroy(mnv2_config *cfg);
/** @brief Set an integer option.
 *  @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT (NULL cfg, value out of range),
 *          #MNV2_ERR_UNKNOWN_KEY (unknown key, float key, or read-only key). */
MNV2_API int32_t mnv2_config_set_int(mnv2_config *cfg, int32_t key, int64_t value);
/** @brief Set a float option. Same errors as mnv2_config_set_int(); non-finite values are rejected. */
MNV2_API int32_t mnv2_config_set_float(mnv2_config *cfg, int32_t key, double value);
/** @brief Read an integer option. @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT, #MNV2_ERR_UNKNOWN_KEY. */
MNV2_API int32_t mnv2_config_get_int(const mnv2_config *cfg, int32_t key, int64_t *value);
/** @brief Read a float option. @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT, #MNV2_ERR_UNKNOWN_KEY. */
MNV2_API int32_t mnv2_config_get_float(const mnv2_config *cfg, int32_t key, double *value);

/** Most rows a block table may have. */
#define MNV2_MAX_BLOCK_ROWS 64
/** Most inverted-residual blocks a network may have (sum of n over the rows). */
#define MNV2_MAX_BLOCKS 256

/** @brief Replace the block table: @p n_rows rows of four integers (t, c, n, s) as in the
 *  MobileNetV2 paper: expansion factor t (1..64), output channels c (1..16384, before the width
 *  multiplier), repeats n (1..), stride s of the first repeat (1 or 2). This expresses any
 *  variant, for example the seed paper's 18-block table.
 *  @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT (NULL, 0 or more than #MNV2_MAX_BLOCK_ROWS rows,
 *          a value out of range, more than #MNV2_MAX_BLOCKS blocks). */
MNV2_API int32_t mnv2_config_set_blocks(mnv2_config *cfg, const int32_t *rows, uint32_t n_rows);
/** @brief Read the block table into @p rows (capacity @p max_rows rows of 4 ints);
 *  @p n_rows receives the row count. With rows NULL only the count is returned.
 *  @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT, #MNV2_ERR_SIZE_MISMATCH (capacity too small). */
MNV2_API int32_t mnv2_config_get_blocks(const mnv2_config *cfg, int32_t *rows, uint32_t max_rows, uint32_t *n_rows);
/** @} */

/** @defgroup stats Model facts (pre-flight report)
 *  Computed from the configuration alone, without allocating the model.
 *  @{ */
#define MNV2_STAT_PARAMS 1       /**< Trainable parameters (weights, BN gamma / beta, classifier bias). */
#define MNV2_STAT_BUFFERS 2      /**< Non-trainable values (BN running mean and variance). */
#define MNV2_STAT_MACS 3         /**< Multiply-accumulates of one forward pass per image (convolutions and classifier; depthwise counted as depthwise). */
#define MNV2_STAT_INFER_BYTES 4  /**< Bytes mnv2_model_create() allocates for an inference-only model at the given batch (all buffers; not the worker threads' stacks). */
#define MNV2_STAT_TRAIN_BYTES 5  /**< Bytes mnv2_model_create() allocates for a trainable model at the given batch (all buffers; not the worker threads' stacks). */
#define MNV2_STAT_TENSORS 6      /**< Number of named tensors (parameters and buffers). */
#define MNV2_STAT_LAYERS 7       /**< Number of rows mnv2_config_layer_info() reports. */
#define MNV2_STAT_BLOCKS 8       /**< Number of inverted-residual blocks. */

/** @brief A fact about the network @p cfg describes, computed without allocating it.
 *  @param batch the batch size the memory figures are for (ignored by the others; 0 = max batch).
 *  @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT (NULL, unknown stat, batch above max batch). */
MNV2_API int32_t mnv2_config_stat(const mnv2_config *cfg, int32_t stat, uint32_t batch, uint64_t *value);

/** One row of the per-layer report. A size-prefixed struct: set `struct_size = sizeof(mnv2_layer_info)`
 *  before the call; later versions only append fields. */
typedef struct mnv2_layer_info {
    uint32_t struct_size;   /**< In: sizeof(mnv2_layer_info) as the caller compiled it. */
    char name[40];          /**< Layer name, e.g. "features.3.conv.1" (torchvision numbering). */
    char op[24];            /**< Operation: "conv3x3", "conv1x1", "dwconv3x3", "avgpool", "linear". */
    uint32_t in_h;          /**< Input height per image. */
    uint32_t in_w;          /**< Input width per image. */
    uint32_t in_c;          /**< Input channels per image. */
    uint32_t out_h;         /**< Output height per image. */
    uint32_t out_w;         /**< Output width per image. */
    uint32_t out_c;         /**< Output channels per image. */
    uint32_t stride;        /**< Stride (1 or 2). */
    uint32_t block;         /**< Inverted-residual block index + 1; 0 outside blocks. */
    uint64_t params;        /**< Trainable parameters of the layer (BN gamma / beta included). */
    uint64_t macs;          /**< Multiply-accumulates per image. */
    uint64_t out_bytes;     /**< Bytes of the layer's output activation per image (float32). */
} mnv2_layer_info;

/** @brief Describe layer @p index (0 .. #MNV2_STAT_LAYERS - 1) of the network @p cfg describes.
 *  @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT (NULL, index out of range, struct_size too small). */
MNV2_API int32_t mnv2_config_layer_info(const mnv2_config *cfg, uint32_t index, mnv2_layer_info *info);
/** @} */

/** @defgroup model Model
 *  @{ */

/** Opaque model: parameters, gradients, optimizer state, activation arena, kernels, threads. */
typedef struct mnv2_model mnv2_model;

#define MNV2_MODE_INFER 0 /**< Inference: BN running statistics, no dropout, nothing kept. */
#define MNV2_MODE_TRAIN 1 /**< Training: BN batch statistics (running statistics updated), dropout, activations kept for mnv2_backward(). */

/** @brief Build a model from @p cfg: plans the network, allocates every buffer once and
 *  initializes the weights as torchvision does (Kaiming-normal fan-out for convolutions,
 *  normal(0, 0.01) for the classifier, BN gamma 1 and beta 0), deterministically from the seed.
 *  The config is copied; the caller keeps ownership of @p cfg.
 *  @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT, #MNV2_ERR_OUT_OF_MEMORY, #MNV2_ERR_THREAD. */
MNV2_API int32_t mnv2_model_create(const mnv2_config *cfg, mnv2_model **out);
/** @brief Free a model and join its threads. NULL is accepted and ignored. */
MNV2_API void mnv2_model_destroy(mnv2_model *model);
/** @brief A copy of the model's configuration (training keys as currently set), owned by the caller.
 *  @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT, #MNV2_ERR_OUT_OF_MEMORY. */
MNV2_API int32_t mnv2_model_get_config(const mnv2_model *model, mnv2_config **out);
/** @brief Set an integer training key on a model. Structural keys give #MNV2_ERR_READ_ONLY.
 *  @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT, #MNV2_ERR_UNKNOWN_KEY, #MNV2_ERR_READ_ONLY. */
MNV2_API int32_t mnv2_model_set_int(mnv2_model *model, int32_t key, int64_t value);
/** @brief Set a float training key on a model. Same errors as mnv2_model_set_int(). */
MNV2_API int32_t mnv2_model_set_float(mnv2_model *model, int32_t key, double value);
/** @brief Read any integer key from a model. @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT, #MNV2_ERR_UNKNOWN_KEY. */
MNV2_API int32_t mnv2_model_get_int(const mnv2_model *model, int32_t key, int64_t *value);
/** @brief Read any float key from a model. @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT, #MNV2_ERR_UNKNOWN_KEY. */
MNV2_API int32_t mnv2_model_get_float(const mnv2_model *model, int32_t key, double *value);
/** @brief A fact about the model, as mnv2_config_stat(). */
MNV2_API int32_t mnv2_model_stat(const mnv2_model *model, int32_t stat, uint32_t batch, uint64_t *value);

/** @brief Record the input standardisation the model was trained with: inputs are expected as
 *  (pixel / 255 - mean) / std. This is metadata only: mnv2_forward() does not apply it, the caller
 *  does (for example by passing the values to mnv2_fit_image(), or as the batch options' mean and
 *  std). The values are kept with the model and stored by mnv2_model_save() and
 *  mnv2_checkpoint_save() (section `NORM`), so that a loaded model tells how to prepare its inputs.
 *  A new model has none (@p n 0).
 *  @param mean  @p n means, each finite; may be NULL when @p n is 0.
 *  @param std   @p n standard deviations, each finite and > 0; may be NULL when @p n is 0.
 *  @param n     0 (clear: inputs are used as given), 1 (one value for all channels) or the model's
 *               #MNV2_KEY_INPUT_CHANNELS (one per channel; at most 64).
 *  @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT (NULL model, NULL mean or std with @p n > 0, a
 *          non-finite value, a std not > 0), #MNV2_ERR_SIZE_MISMATCH (@p n is none of 0, 1 and the
 *          input channels). On failure the stored values are unchanged. */
MNV2_API int32_t mnv2_model_set_normalization(mnv2_model *model, const float *mean, const float *std, uint32_t n);
/** @brief Read the input standardisation recorded with mnv2_model_set_normalization() (or loaded
 *  from a file; 0 values when the file has no `NORM` section).
 *  @param[out] mean receives the @p n means; may be NULL (then only @p n is returned, unless @p std is given).
 *  @param[out] std  receives the @p n standard deviations; may be NULL.
 *  @param capacity  room in @p mean and in @p std, in values; ignored when both are NULL.
 *  @param[out] n    receives the count: 0 (none), 1 (global) or the input channels.
 *  @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT (NULL model or @p n),
 *          #MNV2_ERR_SIZE_MISMATCH (@p capacity below the count; nothing is written). */
MNV2_API int32_t mnv2_model_get_normalization(const mnv2_model *model, float *mean, float *std, uint32_t capacity,
                                              uint32_t *n);

/** @brief Run the network on a batch.
 *  @param images   NHWC float32, @p n_images = batch * height * width * channels values.
 *  @param batch    1 .. max batch.
 *  @param mode     #MNV2_MODE_INFER or #MNV2_MODE_TRAIN (the latter needs a trainable model).
 *  @param logits   receives batch * classes values (row per image); may be NULL with @p n_logits 0.
 *  @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT (NULL model or images, unknown mode),
 *          #MNV2_ERR_BATCH_SIZE, #MNV2_ERR_SIZE_MISMATCH, #MNV2_ERR_BAD_STATE (train mode on an
 *          inference-only model). An inference forward invalidates a preceding training forward. */
MNV2_API int32_t mnv2_forward(mnv2_model *model, const float *images, size_t n_images, uint32_t batch,
                              int32_t mode, float *logits, size_t n_logits);
/** @brief Softmax cross-entropy against @p labels (one per image of the last training forward,
 *  each in 0 .. classes - 1), with the model's label smoothing; accumulates the gradient of
 *  every parameter (the loss is the batch mean).
 *  @param[out] loss receives the mean loss; may be NULL.
 *  @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT (NULL, label out of range),
 *          #MNV2_ERR_SIZE_MISMATCH (n_labels is not the forward's batch),
 *          #MNV2_ERR_BAD_STATE (no training forward since the last backward). */
MNV2_API int32_t mnv2_backward(mnv2_model *model, const int32_t *labels, uint32_t n_labels, float *loss);
/** @brief Backward from a caller-computed gradient of the loss with respect to the logits
 *  (batch * classes values), for losses other than cross-entropy. Accumulates gradients.
 *  @return as mnv2_backward(); #MNV2_ERR_NOT_FINITE if @p dlogits holds NaN or infinity. */
MNV2_API int32_t mnv2_backward_logits(mnv2_model *model, const float *dlogits, size_t n_dlogits);
/** @brief Apply the optimizer to every parameter with the learning rate of the model's schedule
 *  at the current step, then clear the gradients and advance #MNV2_KEY_STEP.
 *  @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT, #MNV2_ERR_BAD_STATE (no backward since the last step). */
MNV2_API int32_t mnv2_step(mnv2_model *model);
/** @brief As mnv2_step() with the learning rate @p lr (> 0, finite) given by the caller. */
MNV2_API int32_t mnv2_step_lr(mnv2_model *model, float lr);
/** @brief Clear the accumulated gradients without stepping. @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT, #MNV2_ERR_BAD_STATE (inference-only model). */
MNV2_API int32_t mnv2_zero_grad(mnv2_model *model);
/** @brief Learning rate the model's schedule gives at optimizer step @p step (0-based).
 *  @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT. */
MNV2_API int32_t mnv2_schedule_lr(const mnv2_model *model, int64_t step, float *lr);
/** @} */

/** @defgroup bnhook Batch-statistics hook (synchronised batch norm)
 *  A callback that sees, and may replace, every batch-norm layer's batch statistics during a
 *  training pass, before they are used. A data-parallel layer (for example over MPI) uses it to
 *  reduce them across processes so that every process normalises with the statistics of the whole
 *  global batch ("synchronised batch norm"). Without a hook each model uses its own batch's.
 *  @{ */
#define MNV2_BN_STATS_FORWARD 1  /**< Forward: @p s1 = per-channel mean, @p s2 = per-channel biased variance (mean of (z - mean)^2), @p count = values per channel (batch * height * width). */
#define MNV2_BN_STATS_BACKWARD 2 /**< Backward: @p s1 = per-channel sum of g, @p s2 = per-channel sum of g * (z - mean), where g is the loss gradient w.r.t. the BN output (through the ReLU6 mask) and mean the statistic the forward used; @p count as in the forward. */

/** @brief The batch-statistics callback (see mnv2_model_set_bn_stats_hook()).
 *  @param user     the pointer given at registration.
 *  @param phase    #MNV2_BN_STATS_FORWARD or #MNV2_BN_STATS_BACKWARD.
 *  @param layer    the convolution the BN follows, named as mnv2_config_layer_info() names it
 *                  ("features.0.0", "features.2.conv.1", ...); valid during the call only.
 *  @param channels number of values in @p s1 and in @p s2.
 *  @param count    in: the values per channel of this model's batch; out: those of the batch the
 *                  statistics now describe (>= 1, finite).
 *  @param s1, s2   the statistics described at the phase, double, @p channels each; the callback
 *                  may overwrite them in place (each result must be finite; a variance >= 0).
 *  @return 0 to continue; any other value fails the pass with #MNV2_ERR_HOOK. */
typedef int32_t (*mnv2_bn_stats_fn)(void *user, int32_t phase, const char *layer, uint32_t channels, double *count,
                                    double *s1, double *s2);

/** @brief Register (or with @p fn NULL, remove) the batch-statistics callback of a model.
 *
 *  In a training forward (#MNV2_MODE_TRAIN) the callback is called once per batch-norm layer, in
 *  network order (stem, blocks, head), with #MNV2_BN_STATS_FORWARD, after the layer's batch mean
 *  and variance are computed and before they normalise the layer or update its running statistics
 *  (the running variance takes the unbiased estimate from the returned @p count). In mnv2_backward()
 *  and mnv2_backward_logits() it is called once per batch-norm layer, in reverse order, with
 *  #MNV2_BN_STATS_BACKWARD: the gamma and beta gradients are accumulated from this model's own
 *  sums before the call; the returned sums and count give the input gradient,
 *  dz = gamma * invstd * (g - s1 / count - (z - mean) * invstd^2 * s2 / count). Returning the sums
 *  over all processes (with the summed count) and averaging the gradients afterwards gives the
 *  gradients of one process holding the whole batch. Inference forwards never call it.
 *
 *  The callback runs on the thread that called mnv2_forward() / mnv2_backward(), never
 *  concurrently for one model, and must not call mnv2 functions on the same model. When it returns
 *  non-zero (or invalid values), it is not called again for the rest of that pass, the pass runs to
 *  its end with the model's own statistics and the call returns #MNV2_ERR_HOOK: after a failed
 *  forward no backward may follow; after a failed backward the gradients are unspecified (clear
 *  them with mnv2_zero_grad()). Not saved with the model.
 *  @param fn    the callback, or NULL to remove it.
 *  @param user  passed to every call; owned by the caller, must outlive the registration.
 *  @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT (NULL model), #MNV2_ERR_BAD_STATE (inference-only
 *          model). Not thread-safe with other calls on the same model. */
MNV2_API int32_t mnv2_model_set_bn_stats_hook(mnv2_model *model, mnv2_bn_stats_fn fn, void *user);
/** @} */

/** @defgroup tensors Parameter access
 *  Every named tensor: trainable parameters and BN running statistics. Names follow torchvision's
 *  `state_dict` ("features.0.0.weight", "features.1.conv.0.weight", "classifier.1.bias", ...);
 *  shapes are mnv2's own layouts: 1x1 conv [Cin][Cout], depthwise [3][3][C], stem [3][3][Cin][Cout],
 *  classifier [Cin][classes], per-channel vectors [C].
 *  @{ */
#define MNV2_TENSOR_PARAM 1        /**< Trainable parameter; has a gradient and optimizer state. */
#define MNV2_TENSOR_RUNNING_MEAN 2 /**< BN running mean (buffer). */
#define MNV2_TENSOR_RUNNING_VAR 3  /**< BN running variance (buffer). */

#define MNV2_DATA_VALUE 0 /**< The tensor's values. */
#define MNV2_DATA_GRAD 1  /**< The tensor's accumulated gradient (parameters only). */

/** @brief Number of named tensors. @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT. */
MNV2_API int32_t mnv2_tensor_count(const mnv2_model *model, uint32_t *count);
/** @brief Index of the tensor called @p name. @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT, #MNV2_ERR_NOT_FOUND. */
MNV2_API int32_t mnv2_tensor_find(const mnv2_model *model, const char *name, uint32_t *index);
/** @brief Describe tensor @p index. Any out-pointer may be NULL. @p name points into the model
 *  (valid while it lives); @p dims has room for 4.
 *  @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT (NULL model, index out of range). */
MNV2_API int32_t mnv2_tensor_info(const mnv2_model *model, uint32_t index, const char **name, int32_t *kind,
                                  uint32_t *ndim, uint32_t *dims, uint64_t *numel);
/** @brief Copy tensor @p index's values or gradient (@p which) into @p dst (@p n = numel).
 *  @return #MNV2_OK, #MNV2_ERR_INVALID_ARGUMENT, #MNV2_ERR_SIZE_MISMATCH, #MNV2_ERR_BAD_STATE (gradient of a buffer or of an inference-only model). */
MNV2_API int32_t mnv2_tensor_read(const mnv2_model *model, uint32_t index, int32_t which, float *dst, uint64_t n);
/** @brief Overwrite tensor @p index's values or gradient from @p src (@p n = numel). Same errors as mnv2_tensor_read(). */
MNV2_API int32_t mnv2_tensor_write(mnv2_model *model, uint32_t index, int32_t which, const float *src, uint64_t n);
/** @brief All trainable parameters as one contiguous array owned by the model (tensor order);
 *  @p count receives its length. Valid while the model lives. NULL on a NULL model.
 *  Inference uses weights with batch norm folded in, recomputed when the model knows the
 *  parameters changed: a call of this function counts as such a change, so after writing
 *  through the pointer, call it again (or any mutating call) before an inference forward. */
MNV2_API float *mnv2_parameters(mnv2_model *model, uint64_t *count);
/** @brief All gradients as one contiguous array laid out as mnv2_parameters(), so that a
 *  data-parallel allreduce is one call. NULL on a NULL or inference-only model. */
MNV2_API float *mnv2_gradients(mnv2_model *model, uint64_t *count);
/** @brief All BN running statistics as one contiguous array (tensor order); the same rule about
 *  writes and inference as mnv2_parameters(). NULL on a NULL model. */
MNV2_API float *mnv2_buffers(mnv2_model *model, uint64_t *count);
/** @brief The optimizer's state as one contiguous array (Adam: first then second moments;
 *  SGD: momentum), for checkpoints. NULL on a NULL or inference-only model. */
MNV2_API float *mnv2_optimizer_state(mnv2_model *model, uint64_t *count);
/** @} */

#ifdef __cplusplus
}
#endif
#endif /* MNV2_H */
