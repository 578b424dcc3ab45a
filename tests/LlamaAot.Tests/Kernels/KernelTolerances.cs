// Tolerances of the float SIMD kernels against their scalar Reference, each with the reason for its size. Kernels not
// listed here (float dots, F16/BF16 conversions, SiluMul, Add, RmsNorm, FlashAttention) must match bit for bit.
namespace LlamaAot.Tests.Kernels;

public static class KernelTolerances
{
    /// <summary>Softmax: the SIMD paths use ggml_v_expf (ExpF.Ggml, within ~1.5 ulp of e^x) where Reference calls
    /// MathF.Exp (within ~0.5 ulp), and sum in double lanes instead of one chain. Measured on lengths 1..256, 1000,
    /// 32000 and 128256 with logits spread over 10 and 60: worst NMSE 2.5e-14 (avx512, avx2, v128 alike). 1e-12
    /// leaves 40× room and still fails an exp that is wrong in its fifth digit.</summary>
    public const double SoftmaxNmse = 1e-12;

    /// <summary>Softmax, per element: |got − ref| ≤ this · ref. Measured worst 4.2e-7 (~3.5 ulp at 1); the bound is
    /// 2^-20 ≈ 9.5e-7.</summary>
    public const double SoftmaxMaxRelative = 1.0 / (1 << 20);
}
