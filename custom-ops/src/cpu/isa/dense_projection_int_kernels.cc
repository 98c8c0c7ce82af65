// DenseProjection's integer kernels (cpu/dense_projection_int_kernels.h), compiled once per instruction set
// (custom-ops/CMakeLists.txt globs src/cpu/isa/): 256-bit AVX2 steps (vpmaddubsw + vpmaddwd), or 512-bit AVX-512
// VNNI ones (vpdpbusd) with GLM_OPS_ISA_AVX512. Each compilation exports its table; everything else stays in an
// anonymous namespace.
// GCC 12's 512-bit intrinsics pass _mm512_undefined_*() as unused merge sources, which -Wmaybe-uninitialized reports
// once inlined (a false positive: every lane used is written).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <immintrin.h>

#include <cfloat>
#include <cstring>

#include "cpu/dense_projection_int_kernels.h"
#include "cpu/simd.h"
#include "cpu/weight_decode.h"

namespace glm_ops::cpu {

namespace {

template <typename T>
constexpr T Min(T a, T b) {
  return b < a ? b : a;
}

#if defined(GLM_OPS_ISA_AVX512)
constexpr int kLanes = 16;
constexpr int64_t kStepBytes = 64;
#else
constexpr int kLanes = 8;
constexpr int64_t kStepBytes = 32;
#endif

// Columns per step: one weight vector of bytes (int4: two columns per byte).
constexpr int64_t StepCols(bool int4) { return int4 ? 2 * kStepBytes : kStepBytes; }

// Weight scales per step: one per 32-column chunk (G 32 with several chunks per step) or one for the whole step
// (G a multiple of the step's columns).
bool Supports(bool int4, int64_t group) { return group == 32 || (group > 0 && group % StepCols(int4) == 0); }

// Rows read side by side per step for T tokens (T x R float sums and R weight vectors in registers).
#if defined(GLM_OPS_ISA_AVX512)
constexpr int RowsFor(int tokens) { return tokens <= 4 ? 4 : 2; }
#else
constexpr int RowsFor(int tokens) { return tokens == 1 ? 4 : tokens == 2 ? 2 : 1; }
#endif

// One token on AVX-512, rows of at most this many bytes go one at a time: four such rows side by side lie in one
// 4 KiB page and are read as four interleaved streams within it, where one row after another is one sequential
// stream. Measured (docs/benchmarks.md, "One row at a time for short rows"): `small` int8 / int4 decode (384-byte
// and 1 KiB rows) 2-9 % faster one row at a time in same-window A/Bs, a cold int8 projection sequence ~15 %; the
// slice's int8 rows (2-16 KiB) ~10 % slower, so longer rows keep R.
constexpr int64_t kOneRowMaxBytes = 1024;

// How far ahead of each row stream a step asks the caches for a line: about kPrefetchBytes, as whole side-by-side
// steps of R rows where those are short (the next steps' rows at the same column), else further along the row itself.
// Measured (docs/benchmarks.md, "Prefetch lead"): a fixed 8 rows ahead (the bf16 kernels' rule) put 48 KiB of
// prefetched lines ahead of the reads at GLM-5.2 widths (6 KiB rows), more than L1 holds: 19 GB per CPU-second hot
// against 73 for MLAS. 2 KiB left weights streamed from memory short of lines in flight (int4 lm_head 6144 x 154,880
// cold: ~13-14 GB/s on two cores); 8 KiB asks for 4x as many lines ahead (~16-21 GB/s), hot rates unchanged.
constexpr int64_t kPrefetchBytes = 8192;
inline int64_t PrefetchLead(int64_t row_bytes, int rows_per_step) {
  const int64_t step = row_bytes * rows_per_step;
  return step <= 2 * kPrefetchBytes ? (kPrefetchBytes + step - 1) / step * step : kPrefetchBytes;
}

// ---------------------------------------------------------------------------------------------------------------
// Activation quantization

#if defined(GLM_OPS_ISA_AVX512)
// 32 columns x[0..n) (zero past n) as int32 in two vectors; returns the chunk's scale max|x| / 127.
inline float QuantizeChunk(const float* x, int64_t n, __m512i& lo, __m512i& hi, bool& finite) {
  const int64_t n0 = n < 0 ? 0 : n > 16 ? 16 : n, n1 = n <= 16 ? 0 : n > 32 ? 16 : n - 16;
  const __mmask16 m0 = static_cast<__mmask16>((1u << n0) - 1), m1 = static_cast<__mmask16>((1u << n1) - 1);
  const __m512 a = _mm512_abs_ps(_mm512_maskz_loadu_ps(m0, x)), b = _mm512_abs_ps(_mm512_maskz_loadu_ps(m1, x + 16));
  const __m512 limit = _mm512_set1_ps(FLT_MAX);  // ordered compare: NaN fails it too
  finite = finite && _mm512_cmp_ps_mask(a, limit, _CMP_LE_OQ) == 0xFFFF &&
           _mm512_cmp_ps_mask(b, limit, _CMP_LE_OQ) == 0xFFFF;
  const float m = _mm512_reduce_max_ps(_mm512_max_ps(a, b));
  const __m512 inv = _mm512_set1_ps(m > 0.0f ? 127.0f / m : 0.0f);
  lo = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_maskz_loadu_ps(m0, x), inv));  // round to nearest even (MXCSR)
  hi = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_maskz_loadu_ps(m1, x + 16), inv));
  return m / 127.0f;
}

// The byte sums of each int32 lane (4 adjacent bytes) of v.
inline __m512i LaneSums(__m512i v) { return _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8(1), v); }

