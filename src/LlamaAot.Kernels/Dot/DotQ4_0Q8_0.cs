// Q4_0 weights · Q8_0 activations. Weight element i of a block is (low nibble of qs[i] − 8) for i < 16 and
// (high nibble of qs[i − 16] − 8) above.
using System.Runtime.CompilerServices;
using LlamaAot.Kernels.Quants;

namespace LlamaAot.Kernels.Dot;

public static unsafe partial class DotQ4_0Q8_0
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Weight(BlockQ4_0* x, int i) => i < 16 ? (x->Qs[i] & 0x0F) - 8 : (x->Qs[i - 16] >> 4) - 8;

    private static int WeightAt(byte* block, int i) => Weight((BlockQ4_0*)block, i);

    /// <summary>Spec: Σ d_w·d_a·(nibble − 8)·q_a in llama.cpp's x86 order (<see cref="LegacyOrder"/>).</summary>
    public static float Reference(byte* w, byte* a, int n) =>
        LegacyOrder.Dot(w, sizeof(BlockQ4_0), a, sizeof(BlockQ8_0), 2, n, hasMin: false, &WeightAt);

    /// <summary>Spec for matrices whose row count is a multiple of 8, which llama.cpp repacks to q4_0_8x8 on x86:
    /// the whole-block int32 sum, then acc = fma(sumi, d_w·d_a, acc) block after block.</summary>
    public static float ReferenceBlockwise(byte* w, byte* a, int n)
    {
        var x = (BlockQ4_0*)w;
        var y = (BlockQ8_0*)a;
        float acc = 0;
        for (int b = 0; b < n / BlockQ4_0.QK; b++)
        {
            int sumi = 0;
            for (int i = 0; i < BlockQ4_0.QK; i++) sumi += Weight(x + b, i) * y[b].Qs[i];
            acc = MathF.FusedMultiplyAdd(sumi, Fp16.ToFloat(x[b].D) * Fp16.ToFloat(y[b].D), acc);
        }
        return acc;
    }
}
