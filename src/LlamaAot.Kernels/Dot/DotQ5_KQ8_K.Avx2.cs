// AVX2 Q5_K · Q8_K dot (helpers in KQuantAvx2.cs and DotQ8_0Q8_0.Avx2.cs).
//   Integer part: a super-block is 8 chunks of 32 elements, chunk c = 2g + h (g = 32-byte group of qs, h = high
//   nibbles) with one 6-bit scale. Its quants (nibble | 16·qh bit c, 0..31) go unsigned into vpmaddubsw against the
//   32 activation bytes (any int8, −128 included: |pair| ≤ 2·31·128 < 2^15), vpmaddwd with the chunk's scale
//   broadcast to all int16s (≤ 63, so ≤ 10^6 per int32), and the 8 chunks add up in int32: lane j of the ymm holds
//   bytes 4j..4j+3 of every chunk, the spec's lane, exactly. The qh bit c sits at bit c of every qh byte; a 16-bit
//   shift by 4 − c and a byte mask 0x10 move it to bit 4 without picking up bits of the neighbouring byte.
//   The 6-bit scales and mins are unpacked with ggml's kmask word shuffle (scales 0..3, 4..7, mins 0..3, 4..7 as
//   four uint32 of bytes), widened to int16 once per block; the mins are a vpmaddwd of the 16 bsums with each min
//   repeated twice (m_j·(bs[2j] + bs[2j+1]), an exact integer) summed to a scalar.
//   Float part: acc[l] = fma(d, lane[l], acc[l]) in one ymm, summs = fma(−d_a·dmin, Σ m·bsums, summs) as a scalar
//   chain, both in block order; result Hsum8(acc) + summs — the spec's ops in the spec's order.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels.Quants;
using X86 = System.Runtime.Intrinsics.X86;

namespace LlamaAot.Kernels.Dot;

public static unsafe partial class DotQ5_KQ8_K
{
    private const int QW = 176;   // sizeof(BlockQ5_K): fp16 d, fp16 dmin, 12 scale bytes, 32 qh, 128 qs

    public static float Avx2(byte* w, byte* a, int n)
    {
        if (!X86.Avx2.IsSupported || !Fma.IsSupported) return Reference(w, a, n);
        const int QA = KQuantAvx2.Q8K;
        int nb = n / BlockQ5_K.QK;
        float* d = stackalloc float[KQuantAvx2.Group];
        float* dm = stackalloc float[KQuantAvx2.Group];
        var acc = Vector256<float>.Zero;
        float summs = 0;
        for (int b0 = 0; b0 < nb; b0 += KQuantAvx2.Group)
        {
            int count = Math.Min(KQuantAvx2.Group, nb - b0);
            byte* x = w + b0 * QW, y = a + b0 * QA;
            var da = KQuantAvx2.ActScales8(y, count);
            var dw = KQuantAvx2.Words8(x, QW, count);
            (da * KQuantAvx2.LowHalf(dw)).Store(d);
            KQuantAvx2.Negate(da * KQuantAvx2.HighHalf(dw)).Store(dm);
            for (int k = 0; k < count; k++, x += QW, y += QA)
            {
                var (lanes, mins) = Lanes(x, y);
                summs = MathF.FusedMultiplyAdd(dm[k], mins, summs);
                acc = Fma.MultiplyAdd(Vector256.Create(d[k]), Avx.ConvertToVector256Single(lanes), acc);
            }
        }
        return IntDotAvx2.Hsum8(acc) + summs;
    }

    /// <summary>The 8 spec lanes of one super-block pair and Σ_j m_j·(bs[2j] + bs[2j+1]) (AVX2; callers check).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<int> Lanes, int Mins) Lanes(byte* x, byte* y)
    {
        const uint K1 = 0x3f3f3f3f, K2 = 0x0f0f0f0f, K3 = 0x03030303;
        uint u0 = Unsafe.ReadUnaligned<uint>(x + 4), u1 = Unsafe.ReadUnaligned<uint>(x + 8), u2 = Unsafe.ReadUnaligned<uint>(x + 12);
        var sm = KQuantAvx2.Widen(Vector128.Create(
            u0 & K1, (u2 & K2) | (((u0 >> 6) & K3) << 4),            // scales 0..3, 4..7
            u1 & K1, ((u2 >> 4) & K2) | (((u1 >> 6) & K3) << 4)).AsByte());   // mins 0..3, 4..7
        var m32 = X86.Avx2.ConvertToVector256Int32(sm.GetUpper());
        var bs = Vector256.Load((short*)(y + KQuantAvx2.BSumsOffset));
        int mins = KQuantAvx2.Sum(X86.Avx2.MultiplyAddAdjacent(bs, (m32 | (m32 << 16)).AsInt16()));
        var sc = X86.Avx2.Permute2x128(sm, sm, 0x00).AsByte();      // scales 0..7 in both halves
        var qh = Vector256.Load(x + 16);
        byte* q = x + 48;
        byte* ya = y + KQuantAvx2.QsOffset;
        var s0 = Group(q, ya, qh, sc, 0);
        var s1 = Group(q, ya, qh, sc, 1);
        var s2 = Group(q, ya, qh, sc, 2);
        var s3 = Group(q, ya, qh, sc, 3);
        return ((s0 + s1) + (s2 + s3), mins);
    }

    /// <summary>Chunks 2g (low nibbles) and 2g+1 (high nibbles) of qs group g, scaled, as int32 lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Group(byte* q, byte* ya, Vector256<byte> qh, Vector256<byte> sc, int g)
    {
        var m4 = Vector256.Create((byte)0x0F);
        var bit4 = Vector256.Create((byte)0x10);
        var v = Vector256.Load(q + 32 * g);
        var lo = (v & m4) | (High(qh, 2 * g) & bit4);
        var hi = ((v.AsUInt16() >>> 4).AsByte() & m4) | (High(qh, 2 * g + 1) & bit4);
        var p0 = X86.Avx2.MultiplyAddAdjacent(lo, Vector256.Load((sbyte*)(ya + 64 * g)));
        var p1 = X86.Avx2.MultiplyAddAdjacent(hi, Vector256.Load((sbyte*)(ya + 64 * g + 32)));
        return X86.Avx2.MultiplyAddAdjacent(p0, X86.Avx2.Shuffle(sc, KQuantAvx2.WordMask(2 * g)).AsInt16())
            + X86.Avx2.MultiplyAddAdjacent(p1, X86.Avx2.Shuffle(sc, KQuantAvx2.WordMask(2 * g + 1)).AsInt16());
    }

    /// <summary>qh with bit c of every byte moved to bit 4 (other bits garbage; mask with 0x10).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> High(Vector256<byte> qh, int c) =>
        c < 4 ? (qh.AsUInt16() << (4 - c)).AsByte() : c == 4 ? qh : (qh.AsUInt16() >>> (c - 4)).AsByte();
}
