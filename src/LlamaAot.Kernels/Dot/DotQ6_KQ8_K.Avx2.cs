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
//   Prompts (Avx2Acts4): each block's chunk pairs (KQuantAvx2.ChunkPair) are unpacked once for four activation rows.
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
            IntDotAvx2.PrefetchAhead((byte*)x, 4);   // 210-byte blocks
            var lanes = LanesAvx2(x, y);
            acc = Fma.MultiplyAdd(KQuantAvx2.Scale(x->D, y->D), Avx.ConvertToVector256Single(lanes), acc);
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
            var sc0 = X86.Avx2.Permute2x128(sc16, sc16, 0x00).AsByte();
            var sc1 = X86.Avx2.Permute2x128(sc16, sc16, 0x11).AsByte();
            Vector256<int> l0 = default, l1 = default, l2 = default, l3 = default;
            Pair(x->Ql, x->Qh, sc0, 0).AddLanes(y0->Qs, y1->Qs, y2->Qs, y3->Qs, ref l0, ref l1, ref l2, ref l3);
            Pair(x->Ql, x->Qh, sc0, 1).AddLanes(y0->Qs + 64, y1->Qs + 64, y2->Qs + 64, y3->Qs + 64, ref l0, ref l1, ref l2, ref l3);
            Pair(x->Ql + 64, x->Qh + 32, sc1, 0).AddLanes(y0->Qs + 128, y1->Qs + 128, y2->Qs + 128, y3->Qs + 128, ref l0, ref l1, ref l2, ref l3);
            Pair(x->Ql + 64, x->Qh + 32, sc1, 1).AddLanes(y0->Qs + 192, y1->Qs + 192, y2->Qs + 192, y3->Qs + 192, ref l0, ref l1, ref l2, ref l3);
            acc0 = Fma.MultiplyAdd(KQuantAvx2.Scale(x->D, y0->D), Avx.ConvertToVector256Single(l0 - Offset(y0, sc16)), acc0);
            acc1 = Fma.MultiplyAdd(KQuantAvx2.Scale(x->D, y1->D), Avx.ConvertToVector256Single(l1 - Offset(y1, sc16)), acc1);
            acc2 = Fma.MultiplyAdd(KQuantAvx2.Scale(x->D, y2->D), Avx.ConvertToVector256Single(l2 - Offset(y2, sc16)), acc2);
            acc3 = Fma.MultiplyAdd(KQuantAvx2.Scale(x->D, y3->D), Avx.ConvertToVector256Single(l3 - Offset(y3, sc16)), acc3);
        }
        y[0] = IntDotAvx2.Hsum8(acc0);
        y[yStride] = IntDotAvx2.Hsum8(acc1);
        y[2 * yStride] = IntDotAvx2.Hsum8(acc2);
        y[3 * yStride] = IntDotAvx2.Hsum8(acc3);
    }

    /// <summary>Prompts: four activation rows per pass over a weight row (Avx2Acts4), leftovers and decode by m->Dot.</summary>
    public static void GemmAvx2(MatMul.MatMulArgs* m, int start, int end) => MatMul.MatMul.Acts4Rows(m, start, end, &Avx2Acts4);

    /// <summary>The spec's 8 int32 lanes of one super-block pair, the −32·bsums correction included (AVX2).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> LanesAvx2(BlockQ6_K* x, BlockQ8_K* y)
    {
        var sc16 = X86.Avx2.ConvertToVector256Int16(Vector128.Load(x->Scales));   // sc0..sc7 | sc8..sc15
        var sc0 = X86.Avx2.Permute2x128(sc16, sc16, 0x00).AsByte();
        var sc1 = X86.Avx2.Permute2x128(sc16, sc16, 0x11).AsByte();
        var lanes = (Pair(x->Ql, x->Qh, sc0, 0).Lanes(y->Qs) + Pair(x->Ql, x->Qh, sc0, 1).Lanes(y->Qs + 64))
            + (Pair(x->Ql + 64, x->Qh + 32, sc1, 0).Lanes(y->Qs + 128) + Pair(x->Ql + 64, x->Qh + 32, sc1, 1).Lanes(y->Qs + 192));
        return lanes - Offset(y, sc16);
    }

    /// <summary>32·Σ sc·bsums as the spec's lanes: vpmaddwd of the 16 bsums with the 16 scales, shifted left by 5.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Offset(BlockQ8_K* y, Vector256<short> sc16) =>
        X86.Avx2.MultiplyAddAdjacent(Vector256.Load(y->BSums), sc16) << 5;

    /// <summary>Chunks 2p and 2p+1 of a 128-element group (ql, qh its 64 and 32 bytes; sc its 8 scales as int16 in both
    /// 128-bit halves): the 6-bit quants assembled unsigned, and scale words giving chunk s sc[2s] in the low half and
    /// sc[2s+1] in the high (a vpshufb with a constant word index).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ChunkPair Pair(byte* ql, byte* qh, Vector256<byte> sc, [ConstantExpected] int p)
    {
        var lowNibble = Vector256.Create((byte)0x0F);
        var highBits = Vector256.Create((byte)0x30);
        var l0 = Vector256.Load(ql);
        var l1 = Vector256.Load(ql + 32);
        var h = Vector256.Load(qh).AsUInt16();
        return p == 0
            ? new ChunkPair((l0 & lowNibble) | ((h << 4).AsByte() & highBits), ScaleWords(sc, 0),
                (l1 & lowNibble) | ((h << 2).AsByte() & highBits), ScaleWords(sc, 1))
            : new ChunkPair(((l0.AsUInt16() >>> 4).AsByte() & lowNibble) | (h.AsByte() & highBits), ScaleWords(sc, 2),
                ((l1.AsUInt16() >>> 4).AsByte() & lowNibble) | ((h >>> 2).AsByte() & highBits), ScaleWords(sc, 3));
    }

    /// <summary>Word 2s of sc in the low 128 bits, word 2s+1 in the high, each repeated 8 times (one vpshufb).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<short> ScaleWords(Vector256<byte> sc, [ConstantExpected] int s) =>
        X86.Avx2.Shuffle(sc, Vector256.Create(Vector128.Create((short)(0x0100 + 0x0404 * s)),
            Vector128.Create((short)(0x0302 + 0x0404 * s))).AsByte()).AsInt16();
}
