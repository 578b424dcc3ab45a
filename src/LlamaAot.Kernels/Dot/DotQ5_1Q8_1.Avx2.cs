// AVX2 Q5_1 · Q8_1 dots (pieces in LegacyLanes.cs and DotQ8_0Q8_0.Avx2.cs). The 5-bit values (nibble | qh bit << 4)
// go unsigned into vpmaddubsw, lanes summed to int32 quads; one fma per lane per block into a ymm accumulator (the spec's chain), and the minimum's
// share m_w·s_a added to a separate scalar in block order, after Hsum8 — LegacyOrder.Dot exactly.
// Rows4 shares each activation block between four rows; their mins run in the four lanes of one xmm (lane r is row
// r's scalar chain).
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels.MatMul;
using LlamaAot.Kernels.Quants;
using X86 = System.Runtime.Intrinsics.X86;

namespace LlamaAot.Kernels.Dot;

public static unsafe partial class DotQ5_1Q8_1
{
    public static float Avx2(byte* w, byte* a, int n)
    {
        if (!X86.Avx2.IsSupported || !Fma.IsSupported) return Reference(w, a, n);
        const int W = LegacyAvx2.Q5_1, A = LegacyAvx2.Q8_1;
        int nb = n / BlockQ5_1.QK;
        float* d = stackalloc float[IntDotAvx2.Group];
        float* m = stackalloc float[IntDotAvx2.Group];
        var acc = Vector256<float>.Zero;
        float mins = 0;
        for (int b0 = 0; b0 < nb; b0 += IntDotAvx2.Group)
        {
            int count = Math.Min(IntDotAvx2.Group, nb - b0);
            byte* x = w + b0 * W, y = a + b0 * A;
            LegacyAvx2.ScalesAndMins8(x, W, y, A, count, d, m);
            for (int k = 0; k < count; k++, x += W, y += A)
            {
                var lanes = LegacyAvx2.UnsignedLanes(LegacyAvx2.Q5Values(x + 8, x + 4), Vector256.Load((sbyte*)(y + 4)));
                acc = Fma.MultiplyAdd(Vector256.Create(d[k]), Avx.ConvertToVector256Single(lanes), acc);
                mins += m[k];
            }
        }
        return IntDotAvx2.Hsum8(acc) + mins;
    }

    /// <summary>y[r] = Avx2(w + r·rowBytes, a, n) for r &lt; 4, bit for bit; the four rows share each activation load.</summary>
    public static void Avx2Rows4(byte* w, long rowBytes, byte* a, int n, float* y)
    {
        if (!X86.Avx2.IsSupported || !Fma.IsSupported || rowBytes > int.MaxValue / 4)
        {
            for (int r = 0; r < 4; r++) y[r] = Avx2(w + r * rowBytes, a, n);
            return;
        }
        const int W = LegacyAvx2.Q5_1, A = LegacyAvx2.Q8_1;
        int nb = n / BlockQ5_1.QK;
        float* da = stackalloc float[IntDotAvx2.Group];
        float* sa = stackalloc float[IntDotAvx2.Group];
        float* d = stackalloc float[4];
        var rows = Vector128.Create(0, 1, 2, 3) * (int)rowBytes;
        var acc0 = Vector256<float>.Zero;
        var acc1 = Vector256<float>.Zero;
        var acc2 = Vector256<float>.Zero;
        var acc3 = Vector256<float>.Zero;
        var mins = Vector128<float>.Zero;
        byte* w1 = w + rowBytes, w2 = w + 2 * rowBytes, w3 = w + 3 * rowBytes;
        for (int b0 = 0; b0 < nb; b0 += IntDotAvx2.Group)
        {
            int count = Math.Min(IntDotAvx2.Group, nb - b0);
            var ga = X86.Avx2.GatherVector256((int*)(a + b0 * A), IntDotAvx2.GroupOffsets(A, count), 1);   // (d, s) pairs
            Fp16Vector.HalfHiToSingleArith(ga << 16).Store(da);
            Fp16Vector.HalfHiToSingleArith(ga).Store(sa);
            for (int k = 0, ow = b0 * W, oa = b0 * A; k < count; k++, ow += W, oa += A)
            {
                var gw = X86.Avx2.GatherVector128((int*)(w + ow), rows, 1);   // the four rows' (d, m) pairs
                (Fp16Vector.HalfHiToSingleArith(gw << 16) * Vector128.Create(da[k])).Store(d);
                mins += Fp16Vector.HalfHiToSingleArith(gw) * Vector128.Create(sa[k]);
                var yv = Vector256.Load((sbyte*)(a + oa + 4));
                var l0 = LegacyAvx2.UnsignedLanes(LegacyAvx2.Q5Values(w + ow + 8, w + ow + 4), yv);
                var l1 = LegacyAvx2.UnsignedLanes(LegacyAvx2.Q5Values(w1 + ow + 8, w1 + ow + 4), yv);
                var l2 = LegacyAvx2.UnsignedLanes(LegacyAvx2.Q5Values(w2 + ow + 8, w2 + ow + 4), yv);
                var l3 = LegacyAvx2.UnsignedLanes(LegacyAvx2.Q5Values(w3 + ow + 8, w3 + ow + 4), yv);
                acc0 = Fma.MultiplyAdd(Vector256.Create(d[0]), Avx.ConvertToVector256Single(l0), acc0);
                acc1 = Fma.MultiplyAdd(Vector256.Create(d[1]), Avx.ConvertToVector256Single(l1), acc1);
                acc2 = Fma.MultiplyAdd(Vector256.Create(d[2]), Avx.ConvertToVector256Single(l2), acc2);
                acc3 = Fma.MultiplyAdd(Vector256.Create(d[3]), Avx.ConvertToVector256Single(l3), acc3);
            }
        }
        y[0] = IntDotAvx2.Hsum8(acc0) + mins.GetElement(0);
        y[1] = IntDotAvx2.Hsum8(acc1) + mins.GetElement(1);
        y[2] = IntDotAvx2.Hsum8(acc2) + mins.GetElement(2);
        y[3] = IntDotAvx2.Hsum8(acc3) + mins.GetElement(3);
    }

    /// <summary>Row-range product (MatMulArgs contract) in tiles of Avx2Rows4.</summary>
    public static void GemmAvx2(MatMulArgs* m, int start, int end) => IntGemm.Tiled(m, start, end, 4, &Avx2Rows4, &Avx2);
}
