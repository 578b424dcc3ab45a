// Dot products of float weights. As in ggml, F16 and BF16 weights meet activations that were rounded to the same
// type (ggml's vec_dot_type), products summed in fp32; F32 weights meet fp32 activations.
using LlamaAot.Kernels.Quants;

namespace LlamaAot.Kernels.Dot;

public static unsafe partial class DotF32F32
{
    /// <summary>Spec: Σ w_i·a_i in fp32.</summary>
    public static float Reference(byte* w, byte* a, int n)
    {
        float* x = (float*)w, y = (float*)a;
        float sum = 0;
        for (int i = 0; i < n; i++) sum += x[i] * y[i];
        return sum;
    }
}

public static unsafe partial class DotF16F16
{
    /// <summary>Spec: Σ f32(w_i)·f32(a_i), both operands fp16.</summary>
    public static float Reference(byte* w, byte* a, int n)
    {
        ushort* x = (ushort*)w, y = (ushort*)a;
        float sum = 0;
        for (int i = 0; i < n; i++) sum += Fp16.ToFloat(x[i]) * Fp16.ToFloat(y[i]);
        return sum;
    }
}

public static unsafe partial class DotBF16BF16
{
    /// <summary>Spec: Σ f32(w_i)·f32(a_i), both operands bf16.</summary>
    public static float Reference(byte* w, byte* a, int n)
    {
        ushort* x = (ushort*)w, y = (ushort*)a;
        float sum = 0;
        for (int i = 0; i < n; i++) sum += Fp16.BF16ToFloat(x[i]) * Fp16.BF16ToFloat(y[i]);
        return sum;
    }
}
