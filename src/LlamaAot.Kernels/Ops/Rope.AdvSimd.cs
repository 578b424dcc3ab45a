// RoPE, AdvSimd (NEON): Rope.Vector128.cs with trn1/trn2 for (x0, x0) and (x1, x1) and zip1/zip2 for the
// interleaved (c, s); bit-exact with Reference. Not run by the x64 tests.
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;

namespace LlamaAot.Kernels.Ops;

public static unsafe partial class Rope
{
    public static void AdjacentNeon(float* x, int heads, int headDim, float* cos, float* sin, int pairs)
    {
        if (!AdvSimd.Arm64.IsSupported) { AdjacentReference(x, heads, headDim, cos, sin, pairs); return; }
        Heads(x, heads, headDim, cos, sin, pairs, neox: false, &AdjacentNeonSteps);
    }

    private static int AdjacentNeonSteps(float* v, float* cos, float* sin, int pairs)
    {
        var even = Vector128.Create(-0f, 0f, -0f, 0f);
        int i = 0;
        for (; i + 4 <= pairs; i += 4)
        {
            var c = AdvSimd.LoadVector128(cos + i);
            var s = AdvSimd.LoadVector128(sin + i);
            for (int half = 0; half < 2; half++)
            {
                var cs = half == 0 ? AdvSimd.Arm64.ZipLow(c, s) : AdvSimd.Arm64.ZipHigh(c, s);
                var sc = half == 0 ? AdvSimd.Arm64.ZipLow(s, c) : AdvSimd.Arm64.ZipHigh(s, c);
                float* p = v + 2 * i + 4 * half;
                var q = AdvSimd.LoadVector128(p);
                var products = AdvSimd.Xor(AdvSimd.Multiply(AdvSimd.Arm64.TransposeOdd(q, q), sc), even);
                AdvSimd.Store(p, AdvSimd.FusedMultiplyAdd(products, AdvSimd.Arm64.TransposeEven(q, q), cs));
            }
        }
        return i;
    }

    public static void NeoxNeon(float* x, int heads, int headDim, float* cos, float* sin, int pairs)
    {
        if (!AdvSimd.Arm64.IsSupported) { NeoxReference(x, heads, headDim, cos, sin, pairs); return; }
        Heads(x, heads, headDim, cos, sin, pairs, neox: true, &NeoxNeonSteps);
    }

    private static int NeoxNeonSteps(float* v, float* cos, float* sin, int pairs)
    {
        int i = 0;
        for (; i + 4 <= pairs; i += 4)
        {
            var c = AdvSimd.LoadVector128(cos + i);
            var s = AdvSimd.LoadVector128(sin + i);
            var x0 = AdvSimd.LoadVector128(v + i);
            var x1 = AdvSimd.LoadVector128(v + i + pairs);
            AdvSimd.Store(v + i, AdvSimd.FusedMultiplyAdd(AdvSimd.Negate(AdvSimd.Multiply(x1, s)), x0, c));
            AdvSimd.Store(v + i + pairs, AdvSimd.FusedMultiplyAdd(AdvSimd.Multiply(x1, c), x0, s));
        }
        return i;
    }
}
