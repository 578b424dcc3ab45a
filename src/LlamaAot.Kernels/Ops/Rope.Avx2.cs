// RoPE, AVX2 + FMA: Rope.Avx512.cs with 8-lane vectors (four adjacent pairs a step, the interleaved (c, s) built by
// unpcklps/unpckhps of four cos and four sin); bit-exact with Reference.
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace LlamaAot.Kernels.Ops;

public static unsafe partial class Rope
{
    public static void AdjacentAvx2(float* x, int heads, int headDim, float* cos, float* sin, int pairs)
    {
        if (!Fma.IsSupported) { AdjacentReference(x, heads, headDim, cos, sin, pairs); return; }
        Heads(x, heads, headDim, cos, sin, pairs, neox: false, &AdjacentAvx2Steps);
    }

    private static int AdjacentAvx2Steps(float* v, float* cos, float* sin, int pairs)
    {
        int i = 0;
        for (; i + 4 <= pairs; i += 4)
        {
            var c = Vector128.Load(cos + i);
            var s = Vector128.Load(sin + i);
            var cs = Vector256.Create(Sse.UnpackLow(c, s), Sse.UnpackHigh(c, s));
            var sc = Vector256.Create(Sse.UnpackLow(s, c), Sse.UnpackHigh(s, c));
            var q = Vector256.Load(v + 2 * i);
            var products = Avx.DuplicateOddIndexed(q) * sc;
            Fma.MultiplyAddSubtract(Avx.DuplicateEvenIndexed(q), cs, products).Store(v + 2 * i);
        }
        return i;
    }

    public static void NeoxAvx2(float* x, int heads, int headDim, float* cos, float* sin, int pairs)
    {
        if (!Fma.IsSupported) { NeoxReference(x, heads, headDim, cos, sin, pairs); return; }
        Heads(x, heads, headDim, cos, sin, pairs, neox: true, &NeoxAvx2Steps);
    }

    private static int NeoxAvx2Steps(float* v, float* cos, float* sin, int pairs)
    {
        int i = 0;
        for (; i + 8 <= pairs; i += 8)
        {
            var c = Vector256.Load(cos + i);
            var s = Vector256.Load(sin + i);
            var x0 = Vector256.Load(v + i);
            var x1 = Vector256.Load(v + i + pairs);
            Fma.MultiplySubtract(x0, c, x1 * s).Store(v + i);
            Fma.MultiplyAdd(x0, s, x1 * c).Store(v + i + pairs);
        }
        return i;
    }
}
