// AVX2 Q4_K · Q8_K dots, both specs (DotQ4_KQ8_K.Reference / ReferenceBlockwise in DotFormats.cs).
//   Scales: the 12 packed bytes are unpacked with llama.cpp's 32-bit mask-and-shift sequence into 16 bytes, the
//   eight 6-bit sub-block scales then the eight mins (same values as KScales.ScaleMinK4).
//   Integer part, per 32-element chunk c = 2g + h (qs[32g..32g+31], low nibbles for h = 0, high for h = 1, all of
//   sub-block c): the nibbles stay unsigned and go straight into vpmaddubsw against the signed activations
//   (|pair| ≤ 2·15·128, no saturation, -128 works), then vpmaddwd with the chunk's scale broadcast to 16 int16 (a
//   vpshufb with a constant word index of the scales widened to int16 in both 128-bit halves) — int32 lane j =
//   elements 4j..4j+3 of the chunk times their scale, the spec's lane j; the eight chunks add up (int32 sums are
//   exact in any order). The four 64-element groups are written out (the JIT does not unroll; ~10% faster).
//   Mins: vphaddw of the 16 bsums gives the eight 32-element sums, vpmaddwd with the eight mins gives the spec's
//   four integers m[2k]·S[2k] + m[2k+1]·S[2k+1].
//   Float part, Reference: acc = fma(d, lanes, acc) in one ymm, accm = fma(dmin, mins, accm) in one xmm, per block;
//   Hsum8(acc) + ((accm0 + accm2) + (accm1 + accm3)). Blockwise: the block's lanes and mins summed to two integers,
//   then the spec's two scalar fma chains. d = d_a·fp32(d_w), dmin = −d_a·fp32(dmin_w), widened with Fp16Vector
//   (both halves from one 32-bit load), so nothing is called in the loop.
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels.Quants;
using X86 = System.Runtime.Intrinsics.X86;

namespace LlamaAot.Kernels.Dot;

public static unsafe partial class DotQ4_KQ8_K
{
    public static float Avx2(byte* w, byte* a, int n)
    {
        if (!X86.Avx2.IsSupported || !Fma.IsSupported) return Reference(w, a, n);
        var x = (BlockQ4_K*)w;
        var y = (BlockQ8_K*)a;
        var acc = Vector256<float>.Zero;
        var accm = Vector128<float>.Zero;
        for (int i = 0; i < n / BlockQ4_K.QK; i++, x++, y++)
        {
            var sm = ScalesAndMins(x);
            var lanes = LanesAvx2(x, y, sm);
            var mins = MinsAvx2(y, sm);
            var dd = HalfScales(x, y->D, -y->D);                 // (d, dmin, 0, 0)
            acc = Fma.MultiplyAdd(X86.Avx2.BroadcastScalarToVector256(dd), Avx.ConvertToVector256Single(lanes), acc);
            accm = Fma.MultiplyAdd(Sse.Shuffle(dd, dd, 0x55), Sse2.ConvertToVector128Single(mins), accm);
        }
        return IntDotAvx2.Hsum8(acc) + ((accm.GetElement(0) + accm.GetElement(2)) + (accm.GetElement(1) + accm.GetElement(3)));
    }

    public static float Avx2Blockwise(byte* w, byte* a, int n)
    {
        if (!X86.Avx2.IsSupported || !Fma.IsSupported) return ReferenceBlockwise(w, a, n);
        var x = (BlockQ4_K*)w;
        var y = (BlockQ8_K*)a;
        float acc = 0, accm = 0;
        for (int i = 0; i < n / BlockQ4_K.QK; i++, x++, y++)
        {
            var sm = ScalesAndMins(x);
            var lanes = LanesAvx2(x, y, sm);
            var mins = MinsAvx2(y, sm);
            var dd = HalfScales(x, y->D, y->D);                  // (d_w·d_a, dmin_w·d_a, 0, 0)
            // (sumi, summ, sumi, summ) from two horizontal adds, both converted at once.
            var h = Ssse3.HorizontalAdd(lanes.GetLower() + lanes.GetUpper(), mins);
            var f = Sse2.ConvertToVector128Single(Ssse3.HorizontalAdd(h, h));
            acc = MathF.FusedMultiplyAdd(f.ToScalar(), dd.ToScalar(), acc);
            accm = MathF.FusedMultiplyAdd(f.GetElement(1), dd.GetElement(1), accm);
        }
        return acc - accm;
    }

