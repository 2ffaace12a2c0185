// Host (CPU) harness around lif_kernel.cu: the same per-neuron __host__ __device__ math,
// looped over N neurons in plain C++, exported with C linkage for ctypes.  Used by the
// tests to check the CUDA source's arithmetic without a GPU (see cuda_check.py).
//
// Build: g++ -O2 -shared -fPIC -ffp-contract=off lif_host_harness.cpp -o liblif_host.so
#include "lif_kernel.cu"

extern "C" {

// x, spikes, h_seq: [n_steps, N] float32 time-major; v_last: [N].
void lif_host_forward_f32(const float* x, float* spikes, float* h_seq, float* v_last, long N,
                          long n_steps, float decay, float v_th, float v_reset, int mode) {
    for (long i = 0; i < N; ++i) {
        float v = v_reset;
        float h;
        for (long t = 0; t < n_steps; ++t) {
            const long k = t * N + i;
            spikes[k] = lif_forward_step(&v, x[k], &h, decay, v_th, v_reset, mode);
            h_seq[k] = h;
        }
        v_last[i] = v;
    }
}

// grad_spikes, h_seq, grad_x: [n_steps, N] float32 time-major.
void lif_host_backward_f32(const float* grad_spikes, const float* h_seq, float* grad_x, long N,
                           long n_steps, float decay, float v_th, float v_reset,
                           float half_alpha, float pi2_alpha, int mode) {
    for (long i = 0; i < N; ++i) {
        float grad_h = 0.0f;
        for (long t = n_steps - 1; t >= 0; --t) {
            const long k = t * N + i;
            grad_x[k] = lif_backward_step(grad_spikes[k], h_seq[k], &grad_h, decay, v_th,
                                          v_reset, half_alpha, pi2_alpha, mode);
        }
    }
}

int lif_host_mode_bits(int hard, int detach, int decay_input) {
    return (hard ? LIF_HARD : 0) | (detach ? LIF_DETACH : 0) | (decay_input ? LIF_DECAY_INPUT : 0);
}

}  // extern "C"
