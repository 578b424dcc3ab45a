// AVX2 Q5_0 · Q8_0 dots (pieces in LegacyLanes.cs and DotQ8_0Q8_0.Avx2.cs). The unsigned 5-bit values go into
// vpmaddubsw and the "− 16" is taken off per int16 pair as 16·(a_i + a_i+1) (LegacyAvx2.OffsetLanes), a term that
// depends only on the activation, so Rows4 forms it once per block for its four rows. Float part: one fma per lane
// per block into a ymm accumulator, then Hsum8 — LegacyOrder.Dot exactly.
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels.MatMul;
using LlamaAot.Kernels.Quants;
using X86 = System.Runtime.Intrinsics.X86;

namespace LlamaAot.Kernels.Dot;

public static unsafe partial class DotQ5_0Q8_0
{
    public static float Avx2(byte* w, byte* a, int n)
    {
        if (!X86.Avx2.IsSupported || !Fma.IsSupported) return Reference(w, a, n);
        const int W = LegacyAvx2.Q5_0, A = IntDotAvx2.Q8;
        int nb = n / BlockQ5_0.QK;
        float* d = stackalloc float[IntDotAvx2.Group];
        var acc = Vector256<float>.Zero;
        for (int b0 = 0; b0 < nb; b0 += IntDotAvx2.Group)
        {
            int count = Math.Min(IntDotAvx2.Group, nb - b0);
            byte* x = w + b0 * W, y = a + b0 * A;
            LegacyAvx2.Products8(x, W, y, A, count).Store(d);
            for (int k = 0; k < count; k++, x += W, y += A)
            {
                var yv = Vector256.Load((sbyte*)(y + 2));
                var lanes = LegacyAvx2.OffsetLanes(LegacyAvx2.Q5Values(x + 6, x + 2), yv, LegacyAvx2.Sixteens(yv));
                acc = Fma.MultiplyAdd(Vector256.Create(d[k]), Avx.ConvertToVector256Single(lanes), acc);
            }
        }
        return IntDotAvx2.Hsum8(acc);
    }

    /// <summary>y[r] = Avx2(w + r·rowBytes, a, n) for r &lt; 4, bit for bit; the four rows share each activation load.</summary>
    public static void Avx2Rows4(byte* w, long rowBytes, byte* a, int n, float* y)
    {
        if (!X86.Avx2.IsSupported || !Fma.IsSupported || rowBytes > int.MaxValue / 4)
        {
            for (int r = 0; r < 4; r++) y[r] = Avx2(w + r * rowBytes, a, n);
            return;
        }
        const int W = LegacyAvx2.Q5_0, A = IntDotAvx2.Q8;
        int nb = n / BlockQ5_0.QK;
        float* da = stackalloc float[IntDotAvx2.Group];
        float* d = stackalloc float[4];
        var rows = Vector128.Create(0, 1, 2, 3) * (int)rowBytes;
        var acc0 = Vector256<float>.Zero;
        var acc1 = Vector256<float>.Zero;
        var acc2 = Vector256<float>.Zero;
        var acc3 = Vector256<float>.Zero;
        byte* w1 = w + rowBytes, w2 = w + 2 * rowBytes, w3 = w + 3 * rowBytes;
        for (int b0 = 0; b0 < nb; b0 += IntDotAvx2.Group)
        {
            int count = Math.Min(IntDotAvx2.Group, nb - b0);
            IntDotAvx2.Halves8(a + b0 * A, A, count).Store(da);
            for (int k = 0, ow = b0 * W, oa = b0 * A; k < count; k++, ow += W, oa += A)
            {
                (IntDotAvx2.Halves4(w + ow, rows) * Vector128.Create(da[k])).Store(d);
                var yv = Vector256.Load((sbyte*)(a + oa + 2));
                var e = LegacyAvx2.Sixteens(yv);
                var l0 = LegacyAvx2.OffsetLanes(LegacyAvx2.Q5Values(w + ow + 6, w + ow + 2), yv, e);
                var l1 = LegacyAvx2.OffsetLanes(LegacyAvx2.Q5Values(w1 + ow + 6, w1 + ow + 2), yv, e);
                var l2 = LegacyAvx2.OffsetLanes(LegacyAvx2.Q5Values(w2 + ow + 6, w2 + ow + 2), yv, e);
                var l3 = LegacyAvx2.OffsetLanes(LegacyAvx2.Q5Values(w3 + ow + 6, w3 + ow + 2), yv, e);
                acc0 = Fma.MultiplyAdd(Vector256.Create(d[0]), Avx.ConvertToVector256Single(l0), acc0);
                acc1 = Fma.MultiplyAdd(Vector256.Create(d[1]), Avx.ConvertToVector256Single(l1), acc1);
                acc2 = Fma.MultiplyAdd(Vector256.Create(d[2]), Avx.ConvertToVector256Single(l2), acc2);
                acc3 = Fma.MultiplyAdd(Vector256.Create(d[3]), Avx.ConvertToVector256Single(l3), acc3);
            }
        }
        y[0] = IntDotAvx2.Hsum8(acc0);
        y[1] = IntDotAvx2.Hsum8(acc1);
        y[2] = IntDotAvx2.Hsum8(acc2);
        y[3] = IntDotAvx2.Hsum8(acc3);
    }

    /// <summary>Row-range product (MatMulArgs contract) in tiles of Avx2Rows4.</summary>
    public static void GemmAvx2(MatMulArgs* m, int start, int end) => IntGemm.Tiled(m, start, end, 4, &Avx2Rows4, &Avx2);
}
