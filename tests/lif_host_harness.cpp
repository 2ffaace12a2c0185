// Host (CPU) harness around evframes/train/lif_kernel.cu: the kernels' own per-neuron loops
// (lif_forward_neuron / lif_backward_neuron, __host__ __device__) looped over N neurons in
// plain C++, for every storage type the cupy backend launches, exported with C linkage for
// ctypes.  Used by the tests to check the CUDA source without a GPU (lif_cuda_tools.py).
//
// Build: g++ -O2 -shared -fPIC -ffp-contract=off -I evframes/train lif_host_harness.cpp
#include "lif_kernel.cu"

#define LIF_HOST_ENTRIES(SUFFIX, S)                                                         \
    void lif_host_forward_##SUFFIX(const void* x, void* spikes, void* h_seq, void* v_last,  \
                                   long long N, int n_steps, float decay, float v_th,       \
                                   float v_reset, int mode) {                               \
        for (long long i = 0; i < N; ++i)                                                   \
            lif_forward_neuron<S>((const S*)x, (S*)spikes, (float*)h_seq, (S*)v_last, N,    \
                                  n_steps, i, decay, v_th, v_reset, mode);                  \
    }                                                                                       \
    void lif_host_backward_##SUFFIX(const void* grad_spikes, const void* h_seq,             \
                                    void* grad_x, long long N, int n_steps, float decay,    \
                                    float v_th, float v_reset, float half_alpha,            \
                                    float pi2_alpha, int mode) {                            \
        for (long long i = 0; i < N; ++i)                                                   \
            lif_backward_neuron<S>((const S*)grad_spikes, (const float*)h_seq, (S*)grad_x,  \
                                   N, n_steps, i, decay, v_th, v_reset, half_alpha,         \
                                   pi2_alpha, mode);                                        \
    }                                                                                       \
    void lif_host_load_##SUFFIX(const void* a, float* out, long long n) {                   \
        for (long long i = 0; i < n; ++i) out[i] = lif_load(((const S*)a)[i]);              \
    }                                                                                       \
    void lif_host_store_##SUFFIX(const float* a, void* out, long long n) {                  \
        for (long long i = 0; i < n; ++i) ((S*)out)[i] = lif_store<S>(a[i]);                \
    }

extern "C" {
LIF_HOST_ENTRIES(f32, float)
LIF_HOST_ENTRIES(f16, lif_half)
LIF_HOST_ENTRIES(bf16, lif_bf16)

int lif_host_mode_bits(int hard, int detach, int decay_input) {
    return (hard ? LIF_HARD : 0) | (detach ? LIF_DETACH : 0) | (decay_input ? LIF_DECAY_INPUT : 0);
}
}  // extern "C"
