// Vector128 Q2_K · Q8_K dots, both specs, portable Vector128 operators only (SSE and NEON machines).
//   Chunk c = 4g + s (elements 32c..32c+31): quants (qs group g >> 2s) & 3 as bytes; their quad sums against the
//   activation bytes (IntDotV128.Quads, exact: |q·a| ≤ 3·128) times the 4-bit scales sc[2c] (bytes 0..15 → lanes
//   0..3) and sc[2c+1] (bytes 16..31 → lanes 4..7), summed in int32 over the chunks: the spec's lanes. Min lanes
//   m[2l]·bs[2l] + m[2l+1]·bs[2l+1]: the 16 bsums and the 16 mins as int16 pairs read as int32, split by parity
//   with shifts (sign-extending) and multiplied in int32 (KQuantV128.PairProducts).
//   Reference: lo/hi = fma(−d_a·dmin, minlanes, ·), then fma(d_a·d, lanes, ·) per block; Hsum8(lo, hi).
//   Blockwise: Σ lanes and Σ min lanes as integers, then the spec's two scalar fma chains, acc − accm.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using LlamaAot.Kernels.Quants;

namespace LlamaAot.Kernels.Dot;

internal static unsafe partial class KQuantV128
{
    /// <summary>x[2i]·y[2i] + x[2i+1]·y[2i+1] for the 8 int16 of x and y, in int32 (exact for any int16).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> PairProducts(Vector128<short> x, Vector128<short> y)
    {
        var xi = x.AsInt32();
        var yi = y.AsInt32();
        return ((xi << 16) >> 16) * ((yi << 16) >> 16) + (xi >> 16) * (yi >> 16);
    }

    /// <summary>The 8 min lanes of a Q2_K block: (lanes 0..3, lanes 4..7).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector128<int>, Vector128<int>) MinLanes(byte* scales, short* bsums)
    {
        var m = Vector128.Load(scales) >>> 4;
        var (mLo, mHi) = Vector128.Widen(m);
        return (PairProducts(Vector128.Load(bsums), mLo.AsInt16()), PairProducts(Vector128.Load(bsums + 8), mHi.AsInt16()));
    }
}

public static unsafe partial class DotQ2_KQ8_K
{
    public static float V128(byte* w, byte* a, int n)
    {
        if (!Vector128.IsHardwareAccelerated) return Reference(w, a, n);
        var lo = Vector128<float>.Zero;
        var hi = Vector128<float>.Zero;
        for (int i = 0; i < n / BlockQ2_K.QK; i++, w += sizeof(BlockQ2_K), a += sizeof(BlockQ8_K))
        {
            var x = (BlockQ2_K*)w;
            var y = (BlockQ8_K*)a;
            float d = y->D * Fp16.ToFloat(x->D);
            float dmin = -y->D * Fp16.ToFloat(x->DMin);
            var (m0, m1) = KQuantV128.MinLanes(x->Scales, y->BSums);
            lo = Vector128.FusedMultiplyAdd(Vector128.Create(dmin), Vector128.ConvertToSingle(m0), lo);
            hi = Vector128.FusedMultiplyAdd(Vector128.Create(dmin), Vector128.ConvertToSingle(m1), hi);
            var (l0, l1) = V128Lanes(x, y);
            lo = Vector128.FusedMultiplyAdd(Vector128.Create(d), Vector128.ConvertToSingle(l0), lo);
            hi = Vector128.FusedMultiplyAdd(Vector128.Create(d), Vector128.ConvertToSingle(l1), hi);
        }
        return IntDotV128.Hsum8(lo, hi);
    }

    public static float V128Blockwise(byte* w, byte* a, int n)
    {
        if (!Vector128.IsHardwareAccelerated) return ReferenceBlockwise(w, a, n);
        float acc = 0, accm = 0;
        for (int i = 0; i < n / BlockQ2_K.QK; i++, w += sizeof(BlockQ2_K), a += sizeof(BlockQ8_K))
        {
            var x = (BlockQ2_K*)w;
            var y = (BlockQ8_K*)a;
            var (m0, m1) = KQuantV128.MinLanes(x->Scales, y->BSums);
            var (l0, l1) = V128Lanes(x, y);
            acc = MathF.FusedMultiplyAdd(Vector128.Sum(l0 + l1), Fp16.ToFloat(x->D) * y->D, acc);
            accm = MathF.FusedMultiplyAdd(Vector128.Sum(m0 + m1), Fp16.ToFloat(x->DMin) * y->D, accm);
        }
        return acc - accm;
    }

    /// <summary>The spec lanes 0..3 and 4..7 of one super-block pair.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector128<int>, Vector128<int>) V128Lanes(BlockQ2_K* x, BlockQ8_K* y)
    {
        var three = Vector128.Create((byte)3);
        var l0 = Vector128<int>.Zero;
        var l1 = Vector128<int>.Zero;
        for (int c = 0; c < 8; c++)
        {
            byte* q = x->Qs + 32 * (c >> 2);
            int shift = 2 * (c & 3);
            var qa = (Vector128.Load(q) >>> shift) & three;
            var qb = (Vector128.Load(q + 16) >>> shift) & three;
            l0 += IntDotV128.Quads(qa.AsSByte(), Vector128.Load(y->Qs + 32 * c)) * Vector128.Create(x->Scales[2 * c] & 0xF);
            l1 += IntDotV128.Quads(qb.AsSByte(), Vector128.Load(y->Qs + 32 * c + 16)) * Vector128.Create(x->Scales[2 * c + 1] & 0xF);
        }
        return (l0, l1);
    }
}