bool Quantize(bool int4, const float* x, int64_t cols, int8_t* q, int32_t* bias, float* scales) {
  bool finite = true;
  const int64_t step = StepCols(int4), steps = (cols + step - 1) / step;
  for (int64_t s = 0; s < steps; ++s) {
    const int64_t c0 = s * step;
    if (!int4) {
      __m512i v[4];
      const float s0 = QuantizeChunk(x + c0, cols - c0, v[0], v[1], finite);
      const float s1 = QuantizeChunk(x + c0 + 32, cols - c0 - 32, v[2], v[3], finite);
      int8_t* out = q + c0;
      for (int k = 0; k < 4; ++k) _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 16 * k), _mm512_cvtepi32_epi8(v[k]));
      _mm512_storeu_ps(scales + s * kLanes, _mm512_insertf32x8(_mm512_set1_ps(s0), _mm256_set1_ps(s1), 1));
      const __m512i sums = LaneSums(_mm512_loadu_si512(out));
      _mm512_storeu_si512(bias + s * kLanes, _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(sums, 7)));
      continue;
    }
    // int4: 128 columns, four chunks; the even columns to q[c0 .. c0 + 64), the odd ones to the next 64.
    __m512i v[8];
    float chunk_scales[4];
    for (int h = 0; h < 4; ++h)
      chunk_scales[h] = QuantizeChunk(x + c0 + 32 * h, cols - c0 - 32 * h, v[2 * h], v[2 * h + 1], finite);
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    int8_t* out = q + c0;
    for (int k = 0; k < 4; ++k) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 16 * k),
                       _mm512_cvtepi32_epi8(_mm512_permutex2var_epi32(v[2 * k], even, v[2 * k + 1])));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 64 + 16 * k),
                       _mm512_cvtepi32_epi8(_mm512_permutex2var_epi32(v[2 * k], odd, v[2 * k + 1])));
    }
    const __m512i spread = _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
    _mm512_storeu_ps(scales + s * kLanes, _mm512_permutexvar_ps(spread, _mm512_castps128_ps512(_mm_loadu_ps(chunk_scales))));
    const __m512i sums = _mm512_add_epi32(LaneSums(_mm512_loadu_si512(out)), LaneSums(_mm512_loadu_si512(out + 64)));
    _mm512_storeu_si512(bias + s * kLanes, _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(sums, 3)));
  }
  return finite;
}
#else
// 32 columns x[0..n) (zero past n) as 32 int8 in column order; returns the chunk's scale max|x| / 127.
inline float QuantizeChunk(const float* x, int64_t n, __m256i& bytes, bool& finite) {
  alignas(32) float padded[32];
  if (n < 32) {
    for (int64_t i = 0; i < 32; ++i) padded[i] = i < n ? x[i] : 0.0f;
    x = padded;
  }
  const __m256 sign = _mm256_set1_ps(-0.0f), limit = _mm256_set1_ps(FLT_MAX);
  __m256 f[4], m = _mm256_setzero_ps();
  for (int k = 0; k < 4; ++k) {
    f[k] = _mm256_loadu_ps(x + 8 * k);
    const __m256 a = _mm256_andnot_ps(sign, f[k]);
    finite = finite && _mm256_movemask_ps(_mm256_cmp_ps(a, limit, _CMP_LE_OQ)) == 0xFF;
    m = _mm256_max_ps(m, a);
  }
  const float top = simd::HorizontalMax(m);
  const __m256 inv = _mm256_set1_ps(top > 0.0f ? 127.0f / top : 0.0f);
  __m256i v[4];
  for (int k = 0; k < 4; ++k) v[k] = _mm256_cvtps_epi32(_mm256_mul_ps(f[k], inv));
  const __m256i packed = _mm256_packs_epi16(_mm256_packs_epi32(v[0], v[1]), _mm256_packs_epi32(v[2], v[3]));
  bytes = _mm256_permutevar8x32_epi32(packed, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
  return top / 127.0f;
}

// The byte sums of each int32 lane (4 adjacent bytes) of v.
inline __m256i LaneSums(__m256i v) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), v), _mm256_set1_epi16(1));
}

bool Quantize(bool int4, const float* x, int64_t cols, int8_t* q, int32_t* bias, float* scales) {
  bool finite = true;
  const int64_t step = StepCols(int4), steps = (cols + step - 1) / step;
  for (int64_t s = 0; s < steps; ++s) {
    const int64_t c0 = s * step;
    if (!int4) {  // one chunk; no bias (the AVX2 int8 step moves the weights' signs onto the activations)
      __m256i bytes;
      const float scale = QuantizeChunk(x + c0, cols - c0, bytes, finite);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + c0), bytes);
      _mm256_storeu_ps(scales + s * kLanes, _mm256_set1_ps(scale));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(bias + s * kLanes), _mm256_setzero_si256());
      continue;
    }
    // int4: 64 columns, two chunks; the even columns to q[c0 .. c0 + 32), the odd ones to the next 32.
    __m256i a, b;
    const float s0 = QuantizeChunk(x + c0, cols - c0, a, finite);
    const float s1 = QuantizeChunk(x + c0 + 32, cols - c0 - 32, b, finite);
    // Per 128-bit half: its 8 even bytes, then its 8 odd ones; then the halves' evens side by side, odds likewise.
    const __m256i split = _mm256_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15, 0, 2, 4, 6, 8, 10,
                                           12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
    a = _mm256_permute4x64_epi64(_mm256_shuffle_epi8(a, split), 0xD8);  // [even 0-15 | odd 0-15] of cols 0..31
    b = _mm256_permute4x64_epi64(_mm256_shuffle_epi8(b, split), 0xD8);
    const __m256i even = _mm256_permute2x128_si256(a, b, 0x20), odd = _mm256_permute2x128_si256(a, b, 0x31);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + c0), even);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + c0 + 32), odd);
    _mm256_storeu_ps(scales + s * kLanes, _mm256_setr_ps(s0, s0, s0, s0, s1, s1, s1, s1));
    const __m256i sums = _mm256_add_epi32(LaneSums(even), LaneSums(odd));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(bias + s * kLanes),
                        _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(sums, 3)));
  }
  return finite;
}
#endif

// ---------------------------------------------------------------------------------------------------------------
// Products

