// Multi-step LIF neuron: forward and backward (ATan surrogate), one thread per neuron.
//
// Layout: x, spikes, h, grad arrays are [T, N] time-major (element (t, i) at t*N + i), so
// for a fixed t consecutive threads touch consecutive addresses (coalesced).  Each thread
// keeps its neuron's state in registers and loops over T.  Indices are 64-bit (N and
// T*N may exceed 2^31).
//
// Everything but the two __global__ wrappers is __host__ __device__, so the very same
// file is compiled
//   * by NVRTC through cupy.RawModule (evframes.train._lif_cupy), kernels
//     lif_forward<S> / lif_backward<S> with S = float | lif_half | lif_bf16, fetched via
//     name_expressions (no CUDA headers needed);
//   * by `nvcc -ptx` as a build check (tests/lif_cuda_tools.py);
//   * by g++ as plain C++ (tests/lif_host_harness.cpp includes this file and loops
//     lif_forward_neuron / lif_backward_neuron over the neurons), where __CUDACC__ is
//     undefined: the qualifiers expand to nothing and the kernels vanish.  The tests run
//     that harness on the CPU, so the per-neuron loops, the storage types and the
//     conversions the GPU runs are checked without a GPU.
//
// Arithmetic is float32 for every storage type (half / bfloat16 are converted on load and
// store).  The operation order matches evframes.train.neuron's torch reference so the
// forward spikes agree bit for bit: compile without FMA contraction (g++
// -ffp-contract=off; NVRTC/nvcc --fmad=false, which the cupy backend passes), otherwise
// a*b+c may be fused and a spike sitting exactly on the threshold can flip.
//
// The charged potential h that the backward needs is always stored as float32, whatever
// the storage type: the backward recomputes the spike from it, and a half-rounded h can
// sit on the other side of the threshold than the float32 h the forward fired on.
//
// mode bits: LIF_HARD (hard reset to v_reset, else subtract v_th),
//            LIF_DETACH (the reset carries no gradient),
//            LIF_DECAY_INPUT (h = v + decay*(x - (v - v_reset));
//                             else h = v - decay*(v - v_reset) + x).
// For soft reset pass v_reset = 0 (it only enters the charge equation).

#ifndef __CUDACC__
#ifndef __host__
#define __host__
#endif
#ifndef __device__
#define __device__
#endif
#ifndef __forceinline__
#define __forceinline__ inline __attribute__((always_inline))
#endif
#endif

#define LIF_HARD 1
#define LIF_DETACH 2
#define LIF_DECAY_INPUT 4

// The surrogate constants alpha/2 and pi/2*alpha are computed on the host in double and
// passed as float, so every backend rounds them the same way.

// --- storage types ---------------------------------------------------------------------
// 16-bit payloads, bit-compatible with torch.float16 / torch.bfloat16 (and __half /
// __nv_bfloat16), without <cuda_fp16.h> (its NVRTC include path depends on the
// installation).
struct lif_half {
    unsigned short bits;
};
struct lif_bf16 {
    unsigned short bits;
};

__host__ __device__ __forceinline__ unsigned int lif_f32_bits(float f) {
    unsigned int u;
#ifdef __CUDA_ARCH__
    asm("mov.b32 %0, %1;" : "=r"(u) : "f"(f));
#else
    __builtin_memcpy(&u, &f, sizeof(u));
#endif
    return u;
}

__host__ __device__ __forceinline__ float lif_bits_f32(unsigned int u) {
    float f;
#ifdef __CUDA_ARCH__
    asm("mov.b32 %0, %1;" : "=f"(f) : "r"(u));
#else
    __builtin_memcpy(&f, &u, sizeof(f));
#endif
    return f;
}

__host__ __device__ __forceinline__ float lif_load(float a) { return a; }

// binary16 -> float32 (exact).  Device: the PTX cvt instruction; host: the same in bits.
__host__ __device__ __forceinline__ float lif_load(lif_half a) {
#ifdef __CUDA_ARCH__
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(a.bits));
    return f;
#else
    const unsigned int sign = (unsigned int)(a.bits & 0x8000u) << 16;
    const unsigned int exp = (a.bits >> 10) & 0x1fu;
    const unsigned int mant = a.bits & 0x3ffu;
    if (exp == 0) {  // zero or subnormal: mant * 2^-24, exact in float32
        const float mag = (float)mant * 5.9604644775390625e-8f;
        return lif_bits_f32(lif_f32_bits(mag) | sign);
    }
    if (exp == 31) return lif_bits_f32(sign | 0x7f800000u | (mant << 13));  // inf / NaN
    return lif_bits_f32(sign | ((exp + 112u) << 23) | (mant << 13));
