// AVX2 Q6_K · Q8_K dot (spec: DotQ6_KQ8_K.Reference in DotFormats.cs, llama.cpp's AVX2 arithmetic).
//   Integer part, per 32-element chunk c (sub-blocks 2c, 2c+1): the 6-bit quants are assembled unsigned (0..63) in
//   element order — low nibble from ql (plain or >> 4), the 2 high bits from qh moved to bits 4..5 with a 16-bit
//   shift and a 0x30 mask (bits crossing into the neighbour byte are masked off) — and go straight into vpmaddubsw
//   against the signed activations: int16 i = u[2i]·a[2i] + u[2i+1]·a[2i+1], |·| ≤ 2·63·128 < 2^15, so no saturation
//   and every activation byte, -128 included, works. vpmaddwd with the scales (sc[2c] in the low 128 bits, sc[2c+1]
//   in the high, sign-extended by vpmovsxbw from a vpshufb of the 16 scale bytes) gives int32 lane j = the chunk's
//   elements 4j..4j+3 times their scale — the spec's lane j — and the eight chunks add up in one register. The −32
//   offset is the spec's own: vpmaddwd of the 16 bsums with the 16 scales puts sc[2l]·bs[2l] + sc[2l+1]·bs[2l+1] in
//   lane l, shifted left by 5 and subtracted. Integer sums are exact in any order (wrapping int32 arithmetic is
//   associative), so only the lane contents matter.
//   Float part: d = d_a · fp32(d_w) per block (fp16 widened with Fp16Vector, no call in the loop), one
//   acc = fma(d, lanes, acc) per block into one ymm, then Hsum8 — the spec's order.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels.Quants;
using X86 = System.Runtime.Intrinsics.X86;

namespace LlamaAot.Kernels.Dot;

public static unsafe partial class DotQ6_KQ8_K
{
    public static float Avx2(byte* w, byte* a, int n)
    {
        if (!X86.Avx2.IsSupported || !Fma.IsSupported) return Reference(w, a, n);
        var x = (BlockQ6_K*)w;
        var y = (BlockQ8_K*)a;
        var acc = Vector256<float>.Zero;
        for (int i = 0; i < n / BlockQ6_K.QK; i++, x++, y++)
        {
            var lanes = LanesAvx2(x, y);
            acc = Fma.MultiplyAdd(ScaleAvx2(x->D, y->D), Avx.ConvertToVector256Single(lanes), acc);
        }
        return IntDotAvx2.Hsum8(acc);
    }

    /// <summary>d_a · fp32(d_w) broadcast to 8 lanes, as the spec forms it (AVX2; callers check).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> ScaleAvx2(ushort dw, float da)
    {
        var w = Fp16Vector.HalfHiToSingleArith(Vector128.CreateScalarUnsafe(dw << 16));
        return X86.Avx2.BroadcastScalarToVector256(Vector128.CreateScalarUnsafe(da) * w);
    }

    /// <summary>The spec's 8 int32 lanes of one super-block pair, the −32·bsums correction included (AVX2).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> LanesAvx2(BlockQ6_K* x, BlockQ8_K* y)
    {
        var sc8 = Vector128.Load(x->Scales);
        var lowNibble = Vector256.Create((byte)0x0F);
        var highBits = Vector256.Create((byte)0x30);
        var sel = Vector128.Create((byte)0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1).AsSByte();
        var two = Vector128.Create((sbyte)2);
        byte* ql = x->Ql;
        byte* qh = x->Qh;
        sbyte* q8 = y->Qs;
        var sum = Vector256<int>.Zero;
        for (int g = 0; g < 2; g++, ql += 64, qh += 32, q8 += 128)
        {
            var l0 = Vector256.Load(ql);
            var l1 = Vector256.Load(ql + 32);
            var h = Vector256.Load(qh).AsUInt16();
            var u0 = (l0 & lowNibble) | ((h << 4).AsByte() & highBits);
            var u1 = (l1 & lowNibble) | ((h << 2).AsByte() & highBits);
            var u2 = ((l0.AsUInt16() >>> 4).AsByte() & lowNibble) | (h.AsByte() & highBits);
            var u3 = ((l1.AsUInt16() >>> 4).AsByte() & lowNibble) | ((h >>> 2).AsByte() & highBits);
            var s0 = X86.Avx2.ConvertToVector256Int16(Ssse3.Shuffle(sc8, sel));
            var s1 = X86.Avx2.ConvertToVector256Int16(Ssse3.Shuffle(sc8, sel + two));
            var s2 = X86.Avx2.ConvertToVector256Int16(Ssse3.Shuffle(sc8, sel + two + two));
            var s3 = X86.Avx2.ConvertToVector256Int16(Ssse3.Shuffle(sc8, sel + two + two + two));
            var p0 = X86.Avx2.MultiplyAddAdjacent(X86.Avx2.MultiplyAddAdjacent(u0, Vector256.Load(q8)), s0);
            var p1 = X86.Avx2.MultiplyAddAdjacent(X86.Avx2.MultiplyAddAdjacent(u1, Vector256.Load(q8 + 32)), s1);
            var p2 = X86.Avx2.MultiplyAddAdjacent(X86.Avx2.MultiplyAddAdjacent(u2, Vector256.Load(q8 + 64)), s2);
            var p3 = X86.Avx2.MultiplyAddAdjacent(X86.Avx2.MultiplyAddAdjacent(u3, Vector256.Load(q8 + 96)), s3);
            sum += (p0 + p1) + (p2 + p3);
            sel += Vector128.Create((sbyte)8);
        }
        var offset = X86.Avx2.MultiplyAddAdjacent(Vector256.Load(y->BSums), X86.Avx2.ConvertToVector256Int16(sc8));
        return sum - (offset << 5);
    }
}
