/* bench/deepspeed_stub/torch/extension.h - what DeepSpeed's csrc/includes/cpu_adam.h and simd.h
   take from PyTorch's headers, stubbed so bench/deepspeed_peer.cc can build DeepSpeed's CPU Adam
   kernel (Adam_Optimizer::Step_AVX) without PyTorch: the 16-bit element types c10::Half and
   c10::BFloat16 (the kernel only moves their bits: its own intrinsics convert them), and
   torch::Tensor, named by the declarations of the Python binding, which the bench never calls.
   Nothing of PyTorch's or DeepSpeed's is here. */
#ifndef TRAINOPT_BENCH_DEEPSPEED_STUB_H
#define TRAINOPT_BENCH_DEEPSPEED_STUB_H
#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <type_traits>
#include <vector>

namespace c10 {
struct Half {
    uint16_t x;
};
struct BFloat16 {
    uint16_t x;
};
} // namespace c10

namespace torch {
class Tensor;
} // namespace torch
#endif