#if defined(GLM_OPS_ISA_AVX512)
using FloatVec = __m512;
using IntVec = __m512i;
inline FloatVec Zero() { return _mm512_setzero_ps(); }
inline FloatVec LoadF(const float* p) { return _mm512_loadu_ps(p); }
inline IntVec LoadI(const void* p) { return _mm512_loadu_si512(p); }
inline FloatVec Fma(FloatVec a, FloatVec b, FloatVec c) { return _mm512_fmadd_ps(a, b, c); }
inline FloatVec Mul(FloatVec a, FloatVec b) { return _mm512_mul_ps(a, b); }
inline FloatVec ToFloat(IntVec v) { return _mm512_cvtepi32_ps(v); }
inline float Sum(FloatVec v) { return _mm512_reduce_add_ps(v); }
inline FloatVec Broadcast(float v) { return _mm512_set1_ps(v); }
// The step's last bytes of a row (count < 64), zero past them, nothing read there.
inline IntVec LoadTail(const uint8_t* p, int64_t count) {
  return _mm512_maskz_loadu_epi8((uint64_t{1} << count) - 1, p);
}
// The float16 weight scales of a step's chunks (G 32: 2 for int8, 4 for int4), each over its chunk's lanes.
template <bool kInt4>
inline FloatVec ChunkScales(const uint16_t* p) {
  if constexpr (kInt4) {
    const __m128 f = _mm_cvtph_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
    return _mm512_permutexvar_ps(_mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3),
                                 _mm512_castps128_ps512(f));
  } else {
    uint32_t pair;
    std::memcpy(&pair, p, sizeof pair);
    const __m128 f = _mm_cvtph_ps(_mm_cvtsi32_si128(static_cast<int>(pair)));
    return _mm512_permutexvar_ps(_mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1),
                                 _mm512_castps128_ps512(f));
  }
}
#else
using FloatVec = __m256;
using IntVec = __m256i;
inline FloatVec Zero() { return _mm256_setzero_ps(); }
inline FloatVec LoadF(const float* p) { return _mm256_loadu_ps(p); }
inline IntVec LoadI(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
inline FloatVec Fma(FloatVec a, FloatVec b, FloatVec c) { return _mm256_fmadd_ps(a, b, c); }
inline FloatVec Mul(FloatVec a, FloatVec b) { return _mm256_mul_ps(a, b); }
inline FloatVec ToFloat(IntVec v) { return _mm256_cvtepi32_ps(v); }
inline float Sum(FloatVec v) { return simd::HorizontalSum(v); }
inline FloatVec Broadcast(float v) { return _mm256_set1_ps(v); }
inline IntVec LoadTail(const uint8_t* p, int64_t count) {
  alignas(32) uint8_t padded[32] = {};
  std::memcpy(padded, p, static_cast<size_t>(count));
  return _mm256_load_si256(reinterpret_cast<const __m256i*>(padded));
}
template <bool kInt4>
inline FloatVec ChunkScales(const uint16_t* p) {  // int4 only on AVX2 (an int8 step is one chunk)
  uint32_t pair;
  std::memcpy(&pair, p, sizeof pair);
  const __m128 f = _mm_cvtph_ps(_mm_cvtsi32_si128(static_cast<int>(pair)));
  return _mm256_permutevar8x32_ps(_mm256_castps128_ps256(f), _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1));
}
#endif

// One weight vector made ready for every token: int8 as q + 128 (AVX-512) or |q| and q (AVX2); int4 as its low
// and high nibbles.
struct Prepared {
  IntVec a, b;
};

template <bool kInt4>
inline Prepared Prepare(IntVec w) {
#if defined(GLM_OPS_ISA_AVX512)
  if constexpr (kInt4) {
    const IntVec mask = _mm512_set1_epi8(0x0F);
    return {_mm512_and_si512(w, mask), _mm512_and_si512(_mm512_srli_epi16(w, 4), mask)};
  } else {
    return {_mm512_xor_si512(w, _mm512_set1_epi8(static_cast<char>(0x80))), w};
  }
#else
  if constexpr (kInt4) {
    const IntVec mask = _mm256_set1_epi8(0x0F);
    return {_mm256_and_si256(w, mask), _mm256_and_si256(_mm256_srli_epi16(w, 4), mask)};
  } else {
    return {_mm256_sign_epi8(w, w), w};
  }
#endif
}

// The int32 lane sums of one step for one token: q the token's step bytes (int4: even at q, odd at q + kStepBytes),
// bias its lane offsets.
template <bool kInt4>
inline IntVec Dot(const Prepared& w, const int8_t* q, const int32_t* bias) {
#if defined(GLM_OPS_ISA_AVX512)
  const IntVec start = LoadI(bias);
  if constexpr (kInt4)
    return _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(start, w.a, LoadI(q)), w.b, LoadI(q + kStepBytes));
  else
    return _mm512_dpbusd_epi32(start, w.a, LoadI(q));
#else
  const IntVec ones = _mm256_set1_epi16(1);
  if constexpr (kInt4) {
    // Nibble x int8 products stay within 2 x 15 x 127 per pair, their sum within 16 bits: no saturation.
    const IntVec pairs =
        _mm256_add_epi16(_mm256_maddubs_epi16(w.a, LoadI(q)), _mm256_maddubs_epi16(w.b, LoadI(q + kStepBytes)));
    return _mm256_add_epi32(_mm256_madd_epi16(pairs, ones), LoadI(bias));
  } else {
    (void)bias;
    return _mm256_madd_epi16(_mm256_maddubs_epi16(w.a, _mm256_sign_epi8(LoadI(q), w.b)), ones);
  }
#endif
}

#if defined(GLM_OPS_ISA_AVX512)
// One token, G 32 (a weight scale per 32-column chunk): BlockedSteps takes the steps kBlockSteps at a time, the 16
// chunks of a block (int4: 4 steps x 4 chunks; int8: 8 x 2) sharing one 32-byte load and one conversion of their 16
// float16 weight scales and one multiplication by the token's 16 chunk scales; each step then only spreads its
// chunks' products over its lanes (one permute), where the generic step spent a load, a conversion, a permute and a
// 512-bit multiplication per row and step (about a third of the int8 step's vector instructions).
template <bool kInt4>
constexpr int64_t kBlockSteps = 16 / (StepCols(kInt4) / 32);
constexpr int64_t kMaxCompactChunks = 2048;  // rows of up to 65,536 columns; wider ones take the generic step

