// Prompts of the legacy formats Q4_1, Q5_0 and Q5_1 on the AVX-512 path: their 8-lane order is Q8_0's (lane c of a
// row is the int32 sum of its elements 4c..4c+3 times the activation's, acc_c = fma(d_w·d_a, lane_c, acc_c), then
// Hsum8), with other weights — Q5_0's q = u − 16 (−16..15), Q4_1's and Q5_1's u (0..31) — so they run through the
// emitted Q8_0 tile (Jit/VnniTiles.cs, EmitQ8_0): sixteen weight rows unpacked once per batch tile into the tile's
// piece vectors with their sign bits flipped (q + 128), two activation rows a call. Q4_1 and Q5_1 take Q8_1
// activations (a second instance of the tile, for 36-byte blocks) and add the spec's mins chain afterwards:
// mins = Σ_k fp32(m_w)·fp32(s_a) in block order (a multiply, then an add, per block, sixteen rows in one vector), and
// the result Hsum8(acc) + mins. Every output is bit-identical to the format's AVX2 dot (LegacyLanes.cs).
// tinyllama pp512 at one thread against the AVX2 four-row kernel (one activation row per pass over the weights):
// Q4_1 26 → 128 t/s, Q5_0 25 → 147, Q5_1 22 → 125; at two threads 52 → 256, 50 → 274, 42 → 238.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using LlamaAot.Kernels.Jit;
using LlamaAot.Kernels.MatMul;
using LlamaAot.Kernels.Quants;

namespace LlamaAot.Kernels.Dot;

internal static unsafe class LegacyTiles
{
    /// <summary>Blocks per row the tiles take (the tile buffer lives on the stack: 288 KiB at most).</summary>
    private const int MaxBlocks = 512;

    /// <summary>Prompt products of a legacy format through the tile (Tile16) where the emitted tiles are in place,
    /// otherwise <paramref name="avx2Gemm"/>.</summary>
    public static void Gemm<TFormat>(MatMulArgs* m, int start, int end) where TFormat : struct, ILegacyTileFormat
    {
        int nb = m->Cols / 32;
        if (!VnniTiles.Available || nb > MaxBlocks || m->RowBytes > int.MaxValue / 16)
        {
            TFormat.Avx2Gemm(m, start, end);
            return;
        }
        int terms = (TFormat.Mins ? VnniTiles.Q8_1TermsPerBlock : VnniTiles.Q8_0TermsPerBlock) / 2 * nb;
        IntGemm.Tiled(m, start, end, 16, &Tile16<TFormat>, &ActivationTerms<TFormat>, terms, 4, TFormat.Rows4, TFormat.Dot);
    }

