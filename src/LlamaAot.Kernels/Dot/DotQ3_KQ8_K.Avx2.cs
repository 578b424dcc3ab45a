// AVX2 Q3_K · Q8_K dot (helpers in KQuantAvx2.cs and DotQ8_0Q8_0.Avx2.cs).
//   Integer part: chunk c = 4g + s (elements 32c..32c+31) takes the 2-bit field s of qs group g and bit c of every
//   hmask byte. The quant is q = low − 4·(bit clear) = u − 4 with u = low | 4·bit (0..7); vpmaddubsw takes u
//   unsigned against the activation bytes, and the −4 is subtracted per int16 pair as vpmaddubsw(4, a) — the same
//   pair of elements, so each pair sum is exactly Σ q·a (|·| ≤ 2·4·128, any int8 activation, −128 included; this is
//   what llama.cpp does with its "q3h" bytes). vpmaddwd with the pair's signed scale (sc − 32: sc[2c] for the low
//   16 bytes, sc[2c+1] for the high 16, one vpshufb — KQuantAvx2.PairMask) and int32 adds over the chunks give the
//   spec's lanes: lane j = bytes 4j..4j+3 of every chunk. The 16 scales come from ggml's kmask word shuffle.
//   Field shifts are 16-bit: the low field is masked with 3 after >> 2s (s ≤ 3, so nothing of the next byte
//   reaches bits 0..1), and bit c of hmask is moved to bit 2 by a shift of at most 5, masked with 4.
//   Float part: acc[l] = fma(d_a·d, lane[l], acc[l]) per block in one ymm, then Hsum8 — the spec itself.
//   Prompts (Avx2Acts4): each block's chunk pairs (KQuantAvx2.ChunkPair) are unpacked once for four activation
//   rows; the −4 stays per row and chunk (vpmaddubsw(4, a) depends on the activations only) (batch 128: 48 → 88 GOPS).
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels.Quants;
using X86 = System.Runtime.Intrinsics.X86;

namespace LlamaAot.Kernels.Dot;

public static unsafe partial class DotQ3_KQ8_K
{
    private const int QW = 110;   // sizeof(BlockQ3_K): 32 hmask, 64 qs, 12 scale bytes, fp16 d

    public static float Avx2(byte* w, byte* a, int n)
    {
        if (!X86.Avx2.IsSupported || !Fma.IsSupported) return Reference(w, a, n);
        const int QA = KQuantAvx2.Q8K;
        int nb = n / BlockQ3_K.QK;
        float* d = stackalloc float[KQuantAvx2.Group];
        var acc = Vector256<float>.Zero;
        for (int b0 = 0; b0 < nb; b0 += KQuantAvx2.Group)
        {
            int count = Math.Min(KQuantAvx2.Group, nb - b0);
            byte* x = w + b0 * QW, y = a + b0 * QA;
            // d sits at bytes 108..109, the block's last two: the 4-byte gather starts at 106 and d is the high half.
            (KQuantAvx2.ActScales8(y, count) * KQuantAvx2.HighHalf(KQuantAvx2.Words8(x + 106, QW, count))).Store(d);
            for (int k = 0; k < count; k++, x += QW, y += QA)
            {
                acc = Fma.MultiplyAdd(Vector256.Create(d[k]), Avx.ConvertToVector256Single(Lanes(x, y + KQuantAvx2.QsOffset)), acc);
            }
        }
        return IntDotAvx2.Hsum8(acc);
    }

    /// <summary>y[j·yStride] = Avx2(w, a + j·actStride, n) for j &lt; 4, bit for bit: the prompt kernel. Each
    /// super-block's scales and 3-bit quants are unpacked once for the four activation rows.</summary>
    public static void Avx2Acts4(byte* w, byte* a, long actStride, int n, float* y, long yStride)
    {
        if (!X86.Avx2.IsSupported || !Fma.IsSupported)
        {
            for (int j = 0; j < 4; j++) y[j * yStride] = Reference(w, a + j * actStride, n);
            return;
        }
        const int QA = KQuantAvx2.Q8K, Q = KQuantAvx2.QsOffset;
        byte* x = w, a0 = a, a1 = a + actStride, a2 = a + 2 * actStride, a3 = a + 3 * actStride;
        Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        for (int i = 0; i < n / BlockQ3_K.QK; i++, x += QW, a0 += QA, a1 += QA, a2 += QA, a3 += QA)
        {
            ScaleHalves(x, out var scLo, out var scHi);
            Vector256<int> l0 = default, l1 = default, l2 = default, l3 = default;
            Pair(x, scLo, 0).AddLanesLess4((sbyte*)(a0 + Q), (sbyte*)(a1 + Q), (sbyte*)(a2 + Q), (sbyte*)(a3 + Q), ref l0, ref l1, ref l2, ref l3);
            Pair(x, scLo, 1).AddLanesLess4((sbyte*)(a0 + Q + 64), (sbyte*)(a1 + Q + 64), (sbyte*)(a2 + Q + 64), (sbyte*)(a3 + Q + 64), ref l0, ref l1, ref l2, ref l3);
            Pair(x, scHi, 2).AddLanesLess4((sbyte*)(a0 + Q + 128), (sbyte*)(a1 + Q + 128), (sbyte*)(a2 + Q + 128), (sbyte*)(a3 + Q + 128), ref l0, ref l1, ref l2, ref l3);
            Pair(x, scHi, 3).AddLanesLess4((sbyte*)(a0 + Q + 192), (sbyte*)(a1 + Q + 192), (sbyte*)(a2 + Q + 192), (sbyte*)(a3 + Q + 192), ref l0, ref l1, ref l2, ref l3);
            ushort dw = *(ushort*)(x + 108);
            acc0 = Fma.MultiplyAdd(KQuantAvx2.Scale(dw, *(float*)a0), Avx.ConvertToVector256Single(l0), acc0);
            acc1 = Fma.MultiplyAdd(KQuantAvx2.Scale(dw, *(float*)a1), Avx.ConvertToVector256Single(l1), acc1);
            acc2 = Fma.MultiplyAdd(KQuantAvx2.Scale(dw, *(float*)a2), Avx.ConvertToVector256Single(l2), acc2);
            acc3 = Fma.MultiplyAdd(KQuantAvx2.Scale(dw, *(float*)a3), Avx.ConvertToVector256Single(l3), acc3);
        }
        y[0] = IntDotAvx2.Hsum8(acc0);
        y[yStride] = IntDotAvx2.Hsum8(acc1);
        y[2 * yStride] = IntDotAvx2.Hsum8(acc2);
        y[3 * yStride] = IntDotAvx2.Hsum8(acc3);
    }

