// AVX2 Q6_K · Q8_K dot (spec: DotQ6_KQ8_K.Reference in DotFormats.cs, llama.cpp's AVX2 arithmetic).
//   Integer part, per 32-element chunk c (sub-blocks 2c, 2c+1): the 6-bit quants are assembled unsigned (0..63) in
//   element order — low nibble from ql (plain or >> 4), the 2 high bits from qh moved to bits 4..5 with a 16-bit
//   shift and a 0x30 mask (bits crossing into the neighbour byte are masked off) — and go straight into vpmaddubsw
//   against the signed activations: int16 i = u[2i]·a[2i] + u[2i+1]·a[2i+1], |·| ≤ 2·63·128 < 2^15, so no saturation
//   and every activation byte, -128 included, works. vpmaddwd with the scales (sc[2c] in the low 128 bits, sc[2c+1]
//   in the high: the 16 scales sign-extended to int16 once per block, each group's 8 copied to both halves, then one
//   vpshufb with a constant word index per chunk; the two groups are written out) gives int32 lane j = the chunk's
//   elements 4j..4j+3 times their scale — the spec's lane j — and the eight chunks add up in one register. The −32
//   offset is the spec's own: vpmaddwd of the 16 bsums with the 16 scales puts sc[2l]·bs[2l] + sc[2l+1]·bs[2l+1] in
//   lane l, shifted left by 5 and subtracted. Integer sums are exact in any order (wrapping int32 arithmetic is
//   associative), so only the lane contents matter.
//   Float part: d = d_a · fp32(d_w) per block (fp16 widened with Fp16Vector, no call in the loop), one
//   acc = fma(d, lanes, acc) per block into one ymm, then Hsum8 — the spec's order.
using System.Diagnostics.CodeAnalysis;
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

    /// <summary>y[j·yStride] = Avx2(w, a + j·actStride, n) for j &lt; 4, bit for bit: the prompt kernel. Each
    /// group's 6-bit quants and scale words are assembled once for the four activation rows.</summary>
    public static void Avx2Acts4(byte* w, byte* a, long actStride, int n, float* y, long yStride)
    {
        if (!X86.Avx2.IsSupported || !Fma.IsSupported)
        {
            for (int j = 0; j < 4; j++) y[j * yStride] = Reference(w, a + j * actStride, n);
            return;
        }
        var x = (BlockQ6_K*)w;
        var y0 = (BlockQ8_K*)a;
        var y1 = (BlockQ8_K*)(a + actStride);
        var y2 = (BlockQ8_K*)(a + 2 * actStride);
        var y3 = (BlockQ8_K*)(a + 3 * actStride);
        Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        for (int i = 0; i < n / BlockQ6_K.QK; i++, x++, y0++, y1++, y2++, y3++)
        {
            var sc16 = X86.Avx2.ConvertToVector256Int16(Vector128.Load(x->Scales));
            var g0 = new GroupUnpacked(x->Ql, x->Qh, X86.Avx2.Permute2x128(sc16, sc16, 0x00).AsByte());
            var g1 = new GroupUnpacked(x->Ql + 64, x->Qh + 32, X86.Avx2.Permute2x128(sc16, sc16, 0x11).AsByte());
            acc0 = Fma.MultiplyAdd(ScaleAvx2(x->D, y0->D), Avx.ConvertToVector256Single(Lanes(g0, g1, sc16, y0)), acc0);
            acc1 = Fma.MultiplyAdd(ScaleAvx2(x->D, y1->D), Avx.ConvertToVector256Single(Lanes(g0, g1, sc16, y1)), acc1);
            acc2 = Fma.MultiplyAdd(ScaleAvx2(x->D, y2->D), Avx.ConvertToVector256Single(Lanes(g0, g1, sc16, y2)), acc2);
            acc3 = Fma.MultiplyAdd(ScaleAvx2(x->D, y3->D), Avx.ConvertToVector256Single(Lanes(g0, g1, sc16, y3)), acc3);
        }
        y[0] = IntDotAvx2.Hsum8(acc0);
        y[yStride] = IntDotAvx2.Hsum8(acc1);
        y[2 * yStride] = IntDotAvx2.Hsum8(acc2);
        y[3 * yStride] = IntDotAvx2.Hsum8(acc3);
    }

    /// <summary>Prompts: four activation rows per pass over a weight row (Avx2Acts4), leftovers and decode by m->Dot.</summary>
    public static void GemmAvx2(MatMul.MatMulArgs* m, int start, int end) => MatMul.MatMul.Acts4Rows(m, start, end, &Avx2Acts4);

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
        var sc16 = X86.Avx2.ConvertToVector256Int16(Vector128.Load(x->Scales));   // sc0..sc7 | sc8..sc15
        return Lanes(new GroupUnpacked(x->Ql, x->Qh, X86.Avx2.Permute2x128(sc16, sc16, 0x00).AsByte()),
            new GroupUnpacked(x->Ql + 64, x->Qh + 32, X86.Avx2.Permute2x128(sc16, sc16, 0x11).AsByte()), sc16, y);
    }

    /// <summary>The lanes of a super-block's two groups against one activation row, minus 32·Σ sc·bsums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Lanes(in GroupUnpacked g0, in GroupUnpacked g1, Vector256<short> sc16, BlockQ8_K* y)
    {
        var lanes = g0.Lanes(y->Qs) + g1.Lanes(y->Qs + 128);
        var offset = X86.Avx2.MultiplyAddAdjacent(Vector256.Load(y->BSums), sc16);
        return lanes - (offset << 5);
    }

    /// <summary>One 128-element group: its four chunks' 6-bit quants assembled unsigned, and their scale words (sc holds
    /// the group's 8 scales as int16 in both 128-bit halves; a vpshufb with a constant word index gives chunk s sc[2s]
    /// in the low half and sc[2s+1] in the high), made once however many activation rows use them.</summary>
    private readonly struct GroupUnpacked
    {
        private readonly Vector256<byte> _u0, _u1, _u2, _u3;
        private readonly Vector256<short> _s0, _s1, _s2, _s3;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public GroupUnpacked(byte* ql, byte* qh, Vector256<byte> sc)
        {
            var lowNibble = Vector256.Create((byte)0x0F);
            var highBits = Vector256.Create((byte)0x30);
            var l0 = Vector256.Load(ql);
            var l1 = Vector256.Load(ql + 32);
            var h = Vector256.Load(qh).AsUInt16();
            _u0 = (l0 & lowNibble) | ((h << 4).AsByte() & highBits);
            _u1 = (l1 & lowNibble) | ((h << 2).AsByte() & highBits);
            _u2 = ((l0.AsUInt16() >>> 4).AsByte() & lowNibble) | (h.AsByte() & highBits);
            _u3 = ((l1.AsUInt16() >>> 4).AsByte() & lowNibble) | ((h >>> 2).AsByte() & highBits);
            _s0 = ScaleWords(sc, 0);
            _s1 = ScaleWords(sc, 1);
            _s2 = ScaleWords(sc, 2);
            _s3 = ScaleWords(sc, 3);
        }

        /// <summary>The group's lanes against one activation row's 128 quants at q8.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<int> Lanes(sbyte* q8)
        {
            var p0 = X86.Avx2.MultiplyAddAdjacent(X86.Avx2.MultiplyAddAdjacent(_u0, Vector256.Load(q8)), _s0);
            var p1 = X86.Avx2.MultiplyAddAdjacent(X86.Avx2.MultiplyAddAdjacent(_u1, Vector256.Load(q8 + 32)), _s1);
            var p2 = X86.Avx2.MultiplyAddAdjacent(X86.Avx2.MultiplyAddAdjacent(_u2, Vector256.Load(q8 + 64)), _s2);
            var p3 = X86.Avx2.MultiplyAddAdjacent(X86.Avx2.MultiplyAddAdjacent(_u3, Vector256.Load(q8 + 96)), _s3);
            return (p0 + p1) + (p2 + p3);
        }
    }

    /// <summary>Word 2s of sc in the low 128 bits, word 2s+1 in the high, each repeated 8 times (one vpshufb).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<short> ScaleWords(Vector256<byte> sc, [ConstantExpected] int s) =>
        X86.Avx2.Shuffle(sc, Vector256.Create(Vector128.Create((short)(0x0100 + 0x0404 * s)),
            Vector128.Create((short)(0x0302 + 0x0404 * s))).AsByte()).AsInt16();
}
