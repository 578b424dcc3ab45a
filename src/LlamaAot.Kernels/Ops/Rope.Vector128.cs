// RoPE, Vector128 (portable): four adjacent pairs (two vectors) or four NeoX pairs a step, bit-exact with Reference.
// Without an fmaddsub the adjacent form negates the even lanes' rounded products (x1·s) by a sign-bit xor, which
// is exact, and adds them with one fma: A·B + (−x1·s, x1·c) with A = (x0, x0), B = (c, s), as in Rope.Avx512.cs.
using System.Runtime.Intrinsics;

namespace LlamaAot.Kernels.Ops;

public static unsafe partial class Rope
{
    public static void AdjacentV128(float* x, int heads, int headDim, float* cos, float* sin, int pairs)
    {
        if (!Vector128.IsHardwareAccelerated) { AdjacentReference(x, heads, headDim, cos, sin, pairs); return; }
        Heads(x, heads, headDim, cos, sin, pairs, neox: false, &AdjacentV128Steps);
    }

    private static int AdjacentV128Steps(float* v, float* cos, float* sin, int pairs)
    {
        var even = Vector128.Create(-0f, 0f, -0f, 0f);
        var order = Vector128.Create(0, 2, 1, 3);
        int i = 0;
        for (; i + 4 <= pairs; i += 4)
        {
            var c = Vector128.Load(cos + i);
            var s = Vector128.Load(sin + i);
            for (int half = 0; half < 2; half++)
            {
                var c2 = half == 0 ? c.GetLower() : c.GetUpper();
                var s2 = half == 0 ? s.GetLower() : s.GetUpper();
                var cs = Vector128.Shuffle(Vector128.Create(c2, s2), order);   // c0 s0 c1 s1
                var sc = Vector128.Shuffle(Vector128.Create(s2, c2), order);   // s0 c0 s1 c1
                float* p = v + 2 * i + 4 * half;
                var q = Vector128.Load(p);
                var products = Vector128.Shuffle(q, Vector128.Create(1, 1, 3, 3)) * sc ^ even;
                Vector128.FusedMultiplyAdd(Vector128.Shuffle(q, Vector128.Create(0, 0, 2, 2)), cs, products).Store(p);
            }
        }
        return i;
    }

    public static void NeoxV128(float* x, int heads, int headDim, float* cos, float* sin, int pairs)
    {
        if (!Vector128.IsHardwareAccelerated) { NeoxReference(x, heads, headDim, cos, sin, pairs); return; }
        Heads(x, heads, headDim, cos, sin, pairs, neox: true, &NeoxV128Steps);
    }

    private static int NeoxV128Steps(float* v, float* cos, float* sin, int pairs)
    {
        int i = 0;
        for (; i + 4 <= pairs; i += 4)
        {
            var c = Vector128.Load(cos + i);
            var s = Vector128.Load(sin + i);
            var x0 = Vector128.Load(v + i);
            var x1 = Vector128.Load(v + i + pairs);
            Vector128.FusedMultiplyAdd(x0, c, -(x1 * s)).Store(v + i);
            Vector128.FusedMultiplyAdd(x0, s, x1 * c).Store(v + i + pairs);
        }
        return i;
    }
}