// The token's activation scales of the chunks of steps [0, whole), one per chunk (x.scales holds one per lane), or
// null when they do not fit compact[kMaxCompactChunks] or no block is whole.
template <bool kInt4>
const float* CompactScales(const IntTokens& x, int64_t whole, float* compact) {
  constexpr int64_t kChunks = StepCols(kInt4) / 32, kLanesPerChunk = kLanes / kChunks;
  const int64_t chunks = whole / kBlockSteps<kInt4> * kBlockSteps<kInt4> * kChunks;
  if (chunks == 0 || chunks > kMaxCompactChunks) return nullptr;
  for (int64_t c = 0; c < chunks; ++c) compact[c] = x.scales[c / kChunks * kLanes + c % kChunks * kLanesPerChunk];
  return compact;
}

// Whole blocks of steps from step 0 for R rows (rp / sp: each row's bytes and float16 scales) into acc[R]; returns
// the first step not taken. The lines `ahead` bytes on are prefetched as in the generic step, unless a block's
// furthest one would lie past `end` (the matrix's last rows: their blocks prefetch nothing).
template <bool kInt4, int R>
int64_t BlockedSteps(const uint8_t* const* rp, const uint16_t* const* sp, int64_t whole, const float* compact,
                     int64_t ahead, const uint8_t* end, const IntTokens& x, FloatVec* acc) {
  constexpr int64_t kBlock = kBlockSteps<kInt4>, kChunks = StepCols(kInt4) / 32;
  constexpr int64_t kQBytes = kInt4 ? 2 * kStepBytes : kStepBytes;
  const int64_t blocks = whole / kBlock;
  const uint8_t* last_row = rp[R - 1];  // the highest address (rows ascend; short blocks repeat the last)
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t s0 = b * kBlock;
    const bool prefetch = last_row + (s0 + kBlock) * kStepBytes + ahead <= end;
    const __m512 xs = _mm512_load_ps(compact + 16 * b);
    __m512 scale[R];
    for (int j = 0; j < R; ++j)
      scale[j] = _mm512_mul_ps(
          _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(sp[j] + s0 * kChunks))), xs);
#pragma GCC unroll 8
    for (int64_t k = 0; k < kBlock; ++k) {
      const int64_t s = s0 + k;
      // Lane l of step k: chunk k * kChunks + l / (16 / kChunks) of the block.
      const __m512i spread = kInt4 ? _mm512_add_epi32(_mm512_set1_epi32(static_cast<int>(4 * k)),
                                                      _mm512_srli_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
                                                                                          10, 11, 12, 13, 14, 15), 2))
                                   : _mm512_add_epi32(_mm512_set1_epi32(static_cast<int>(2 * k)),
                                                      _mm512_srli_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
                                                                                          10, 11, 12, 13, 14, 15), 3));
      const int8_t* q = x.q + s * kQBytes;
      const int32_t* bias = x.bias + s * kLanes;
      for (int j = 0; j < R; ++j) {
        const uint8_t* p = rp[j] + s * kStepBytes;
        if (prefetch) _mm_prefetch(reinterpret_cast<const char*>(p + ahead), _MM_HINT_T0);
        IntVec wv = LoadI(p);
        __asm__("" : "+v"(wv));  // one load, not one per use (the compiler folds it into both nibble operations)
        acc[j] = Fma(ToFloat(Dot<kInt4>(Prepare<kInt4>(wv), q, bias)), _mm512_permutexvar_ps(spread, scale[j]), acc[j]);
      }
    }
  }
  return blocks * kBlock;
}
#endif

// T tokens against rows [r0, r1), R rows side by side. kPerChunk: G 32 over several chunks per step (one scale per
// chunk); else one scale per step (G a multiple of the step's columns).
template <bool kInt4, bool kPerChunk, int T, int R = RowsFor(T)>
void GemvT(const IntWeight& w, int64_t r0, int64_t r1, const IntTokens& x, float* y, int64_t ldy) {
  constexpr int64_t kStepCols = StepCols(kInt4), kChunks = kStepCols / 32;
  constexpr int64_t kQBytes = kInt4 ? 2 * kStepBytes : kStepBytes;  // activation bytes per step
  const int64_t whole = w.row_bytes / kStepBytes, tail = w.row_bytes - whole * kStepBytes;
  const uint8_t* end = w.data + w.rows * w.row_bytes;
  const int64_t ahead = PrefetchLead(w.row_bytes, R);
#if defined(GLM_OPS_ISA_AVX512)
  // One token, a weight scale per chunk: the token's chunk scales side by side (BlockedSteps), when they fit here.
  alignas(64) float compact_scales[kMaxCompactChunks];
  const float* compact = nullptr;
  if constexpr (T == 1 && kPerChunk) compact = CompactScales<kInt4>(x, whole, compact_scales);
#endif
  for (int64_t rq = r0; rq < r1; rq += R) {
    const int rows = static_cast<int>(Min<int64_t>(R, r1 - rq));
    const uint8_t* rp[R];
    const uint16_t* sp[R];
    for (int j = 0; j < R; ++j) {
      const int64_t r = rq + Min(j, rows - 1);
      rp[j] = w.data + r * w.row_bytes;
      sp[j] = w.scales + r * w.scale_cols;
    }
    FloatVec acc[T][R];
    for (int t = 0; t < T; ++t)
      for (int j = 0; j < R; ++j) acc[t][j] = Zero();
    auto step = [&](int64_t s, bool last) {
      Prepared pw[R];
      FloatVec ws[R];
      for (int j = 0; j < R; ++j) {
        const uint8_t* p = rp[j] + s * kStepBytes;
        if (!last && p + ahead < end) _mm_prefetch(reinterpret_cast<const char*>(p + ahead), _MM_HINT_T0);
        pw[j] = Prepare<kInt4>(last ? LoadTail(p, tail) : LoadI(p));
        if constexpr (kPerChunk) {
          if (!last) {
            ws[j] = ChunkScales<kInt4>(sp[j] + s * kChunks);
          } else {  // the row's last chunks: scales past the row's last group are not read
            uint16_t pick[4];
            for (int64_t k = 0; k < 4; ++k) pick[k] = sp[j][Min(s * kChunks + Min<int64_t>(k, kChunks - 1), w.scale_cols - 1)];
            ws[j] = ChunkScales<kInt4>(pick);
          }
        } else {
          ws[j] = Broadcast(DecodeF16(sp[j][s * kStepCols / w.group]));
        }
      }
      for (int t = 0; t < T; ++t) {
        const int8_t* q = x.q + t * x.q_stride + s * kQBytes;
        const int32_t* bias = x.bias + t * x.lane_stride + s * kLanes;
        const FloatVec xs = LoadF(x.scales + t * x.lane_stride + s * kLanes);
        for (int j = 0; j < R; ++j) acc[t][j] = Fma(ToFloat(Dot<kInt4>(pw[j], q, bias)), Mul(ws[j], xs), acc[t][j]);
      }
    };
    int64_t s = 0;
#if defined(GLM_OPS_ISA_AVX512)
    if constexpr (T == 1 && kPerChunk) {
      if (compact) s = BlockedSteps<kInt4, R>(rp, sp, whole, compact, ahead, end, x, acc[0]);
    }
#endif
    for (; s < whole; ++s) step(s, false);
    if (tail) step(whole, true);
    for (int t = 0; t < T; ++t)
      for (int j = 0; j < rows; ++j) y[t * ldy + (rq - r0) + j] = Sum(acc[t][j]);
  }
}

