// Q4_0 weights · Q8_0 activations, integer products per block scaled by both fp16 scales.
using LlamaAot.Kernels.Quants;

namespace LlamaAot.Kernels.Dot;

public static unsafe partial class DotQ4_0Q8_0
{
    /// <summary>Spec: Σ_blocks d_w·d_a·Σ_j (nibble_j − 8)·q_j, integer inner sums (ggml_vec_dot_q4_0_q8_0_generic).</summary>
    public static float Reference(byte* w, byte* a, int n)
    {
        var x = (BlockQ4_0*)w;
        var y = (BlockQ8_0*)a;
        float sum = 0;
        for (int b = 0; b < n / BlockQ4_0.QK; b++)
        {
            int sumi = 0;
            for (int j = 0; j < BlockQ4_0.QK / 2; j++)
            {
                sumi += ((x[b].Qs[j] & 0x0F) - 8) * y[b].Qs[j];
                sumi += ((x[b].Qs[j] >> 4) - 8) * y[b].Qs[j + 16];
            }
            sum += sumi * (Fp16.ToFloat(x[b].D) * Fp16.ToFloat(y[b].D));
        }
        return sum;
    }
}