#endif
}

// bfloat16 -> float32 (exact): the upper half of the float32 bits.
__host__ __device__ __forceinline__ float lif_load(lif_bf16 a) {
    return lif_bits_f32((unsigned int)a.bits << 16);
}

template <typename S> __host__ __device__ __forceinline__ S lif_store(float a);
template <> __host__ __device__ __forceinline__ float lif_store<float>(float a) { return a; }

// float32 -> binary16, round to nearest even (IEEE), overflow to inf, NaN to quiet NaN.
template <> __host__ __device__ __forceinline__ lif_half lif_store<lif_half>(float a) {
    lif_half r;
#ifdef __CUDA_ARCH__
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(r.bits) : "f"(a));
#else
    unsigned int u = lif_f32_bits(a);
    const unsigned int sign = (u >> 16) & 0x8000u;
    u &= 0x7fffffffu;
    unsigned int o;
    if (u >= 0x47800000u) {  // |a| >= 2^16 (or inf / NaN): inf, NaN stays NaN
        o = (u > 0x7f800000u) ? 0x7e00u : 0x7c00u;
    } else if (u < 0x38800000u) {  // |a| < 2^-14: binary16 subnormal or zero
        // adding 0.5 puts the 10 subnormal mantissa bits at the bottom of a float32
        // whose exponent is fixed; the float addition rounds to nearest even
        const float m = lif_bits_f32(u) + 0.5f;
        o = lif_f32_bits(m) - 0x3f000000u;
    } else {  // normal: rebias the exponent, round the 13 dropped bits to nearest even
        const unsigned int odd = (u >> 13) & 1u;
        o = (u + 0xc8000fffu + odd) >> 13;  // 0xc8000000 = (15 - 127) << 23
    }
    r.bits = (unsigned short)(o | sign);
#endif
    return r;
}

// float32 -> bfloat16, round to nearest even (torch's rule), NaN to 0x7fc0.
template <> __host__ __device__ __forceinline__ lif_bf16 lif_store<lif_bf16>(float a) {
    lif_bf16 r;
    const unsigned int u = lif_f32_bits(a);
    if ((u & 0x7fffffffu) > 0x7f800000u) {
        r.bits = 0x7fc0u;
    } else {
        r.bits = (unsigned short)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
    }
    return r;
}

// --- per-neuron math -------------------------------------------------------------------

// Membrane charge: potential after integrating input x from the post-reset potential v.
__host__ __device__ __forceinline__ float lif_charge(float v, float x, float decay,
                                                     float v_reset, int mode) {
    if (mode & LIF_DECAY_INPUT) {
        return v + decay * (x - (v - v_reset));
    }
    return v - decay * (v - v_reset) + x;
}

// Heaviside fire: 1 when h - v_th >= 0.
__host__ __device__ __forceinline__ float lif_fire(float h, float v_th) {
    return (h - v_th >= 0.0f) ? 1.0f : 0.0f;
}

// Reset: hard -> v_reset where spiked, soft -> subtract v_th where spiked.
__host__ __device__ __forceinline__ float lif_reset(float h, float s, float v_th,
                                                    float v_reset, int mode) {
    if (mode & LIF_HARD) {
        return s != 0.0f ? v_reset : h;
    }
    return s != 0.0f ? h - v_th : h;
}

// ATan surrogate derivative at u = h - v_th:  (alpha/2) / (1 + (pi/2*alpha*u)^2).
__host__ __device__ __forceinline__ float lif_atan_grad(float u, float half_alpha,
                                                        float pi2_alpha) {
    float a = pi2_alpha * u;
    return half_alpha / (1.0f + a * a);
}

// dv/dh of the reset given spike s and surrogate sg.
__host__ __device__ __forceinline__ float lif_dv_dh(float h, float s, float sg, float v_th,
                                                    float v_reset, int mode) {
    if (mode & LIF_HARD) {
        if (mode & LIF_DETACH) return 1.0f - s;
        return 1.0f - s + (v_reset - h) * sg;
    }
    if (mode & LIF_DETACH) return 1.0f;
    return 1.0f - v_th * sg;
}

// One forward step: updates *v, returns the spike, writes the pre-reset potential to *h_out.
__host__ __device__ __forceinline__ float lif_forward_step(float* v, float x, float* h_out,
                                                           float decay, float v_th,
                                                           float v_reset, int mode) {
    float h = lif_charge(*v, x, decay, v_reset, mode);
    float s = lif_fire(h, v_th);
    *v = lif_reset(h, s, v_th, v_reset, mode);
    *h_out = h;
    return s;
}