template <bool kInt4, bool kPerChunk>
void GemvAny(const IntWeight& w, int64_t r0, int64_t r1, const IntTokens& x, int64_t n, float* y, int64_t ldy) {
  static_assert(kDenseIntMaxTokens == 4, "instantiated for 1..4 tokens");
  switch (n) {
    case 1:
#if defined(GLM_OPS_ISA_AVX512)
      if (w.row_bytes <= kOneRowMaxBytes) return GemvT<kInt4, kPerChunk, 1, 1>(w, r0, r1, x, y, ldy);
#endif
      return GemvT<kInt4, kPerChunk, 1>(w, r0, r1, x, y, ldy);
    case 2: return GemvT<kInt4, kPerChunk, 2>(w, r0, r1, x, y, ldy);
    case 3: return GemvT<kInt4, kPerChunk, 3>(w, r0, r1, x, y, ldy);
    default: return GemvT<kInt4, kPerChunk, 4>(w, r0, r1, x, y, ldy);
  }
}

void Gemv(const IntWeight& w, int64_t r0, int64_t r1, const IntTokens& x, int64_t n, float* y, int64_t ldy) {
  const bool per_step = w.group % StepCols(w.int4) == 0;
  if (w.int4) {
    if (per_step) return GemvAny<true, false>(w, r0, r1, x, n, y, ldy);
    return GemvAny<true, true>(w, r0, r1, x, n, y, ldy);
  }
  if (per_step) return GemvAny<false, false>(w, r0, r1, x, n, y, ldy);
#if defined(GLM_OPS_ISA_AVX512)
  return GemvAny<false, true>(w, r0, r1, x, n, y, ldy);
#endif
}

// ---------------------------------------------------------------------------------------------------------------
// Many tokens: packed panels, activations broadcast (AVX-512: vpdpbusd; AVX2: vpmaddubsw + vpmaddwd)

// Bytes of one 32-column chunk of a packed panel: 16 rows x 32 bytes, then 16 float scales.
constexpr int64_t kPanelChunkBytes = kIntPanelRows * 32 + kIntPanelRows * 4;

// What the panel adds to an int8 weight to make it the unsigned operand: AVX-512 stores q + 128 for vpdpbusd; AVX2
// stores q itself and moves its sign onto the activation bytes (|q| x sign(x, q) cannot saturate vpmaddubsw).
#if defined(GLM_OPS_ISA_AVX512)
constexpr int32_t kPanelInt8Offset = 128;
#else
constexpr int32_t kPanelInt8Offset = 0;
#endif

// int4 panels hold per 8 columns their even columns' nibbles in one group of 4 bytes and the odd ones' in the next
// (what a mask and a shift give from 4 stored bytes, no byte interleave); the activations follow: within each 8
// bytes, columns 0, 2, 4, 6, then 1, 3, 5, 7.
#define GLM_INT4_ORDER 0, 2, 4, 6, 1, 3, 5, 7, 8, 10, 12, 14, 9, 11, 13, 15

bool QuantizeColumns(bool int4, const float* x, int64_t cols, int8_t* q, float* scales, int32_t* corrections) {
  const __m128i kInt4Order = _mm_setr_epi8(GLM_INT4_ORDER);
  bool finite = true;
  const int64_t chunks = (cols + 31) / 32;
  const int32_t offset = int4 ? 8 : kPanelInt8Offset;
  for (int64_t c = 0; c < chunks; ++c) {
#if defined(GLM_OPS_ISA_AVX512)
    __m512i lo, hi;
    scales[c] = QuantizeChunk(x + 32 * c, cols - 32 * c, lo, hi, finite);
    __m128i a = _mm512_cvtepi32_epi8(lo), b = _mm512_cvtepi32_epi8(hi);
    if (int4) a = _mm_shuffle_epi8(a, kInt4Order), b = _mm_shuffle_epi8(b, kInt4Order);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q + 32 * c), a);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q + 32 * c + 16), b);
    corrections[c] = -offset * _mm512_reduce_add_epi32(_mm512_add_epi32(lo, hi));
#else
    __m256i bytes;
    scales[c] = QuantizeChunk(x + 32 * c, cols - 32 * c, bytes, finite);
    if (int4) bytes = _mm256_shuffle_epi8(bytes, _mm256_broadcastsi128_si256(kInt4Order));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + 32 * c), bytes);
    const __m256i lanes = LaneSums(bytes);
    __m128i sum = _mm_add_epi32(_mm256_castsi256_si128(lanes), _mm256_extracti128_si256(lanes, 1));
    sum = _mm_add_epi32(sum, _mm_shuffle_epi32(sum, 0x4E));
    sum = _mm_add_epi32(sum, _mm_shuffle_epi32(sum, 0xB1));
    corrections[c] = -offset * _mm_cvtsi128_si32(sum);
