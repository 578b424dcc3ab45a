// ggml_v_expf: the vectorised exp ggml uses in SiLU/SwiGLU (from ARM's optimized-routines): x = n·ln2 + b,
// 2^n via scalef, e^b by a degree-5 polynomial. Reproduced lane by lane so our SwiGLU equals llama.cpp's.
using System.Runtime.CompilerServices;

namespace LlamaAot.Kernels.Ops;

public static class ExpF
{
    // Constants as ggml writes them (hex floats 0x1.xxxxxxpE).
    private static float Hex(int frac24, int exp) => (float)((1.0 + frac24 / 16777216.0) * Math.Pow(2, exp));
    private const float Round = 12582912f;                 // 0x1.8p23: adding it rounds to an integer
    private static readonly float Log2E = Hex(0x715476, 0);
    private static readonly float Ln2Hi = Hex(0x62e400, -1);
    private static readonly float Ln2Lo = Hex(0x7f7d1c, -20);
    private static readonly float P0 = Hex(0x0e4020, -7), P1 = Hex(0x573e2e, -5), P2 = Hex(0x555e66, -3);
    private static readonly float P3 = Hex(0xfffdb6, -2), P4 = Hex(0xffffec, -1);

    /// <summary>One lane of ggml_v_expf (AVX-512 form: out-of-range results are 0 or +inf).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Ggml(float x)
    {
        float z = MathF.FusedMultiplyAdd(x, Log2E, Round);
        float n = z - Round;
        float b = MathF.FusedMultiplyAdd(-n, Ln2Lo, MathF.FusedMultiplyAdd(-n, Ln2Hi, x));
        float u = b * b;
        float j = MathF.FusedMultiplyAdd(
            MathF.FusedMultiplyAdd(MathF.FusedMultiplyAdd(P0, b, P1), u, MathF.FusedMultiplyAdd(P2, b, P3)),
            u,
            MathF.FusedMultiplyAdd(P4, b, 1.0f));
        if (MathF.Abs(n) > 192f) return n <= 0 ? 0f : float.PositiveInfinity;
        return MathF.ScaleB(j, (int)n);
    }
}