// One backward step (time running backwards).  *grad_h_next holds dL/dh[t+1] on entry and
// dL/dh[t] on exit; returns dL/dx[t].  dL/dv[t] (other than through h[t+1]) is taken as 0:
// only the spikes are outputs of the layer.
__host__ __device__ __forceinline__ float lif_backward_step(float grad_s, float h,
                                                            float* grad_h_next, float decay,
                                                            float v_th, float v_reset,
                                                            float half_alpha,
                                                            float pi2_alpha, int mode) {
    float u = h - v_th;
    float sg = lif_atan_grad(u, half_alpha, pi2_alpha);
    float s = (u >= 0.0f) ? 1.0f : 0.0f;
    float dv_dh = lif_dv_dh(h, s, sg, v_th, v_reset, mode);
    float gh = grad_s * sg + (*grad_h_next * (1.0f - decay)) * dv_dh;
    *grad_h_next = gh;
    return (mode & LIF_DECAY_INPUT) ? gh * decay : gh;
}

// --- one neuron over all time steps (what each CUDA thread runs) -------------------------

// x, spikes: [T, N] storage S; h_seq: [T, N] float32 or null (inference: nothing saved);
// v_last: [N].  Neuron i.
template <typename S>
__host__ __device__ __forceinline__ void lif_forward_neuron(
        const S* __restrict__ x, S* __restrict__ spikes, float* __restrict__ h_seq,
        S* __restrict__ v_last, const long long N, const int n_steps, const long long i,
        const float decay, const float v_th, const float v_reset, const int mode) {
    float v = v_reset;
    float h;
    for (int t = 0; t < n_steps; ++t) {
        const long long k = (long long)t * N + i;
        float s = lif_forward_step(&v, lif_load(x[k]), &h, decay, v_th, v_reset, mode);
        spikes[k] = lif_store<S>(s);
        if (h_seq != nullptr) h_seq[k] = h;
    }
    v_last[i] = lif_store<S>(v);
}

// grad_spikes, grad_x: [T, N] storage S; h_seq: [T, N] float32 from the forward.
template <typename S>
__host__ __device__ __forceinline__ void lif_backward_neuron(
        const S* __restrict__ grad_spikes, const float* __restrict__ h_seq,
        S* __restrict__ grad_x, const long long N, const int n_steps, const long long i,
        const float decay, const float v_th, const float v_reset, const float half_alpha,
        const float pi2_alpha, const int mode) {
    float grad_h = 0.0f;
    for (int t = n_steps - 1; t >= 0; --t) {
        const long long k = (long long)t * N + i;
        float gx = lif_backward_step(lif_load(grad_spikes[k]), h_seq[k], &grad_h, decay,
                                     v_th, v_reset, half_alpha, pi2_alpha, mode);
        grad_x[k] = lif_store<S>(gx);
    }
}

// --- CUDA kernels (only when compiled as CUDA) --------------------------------------------
#ifdef __CUDACC__

template <typename S>
__global__ void lif_forward(const S* __restrict__ x, S* __restrict__ spikes,
                            float* __restrict__ h_seq, S* __restrict__ v_last,
                            const long long N, const int n_steps, const float decay,
                            const float v_th, const float v_reset, const int mode) {
    const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= N) return;
    lif_forward_neuron<S>(x, spikes, h_seq, v_last, N, n_steps, i, decay, v_th, v_reset,
                          mode);
}

template <typename S>
__global__ void lif_backward(const S* __restrict__ grad_spikes,
                             const float* __restrict__ h_seq, S* __restrict__ grad_x,
                             const long long N, const int n_steps, const float decay,
                             const float v_th, const float v_reset, const float half_alpha,
                             const float pi2_alpha, const int mode) {
    const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= N) return;
    lif_backward_neuron<S>(grad_spikes, h_seq, grad_x, N, n_steps, i, decay, v_th, v_reset,
                           half_alpha, pi2_alpha, mode);
}

// Explicit instantiations so `nvcc -ptx` emits every precision; NVRTC users still look
// them up through name_expressions ("lif_forward<float>", "lif_forward<lif_half>", ...).
#define LIF_INSTANTIATE(S)                                                                 \
    template __global__ void lif_forward<S>(const S*, S*, float*, S*, long long, int,      \
                                            float, float, float, int);                     \
    template __global__ void lif_backward<S>(const S*, const float*, S*, long long, int,   \
                                             float, float, float, float, float, int);
LIF_INSTANTIATE(float)
LIF_INSTANTIATE(lif_half)
LIF_INSTANTIATE(lif_bf16)
#undef LIF_INSTANTIATE

#endif  // __CUDACC__