    /// <summary>(d_a1·fp32(d_w), d_a2·fp32(dmin_w), ·, ·) from the block's two fp16 fields; portable Vector128
    /// operators only, so every path shares it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> HalfScales(BlockQ4_K* x, float da1, float da2)
    {
        int both = *(int*)x;                                      // D in the low half, DMin in the high half
        var halves = Fp16Vector.HalfHiToSingleArith(Vector128.Create(both << 16, both, 0, 0));
        return halves * Vector128.Create(da1, da2, 0, 0);
    }

    /// <summary>The eight 6-bit scales (bytes 0..7) and mins (bytes 8..15) of a block (get_scale_min_k4); portable,
    /// shared by every path.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<byte> ScalesAndMins(BlockQ4_K* x)
    {
        const uint Kmask1 = 0x3f3f3f3f, Kmask2 = 0x0f0f0f0f, Kmask3 = 0x03030303;
        uint* p = (uint*)x->Scales;
        uint u0 = p[0], u1 = p[1], u2 = p[2];
        uint m47 = ((u2 >> 4) & Kmask2) | (((u1 >> 6) & Kmask3) << 4);
        uint d47 = (u2 & Kmask2) | (((u0 >> 6) & Kmask3) << 4);
        return Vector128.Create(u0 & Kmask1, d47, u1 & Kmask1, m47).AsByte();
    }

    /// <summary>The spec's four min integers m[2k]·S[2k] + m[2k+1]·S[2k+1], S[j] the activation sums of sub-block j.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> MinsAvx2(BlockQ8_K* y, Vector128<byte> sm)
    {
        var bs = Vector256.Load(y->BSums);
        var s = Ssse3.HorizontalAdd(bs.GetLower(), bs.GetUpper());
        return Sse2.MultiplyAddAdjacent(Sse2.UnpackHigh(sm, Vector128<byte>.Zero).AsInt16(), s);
    }

    /// <summary>The spec's 8 int32 lanes of one super-block pair (AVX2).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> LanesAvx2(BlockQ4_K* x, BlockQ8_K* y, Vector128<byte> sm)
    {
        var s16 = X86.Avx2.ConvertToVector256Int16(sm);                  // d0..d7 | m0..m7 as int16
        var sd = X86.Avx2.Permute2x128(s16, s16, 0x00).AsByte();         // d0..d7 in both halves
        byte* qs = x->Qs;
        sbyte* q8 = y->Qs;
        return (GroupAvx2(qs, q8, sd, 0) + GroupAvx2(qs + 32, q8 + 64, sd, 1))
            + (GroupAvx2(qs + 64, q8 + 128, sd, 2) + GroupAvx2(qs + 96, q8 + 192, sd, 3));
    }

    /// <summary>Lanes of chunks 2g (low nibbles) and 2g+1 (high nibbles), each times its scale broadcast from sd by a
    /// vpshufb with the constant word index.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> GroupAvx2(byte* qs, sbyte* q8, Vector256<byte> sd, [ConstantExpected] int g)
    {
        var lowNibble = Vector256.Create((byte)0x0F);
        var q = Vector256.Load(qs);
        var lo = q & lowNibble;
        var hi = (q.AsUInt16() >>> 4).AsByte() & lowNibble;
        var s0 = X86.Avx2.Shuffle(sd, Vector256.Create((short)(0x0100 + 0x0404 * g)).AsByte()).AsInt16();
        var s1 = X86.Avx2.Shuffle(sd, Vector256.Create((short)(0x0302 + 0x0404 * g)).AsByte()).AsInt16();
        return X86.Avx2.MultiplyAddAdjacent(X86.Avx2.MultiplyAddAdjacent(lo, Vector256.Load(q8)), s0)
            + X86.Avx2.MultiplyAddAdjacent(X86.Avx2.MultiplyAddAdjacent(hi, Vector256.Load(q8 + 32)), s1);
    }
}
