#pragma once
// Framework-owned fast layer: the 3x3, stride-1 convolution by Winograd's minimal filtering
// F(2x2, 3x3) (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks", CVPR 2016).
//
// The output is cut into 2x2 tiles; tile (i, j) reads the 4x4 input patch d whose top-left corner
// is (2i - padding, 2j - padding). For a 3x3 kernel g,
//     Y = A^T [ (G g G^T) (.) (B^T d B) ] A          (.) = elementwise
// is that 2x2 tile, with 16 multiplies where the definition takes 36 (2.25x fewer). Summed over the
// input channels, the elementwise product becomes 16 independent matrix products, one for each
// position xi of the 4x4 transformed tile, over T tiles at once:
//     M[xi] (O, T) = U[xi] (O, C) @ V[xi] (C, T)       U = G g G^T,  V = B^T d B
// and the GEMMs do the work. Backward runs the adjoints of the same linear maps, so its gradients
// are exactly those of the forward:
//     dM = A dY A^T,   dV[xi] = U[xi]^T @ dM[xi],   dX += B dV B^T (added where d was read)
//     dU[xi] = sum over tiles of dM[xi] @ V[xi]^T,   dW = G^T dU G
// The transforms only add, subtract and halve, so in float32 the result agrees with im2col + GEMM
// to about 1e-6 relative.
#include <cstdint>

#include "tinytorch/kernels/im2col.hpp"

namespace tinytorch::kernels {

/// True when g is a 3x3 kernel with stride 1 (any padding): the shapes the functions below take.
[[nodiscard]] bool winograd_applies(const ConvGeometry& g);

/// y (count, O, Ho, Wo) = the convolution of x (count, C, H, W) with w (O, C, 3, 3), plus bias (O)
/// when bias is not null. Every element of y is written. The images are split over the threads.
void winograd_conv2d(const float* x, std::int64_t count, const ConvGeometry& g, const float* w,
                     std::int64_t out_channels, const float* bias, float* y);

/// The gradients of winograd_conv2d, given dy (count, O, Ho, Wo): dx (count, C, H, W) and
/// dw (O, C, 3, 3) are overwritten; pass nullptr for one that is not wanted.
void winograd_conv2d_backward(const float* x, const float* w, const float* dy, std::int64_t count,
                              const ConvGeometry& g, std::int64_t out_channels, float* dx,
                              float* dw);

}  // namespace tinytorch::kernels