#endif
  }
  return finite;
}

// The first `count` of 16 / 32 bytes at p (count >= 1), zero past them; nothing read past p + count.
inline __m128i LoadBytes16(const uint8_t* p, int64_t count) {
#if defined(GLM_OPS_ISA_AVX512)
  return _mm_maskz_loadu_epi8(static_cast<__mmask16>((1u << Min<int64_t>(count, 16)) - 1), p);
#else
  if (count >= 16) return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  alignas(16) uint8_t padded[16] = {};
  std::memcpy(padded, p, static_cast<size_t>(count));
  return _mm_load_si128(reinterpret_cast<const __m128i*>(padded));
#endif
}
inline __m256i LoadBytes32(const uint8_t* p, int64_t count) {
#if defined(GLM_OPS_ISA_AVX512)
  return _mm256_maskz_loadu_epi8(static_cast<__mmask32>((uint64_t{1} << Min<int64_t>(count, 32)) - 1), p);
#else
  if (count >= 32) return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  alignas(32) uint8_t padded[32] = {};
  std::memcpy(padded, p, static_cast<size_t>(count));
  return _mm256_load_si256(reinterpret_cast<const __m256i*>(padded));
#endif
}

#if defined(GLM_OPS_ISA_AVX512)
// 16 rows of 16 bytes (row r at p + r * stride) as 4 vectors, d[k]'s int32 lane r holding row r's bytes 4k .. 4k + 3:
// rows k, k + 4, k + 8, k + 12 in the 128-bit lanes of one vector, then a 4 x 4 word transpose inside the lanes.
inline void Transpose16x4(const uint8_t* p, int64_t stride, __m512i d[4]) {
  __m512i z[4];
  for (int k = 0; k < 4; ++k) {
    auto row = [&](int r) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + r * stride)); };
    __m512i v = _mm512_castsi128_si512(row(k));
    v = _mm512_inserti32x4(v, row(k + 4), 1);
    v = _mm512_inserti32x4(v, row(k + 8), 2);
    z[k] = _mm512_inserti32x4(v, row(k + 12), 3);
  }
  const __m512i t0 = _mm512_unpacklo_epi32(z[0], z[1]), t1 = _mm512_unpackhi_epi32(z[0], z[1]);
  const __m512i t2 = _mm512_unpacklo_epi32(z[2], z[3]), t3 = _mm512_unpackhi_epi32(z[2], z[3]);
  d[0] = _mm512_unpacklo_epi64(t0, t2);
  d[1] = _mm512_unpackhi_epi64(t0, t2);
  d[2] = _mm512_unpacklo_epi64(t1, t3);
  d[3] = _mm512_unpackhi_epi64(t1, t3);
}

// Chunk c of 16 whole rows from n0 (every column inside the row) into out, in PackPanel's layout.
void PackWholeChunk(const IntWeight& w, int64_t n0, int64_t c, uint8_t* out) {
  const uint8_t* base = w.data + n0 * w.row_bytes;
  __m512i d[4];
  if (w.int4) {
    Transpose16x4(base + 16 * c, w.row_bytes, d);
    const __m512i mask = _mm512_set1_epi8(0x0F);
    for (int k = 0; k < 4; ++k) {
      _mm512_store_si512(out + 128 * k, _mm512_and_si512(d[k], mask));
      _mm512_store_si512(out + 128 * k + 64, _mm512_and_si512(_mm512_srli_epi16(d[k], 4), mask));
    }
  } else {
    const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
    for (int half = 0; half < 2; ++half) {
      Transpose16x4(base + 32 * c + 16 * half, w.row_bytes, d);
      for (int k = 0; k < 4; ++k) _mm512_store_si512(out + 64 * (4 * half + k), _mm512_xor_si512(d[k], flip));
    }
  }
  alignas(32) uint16_t halves[kIntPanelRows];
  const uint16_t* s = w.scales + n0 * w.scale_cols + 32 * c / w.group;
  for (int r = 0; r < kIntPanelRows; ++r) halves[r] = s[r * w.scale_cols];
  _mm512_store_ps(out + kIntPanelRows * 32, _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(halves))));
}
#endif

