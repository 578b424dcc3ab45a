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

    /// <summary>The 8 spec lanes of one super-block pair (AVX2; callers check).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Lanes(byte* x, byte* ya)
    {
        const uint K2 = 0x0f0f0f0f, K3 = 0x03030303;
        uint a0 = Unsafe.ReadUnaligned<uint>(x + 96), a1 = Unsafe.ReadUnaligned<uint>(x + 100), t = Unsafe.ReadUnaligned<uint>(x + 104);
        var sc = KQuantAvx2.Widen(Vector128.Create(
            (a0 & K2) | ((t & K3) << 4), (a1 & K2) | (((t >> 2) & K3) << 4),
            ((a0 >> 4) & K2) | (((t >> 4) & K3) << 4), ((a1 >> 4) & K2) | (((t >> 6) & K3) << 4)).AsByte()) - Vector256.Create((short)32);
        var scLo = X86.Avx2.Permute2x128(sc, sc, 0x00).AsByte();   // sc 0..7 in both halves (chunks 0..3)
        var scHi = X86.Avx2.Permute2x128(sc, sc, 0x11).AsByte();   // sc 8..15 (chunks 4..7)
        var hm = Vector256.Load(x);
        var q0 = Vector256.Load(x + 32);
        var q1 = Vector256.Load(x + 64);
        var s0 = Chunk(q0, hm, ya, scLo, 0) + Chunk(q0, hm, ya, scLo, 1);
        var s1 = Chunk(q0, hm, ya, scLo, 2) + Chunk(q0, hm, ya, scLo, 3);
        var s2 = Chunk(q1, hm, ya, scHi, 4) + Chunk(q1, hm, ya, scHi, 5);
        var s3 = Chunk(q1, hm, ya, scHi, 6) + Chunk(q1, hm, ya, scHi, 7);
        return (s0 + s1) + (s2 + s3);
    }

    /// <summary>Chunk c's int32 lanes, scaled: Σ sc·(u − 4)·a over each quad.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Chunk(Vector256<byte> q, Vector256<byte> hm, byte* ya, Vector256<byte> sc, int c)
    {
        int s = c & 3;
        var low = KQuantAvx2.Field2(q, s);
        var h = c < 2 ? (hm.AsUInt16() << (2 - c)).AsByte() : c == 2 ? hm : (hm.AsUInt16() >>> (c - 2)).AsByte();
        var u = low | (h & Vector256.Create((byte)4));
        var av = Vector256.Load((sbyte*)(ya + 32 * c));
        var p16 = X86.Avx2.MultiplyAddAdjacent(u, av) - X86.Avx2.MultiplyAddAdjacent(Vector256.Create((byte)4), av);
        return X86.Avx2.MultiplyAddAdjacent(p16, X86.Avx2.Shuffle(sc, KQuantAvx2.PairMask(s)).AsInt16());
    }
}
