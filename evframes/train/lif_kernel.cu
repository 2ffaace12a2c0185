// Multi-step LIF neuron: forward and backward (ATan surrogate), one thread per neuron.
//
// Layout: x, spikes, h, grad arrays are [T, N] time-major (element (t, i) at t*N + i), so
// for a fixed t consecutive threads touch consecutive addresses (coalesced).  Each thread
// keeps its neuron's state in registers and loops over T.
//
// The per-neuron math lives in __host__ __device__ inline functions so that the very same
// file is compiled
//   * by NVRTC through cupy.RawModule (evframes.train._lif_cupy), kernels
//     lif_forward<float|lif_half> / lif_backward<float|lif_half> fetched via
//     name_expressions (lif_half = binary16 storage, see below; no CUDA headers needed);
//   * by `nvcc -ptx` (evframes.train.cuda_check.compile_ptx) as a build check;
//   * by g++ as plain C++ (evframes/train/lif_host_harness.cpp includes this file), where
//     __CUDACC__ is undefined: the qualifiers expand to nothing and the kernels vanish.
//
// Arithmetic is float32 for both storage types (half is converted on load/store).  The
// operation order matches evframes.train.neuron's torch reference so the forward spikes
// agree bit for bit: compile without FMA contraction (g++ -ffp-contract=off; NVRTC/nvcc
// --fmad=false, which the cupy backend passes), otherwise a*b+c may be fused and a spike
// sitting exactly on the threshold can flip.
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

// --- CUDA kernels (only when compiled as CUDA) --------------------------------------------
#ifdef __CUDACC__

// Half precision storage without <cuda_fp16.h> (its NVRTC include path depends on the
// CuPy/CUDA installation): a 16-bit IEEE binary16 payload converted with the PTX cvt
// instructions.  Bit-compatible with torch.float16 / cupy.float16 / __half.
struct lif_half {
    unsigned short bits;
};

__device__ __forceinline__ float lif_load(float a) { return a; }
__device__ __forceinline__ float lif_load(lif_half a) {
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(a.bits));
    return f;
}
template <typename T> __device__ __forceinline__ T lif_store(float a);
template <> __device__ __forceinline__ float lif_store<float>(float a) { return a; }
template <> __device__ __forceinline__ lif_half lif_store<lif_half>(float a) {
    lif_half r;
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(r.bits) : "f"(a));
    return r;
}

// x, spikes, h_seq: [T, N]; v_last: [N].  h_seq may be null (inference: nothing saved).
template <typename T>
__global__ void lif_forward(const T* __restrict__ x, T* __restrict__ spikes,
                            T* __restrict__ h_seq, T* __restrict__ v_last, const int N,
                            const int n_steps, const float decay, const float v_th,
                            const float v_reset, const int mode) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= N) return;
    float v = v_reset;
    float h;
    for (int t = 0; t < n_steps; ++t) {
        const long long k = (long long)t * N + i;
        float s = lif_forward_step(&v, lif_load(x[k]), &h, decay, v_th, v_reset, mode);
        spikes[k] = lif_store<T>(s);
        if (h_seq != nullptr) h_seq[k] = lif_store<T>(h);
    }
    v_last[i] = lif_store<T>(v);
}

// grad_spikes, h_seq, grad_x: [T, N].
template <typename T>
__global__ void lif_backward(const T* __restrict__ grad_spikes, const T* __restrict__ h_seq,
                             T* __restrict__ grad_x, const int N, const int n_steps,
                             const float decay, const float v_th, const float v_reset,
                             const float half_alpha, const float pi2_alpha,
                             const int mode) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= N) return;
    float grad_h = 0.0f;
    for (int t = n_steps - 1; t >= 0; --t) {
        const long long k = (long long)t * N + i;
        float gx = lif_backward_step(lif_load(grad_spikes[k]), lif_load(h_seq[k]), &grad_h,
                                     decay, v_th, v_reset, half_alpha, pi2_alpha, mode);
        grad_x[k] = lif_store<T>(gx);
    }
}

// Explicit instantiations so `nvcc -ptx` emits both precisions; NVRTC users still look
// them up through name_expressions ("lif_forward<float>", "lif_forward<lif_half>", ...).
template __global__ void lif_forward<float>(const float*, float*, float*, float*, int, int,
                                            float, float, float, int);
template __global__ void lif_forward<lif_half>(const lif_half*, lif_half*, lif_half*,
                                               lif_half*, int, int, float, float, float, int);
template __global__ void lif_backward<float>(const float*, const float*, float*, int, int,
                                             float, float, float, float, float, int);
template __global__ void lif_backward<lif_half>(const lif_half*, const lif_half*, lif_half*,
                                                int, int, float, float, float, float, float,
                                                int);

#endif  // __CUDACC__
