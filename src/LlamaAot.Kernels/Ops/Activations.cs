// Softmax, SiLU(gate)·up and residual add — the element-wise ops of a Llama layer.
namespace LlamaAot.Kernels.Ops;

public static unsafe partial class Softmax
{
    /// <summary>In place: x = exp(x − max) / Σ, the sum in double as ggml_vec_soft_max does.</summary>
    public static void Reference(float* x, int n)
    {
        float max = float.NegativeInfinity;
        for (int i = 0; i < n; i++) max = MathF.Max(max, x[i]);
        double sum = 0;
        for (int i = 0; i < n; i++)
        {
            float e = MathF.Exp(x[i] - max);
            x[i] = e;
            sum += e;
        }
        float inv = (float)(1.0 / sum);
        for (int i = 0; i < n; i++) x[i] *= inv;
    }
}

public static unsafe partial class SiluMul
{
    /// <summary>gate[i] = silu(gate[i]) · up[i], silu(g) = g / (1 + e^−g): ggml_vec_swiglu_f32 on AVX-512, which uses
    /// ggml_v_expf for whole 16-element groups and libm's expf for the rest.</summary>
    public static void Reference(float* gate, float* up, int n)
    {
        int whole = n & ~15;
        for (int i = 0; i < whole; i++)
        {
            float g = gate[i];
            gate[i] = g / (1f + ExpF.Ggml(0f - g)) * up[i];
        }
        for (int i = whole; i < n; i++)
        {
            float g = gate[i];
            gate[i] = g / (1f + MathF.Exp(-g)) * up[i];
        }
    }
}

public static unsafe partial class Add
{
    /// <summary>x[i] += y[i] (residual connections).</summary>
    public static void Reference(float* x, float* y, int n)
    {
        for (int i = 0; i < n; i++) x[i] += y[i];
    }
}
