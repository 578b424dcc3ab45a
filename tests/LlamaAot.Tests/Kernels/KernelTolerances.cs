// Tolerances of the float SIMD kernels against their scalar Reference, each with the reason for its size. Kernels not
// listed here (float dots, F16/BF16 conversions, SiluMul, Add, RmsNorm, FlashAttention) must match bit for bit.
namespace LlamaAot.Tests.Kernels;

public static class KernelTolerances
{
    /// <summary>Softmax: the SIMD paths use ggml_v_expf (ExpF.Ggml, within ~1.5 ulp of e^x) where Reference calls
    /// MathF.Exp (within ~0.5 ulp), and sum in double lanes. Each output then differs by at most a few fp32 ulps
    /// (relative ≤ ~3e-7), an NMSE of order 1e-14; 1e-12 leaves room without hiding a wrong exp (a 1e-4 error in
    /// the polynomial shows up as ~1e-8).</summary>
    public const double SoftmaxNmse = 1e-12;

    /// <summary>Softmax, per element: |got − ref| ≤ this · ref. Four fp32 ulps (2^-22) of relative error.</summary>
    public const double SoftmaxMaxRelative = 4.0 / (1 << 22);
}