// Rows [n0, n0 + 16) of w (rows past the matrix as zeros) into panel: per chunk c, 512 bytes [group g][row r][4]
// holding 4 of row r's columns as the kernel's operand bytes, int8: columns 32c + 4g .. +3 as q + kPanelInt8Offset;
// int4: its nibbles q + 8, groups 2k / 2k + 1 the even / odd columns of 32c + 8k .. +7 (GLM_INT4_ORDER); columns
// past the row as nibble 0 / q 0, which meet zero activations; then 16 float scales (row r's group scale; 0 past the
// matrix). On AVX-512, chunks of 16 whole rows are transposed in 512-bit registers (PackWholeChunk).
void PackPanel(const IntWeight& w, int64_t n0, uint8_t* panel) {
  const int64_t chunks = (w.cols + 31) / 32;
  const int rows = static_cast<int>(Min<int64_t>(kIntPanelRows, w.rows - n0));
  alignas(64) uint32_t tile[kIntPanelRows][8];
  for (int64_t c = 0; c < chunks; ++c) {
    uint8_t* out = panel + c * kPanelChunkBytes;
#if defined(GLM_OPS_ISA_AVX512)
    if (rows == kIntPanelRows && (w.int4 ? 16 * (c + 1) <= w.row_bytes : 32 * (c + 1) <= w.cols)) {
      PackWholeChunk(w, n0, c, out);
      continue;
    }
#endif
    float* out_scales = reinterpret_cast<float*>(out + kIntPanelRows * 32);
    for (int r = 0; r < kIntPanelRows; ++r) {
      __m256i bytes = _mm256_setzero_si256();
      if (r < rows) {
        const uint8_t* row = w.data + (n0 + r) * w.row_bytes;
        if (w.int4) {
          const __m128i packed = LoadBytes16(row + 16 * c, w.row_bytes - 16 * c);
          const __m128i mask = _mm_set1_epi8(0x0F);
          const __m128i even = _mm_and_si128(packed, mask), odd = _mm_and_si128(_mm_srli_epi16(packed, 4), mask);
          bytes = _mm256_set_m128i(_mm_unpackhi_epi32(even, odd), _mm_unpacklo_epi32(even, odd));
        } else {
          bytes = LoadBytes32(row + 32 * c, w.cols - 32 * c);
          if constexpr (kPanelInt8Offset == 128) bytes = _mm256_xor_si256(bytes, _mm256_set1_epi8(static_cast<char>(0x80)));
        }
        out_scales[r] = DecodeF16(w.scales[(n0 + r) * w.scale_cols + 32 * c / w.group]);
      } else {
        out_scales[r] = 0.0f;
      }
      _mm256_store_si256(reinterpret_cast<__m256i*>(tile[r]), bytes);
    }
    // Two 8 x 8 transposes of 32-bit words (rows 0-7, rows 8-15): group g's words of rows 0-7 then of rows 8-15.
    uint32_t* words = reinterpret_cast<uint32_t*>(out);
    for (int half = 0; half < 2; ++half) {
      __m256 r[8];
      for (int i = 0; i < 8; ++i) r[i] = _mm256_load_ps(reinterpret_cast<const float*>(tile[8 * half + i]));
      __m256 g[8];
      simd::Transpose8x8(r, g);
      for (int i = 0; i < 8; ++i) _mm256_store_ps(reinterpret_cast<float*>(words + 16 * i + 8 * half), g[i]);
    }
  }
}

// Token t's 4 activation bytes of chunk c, group g, in every int32 lane.
inline IntVec Broadcast4(const int8_t* q, int64_t q_stride, int t, int64_t c, int g) {
  int32_t four;
  std::memcpy(&four, q + t * q_stride + 32 * c + 4 * g, sizeof four);
#if defined(GLM_OPS_ISA_AVX512)
  return _mm512_set1_epi32(four);
#else
  return _mm256_set1_epi32(four);
#endif
}

#if defined(GLM_OPS_ISA_AVX512)
// TB tokens (4, 8 or kIntGemmTokens) against one packed panel: float sums of 16 rows per token, kept in registers
// over every chunk, written to out[0..TB) at the end.
template <int TB>
void PanelTokens(const uint8_t* panel, int64_t chunks, const int8_t* q, int64_t q_stride, const float* scales,
                 const int32_t* corrections, int64_t chunk_stride, __m512* out) {
  __m512 acc[TB];
#pragma GCC unroll 12
  for (int t = 0; t < TB; ++t) acc[t] = _mm512_setzero_ps();
  for (int64_t c = 0; c < chunks; ++c) {
    const uint8_t* block = panel + c * kPanelChunkBytes;
    const __m512 ws = _mm512_loadu_ps(reinterpret_cast<const float*>(block + kIntPanelRows * 32));
    __m512i sum[TB];
#pragma GCC unroll 12
    for (int t = 0; t < TB; ++t) sum[t] = _mm512_set1_epi32(corrections[t * chunk_stride + c]);
#pragma GCC unroll 8
    for (int g = 0; g < 8; ++g) {
      const __m512i wv = _mm512_load_si512(block + 64 * g);
#pragma GCC unroll 12
      for (int t = 0; t < TB; ++t) sum[t] = _mm512_dpbusd_epi32(sum[t], wv, Broadcast4(q, q_stride, t, c, g));
    }
#pragma GCC unroll 12
    for (int t = 0; t < TB; ++t)
      acc[t] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(sum[t]), _mm512_set1_ps(scales[t * chunk_stride + c])),
                               ws, acc[t]);
  }
#pragma GCC unroll 12
  for (int t = 0; t < TB; ++t) out[t] = acc[t];
}