    /// <summary>Y[b, r..r+16) for activation rows b in [b0, b1), two a call of the emitted tile; an odd row left over,
    /// or no terms (IntGemm's state cap), by the format's four-row AVX2 kernel.</summary>
    [SkipLocalsInit]   // its buffers are written in full before any read
    private static void Tile16<TFormat>(MatMulArgs* m, int r, int b0, int b1, int* terms) where TFormat : struct, ILegacyTileFormat
    {
        int nb = m->Cols / 32, t = TFormat.Mins ? VnniTiles.Q8_1TermsPerBlock : VnniTiles.Q8_0TermsPerBlock;
        long rb = m->RowBytes;
        byte* w = m->W + r * rb;
        int b = b0;
        if (terms != null)
        {
            byte* buffer = stackalloc byte[VnniTiles.TileBlockBytes * nb + 64];
            byte* tile = IntDotAvx512.Align64(buffer);
            IntDotAvx512.BuildTile<TFormat>(tile, w, rb, nb, TFormat.BlockBytes);
            float* mins = stackalloc float[TFormat.Mins ? 16 * nb : 0];
            if (TFormat.Mins)
                for (int k = 0; k < nb; k++) IntDotAvx512.TileScales(w + k * TFormat.BlockBytes + 2, rb, mins + 16 * k);
            var args = new BlockTileArgs { Tile = tile, ActRowBytes = m->ActRowBytes, Blocks = nb, YStrideBytes = m->YStride * sizeof(float) };
            byte* next = w + 16 * rb;   // the next weight tile, prefetched over the runs
            for (int parts = Math.Max(1, (b1 - b0) / 2); b + 2 <= b1; b += 2)
            {
                IntDotAvx512.PrefetchPart(next, 16 * rb, (b - b0) / 2, parts);
                int* pair = terms + (b - b0) / 2 * t * nb;
                args.Terms = (byte*)pair;
                args.Act = m->Act + b * m->ActRowBytes + (TFormat.Mins ? 4 : 2);
                args.Y = m->Y + b * m->YStride + r;
                if (!TFormat.Mins)
                {
                    VnniTiles.Q8_0(&args);
                    continue;
                }
                VnniTiles.Q8_1(&args);
                for (int j = 0; j < 2; j++)
                {
                    // The spec's mins chain for the sixteen rows at once: mins = mins + m_w·s_a, block by block.
                    var sum = Vector512<float>.Zero;
                    for (int k = 0; k < nb; k++)
                        sum += Vector512.Load(mins + 16 * k) * Vector512.Create(((float*)(pair + t * k))[VnniTiles.Q8_0TermsPerBlock + j]);
                    float* y = m->Y + (b + j) * m->YStride + r;
                    (Vector512.Load(y) + sum).Store(y);
                }
            }
        }
        for (; b < b1; b++)
            for (int q = 0; q < 16; q += 4) TFormat.Rows4(w + q * rb, rb, m->Act + b * m->ActRowBytes, m->Cols, m->Y + b * m->YStride + r + q);
    }

    /// <summary>IntGemm's per-batch-tile preparation of the format's activation terms (the Q8_0 tile's).</summary>
    private static void ActivationTerms<TFormat>(MatMulArgs* m, int b0, int b1, int* state) where TFormat : struct, ILegacyTileFormat =>
        DotQ8_0Q8_0.TilePairTerms(m, b0, b1, state, TFormat.Mins);

    /// <summary>Byte b of int32 lane i: 0x10 where bit 4c + b of lane i of qh is set (the fifth bits of piece c).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<byte> FifthBits(Vector512<uint> qh, int c) =>
        ((((qh >>> (4 * c)) & Vector512.Create(0xFu)) * Vector512.Create(0x00204081u) & Vector512.Create(0x01010101u)) << 4).AsByte();

