// The summation order llama.cpp's x86 code uses for every legacy 32-element format (ggml_vec_dot_q*_q8_* AVX2,
// llamafile's tinyBLAS): 8 float lanes; lane j of a block is the int32 sum of the products of elements 4j..4j+3;
// each block adds acc[j] = fma(d_w·d_a, lane_j, acc[j]); the result is Hsum8(acc), plus Σ m_w·s_a for formats with
// a minimum (Q4_1, Q5_1), added separately block by block. Each format's Reference is this order with its own
// element decoder, so the Reference matches llama.cpp bit for bit and SIMD paths can be held to exact equality.
using LlamaAot.Kernels.Quants;

namespace LlamaAot.Kernels.Dot;

internal static unsafe class LegacyOrder
{
    public const int QK = 32;

    /// <param name="w">weight blocks: fp16 d at offset 0, fp16 m at offset 2 when <paramref name="hasMin"/></param>
    /// <param name="a">activation blocks (Q8_0: d, 32 × int8; Q8_1: d, s, 32 × int8)</param>
    /// <param name="weight">element i (0..31) of the weight block at the pointer, as an integer</param>
    public static float Dot(byte* w, int wBlockBytes, byte* a, int aBlockBytes, int aQsOffset, int n, bool hasMin,
        delegate*<byte*, int, int> weight)
    {
        float* acc = stackalloc float[8];
        for (int j = 0; j < 8; j++) acc[j] = 0;
        float mins = 0;
        for (int b = 0; b < n / QK; b++)
        {
            byte* xb = w + b * wBlockBytes, yb = a + b * aBlockBytes;
            var qa = (sbyte*)(yb + aQsOffset);
            float d = Fp16.ToFloat(*(ushort*)xb) * Fp16.ToFloat(*(ushort*)yb);
            if (hasMin) mins += Fp16.ToFloat(*(ushort*)(xb + 2)) * Fp16.ToFloat(*(ushort*)(yb + 2));
            for (int j = 0; j < 8; j++)
            {
                int s = 0;
                for (int i = 4 * j; i < 4 * j + 4; i++) s += weight(xb, i) * qa[i];
                acc[j] = MathF.FusedMultiplyAdd(d, s, acc[j]);
            }
        }
        return hasMin ? Reductions.Hsum8(acc) + mins : Reductions.Hsum8(acc);
    }
}