void Gemm(const IntWeight& w, int64_t p0, int64_t p1, const int8_t* q, int64_t q_stride, const float* scales,
          const int32_t* corrections, int64_t chunk_stride, int64_t n, float* y, int64_t ldy, uint8_t* panel) {
  const int64_t chunks = (w.cols + 31) / 32;
  for (int64_t p = p0; p < p1; ++p) {
    const int64_t n0 = p * kIntPanelRows;
    const int rows = static_cast<int>(Min<int64_t>(kIntPanelRows, w.rows - n0));
    const __mmask16 keep = static_cast<__mmask16>((1u << rows) - 1);
    PackPanel(w, n0, panel);
    for (int64_t t0 = 0; t0 < n; t0 += kIntGemmTokens) {
      __m512 acc[kIntGemmTokens];
      const int64_t count = Min<int64_t>(kIntGemmTokens, n - t0);
      const int8_t* qt = q + t0 * q_stride;
      const float* st = scales + t0 * chunk_stride;
      const int32_t* ct = corrections + t0 * chunk_stride;
      // The last block as the smallest of 4, 8, 12 tokens that holds it (the rows past n are zero activations).
      if (count <= 4)
        PanelTokens<4>(panel, chunks, qt, q_stride, st, ct, chunk_stride, acc);
      else if (count <= 8)
        PanelTokens<8>(panel, chunks, qt, q_stride, st, ct, chunk_stride, acc);
      else
        PanelTokens<kIntGemmTokens>(panel, chunks, qt, q_stride, st, ct, chunk_stride, acc);
      for (int64_t t = 0; t < count; ++t) _mm512_mask_storeu_ps(y + (t0 + t) * ldy + n0, keep, acc[t]);
    }
  }
}
#else
// TB tokens against the 8 rows [8 * half, 8 * half + 8) of one packed panel: float sums of 8 rows per token in
// registers over every chunk. Per 4-column group and token: int4 one vpmaddubsw (nibble x int8: a 16-bit pair is at
// most 2 x 15 x 127 = 3810, so a chunk's 8 groups add up in 16 bits, 30480 at most, before one vpmaddwd widens them);
// int8 vpsignb + vpmaddubsw (|q| x sign(x, q): a pair at most 2 x 127 x 127 = 32258, no saturation) + vpmaddwd per
// group.
template <bool kInt4, int TB>
void HalfPanelTokens(const uint8_t* panel, int half, int64_t chunks, const int8_t* q, int64_t q_stride,
                     const float* scales, const int32_t* corrections, int64_t chunk_stride, __m256* out) {
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc[TB];
  for (int t = 0; t < TB; ++t) acc[t] = _mm256_setzero_ps();
  for (int64_t c = 0; c < chunks; ++c) {
    const uint8_t* block = panel + c * kPanelChunkBytes + 32 * half;
    const __m256 ws =
        _mm256_loadu_ps(reinterpret_cast<const float*>(panel + c * kPanelChunkBytes + kIntPanelRows * 32) + 8 * half);
    __m256i sum[TB];
    for (int t = 0; t < TB; ++t) sum[t] = _mm256_setzero_si256();
    if constexpr (kInt4) {
#pragma GCC unroll 1  // unrolled, GCC reorders every product ahead of its sum and spills them
      for (int g = 0; g < 8; ++g) {
        const __m256i wv = _mm256_load_si256(reinterpret_cast<const __m256i*>(block + 64 * g));
        for (int t = 0; t < TB; ++t)
          sum[t] = _mm256_add_epi16(sum[t], _mm256_maddubs_epi16(wv, Broadcast4(q, q_stride, t, c, g)));
      }
      for (int t = 0; t < TB; ++t)
        sum[t] = _mm256_add_epi32(_mm256_madd_epi16(sum[t], ones), _mm256_set1_epi32(corrections[t * chunk_stride + c]));
    } else {
#pragma GCC unroll 1  // unrolled, GCC reorders every product ahead of its sum and spills them
      for (int g = 0; g < 8; ++g) {
        const __m256i wv = _mm256_load_si256(reinterpret_cast<const __m256i*>(block + 64 * g));
        const __m256i magnitude = _mm256_sign_epi8(wv, wv);
        for (int t = 0; t < TB; ++t) {
          const __m256i signed_x = _mm256_sign_epi8(Broadcast4(q, q_stride, t, c, g), wv);
          sum[t] = _mm256_add_epi32(sum[t], _mm256_madd_epi16(_mm256_maddubs_epi16(magnitude, signed_x), ones));
        }
      }
    }
    for (int t = 0; t < TB; ++t)
      acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum[t]), _mm256_mul_ps(ws, _mm256_set1_ps(scales[t * chunk_stride + c])),
                               acc[t]);
  }
  for (int t = 0; t < TB; ++t) out[t] = acc[t];
}

// Tokens per block: a divisor of kIntGemmTokens (the activations are readable up to a multiple of it), as many as
// the 16 ymm registers hold with their int and float sums.
template <bool kInt4>
constexpr int kHalfPanelTokens = kInt4 ? 6 : 4;
static_assert(kIntGemmTokens % kHalfPanelTokens<true> == 0 && kIntGemmTokens % kHalfPanelTokens<false> == 0);

template <bool kInt4>
void GemmT(const IntWeight& w, int64_t p0, int64_t p1, const int8_t* q, int64_t q_stride, const float* scales,
           const int32_t* corrections, int64_t chunk_stride, int64_t n, float* y, int64_t ldy, uint8_t* panel) {
  constexpr int TB = kHalfPanelTokens<kInt4>;
  const int64_t chunks = (w.cols + 31) / 32;
  for (int64_t p = p0; p < p1; ++p) {
    const int64_t n0 = p * kIntPanelRows;
    const int rows = static_cast<int>(Min<int64_t>(kIntPanelRows, w.rows - n0));
    PackPanel(w, n0, panel);
    for (int half = 0; half < 2 && 8 * half < rows; ++half) {
      const int live = Min(8, rows - 8 * half);
      const __m256i keep = _mm256_cmpgt_epi32(_mm256_set1_epi32(live), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
      for (int64_t t0 = 0; t0 < n; t0 += TB) {
        __m256 acc[TB];
        HalfPanelTokens<kInt4, TB>(panel, half, chunks, q + t0 * q_stride, q_stride, scales + t0 * chunk_stride,
                                   corrections + t0 * chunk_stride, chunk_stride, acc);
        const int64_t count = Min<int64_t>(TB, n - t0);
        for (int64_t t = 0; t < count; ++t) {
          float* out = y + (t0 + t) * ldy + n0 + 8 * half;
          if (live == 8)
            _mm256_storeu_ps(out, acc[t]);
          else
            _mm256_maskstore_ps(out, keep, acc[t]);
        }
      }
    }
  }
}

void Gemm(const IntWeight& w, int64_t p0, int64_t p1, const int8_t* q, int64_t q_stride, const float* scales,
          const int32_t* corrections, int64_t chunk_stride, int64_t n, float* y, int64_t ldy, uint8_t* panel) {
  if (w.int4) return GemmT<true>(w, p0, p1, q, q_stride, scales, corrections, chunk_stride, n, y, ldy, panel);
  GemmT<false>(w, p0, p1, q, q_stride, scales, corrections, chunk_stride, n, y, ldy, panel);
}
#endif

}  // namespace

#if defined(GLM_OPS_ISA_AVX512)
const DenseIntKernels& DenseIntKernelsAvx512() {
  static const DenseIntKernels table{"avx512", kLanes,    StepCols(false),   StepCols(true), &Supports,
                                     &Quantize, &Gemv,     &QuantizeColumns, &Gemm,
                                     16,        16};
  return table;
}
#else
const DenseIntKernels& DenseIntKernelsAvx2() {
  static const DenseIntKernels table{"avx2", kLanes,  StepCols(false), StepCols(true), &Supports,
                                     &Quantize, &Gemv, &QuantizeColumns, &Gemm,
                                     16,        96};
  return table;
}
#endif

}  // namespace glm_ops::cpu
