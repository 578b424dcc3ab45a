// Q8_0 weights · Q8_0 activations.
using LlamaAot.Kernels.Quants;

namespace LlamaAot.Kernels.Dot;

public static unsafe partial class DotQ8_0Q8_0
{
    /// <summary>Spec: 8 accumulator lanes; lane j of block b holds the int32 sum of products 4j..4j+3 and is added as
    /// acc[j] = fma(d_w·d_a, lane, acc[j]) block after block; the result is Hsum8(acc). This is the arithmetic of
    /// ggml's ggml_vec_dot_q8_0_q8_0 (AVX2) and llamafile's tinyBLAS_Q0_AVX, i.e. what llama.cpp computes on x86.</summary>
    public static float Reference(byte* w, byte* a, int n)
    {
        var x = (BlockQ8_0*)w;
        var y = (BlockQ8_0*)a;
        float* acc = stackalloc float[8];
        for (int j = 0; j < 8; j++) acc[j] = 0;
        for (int b = 0; b < n / BlockQ8_0.QK; b++)
        {
            float d = Fp16.ToFloat(x[b].D) * Fp16.ToFloat(y[b].D);
            for (int j = 0; j < 8; j++)
            {
                int s = 0;
                for (int i = 4 * j; i < 4 * j + 4; i++) s += x[b].Qs[i] * y[b].Qs[i];
                acc[j] = MathF.FusedMultiplyAdd(d, s, acc[j]);
            }
        }
        return Reductions.Hsum8(acc);
    }
}
