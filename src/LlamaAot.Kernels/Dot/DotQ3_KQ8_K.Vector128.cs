// Vector128 Q3_K · Q8_K dot, portable Vector128 operators only (SSE and NEON machines).
//   Chunk c = 4g + s (elements 32c..32c+31): quants q = (low | 4·bit) − 4 formed as signed bytes (−4..3) from the
//   2-bit field s of qs group g and bit c of hmask; their quad sums against the activation bytes (IntDotV128.Quads,
//   exact: |q·a| ≤ 4·128) times the 16-element scales sc[2c] (bytes 0..15 → lanes 0..3) and sc[2c+1] (bytes 16..31 →
//   lanes 4..7), summed in int32 over the chunks, are the spec's lanes. Scales: KScales.Q3Scales, minus 32.
//   Float part: lo/hi = fma(d_a·d, lanes, lo/hi) per block, then Hsum8(lo, hi).
using System.Runtime.Intrinsics;
using LlamaAot.Kernels.Quants;

namespace LlamaAot.Kernels.Dot;

public static unsafe partial class DotQ3_KQ8_K
{
    public static float V128(byte* w, byte* a, int n)
    {
        if (!Vector128.IsHardwareAccelerated) return Reference(w, a, n);
        sbyte* sc = stackalloc sbyte[16];
        var lo = Vector128<float>.Zero;
        var hi = Vector128<float>.Zero;
        for (int i = 0; i < n / BlockQ3_K.QK; i++, w += sizeof(BlockQ3_K), a += sizeof(BlockQ8_K))
        {
            var x = (BlockQ3_K*)w;
            var y = (BlockQ8_K*)a;
            float d = y->D * Fp16.ToFloat(x->D);
            KScales.Q3Scales(x->Scales, sc);
            var hmA = Vector128.Load(x->HMask);
            var hmB = Vector128.Load(x->HMask + 16);
            var three = Vector128.Create((byte)3);
            var one = Vector128.Create((byte)1);
            var four = Vector128.Create((byte)4);
            var l0 = Vector128<int>.Zero;
            var l1 = Vector128<int>.Zero;
            for (int c = 0; c < 8; c++)
            {
                byte* q = x->Qs + 32 * (c >> 2);
                int shift = 2 * (c & 3);
                var qa = (((Vector128.Load(q) >>> shift) & three) | (((hmA >>> c) & one) << 2)) - four;
                var qb = (((Vector128.Load(q + 16) >>> shift) & three) | (((hmB >>> c) & one) << 2)) - four;
                l0 += IntDotV128.Quads(qa.AsSByte(), Vector128.Load(y->Qs + 32 * c)) * Vector128.Create(sc[2 * c] - 32);
                l1 += IntDotV128.Quads(qb.AsSByte(), Vector128.Load(y->Qs + 32 * c + 16)) * Vector128.Create(sc[2 * c + 1] - 32);
            }
            lo = Vector128.FusedMultiplyAdd(Vector128.Create(d), Vector128.ConvertToSingle(l0), lo);
            hi = Vector128.FusedMultiplyAdd(Vector128.Create(d), Vector128.ConvertToSingle(l1), hi);
        }
        return IntDotV128.Hsum8(lo, hi);
    }
}