    /// <summary>The sixteen rows' (rb apart) uint32 at p, row i in lane i.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<uint> Rows16(byte* p, long rb) =>
        Vector512.Create(Vector256.Create(Rows4(p, rb), Rows4(p + 4 * rb, rb)), Vector256.Create(Rows4(p + 8 * rb, rb), Rows4(p + 12 * rb, rb)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<uint> Rows4(byte* p, long rb) =>
        Vector128.Create(*(uint*)p, *(uint*)(p + rb), *(uint*)(p + 2 * rb), *(uint*)(p + 3 * rb));

    /// <summary>A legacy block's unsigned values of sixteen rows as piece vectors (low nibbles in 0..3, high in 4..7),
    /// with the fifth bits when qh is given, plus <paramref name="offset"/> (the sign flip of q + 128); Q4_0's tile
    /// takes the bare nibbles (no qh, offset 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreValues(byte* t, byte* qs, long rb, byte* qh, byte offset)
    {
        var mask = Vector512.Create((byte)0x0F);
        var add = Vector512.Create(offset);
        IntDotAvx512.RowPieces(qs, rb, out var u0, out var u1, out var u2, out var u3);
        Vector512<byte> l0 = u0 & mask, l1 = u1 & mask, l2 = u2 & mask, l3 = u3 & mask;
        Vector512<byte> h0 = (u0.AsUInt16() >>> 4).AsByte() & mask, h1 = (u1.AsUInt16() >>> 4).AsByte() & mask;
        Vector512<byte> h2 = (u2.AsUInt16() >>> 4).AsByte() & mask, h3 = (u3.AsUInt16() >>> 4).AsByte() & mask;
        if (qh != null)
        {
            var bits = Rows16(qh, rb);
            l0 |= FifthBits(bits, 0); l1 |= FifthBits(bits, 1); l2 |= FifthBits(bits, 2); l3 |= FifthBits(bits, 3);
            h0 |= FifthBits(bits, 4); h1 |= FifthBits(bits, 5); h2 |= FifthBits(bits, 6); h3 |= FifthBits(bits, 7);
        }
        IntDotAvx512.StorePieces(t, l0 + add, l1 + add, l2 + add, l3 + add);
        IntDotAvx512.StorePieces(t + 256, h0 + add, h1 + add, h2 + add, h3 + add);
    }
}

/// <summary>A legacy format's tile: its pieces (ITilePieces: Store gets the block's address + 2), block size, whether
/// it has a minimum (and takes Q8_1 activations), and its AVX2 kernels for what the tile does not take.</summary>
internal unsafe interface ILegacyTileFormat : ITilePieces
{
    static abstract int BlockBytes { get; }
    static abstract bool Mins { get; }
    static abstract delegate*<MatMulArgs*, int, int, void> Avx2Gemm { get; }
    static abstract delegate*<byte*, long, byte*, int, float*, void> Rows4 { get; }
    static abstract delegate*<byte*, byte*, int, float> Dot { get; }
}

internal readonly unsafe struct Q4_1Tile : ILegacyTileFormat
{
    public static int BlockBytes => LegacyAvx2.Q4_1;
    public static bool Mins => true;
    public static delegate*<MatMulArgs*, int, int, void> Avx2Gemm => &DotQ4_1Q8_1.GemmAvx2;
    public static delegate*<byte*, long, byte*, int, float*, void> Rows4 => &DotQ4_1Q8_1.Avx2Rows4;
    public static delegate*<byte*, byte*, int, float> Dot => &DotQ4_1Q8_1.Avx2;

    // d, m, then 16 bytes of nibbles: u + 128.
    public static void Store(byte* t, byte* q, long rb) => LegacyTiles.StoreValues(t, q + 2, rb, null, 0x80);
}

internal readonly unsafe struct Q5_0Tile : ILegacyTileFormat
{
    public static int BlockBytes => LegacyAvx2.Q5_0;
    public static bool Mins => false;
    public static delegate*<MatMulArgs*, int, int, void> Avx2Gemm => &DotQ5_0Q8_0.GemmAvx2;
    public static delegate*<byte*, long, byte*, int, float*, void> Rows4 => &DotQ5_0Q8_0.Avx2Rows4;
    public static delegate*<byte*, byte*, int, float> Dot => &DotQ5_0Q8_0.Avx2;

    // d, qh, then 16 bytes of nibbles: q + 128 = u − 16 + 128.
    public static void Store(byte* t, byte* q, long rb) => LegacyTiles.StoreValues(t, q + 4, rb, q, 112);
}

internal readonly unsafe struct Q5_1Tile : ILegacyTileFormat
{
    public static int BlockBytes => LegacyAvx2.Q5_1;
    public static bool Mins => true;
    public static delegate*<MatMulArgs*, int, int, void> Avx2Gemm => &DotQ5_1Q8_1.GemmAvx2;
    public static delegate*<byte*, long, byte*, int, float*, void> Rows4 => &DotQ5_1Q8_1.Avx2Rows4;
    public static delegate*<byte*, byte*, int, float> Dot => &DotQ5_1Q8_1.Avx2;

    // d, m, qh, then 16 bytes of nibbles: u + 128.
    public static void Store(byte* t, byte* q, long rb) => LegacyTiles.StoreValues(t, q + 6, rb, q + 2, 0x80);
}
