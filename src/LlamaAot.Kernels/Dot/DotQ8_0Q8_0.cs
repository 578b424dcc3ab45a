// Q8_0 weights · Q8_0 activations.
using LlamaAot.Kernels.Quants;

namespace LlamaAot.Kernels.Dot;

public static unsafe partial class DotQ8_0Q8_0
{
    /// <summary>Spec: Σ_blocks d_w·d_a·Σ_j qw_j·qa_j with the inner sum in int32.</summary>
    public static float Reference(byte* w, byte* a, int n)
    {
        var x = (BlockQ8_0*)w;
        var y = (BlockQ8_0*)a;
        float sum = 0;
        for (int b = 0; b < n / BlockQ8_0.QK; b++)
        {
            int sumi = 0;
            for (int j = 0; j < BlockQ8_0.QK; j++) sumi += x[b].Qs[j] * y[b].Qs[j];
            sum += sumi * (Fp16.ToFloat(x[b].D) * Fp16.ToFloat(y[b].D));
        }
        return sum;
    }
}
