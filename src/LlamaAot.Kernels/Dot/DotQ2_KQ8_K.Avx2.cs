// AVX2 Q2_K · Q8_K dots, both specs (helpers in KQuantAvx2.cs and DotQ8_0Q8_0.Avx2.cs).
//   Integer part: chunk c = 4g + s (elements 32c..32c+31) is the 2-bit field s of qs group g (a 16-bit shift by 2s,
//   then & 3: at most 6 bits of the next byte move in, all above bit 1). The quants 0..3 go unsigned into vpmaddubsw
//   against the activation bytes (any int8: |pair| ≤ 2·3·128), vpmaddwd with the 4-bit scales sc[2c] (low 16 bytes)
//   and sc[2c+1] (high 16 bytes) via one vpshufb (KQuantAvx2.PairMask), and int32 adds over the chunks: lane j holds
//   bytes 4j..4j+3 of every chunk, the spec's lane. The mins: vpmaddwd of the 16 bsums with the 16 4-bit mins gives
//   m[2l]·bs[2l] + m[2l+1]·bs[2l+1] in lane l — exactly the spec's 8 min lanes.
//   Reference: per block acc = fma(−d_a·dmin, minlanes, acc), then acc = fma(d_a·d, lanes, acc), in one ymm;
//   Hsum8 at the end. Blockwise: both integer vectors reduced to Σ lanes and Σ m·bsums by two horizontal adds, then
//   the spec's two scalar fma chains, acc − accm.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels.Quants;
using X86 = System.Runtime.Intrinsics.X86;

namespace LlamaAot.Kernels.Dot;

public static unsafe partial class DotQ2_KQ8_K
{
    private const int QW = 84;   // sizeof(BlockQ2_K): 16 scale bytes, 64 qs, fp16 d, fp16 dmin

    public static float Avx2(byte* w, byte* a, int n)
    {
        if (!X86.Avx2.IsSupported || !Fma.IsSupported) return Reference(w, a, n);
        const int QA = KQuantAvx2.Q8K;
        int nb = n / BlockQ2_K.QK;
        float* d = stackalloc float[KQuantAvx2.Group];
        float* dm = stackalloc float[KQuantAvx2.Group];
        var acc = Vector256<float>.Zero;
        for (int b0 = 0; b0 < nb; b0 += KQuantAvx2.Group)
        {
            int count = Math.Min(KQuantAvx2.Group, nb - b0);
            byte* x = w + b0 * QW, y = a + b0 * QA;
            var da = KQuantAvx2.ActScales8(y, count);
            var dw = KQuantAvx2.Words8(x + 80, QW, count);
            (da * KQuantAvx2.LowHalf(dw)).Store(d);
            KQuantAvx2.Negate(da * KQuantAvx2.HighHalf(dw)).Store(dm);
            for (int k = 0; k < count; k++, x += QW, y += QA)
            {
                var (lanes, mins) = Lanes(x, y);
                acc = Fma.MultiplyAdd(Vector256.Create(dm[k]), Avx.ConvertToVector256Single(mins), acc);
                acc = Fma.MultiplyAdd(Vector256.Create(d[k]), Avx.ConvertToVector256Single(lanes), acc);
            }
        }
        return IntDotAvx2.Hsum8(acc);
    }

    public static float Avx2Blockwise(byte* w, byte* a, int n)
    {
        if (!X86.Avx2.IsSupported || !Fma.IsSupported) return ReferenceBlockwise(w, a, n);
        const int QA = KQuantAvx2.Q8K;
        int nb = n / BlockQ2_K.QK;
        float* d = stackalloc float[KQuantAvx2.Group];
        float* dm = stackalloc float[KQuantAvx2.Group];
        float acc = 0, accm = 0;
        for (int b0 = 0; b0 < nb; b0 += KQuantAvx2.Group)
        {
            int count = Math.Min(KQuantAvx2.Group, nb - b0);
            byte* x = w + b0 * QW, y = a + b0 * QA;
            var da = KQuantAvx2.ActScales8(y, count);
            var dw = KQuantAvx2.Words8(x + 80, QW, count);
            (KQuantAvx2.LowHalf(dw) * da).Store(d);
            (KQuantAvx2.HighHalf(dw) * da).Store(dm);
            for (int k = 0; k < count; k++, x += QW, y += QA)
            {
                var (lanes, mins) = Lanes(x, y);
                // (Σ lanes, Σ mins) in elements 0 and 1.
                var h = X86.Avx2.HorizontalAdd(lanes, mins);   // l01 l23 m01 m23 | l45 l67 m45 m67
                var t = h.GetLower() + h.GetUpper();
                var s = Vector128.ConvertToSingle(Ssse3.HorizontalAdd(t, t));
                acc = MathF.FusedMultiplyAdd(s.ToScalar(), d[k], acc);
                accm = MathF.FusedMultiplyAdd(s.GetElement(1), dm[k], accm);
            }
        }
        return acc - accm;
    }

    /// <summary>The 8 spec lanes of one super-block pair and its 8 min lanes (AVX2; callers check).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<int> Lanes, Vector256<int> Mins) Lanes(byte* x, byte* y)
    {
        var sb = Vector128.Load(x);
        var sc = KQuantAvx2.Widen(sb & Vector128.Create((byte)0x0F));
        var mins = X86.Avx2.MultiplyAddAdjacent(Vector256.Load((short*)(y + KQuantAvx2.BSumsOffset)), KQuantAvx2.Widen(sb >>> 4));
        var scLo = X86.Avx2.Permute2x128(sc, sc, 0x00).AsByte();   // sc 0..7 in both halves (chunks 0..3)
        var scHi = X86.Avx2.Permute2x128(sc, sc, 0x11).AsByte();   // sc 8..15 (chunks 4..7)
        var q0 = Vector256.Load(x + 16);
        var q1 = Vector256.Load(x + 48);
        byte* ya = y + KQuantAvx2.QsOffset;
        var s0 = Chunk(q0, ya, scLo, 0) + Chunk(q0, ya, scLo, 1);
        var s1 = Chunk(q0, ya, scLo, 2) + Chunk(q0, ya, scLo, 3);
        var s2 = Chunk(q1, ya, scHi, 4) + Chunk(q1, ya, scHi, 5);
        var s3 = Chunk(q1, ya, scHi, 6) + Chunk(q1, ya, scHi, 7);
        return ((s0 + s1) + (s2 + s3), mins);
    }

    /// <summary>Chunk c's int32 lanes, scaled.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Chunk(Vector256<byte> q, byte* ya, Vector256<byte> sc, int c)
    {
        int s = c & 3;
        var u = KQuantAvx2.Field2(q, s);
        var p16 = X86.Avx2.MultiplyAddAdjacent(u, Vector256.Load((sbyte*)(ya + 32 * c)));
        return X86.Avx2.MultiplyAddAdjacent(p16, X86.Avx2.Shuffle(sc, KQuantAvx2.PairMask(s)).AsInt16());
    }
}
