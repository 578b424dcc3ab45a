// Vector128 Q5_K · Q8_K dot, portable Vector128 operators only (SSE and NEON machines).
//   A super-block's 8 spec lanes are two Vector128<int>: bytes 0..15 of each 32-element chunk feed lanes 0..3,
//   bytes 16..31 lanes 4..7. Chunk c (= 2g + h: qs group g, high nibbles when h = 1) has quants
//   nibble | 16·(bit c of qh), 0..31, whose quad sums against the activation bytes come from IntDotV128.Quads
//   (exact: |q·a| ≤ 31·128, so every int16 product and pair sum fits, −128 activations included); times the chunk's
//   6-bit scale in int32 and summed over the chunks, they are the spec's lanes. Scales and mins are unpacked by the
//   kmask word shuffle (KQuantV128.ScalesMinsK4); Σ m·bsums is a scalar integer.
//   Float part: per block lo/hi = fma(d, lanes, lo/hi), summs = fma(−d_a·dmin, Σ m·bsums, summs), then
//   Hsum8(lo, hi) + summs — the spec's order.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using LlamaAot.Kernels.Quants;

namespace LlamaAot.Kernels.Dot;

/// <summary>Scalar helpers of the Vector128 / NEON K-quant dots.</summary>
internal static unsafe partial class KQuantV128
{
    /// <summary>Q4_K/Q5_K's 8 scales (bytes 0..7) and 8 mins (8..15) from the 12 packed bytes, as
    /// KScales.ScaleMinK4 decodes them (ggml's kmask word shuffle).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void ScalesMinsK4(byte* packed, byte* out16)
    {
        const uint K1 = 0x3f3f3f3f, K2 = 0x0f0f0f0f, K3 = 0x03030303;
        uint u0 = Unsafe.ReadUnaligned<uint>(packed), u1 = Unsafe.ReadUnaligned<uint>(packed + 4), u2 = Unsafe.ReadUnaligned<uint>(packed + 8);
        Unsafe.WriteUnaligned(out16, u0 & K1);
        Unsafe.WriteUnaligned(out16 + 4, (u2 & K2) | (((u0 >> 6) & K3) << 4));
        Unsafe.WriteUnaligned(out16 + 8, u1 & K1);
        Unsafe.WriteUnaligned(out16 + 12, ((u2 >> 4) & K2) | (((u1 >> 6) & K3) << 4));
    }

    /// <summary>Σ_j m_j·(bs[2j] + bs[2j+1]) over 8 mins.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int MinSum8(byte* mins, short* bs)
    {
        int s = 0;
        for (int j = 0; j < 8; j++) s += mins[j] * (bs[2 * j] + bs[2 * j + 1]);
        return s;
    }
}

public static unsafe partial class DotQ5_KQ8_K
{
    public static float V128(byte* w, byte* a, int n)
    {
        if (!Vector128.IsHardwareAccelerated) return Reference(w, a, n);
        byte* sm = stackalloc byte[16];
        var lo = Vector128<float>.Zero;
        var hi = Vector128<float>.Zero;
        float summs = 0;
        for (int i = 0; i < n / BlockQ5_K.QK; i++, w += sizeof(BlockQ5_K), a += sizeof(BlockQ8_K))
        {
            var x = (BlockQ5_K*)w;
            var y = (BlockQ8_K*)a;
            float d = y->D * Fp16.ToFloat(x->D);
            float dmin = -y->D * Fp16.ToFloat(x->DMin);
            KQuantV128.ScalesMinsK4(x->Scales, sm);
            summs = MathF.FusedMultiplyAdd(dmin, KQuantV128.MinSum8(sm + 8, y->BSums), summs);
            var qhA = Vector128.Load(x->Qh);
            var qhB = Vector128.Load(x->Qh + 16);
            var m4 = Vector128.Create((byte)0x0F);
            var one = Vector128.Create((byte)1);
            var l0 = Vector128<int>.Zero;
            var l1 = Vector128<int>.Zero;
            for (int c = 0; c < 8; c++)
            {
                byte* q = x->Qs + 32 * (c >> 1);
                int shift = 4 * (c & 1);
                var qa = ((Vector128.Load(q) >>> shift) & m4) | (((qhA >>> c) & one) << 4);
                var qb = ((Vector128.Load(q + 16) >>> shift) & m4) | (((qhB >>> c) & one) << 4);
                var s = Vector128.Create((int)sm[c]);
                l0 += IntDotV128.Quads(qa.AsSByte(), Vector128.Load(y->Qs + 32 * c)) * s;
                l1 += IntDotV128.Quads(qb.AsSByte(), Vector128.Load(y->Qs + 32 * c + 16)) * s;
            }
            lo = Vector128.FusedMultiplyAdd(Vector128.Create(d), Vector128.ConvertToSingle(l0), lo);
            hi = Vector128.FusedMultiplyAdd(Vector128.Create(d), Vector128.ConvertToSingle(l1), hi);
        }
        return IntDotV128.Hsum8(lo, hi) + summs;
    }
}
