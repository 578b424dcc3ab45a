// RoPE, AVX-512: eight adjacent pairs (or sixteen NeoX pairs) a step, bit-exact with Reference (Rope.cs).
//   Adjacent pairs, per lane pair (x0, x1) with its (c, s): the spec's x0·c − (x1·s) and x0·s + (x1·c), each one fma
//   over a rounded product, are one vfmaddsub: A = (x0, x0) (vmovsldup), B = (c, s), and the rounded products
//   (x1·s, x1·c) = (x1, x1)·(s, c), subtracted in the even lane and added in the odd one. The interleaved (c, s) and
//   (s, c) come from the tables' eight cos and eight sin by one vpermt2ps each.
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace LlamaAot.Kernels.Ops;

public static unsafe partial class Rope
{
    public static void AdjacentAvx512(float* x, int heads, int headDim, float* cos, float* sin, int pairs)
    {
        if (!Avx512F.IsSupported) { AdjacentReference(x, heads, headDim, cos, sin, pairs); return; }
        Heads(x, heads, headDim, cos, sin, pairs, neox: false, &AdjacentAvx512Steps);
    }

    private static int AdjacentAvx512Steps(float* v, float* cos, float* sin, int pairs)
    {
        var cosFirst = Vector512.Create(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
        var sinFirst = Vector512.Create(16, 0, 17, 1, 18, 2, 19, 3, 20, 4, 21, 5, 22, 6, 23, 7);
        int i = 0;
        for (; i + 8 <= pairs; i += 8)
        {
            var c = Vector256.Load(cos + i).ToVector512Unsafe();
            var s = Vector256.Load(sin + i).ToVector512Unsafe();
            var cs = Avx512F.PermuteVar16x32x2(c, cosFirst, s);
            var sc = Avx512F.PermuteVar16x32x2(c, sinFirst, s);
            var q = Vector512.Load(v + 2 * i);
            var products = Avx512F.DuplicateOddIndexed(q) * sc;
            Avx512F.FusedMultiplyAddSubtract(Avx512F.DuplicateEvenIndexed(q), cs, products).Store(v + 2 * i);
        }
        return i;
    }

    public static void NeoxAvx512(float* x, int heads, int headDim, float* cos, float* sin, int pairs)
    {
        if (!Avx512F.IsSupported) { NeoxReference(x, heads, headDim, cos, sin, pairs); return; }
        Heads(x, heads, headDim, cos, sin, pairs, neox: true, &NeoxAvx512Steps);
    }

    private static int NeoxAvx512Steps(float* v, float* cos, float* sin, int pairs)
    {
        int i = 0;
        for (; i + 16 <= pairs; i += 16)
        {
            var c = Vector512.Load(cos + i);
            var s = Vector512.Load(sin + i);
            var x0 = Vector512.Load(v + i);
            var x1 = Vector512.Load(v + i + pairs);
            Avx512F.FusedMultiplySubtract(x0, c, x1 * s).Store(v + i);
            Avx512F.FusedMultiplyAdd(x0, s, x1 * c).Store(v + i + pairs);
        }
        return i;
    }
}