    /// <summary>Prompts: four activation rows per pass over a weight row (Avx2Acts4), leftovers and decode by m->Dot.</summary>
    public static void GemmAvx2(MatMul.MatMulArgs* m, int start, int end) => MatMul.MatMul.Acts4Rows(m, start, end, &Avx2Acts4);

    /// <summary>The 8 spec lanes of one super-block pair (AVX2; callers check).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Lanes(byte* x, byte* ya)
    {
        ScaleHalves(x, out var scLo, out var scHi);
        var q8 = (sbyte*)ya;
        return (Pair(x, scLo, 0).LanesLess4(q8) + Pair(x, scLo, 1).LanesLess4(q8 + 64))
            + (Pair(x, scHi, 2).LanesLess4(q8 + 128) + Pair(x, scHi, 3).LanesLess4(q8 + 192));
    }

    /// <summary>The signed scales of chunks 0..3 (sc 0..7) and of chunks 4..7 (sc 8..15), each group's eight int16 in
    /// both 128-bit halves.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ScaleHalves(byte* x, out Vector256<byte> scLo, out Vector256<byte> scHi)
    {
        var sc = Scales(x);
        scLo = X86.Avx2.Permute2x128(sc, sc, 0x00).AsByte();
        scHi = X86.Avx2.Permute2x128(sc, sc, 0x11).AsByte();
    }

    /// <summary>The 16 signed sub-block scales (sc − 32) as int16, by ggml's kmask word shuffle.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<short> Scales(byte* x)
    {
        const uint K2 = 0x0f0f0f0f, K3 = 0x03030303;
        uint a0 = Unsafe.ReadUnaligned<uint>(x + 96), a1 = Unsafe.ReadUnaligned<uint>(x + 100), t = Unsafe.ReadUnaligned<uint>(x + 104);
        return KQuantAvx2.Widen(Vector128.Create(
            (a0 & K2) | ((t & K3) << 4), (a1 & K2) | (((t >> 2) & K3) << 4),
            ((a0 >> 4) & K2) | (((t >> 4) & K3) << 4), ((a1 >> 4) & K2) | (((t >> 6) & K3) << 4)).AsByte()) - Vector256.Create((short)32);
    }

    /// <summary>Chunks 2p and 2p+1 of block x (p = 0..3; sc the scale half holding theirs): u = field | 4·(hmask bit),
    /// the quant + 4, and the signed scale pair sc[2c] (low 16 bytes) / sc[2c+1] (high 16).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ChunkPair Pair(byte* x, Vector256<byte> sc, [ConstantExpected] int p)
    {
        var hm = Vector256.Load(x);
        var q = Vector256.Load(x + 32 + 32 * (p / 2));   // qs group 0 holds chunks 0..3, group 1 chunks 4..7
        return new(U(q, hm, 2 * p), X86.Avx2.Shuffle(sc, KQuantAvx2.PairMask((2 * p) & 3)).AsInt16(),
            U(q, hm, 2 * p + 1), X86.Avx2.Shuffle(sc, KQuantAvx2.PairMask((2 * p + 1) & 3)).AsInt16());
    }

    /// <summary>Chunk c's quants + 4: the 2-bit field c &amp; 3 of its qs group and bit c of every hmask byte as bit 2.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> U(Vector256<byte> q, Vector256<byte> hm, int c)
    {
        var low = KQuantAvx2.Field2(q, c & 3);
        var h = c < 2 ? (hm.AsUInt16() << (2 - c)).AsByte() : c == 2 ? hm : (hm.AsUInt16() >>> (c - 2)).AsByte();
        return low | (h & Vector256.Create((byte)4));
    }
}
